"""Freeze Python's garbage collector once the server is warm.

Paper section 5.2: long-running SGLang servers showed 100-300 ms GC pauses
every ~1.5 s because the generational collector kept rescanning ~750k
long-lived objects. The fix is to warm the server up (so those objects exist)
and then call ``gc.freeze()``, which moves every live object to a permanent
generation that later collections skip.

Upstream has a ``/freeze_gc`` route that freezes the tokenizer, scheduler and
detokenizer processes, but (at the pinned sources) nothing calls it: not after
warmup, and certainly not when the server is started with
``--skip-server-warmup``. This module is what our wrapper around
``http_server._wait_and_warmup`` runs afterwards:

1. wait until the server answers (the skip-warmup path returns before that);
2. send one scorecar scoring request so the fast path's own long-lived objects
   (label-row cache, kernels, allocator pools) exist before the freeze;
3. POST ``/freeze_gc``; on servers without the route, freeze this process only
   and say so.

SGLang versions that already freeze after warmup are detected from their own
source and left alone unless ``mode="always"``.
"""

import gc
import inspect
import json
import logging
import time
import urllib.error
import urllib.request
from typing import Any, Callable, Dict, Optional, Tuple

logger = logging.getLogger(__name__)

MODES = ("auto", "always", "never")

# (status, body) = post(url, json_body_or_None, headers, timeout); status 0 = unreachable
HttpCall = Callable[[str, Optional[Dict[str, Any]], Dict[str, str], float], Tuple[int, bytes]]


def http_call(url: str, body: Optional[Dict[str, Any]], headers: Dict[str, str], timeout: float) -> Tuple[int, bytes]:
    """Tiny stdlib HTTP client: GET when body is None, else POST JSON."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="GET" if body is None else "POST")
    for k, v in headers.items():
        req.add_header(k, v)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()
    except (urllib.error.URLError, OSError):
        return 0, b""


def sglang_freezes_after_warmup(wait_and_warmup: Callable) -> bool:
    """True when the installed SGLang's warmup routine already freezes the GC itself."""
    try:
        src = inspect.getsource(wait_and_warmup)
    except (OSError, TypeError):
        return False
    return "freeze_gc" in src


def _headers(server_args: Any) -> Dict[str, str]:
    # /freeze_gc is an admin route on builds that have an admin key; fall back to the API key.
    key = getattr(server_args, "admin_api_key", None) or getattr(server_args, "api_key", None)
    return {"Authorization": f"Bearer {key}"} if key else {}


def _base_url(server_args: Any) -> str:
    url = getattr(server_args, "url", None)
    if callable(url):
        return url()
    return f"http://{server_args.host}:{server_args.port}"


def freeze_after_warmup(
    server_args: Any,
    mode: str = "auto",
    already_frozen_by_sglang: bool = False,
    post: HttpCall = http_call,
    ready_timeout: float = 600.0,
    poll_interval: float = 1.0,
    warmup_request: Optional[Dict[str, Any]] = None,
) -> str:
    """Run the post-warmup freeze; returns what was done (for logs and tests)."""
    if mode not in MODES:
        raise ValueError(f"gc freeze mode must be one of {MODES}, got {mode!r}")
    if mode == "never":
        return "disabled"
    skipped_warmup = bool(getattr(server_args, "skip_server_warmup", False))
    if mode == "auto" and already_frozen_by_sglang and not skipped_warmup:
        return "left to sglang"

    base, headers = _base_url(server_args), _headers(server_args)
    deadline = time.monotonic() + ready_timeout
    while True:
        status, _ = post(base + "/get_model_info", None, headers, 5.0)
        if status == 200:
            break
        if time.monotonic() > deadline:
            logger.warning("scorecar: server not ready after %.0fs; GC not frozen", ready_timeout)
            return "server not ready"
        time.sleep(poll_interval)

    if warmup_request is not None:
        status, body = post(base + "/v1/score", warmup_request, headers, 120.0)
        if status != 200:
            logger.warning("scorecar: scoring warmup returned %s: %r", status, body[:200])

    status, _ = post(base + "/freeze_gc", {}, headers, 60.0)
    if status == 200:
        logger.info("scorecar: GC frozen in all SGLang processes after warmup")
        return "frozen via /freeze_gc"
    # Old servers without the route: freeze what we can reach.
    gc.collect()
    gc.freeze()
    logger.warning(
        "scorecar: /freeze_gc unavailable (HTTP %s); froze the HTTP/tokenizer process only", status
    )
    return "frozen in-process"
