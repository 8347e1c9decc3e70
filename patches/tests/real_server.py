"""Start and stop real SGLang servers (patches/cpu/serve.sh) for the tests.

One stock and one patched server per pytest session, started in parallel
(conftest.py). A server that does not come up fails the tests that need it
with the tail of its log; nothing is skipped.
"""

import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from typing import Any, Dict, List, Optional, Tuple

PATCHES = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVE = os.path.join(PATCHES, "cpu", "serve.sh")
START_TIMEOUT_S = float(os.environ.get("SCORECAR_SGLANG_START_TIMEOUT", "420"))

# Flags every test server gets on top of serve.sh's CPU flags. The exact-prefix
# path needs the first two (the launcher refuses to start without them); the
# stock server gets them too, so both compute with the same settings. The KV
# pool is sized by a fixed fraction: SGLang 0.5.23's automatic sizing on CPU
# reads host memory and can come out negative on a busy machine.
COMMON_ARGS = ["--disable-radix-cache", "--chunked-prefill-size", "-1", "--mem-fraction-static", "0.3"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, name: str, patched: bool, extra: List[str]):
        self.name = name
        self.patched = patched
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = os.path.join(tempfile.gettempdir(), f"scorecar-sglang-{name}-{self.port}.log")
        args = ["bash", SERVE, "--port", str(self.port)] + (["--patched"] if patched else []) + COMMON_ARGS + extra
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        self.error: Optional[str] = None

    def log(self) -> str:
        with open(self.log_path, "rb") as fh:
            return fh.read().decode("utf-8", "replace")

    def log_tail(self, n: int = 60) -> str:
        return "\n".join(self.log().splitlines()[-n:])

    def wait_ready(self, deadline: float) -> None:
        """Up when /v1/models answers 200 (the HTTP server listens and the model is loaded)."""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.error = f"{self.name} server exited with {self.proc.returncode}"
                return
            status, _ = self.get("/v1/models", timeout=2)
            if status == 200:
                return
            time.sleep(1)
        self.error = f"{self.name} server not ready after {START_TIMEOUT_S:.0f}s"

    def require(self) -> "Server":
        if self.error:
            raise AssertionError(f"{self.error}; log {self.log_path}, last lines:\n{self.log_tail()}")
        return self

    def request(self, method: str, path: str, body: Any = None, timeout: float = 60) -> Tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                raw = resp.read()
                status = resp.status
        except urllib.error.HTTPError as err:
            raw, status = err.read(), err.code
        except (urllib.error.URLError, OSError):
            return 0, None
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw

    def get(self, path: str, timeout: float = 30) -> Tuple[int, Any]:
        return self.request("GET", path, timeout=timeout)

    def post(self, path: str, body: Dict[str, Any], timeout: float = 120) -> Tuple[int, Any]:
        return self.request("POST", path, body, timeout=timeout)

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)  # the session serve.sh started, by its id
                self.proc.wait(timeout=30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self._log.close()


def start_all(specs: List[Tuple[str, bool, List[str]]]) -> Dict[str, Server]:
    servers = {name: Server(name, patched, extra) for name, patched, extra in specs}
    deadline = time.monotonic() + START_TIMEOUT_S
    for s in servers.values():
        s.wait_ready(deadline)
    return servers
