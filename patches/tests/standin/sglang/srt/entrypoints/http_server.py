"""Stand-in for sglang.srt.entrypoints.http_server.

Mirrors python/sglang/srt/entrypoints/http_server.py @0025436eab05:
* ``app`` (line 305) is an ASGI app that accepts middleware; here a tiny one
  with the same add_middleware(cls, **options) contract, serving GET
  /get_server_info (handler get_server_info, line 496) as JSON.
* launch_server(server_args, pipe_finish_writer=None, launch_callback=None)
  (line 1307) starts the subprocesses, then runs the HTTP server; the warmup
  thread's target is the module global ``_wait_and_warmup`` (line 1373).
* _wait_and_warmup(server_args, pipe_finish_writer, launch_callback=None)
  (line 1544) warms up unless --skip-server-warmup, then reports ready.
  It never calls /freeze_gc (route at line 661, handler freeze_gc_async at line 662).
This stand-in serves /get_model_info, /v1/score and /freeze_gc with the
standard library so the launcher test can watch the post-warmup freeze, and
spawns one child the way SGLang starts its scheduler.
"""

import asyncio
import json
import multiprocessing
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

calls = []  # paths the stand-in HTTP server received, in order


class _App:
    def __init__(self):
        self.middleware = []
        self.server_info = {"model_path": "standin", "version": "0.0.0-standin"}

    def add_middleware(self, cls, **options):
        self.middleware.append((cls, options))

    async def _core(self, scope, receive, send):
        if scope["path"] in ("/get_server_info", "/server_info"):
            body = json.dumps(get_server_info()).encode()
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode())]})
            # Two chunks, like a streamed body, to exercise buffering in middleware.
            await send({"type": "http.response.body", "body": body[:5], "more_body": True})
            await send({"type": "http.response.body", "body": body[5:], "more_body": False})
        else:
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def __call__(self, scope, receive, send):
        handler = self._core
        for cls, options in reversed(self.middleware):
            handler = cls(handler, **options)
        await handler(scope, receive, send)


app = _App()


def get_server_info():
    return dict(app.server_info)


async def freeze_gc_async():
    # Upstream awaits tokenizer_manager.freeze_gc(); the stand-in only records the call.
    calls.append("freeze_gc_async")


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _reply(self, status, payload):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        calls.append(self.path)
        self._reply(200 if self.path == "/get_model_info" else 404, {"is_generation": True})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        calls.append(self.path)
        if self.path == "/freeze_gc":
            asyncio.run(freeze_gc_async())
        self._reply(200 if self.path in ("/v1/score", "/freeze_gc") else 404, {})


def _wait_and_warmup(server_args, pipe_finish_writer, launch_callback=None):
    if launch_callback is not None:
        launch_callback()


def launch_server(server_args, pipe_finish_writer=None, launch_callback=None):
    from sglang.srt.managers.scheduler import run_scheduler_process

    ctx = multiprocessing.get_context("spawn")
    reader, writer = ctx.Pipe(duplex=False)
    child = ctx.Process(target=run_scheduler_process, args=(writer,))
    child.start()
    child_patched = reader.recv()
    child.join()

    httpd = ThreadingHTTPServer((server_args.host, 0), _Handler)
    server_args.port = httpd.server_address[1]
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    warmup = threading.Thread(target=_wait_and_warmup, args=(server_args, pipe_finish_writer, launch_callback))
    warmup.start()
    warmup.join()
    httpd.shutdown()

    report = os.environ.get("STANDIN_REPORT")
    if report:
        with open(report, "w") as fh:
            json.dump({"child_patched": child_patched, "calls": calls,
                       "middleware": [c.__name__ for c, _ in app.middleware]}, fh)
