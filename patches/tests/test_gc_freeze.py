"""Post-warmup GC freeze: when it runs, what it calls, and the fallbacks."""

import gc
from types import SimpleNamespace

import pytest

from scorecar_sglang.gc_freeze import freeze_after_warmup, sglang_freezes_after_warmup


class FakeServer:
    def __init__(self, fail_first=0, freeze_status=200):
        self.calls = []
        self.fail_first = fail_first
        self.freeze_status = freeze_status

    def __call__(self, url, body, headers, timeout):
        path = url.split("9999", 1)[1]
        self.calls.append((path, body, headers.get("Authorization")))
        if path == "/get_model_info" and self.fail_first > 0:
            self.fail_first -= 1
            return 0, b""
        if path == "/freeze_gc":
            return self.freeze_status, b""
        return 200, b"{}"


def _args(**kw):
    base = dict(host="127.0.0.1", port=9999, skip_server_warmup=False, api_key=None)
    base.update(kw)
    return SimpleNamespace(**base)


def test_waits_warms_and_freezes_through_the_route():
    server = FakeServer(fail_first=2)
    out = freeze_after_warmup(_args(api_key="k"), post=server, poll_interval=0,
                              warmup_request={"query": [1], "items": [[2]]})
    assert out == "frozen via /freeze_gc"
    assert [c[0] for c in server.calls] == ["/get_model_info"] * 3 + ["/v1/score", "/freeze_gc"]
    assert all(c[2] == "Bearer k" for c in server.calls)


def test_admin_key_wins_for_the_admin_route():
    server = FakeServer()
    freeze_after_warmup(_args(api_key="user", admin_api_key="admin"), post=server, poll_interval=0)
    assert server.calls[-1] == ("/freeze_gc", {}, "Bearer admin")


def test_leaves_it_to_sglang_only_when_sglang_warmed_up():
    server = FakeServer()
    assert freeze_after_warmup(_args(), already_frozen_by_sglang=True, post=server) == "left to sglang"
    assert server.calls == []
    # --skip-server-warmup: SGLang's own freeze never ran, so we still freeze.
    out = freeze_after_warmup(_args(skip_server_warmup=True), already_frozen_by_sglang=True,
                              post=server, poll_interval=0)
    assert out == "frozen via /freeze_gc"
    assert freeze_after_warmup(_args(), mode="always", already_frozen_by_sglang=True,
                               post=FakeServer(), poll_interval=0) == "frozen via /freeze_gc"


def test_never_and_bad_mode():
    assert freeze_after_warmup(_args(), mode="never", post=FakeServer()) == "disabled"
    with pytest.raises(ValueError):
        freeze_after_warmup(_args(), mode="sometimes", post=FakeServer())


def test_falls_back_to_in_process_freeze_without_the_route():
    before = gc.get_freeze_count()
    try:
        out = freeze_after_warmup(_args(), post=FakeServer(freeze_status=404), poll_interval=0)
        assert out == "frozen in-process"
        assert gc.get_freeze_count() >= before
    finally:
        gc.unfreeze()


def test_gives_up_when_the_server_never_answers():
    server = FakeServer(fail_first=10**6)
    assert freeze_after_warmup(_args(), post=server, ready_timeout=0.0, poll_interval=0) == "server not ready"
    assert all(c[0] == "/get_model_info" for c in server.calls)


def test_detects_sglang_builds_that_freeze_themselves():
    def warmup_that_freezes(server_args):
        requests_post = None  # noqa: F841
        return "/freeze_gc"

    def plain_warmup(server_args):
        return None

    assert sglang_freezes_after_warmup(warmup_that_freezes)
    assert not sglang_freezes_after_warmup(plain_warmup)
    assert not sglang_freezes_after_warmup(len)  # no Python source: assume it does not
