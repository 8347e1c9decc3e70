"""Tokenizer-side packing, the wire format and the slot-row round trip."""

import math

import pytest
import torch

from scorecar_sglang.layout import PackedLayout
from scorecar_sglang.packing import (
    SCORECAR_KEY,
    eligibility,
    pack,
    parse_custom_params,
    unpack_scores,
)


def test_layout_offsets_and_positions():
    layout = PackedLayout(3, (2, 4))
    assert layout.total_len == 9
    assert layout.item_bounds() == [(3, 5), (5, 9)]
    assert layout.scored_offsets() == [4, 8]
    assert layout.positions() == [0, 1, 2, 3, 4, 3, 4, 5, 6]
    assert not layout.is_trivial and PackedLayout(0, (5,)).is_trivial


@pytest.mark.parametrize("bad", [(-1, (2,)), (2, ()), (2, (0,)), (2, (1.5,))])
def test_layout_validation(bad):
    with pytest.raises(ValueError):
        PackedLayout(*bad)


def test_pack_respects_token_and_slot_limits():
    query = [1, 2, 3]
    items = [[10] * 4, [11] * 4, [12] * 4, [13] * 9, [14]]
    packs = pack(query, items, [7, 8], max_tokens=12, max_slots=4)
    # max_slots=4 with 2 labels -> at most 2 items per pack; 12 tokens -> 3 + 9 item tokens.
    for p in packs:
        assert len(p.input_ids) <= 12 and p.num_slots <= 4
        assert p.input_ids[:3] == query and p.layout.total_len == len(p.input_ids)
    flat = [i for p in packs for i in p.item_indices]
    assert flat == list(range(len(items)))
    assert [p.item_indices for p in packs] == [(0, 1), (2,), (3,), (4,)]


def test_pack_rejects_item_that_cannot_fit():
    with pytest.raises(ValueError, match="exceeds"):
        pack([1] * 10, [[2] * 5], [7, 8], max_tokens=12, max_slots=100)


def test_eligibility():
    assert eligibility([1], [[2]], [3, 4], True, False) is None
    assert "apply_softmax" in eligibility([1], [[2]], [3, 4], False, False)
    assert "item_first" in eligibility([1], [[2]], [3, 4], True, True)
    assert "query" in eligibility("text", [[2]], [3, 4], True, False)
    assert "items" in eligibility([1], ["text"], [3, 4], True, False)
    assert "items" in eligibility([1], [[]], [3, 4], True, False)


def test_wire_round_trip_and_rejection():
    p = pack([1, 2], [[3], [4, 5]], [9, 10], max_tokens=100, max_slots=100)[0]
    layout, labels = parse_custom_params(p.custom_params())
    assert layout == p.layout and labels == (9, 10)
    assert parse_custom_params({"other": 1}) is None and parse_custom_params(None) is None
    with pytest.raises(ValueError):
        parse_custom_params({SCORECAR_KEY: {"v": 99}})
    with pytest.raises(ValueError):
        parse_custom_params({SCORECAR_KEY: {"v": 1, "prefix_len": 1, "item_lens": [1], "label_ids": []}})


def test_unpack_undoes_the_sampler_log_softmax():
    p = pack([1], [[2], [3], [4]], [7, 8], max_tokens=100, max_slots=100)[0]
    probs = torch.tensor([[0.9, 0.1], [0.25, 0.75], [0.5, 0.5]])
    row = torch.log(probs).reshape(-1)
    # What SGLang's sampler returns: a log-softmax over the slot row.
    sampled = torch.log_softmax(row, dim=0)
    entries = [(float(sampled[s]), s, None) for s in p.slot_ids()]
    got = torch.tensor(unpack_scores(entries, p))
    assert torch.allclose(got, probs, atol=1e-6)


def test_unpack_reports_unservable_requests():
    p = pack([1], [[2]], [7, 8], max_tokens=100, max_slots=100)[0]
    with pytest.raises(RuntimeError):
        unpack_scores([(math.nan, 0, None), (math.nan, 1, None)], p)
    with pytest.raises(RuntimeError):
        unpack_scores([(-0.1, 0, None)], p)  # a slot is missing


def test_unpack_rejects_rows_that_are_not_slot_rows():
    # Ordinary next-token logprobs of token ids 0 and 1 do not sum to 1.
    p = pack([1], [[2]], [7, 8], max_tokens=100, max_slots=100)[0]
    with pytest.raises(RuntimeError, match="not active"):
        unpack_scores([(-6.0, 0, None), (-7.5, 1, None)], p)
