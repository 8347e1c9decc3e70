"""The patches wired into the stand-in SGLang interfaces, end to end.

Scores through the patched /v1/score path must equal the unpatched single-item
path on the same weights; requests the fast path does not serve must be
untouched; unservable packed requests must fail loudly, never score wrongly.
"""

import asyncio
import json

import pytest
import torch

from scorecar_sglang.sglang_hooks import Options, install, uninstall
from standin_engine import Sgl, StandinScheduler, TinySglangModel, small_config

YES, NO = 11, 23


@pytest.fixture()
def sgl():
    s = Sgl()
    yield s
    uninstall()
    Sgl.close()


def _engine(sgl, seed=0, tp_size=1, **cfg):
    model = TinySglangModel(sgl, small_config(**cfg), seed=seed, tp_size=tp_size)
    sched = StandinScheduler(sgl, model)
    tm = sgl.tm.TokenizerManager(server_args=None, port_args=sched)
    return tm, sched


def _score(tm, query, items, labels=(YES, NO), apply_softmax=True, item_first=False):
    return asyncio.run(tm.score_request(query=query, items=items, label_token_ids=list(labels),
                                        apply_softmax=apply_softmax, item_first=item_first))


def _data(seed, prefix_len, item_lens, vocab=600):
    g = torch.Generator().manual_seed(seed)
    return (torch.randint(0, vocab, (prefix_len,), generator=g).tolist(),
            [torch.randint(0, vocab, (n,), generator=g).tolist() for n in item_lens])


def test_packed_scores_equal_unpatched_single_item(sgl):
    tm, sched = _engine(sgl)
    query, items = _data(1, 17, (5, 12, 3, 9, 1))
    ref = _score(tm, query, items)
    install(Options(), scope="all")
    calls = sched.runner.attn_backend.calls
    got = _score(tm, query, items)
    assert got.prompt_tokens == 17 + sum(map(len, items))  # one packed prefill
    diff = (torch.tensor(got.scores) - torch.tensor(ref.scores)).abs().max().item()
    assert diff < 1e-5
    assert sched.runner.attn_backend.calls == calls  # all-packed batch never runs cross-item attention
    fb = sched.last_forward_batch
    assert fb.positions.tolist() == list(range(17)) + [p for n in (5, 12, 3, 9, 1) for p in range(17, 17 + n)]


def test_label_head_off_and_exact_prefix_off_give_the_same_scores(sgl):
    tm, _ = _engine(sgl, seed=2)
    query, items = _data(2, 9, (4, 7, 2))
    ref = torch.tensor(_score(tm, query, items).scores)
    for opts in (Options(label_head=False), Options(exact_prefix=False)):
        install(opts, scope="all")
        got = torch.tensor(_score(tm, query, items).scores)
        assert (got - ref).abs().max().item() < 1e-5, opts
        uninstall()


def test_packs_split_by_request_limit(sgl):
    tm, _ = _engine(sgl, seed=3)
    query, items = _data(3, 20, (30, 30, 30, 30))
    ref = torch.tensor(_score(tm, query, items).scores)
    install(Options(), scope="all")
    tm.max_req_input_len = 85  # room for the query plus two items per pack
    got = _score(tm, query, items)
    assert got.prompt_tokens == 2 * (20 + 60)
    assert (torch.tensor(got.scores) - ref).abs().max().item() < 1e-5


def test_unserved_requests_take_the_stock_path(sgl):
    tm, sched = _engine(sgl, seed=4)
    query, items = _data(4, 6, (3, 4))
    ref_raw = _score(tm, query, items, apply_softmax=False).scores
    ref_first = _score(tm, query, items, item_first=True).scores
    install(Options(), scope="all")
    calls = sched.runner.attn_backend.calls
    assert _score(tm, query, items, apply_softmax=False).scores == ref_raw
    assert _score(tm, query, items, item_first=True).scores == ref_first
    assert sched.runner.attn_backend.calls > calls


def test_mixed_batch_serves_both_kinds(sgl):
    tm, sched = _engine(sgl, seed=5)
    query, items = _data(5, 8, (6, 3))
    ref = torch.tensor(_score(tm, query, items).scores)
    plain = [1, 2, 3, 4, 5]
    plain_ref = sched.run_reqs([sgl.sched.Req("p", plain, sgl.sp.SamplingParams(max_new_tokens=0),
                                              True, [YES, NO])])[0]
    install(Options(), scope="all")
    from scorecar_sglang.packing import pack, unpack_scores

    packed = pack(query, items, [YES, NO], 1000, 100)[0]
    reqs = [
        sgl.sched.Req("p", plain, sgl.sp.SamplingParams(max_new_tokens=0), True, [YES, NO]),
        sgl.sched.Req("s", packed.input_ids,
                      sgl.sp.SamplingParams(max_new_tokens=0, custom_params=packed.custom_params()),
                      True, packed.slot_ids()),
    ]
    calls = sched.runner.attn_backend.calls
    out = sched.run_reqs(reqs)
    assert sched.runner.attn_backend.calls > calls  # the plain request needs the backend
    got = torch.tensor(unpack_scores(out[1]["meta_info"]["output_token_ids_logprobs"][0], packed))
    assert (got - ref).abs().max().item() < 1e-5
    assert out[0]["meta_info"]["output_token_ids_logprobs"] == plain_ref["meta_info"]["output_token_ids_logprobs"]


def test_prefix_cache_hit_fails_loudly(sgl):
    tm, sched = _engine(sgl, seed=6)
    query, items = _data(6, 10, (4, 4))
    install(Options(), scope="all")
    sched.cached_prefix = {0: 5}  # as if the radix cache had served part of the packed request
    with pytest.raises(RuntimeError, match="exact scores"):
        _score(tm, query, items)


def test_scheduler_without_model_patches_is_detected(sgl):
    # Only the tokenizer-side hook: the scheduler scores slot ids as ordinary tokens.
    tm, _ = _engine(sgl, seed=8)
    query, items = _data(8, 6, (3, 3))
    install(Options(), scope="server")
    with pytest.raises(RuntimeError, match="not active"):
        _score(tm, query, items)


def test_vocab_parallel_head_fails_loudly(sgl):
    tm, _ = _engine(sgl, seed=7, tp_size=2)
    query, items = _data(7, 5, (3, 3))
    install(Options(), scope="all")
    with pytest.raises(RuntimeError, match="exact scores"):
        _score(tm, query, items)


def test_server_info_advertises_the_patches(sgl):
    install(Options(label_head=False), scope="all")
    sent = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request"}

    scope = {"type": "http", "method": "GET", "path": "/get_server_info"}
    asyncio.run(sgl.http.app(scope, receive, send))
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    info = json.loads(body)
    assert info["scorecar_patches"] == {"exact_prefix": True, "label_head": False}
    assert info["model_path"] == "standin"
    length = dict(sent[0]["headers"])[b"content-length"]
    assert int(length) == len(body)
    # Other paths pass through untouched.
    sent.clear()
    asyncio.run(sgl.http.app({"type": "http", "method": "GET", "path": "/health"}, receive, send))
    assert sent[0]["status"] == 404


def test_warmup_wrapper_freezes_after_sglang_warmup(sgl, monkeypatch):
    import scorecar_sglang.sglang_hooks.server as server

    seen = {}

    def fake_freeze(server_args, **kwargs):
        seen.update(kwargs, server_args=server_args)
        return "frozen via /freeze_gc"

    monkeypatch.setattr(server, "freeze_after_warmup", fake_freeze)
    install(Options(gc_freeze="always"), scope="server")
    done = []
    sgl.http._wait_and_warmup("ARGS", None, lambda: done.append(True))
    assert done == [True]  # the original ran first
    assert seen["server_args"] == "ARGS" and seen["mode"] == "always"
    assert seen["already_frozen_by_sglang"] is False  # the stand-in, like the pin, never freezes
    assert seen["warmup_request"]["apply_softmax"] is True


def test_install_is_idempotent_and_reversible(sgl):
    original = sgl.radix.RadixAttention.forward
    first = install(Options(), scope="model")
    assert set(first.values()) == {"patched"}
    second = install(Options(), scope="model")
    assert set(second.values()) == {"already installed"}
    uninstall()
    assert sgl.radix.RadixAttention.forward is original
