"""SGLang 0.5.23's own post-warmup GC freeze vs the patch's, on the real function.

Stock `_wait_and_warmup` (http_server.py:2572) calls `_freeze_gc_after_server_warmup`
(:2553): one POST /freeze_gc, no wait. With --skip-server-warmup the warmup thread
starts inside the app's lifespan, before uvicorn listens, so that POST races the
server start. Here the race is made deterministic: the "server" starts listening
one second after the warmup routine begins. Stock never freezes; the patched routine
waits for readiness and freezes. SGLang's runtime-context accessors are replaced by
plain values (no engine runs in this process); the two SGLang functions run as shipped.
"""

import http.server
import socket
import threading
import time
from types import SimpleNamespace

import pytest

import sglang_cpu

sglang_cpu.prepare()

from scorecar_sglang.sglang_hooks import Options  # noqa: E402
from scorecar_sglang.sglang_hooks.server import GC_STATE, make_wait_and_warmup  # noqa: E402


class LateServer:
    """Starts listening `delay` seconds after start(); records the routes it was asked for."""

    def __init__(self, delay: float):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.delay = delay
        self.hits = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self):
                n = int(self.headers.get("Content-Length") or 0)
                if n:
                    self.rfile.read(n)
                outer.hits.append((self.command, self.path))
                body = b"{}"
                if self.path == "/v1/score":
                    body = b'{"scores": [[0.5, 0.5], [0.5, 0.5]]}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, *args):
                pass

        self.handler = Handler
        self.httpd = None

    def start(self):
        def run():
            time.sleep(self.delay)
            self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), self.handler)
            self.httpd.serve_forever(poll_interval=0.05)

        threading.Thread(target=run, daemon=True).start()

    def stop(self):
        while self.httpd is None:
            time.sleep(0.05)
        self.httpd.shutdown()
        self.httpd.server_close()

    def freezes(self):
        return [h for h in self.hits if h[1] == "/freeze_gc"]


@pytest.fixture()
def http_server(monkeypatch):
    from sglang.srt.entrypoints import http_server as hs

    serving = SimpleNamespace(skip_server_warmup=True, api_key=None, admin_api_key=None)
    monkeypatch.setattr(hs, "get_serving", lambda: serving)
    monkeypatch.setattr(hs, "get_model", lambda: SimpleNamespace(
        checkpoint_engine_wait_weights_before_ready=False, delete_ckpt_after_loading=False, model_path=""))
    monkeypatch.setattr(hs, "get_exec", lambda: SimpleNamespace(moe=SimpleNamespace(is_ep_scale_joiner=False)))
    monkeypatch.setattr(hs, "get_observability", lambda: SimpleNamespace(debug_tensor_dump_input_file=None))
    monkeypatch.setattr(hs, "_global_state", SimpleNamespace(tokenizer_manager=SimpleNamespace(server_status=None)))
    monkeypatch.setattr(hs, "ssl_verify_of", lambda server_args: True)
    return hs


def _server_args(port):
    return SimpleNamespace(host="127.0.0.1", port=port, skip_server_warmup=True, api_key=None,
                           admin_api_key=None, url=lambda: f"http://127.0.0.1:{port}")


def test_stock_freeze_loses_the_race_with_a_late_server(http_server):
    late = LateServer(delay=1.0)
    late.start()
    http_server._wait_and_warmup(_server_args(late.port))  # the real, unpatched 0.5.23 routine
    time.sleep(1.5)
    late.stop()
    assert late.freezes() == []  # its single POST found nobody listening


def test_patched_routine_waits_and_freezes(http_server):
    late = LateServer(delay=1.0)
    late.start()
    wrapped = make_wait_and_warmup(http_server._wait_and_warmup, Options())
    wrapped(_server_args(late.port))
    late.stop()
    assert late.freezes() == [("POST", "/freeze_gc")]
    assert ("POST", "/v1/score") in late.hits  # the fast path was warmed before the freeze
    assert GC_STATE["gc_freeze"] == "frozen via /freeze_gc"


def test_patch_with_freeze_disabled_does_not_freeze(http_server):
    # The control: the same routine with the patch's freeze off behaves like stock.
    late = LateServer(delay=1.0)
    late.start()
    wrapped = make_wait_and_warmup(http_server._wait_and_warmup, Options(gc_freeze="never"))
    wrapped(_server_args(late.port))
    time.sleep(1.5)
    late.stop()
    assert late.freezes() == []
    assert GC_STATE["gc_freeze"] == "disabled"
