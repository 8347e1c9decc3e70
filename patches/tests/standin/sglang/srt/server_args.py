"""Stand-in for sglang.srt.server_args: the fields the launcher validates.

prepare_server_args(argv) mirrors the call at python/sglang/launch_server.py:73
@046a9e4088f7 (definition in python/sglang/srt/server_args.py).
"""

import argparse
import dataclasses
from typing import Optional


@dataclasses.dataclass
class ServerArgs:
    model_path: str = ""
    host: str = "127.0.0.1"
    port: int = 30000
    tp_size: int = 1
    dp_size: int = 1
    disable_radix_cache: bool = False
    chunked_prefill_size: Optional[int] = 8192
    skip_server_warmup: bool = False
    api_key: Optional[str] = None
    enable_dp_attention: bool = False
    multi_item_scoring_delimiter: Optional[int] = None
    speculative_algorithm: Optional[str] = None

    def url(self) -> str:
        # Upstream ServerArgs.url() (used by http_server.py:1429 @0025436eab05).
        return f"http://{self.host}:{self.port}"


def prepare_server_args(argv):
    p = argparse.ArgumentParser()
    p.add_argument("--model-path", required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=30000)
    p.add_argument("--tp-size", type=int, default=1)
    p.add_argument("--dp-size", type=int, default=1)
    p.add_argument("--disable-radix-cache", action="store_true")
    p.add_argument("--chunked-prefill-size", type=int, default=8192)
    p.add_argument("--skip-server-warmup", action="store_true")
    p.add_argument("--api-key", default=None)
    p.add_argument("--multi-item-scoring-delimiter", type=int, default=None)
    ns = p.parse_args(argv)
    return ServerArgs(**{k: v for k, v in vars(ns).items()})
