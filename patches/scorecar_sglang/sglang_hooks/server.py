"""HTTP-side wiring: advertise the patches in /server_info, freeze the GC after warmup.

The advertisement is an ASGI middleware on SGLang's FastAPI ``app`` rather than
a replaced route: FastAPI compiles each route's handler when it is declared, so
swapping the function afterwards would not change what is served. The
middleware only touches GET /get_server_info and /server_info responses that
are JSON objects, adding::

    "scorecar_patches": {"exact_prefix": ..., "label_head": ...,
                         "gc_freeze": <what the post-warmup step did, or "pending">,
                         "gc_freeze_count": <gc.get_freeze_count() of the HTTP/tokenizer process>}

scorecar reads ``exact_prefix`` and ``label_head`` (src/backend/server-info.ts);
the two ``gc_*`` fields let a test observe the freeze in the serving process.
"""

import functools
import gc
import json
import logging
from typing import Dict, Optional

from ..gc_freeze import freeze_after_warmup, sglang_freezes_after_warmup

logger = logging.getLogger(__name__)

SERVER_INFO_PATHS = ("/get_server_info", "/server_info")

# One tiny packed request through the fast path before the freeze, so that
# its long-lived objects (kernels, label-row cache, allocator pools) exist.
WARMUP_SCORE_REQUEST = {
    "query": [1, 2, 3, 4],
    "items": [[5, 6, 7], [8, 9]],
    "label_token_ids": [0, 1],
    "apply_softmax": True,
}


# Outcome of the post-warmup step in this process ("pending" until it has run).
GC_STATE: Dict[str, str] = {"gc_freeze": "pending"}


def advertised(features: Dict[str, bool]) -> Dict[str, object]:
    return {**features, **GC_STATE, "gc_freeze_count": gc.get_freeze_count()}


class ServerInfoAdvertiser:
    """ASGI middleware adding ``scorecar_patches`` to the server-info JSON."""

    def __init__(self, app, features: Dict[str, bool]):
        self.app = app
        self.features = dict(features)

    async def __call__(self, scope, receive, send):
        if scope.get("type") != "http" or scope.get("method") != "GET" or scope.get("path") not in SERVER_INFO_PATHS:
            await self.app(scope, receive, send)
            return
        state: Dict[str, object] = {"start": None, "chunks": []}

        async def capture(message):
            kind = message["type"]
            if kind == "http.response.start":
                state["start"] = message
                return
            if kind != "http.response.body":
                await send(message)
                return
            state["chunks"].append(message.get("body", b""))
            if message.get("more_body", False):
                return
            await self._emit(state["start"], b"".join(state["chunks"]), send)

        await self.app(scope, receive, capture)

    async def _emit(self, start, body: bytes, send) -> None:
        headers = list(start.get("headers", []))
        ctype = next((v for k, v in headers if k.lower() == b"content-type"), b"")
        if start.get("status") == 200 and b"json" in ctype:
            try:
                obj = json.loads(body)
            except ValueError:
                obj = None
            if isinstance(obj, dict):
                obj["scorecar_patches"] = advertised(self.features)
                body = json.dumps(obj).encode()
                headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
                headers.append((b"content-length", str(len(body)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})


def make_wait_and_warmup(original, options):
    """Wrap http_server._wait_and_warmup: run it, then warm the fast path and freeze the GC."""
    sglang_does_it = sglang_freezes_after_warmup(original)

    @functools.wraps(original)
    def _wait_and_warmup(server_args, *args, **kwargs):
        result = original(server_args, *args, **kwargs)
        try:
            outcome = freeze_after_warmup(
                server_args,
                mode=options.gc_freeze,
                already_frozen_by_sglang=sglang_does_it,
                warmup_request=WARMUP_SCORE_REQUEST if options.scoring_enabled else None,
            )
            GC_STATE["gc_freeze"] = outcome
            logger.info(
                "scorecar: post-warmup GC freeze: %s; gc.get_freeze_count()=%d in this process",
                outcome, gc.get_freeze_count(),
            )
        except Exception:  # the server is up; a failed freeze must not take it down
            GC_STATE["gc_freeze"] = "failed"
            logger.exception("scorecar: post-warmup GC freeze failed")
        return result

    return _wait_and_warmup


def add_advertiser(app, features: Dict[str, bool]) -> Optional[object]:
    """Add the middleware once; returns the app (or None when it has no add_middleware)."""
    if getattr(app, "_scorecar_advertiser", False):
        return app
    add = getattr(app, "add_middleware", None)
    if add is None:
        return None
    add(ServerInfoAdvertiser, features=features)
    app._scorecar_advertiser = True
    return app
