"""Shared-prefix attention equals full causal attention over each ``prefix + item`` prompt."""

import math

import pytest
import torch

from scorecar_sglang.layout import PackedLayout
from scorecar_sglang.prefix_attention import (
    attention_with_lse,
    causal_attention,
    merge_attention_states,
    shared_prefix_attention,
)

CASES = [
    # (prefix_len, item_lens, q_heads, kv_heads, head_dim)
    (7, (5, 9, 1, 12), 4, 4, 16),  # MHA
    (16, (3, 3, 3), 8, 2, 32),  # GQA 4:1
    (1, (20, 2), 6, 3, 8),  # GQA 2:1, one-token prefix
    (0, (4, 6), 4, 2, 16),  # no shared prefix
    (50, (220,), 16, 8, 64),  # one item, Qwen3-like head ratio
    (33, (600, 17), 4, 1, 16),  # MQA; item longer than the query block
]


def _rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).abs().max() / b.abs().max()).item()


@pytest.mark.parametrize("prefix_len,item_lens,hq,hkv,d", CASES)
def test_matches_causal_attention_per_prompt(prefix_len, item_lens, hq, hkv, d):
    g = torch.Generator().manual_seed(sum(item_lens) + prefix_len)
    layout = PackedLayout(prefix_len, item_lens)
    t = layout.total_len
    q = torch.randn(t, hq, d, generator=g)
    k = torch.randn(t, hkv, d, generator=g)
    v = torch.randn(t, hkv, d, generator=g)
    scale = d ** -0.5
    out = shared_prefix_attention(q, k, v, layout, scale)
    prefix = list(range(prefix_len))
    for start, end in layout.item_bounds():
        idx = prefix + list(range(start, end))
        ref = causal_attention(q[idx], k[idx], v[idx], scale)
        assert _rel_err(out[start:end], ref[prefix_len:]) < 1e-5
        if prefix_len:
            assert _rel_err(out[:prefix_len], ref[:prefix_len]) < 1e-5


def test_items_do_not_see_each_other():
    # Perturbing item 1 must leave item 2's output bit-for-bit unchanged.
    layout = PackedLayout(4, (3, 5))
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(12, 2, 8, generator=g) for _ in range(3))
    base = shared_prefix_attention(q, k, v, layout, 0.3)
    k2, v2 = k.clone(), v.clone()
    k2[4:7] += 10.0
    v2[4:7] -= 3.0
    changed = shared_prefix_attention(q, k2, v2, layout, 0.3)
    assert torch.equal(base[7:], changed[7:])
    assert not torch.allclose(base[4:7], changed[4:7])


def test_lse_matches_explicit_logsumexp():
    g = torch.Generator().manual_seed(3)
    q, k, v = torch.randn(5, 4, 8, generator=g), torch.randn(9, 2, 8, generator=g), torch.randn(9, 2, 8, generator=g)
    out, lse = attention_with_lse(q, k, v, 0.5, causal=True)
    kk = k.repeat_interleave(2, dim=1)
    scores = torch.einsum("qhd,khd->hqk", q, kk) * 0.5
    mask = torch.arange(9).view(1, -1) > (torch.arange(5).view(-1, 1) + 4)
    scores = scores.masked_fill(mask, -math.inf)
    assert torch.allclose(lse, torch.logsumexp(scores, -1).t(), atol=1e-5)
    ref = torch.einsum("hqk,khd->qhd", torch.softmax(scores, -1), v.repeat_interleave(2, dim=1))
    assert torch.allclose(out, ref, atol=1e-5)


def test_merge_with_empty_side_is_identity():
    g = torch.Generator().manual_seed(4)
    o = torch.randn(3, 2, 4, generator=g)
    lse = torch.randn(3, 2, generator=g)
    empty_o, empty_lse = torch.zeros_like(o), torch.full_like(lse, -math.inf)
    merged, merged_lse = merge_attention_states(empty_o, empty_lse, o, lse)
    assert torch.allclose(merged, o) and torch.allclose(merged_lse, lse)


def test_merge_equals_attention_over_union():
    g = torch.Generator().manual_seed(5)
    q = torch.randn(4, 2, 8, generator=g)
    k, v = torch.randn(10, 2, 8, generator=g), torch.randn(10, 2, 8, generator=g)
    oa, la = attention_with_lse(q, k[:6], v[:6], 0.4, causal=False)
    ob, lb = attention_with_lse(q, k[6:], v[6:], 0.4, causal=False)
    merged, lse = merge_attention_states(oa, la, ob, lb)
    full, full_lse = attention_with_lse(q, k, v, 0.4, causal=False)
    assert _rel_err(merged, full) < 1e-5 and torch.allclose(lse, full_lse, atol=1e-5)


def test_rejects_wrong_length():
    with pytest.raises(ValueError):
        shared_prefix_attention(torch.zeros(5, 2, 4), torch.zeros(5, 2, 4), torch.zeros(5, 2, 4), PackedLayout(2, (2,)), 1.0)
