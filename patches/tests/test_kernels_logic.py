"""Orchestration of the fused GPU paths, checked on CPU.

The CUDA kernels themselves only run on a GPU (see gpu/run.sh). Here the kernel
call is replaced by the float32 reference with the same contract (batched
[B, T, H, D] in, output + log-sum-exp out), so padding, gathering, GQA expansion
and the LSE merge around it are verified under torch 1.13; likewise the
FlexAttention mask is evaluated densely.
"""

import math

import pytest
import torch

from scorecar_sglang import kernels
from scorecar_sglang.layout import PackedLayout
from scorecar_sglang.prefix_attention import attention_with_lse, causal_attention, shared_prefix_attention


def _reference_kernel(q, k, v, scale, causal):
    outs, lses = [], []
    for b in range(q.shape[0]):
        o, lse = attention_with_lse(q[b], k[b], v[b], scale, causal)
        outs.append(o.to(q.dtype))
        lses.append(lse)
    return torch.stack(outs), torch.stack(lses)


@pytest.fixture()
def cpu_kernel(monkeypatch):
    monkeypatch.setattr(kernels, "attention_lse_fused", _reference_kernel)


@pytest.mark.parametrize("layout", [PackedLayout(9, (4, 11, 1, 7)), PackedLayout(6, (5, 5, 5)), PackedLayout(0, (3, 8))])
def test_single_request_orchestration(cpu_kernel, layout):
    g = torch.Generator().manual_seed(layout.total_len)
    t = layout.total_len
    q, k, v = torch.randn(t, 8, 16, generator=g), torch.randn(t, 2, 16, generator=g), torch.randn(t, 2, 16, generator=g)
    got = kernels.shared_prefix_attention_fused(q, k, v, layout, 0.25)
    ref = shared_prefix_attention(q, k, v, layout, 0.25)
    assert ((got - ref).abs().max() / ref.abs().max()).item() < 1e-5


@pytest.mark.parametrize("layout", [PackedLayout(5, (6, 6, 6)), PackedLayout(5, (2, 9))])
def test_batched_orchestration(cpu_kernel, layout):
    g = torch.Generator().manual_seed(1)
    r, t = 3, layout.total_len
    q, k, v = torch.randn(r, t, 4, 8, generator=g), torch.randn(r, t, 2, 8, generator=g), torch.randn(r, t, 2, 8, generator=g)
    got = kernels.batched_shared_prefix_attention_fused(q, k, v, layout, 0.3)
    for i in range(r):
        ref = shared_prefix_attention(q[i], k[i], v[i], layout, 0.3)
        assert ((got[i] - ref).abs().max() / ref.abs().max()).item() < 1e-5


def test_selftest_uses_the_kernel(cpu_kernel):
    kernels._SELFTEST.clear()
    assert kernels.fused_selftest(torch.device("cpu"), torch.float32)
    kernels._SELFTEST.clear()


def test_fused_is_not_offered_on_cpu():
    assert not kernels.fused_supported(torch.zeros(1, 2, 64))


def test_flex_mask_equals_shared_prefix_attention():
    layout = PackedLayout(4, (3, 5, 2))
    t = layout.total_len
    doc = kernels.doc_ids(layout, "cpu")
    mask = kernels.shared_prefix_mask_mod(doc)(0, 0, torch.arange(t).view(-1, 1), torch.arange(t).view(1, -1))
    g = torch.Generator().manual_seed(2)
    q, k, v = (torch.randn(t, 2, 8, generator=g) for _ in range(3))
    scores = torch.einsum("qhd,khd->hqk", q, k) * 0.4
    dense = torch.einsum("hqk,khd->qhd", torch.softmax(scores.masked_fill(~mask, -math.inf), -1), v)
    ref = shared_prefix_attention(q, k, v, layout, 0.4)
    assert torch.allclose(dense, ref, atol=1e-5)
    # Spot-check the rule itself: item 2 sees the prefix and itself, never item 1.
    s1, e1 = layout.item_bounds()[0]
    s2, _ = layout.item_bounds()[1]
    assert mask[s2, : layout.prefix_len].all() and not mask[s2, s1:e1].any() and mask[s2, s2]


def test_causal_reference_sanity():
    g = torch.Generator().manual_seed(3)
    q, k, v = (torch.randn(5, 1, 4, generator=g) for _ in range(3))
    out = causal_attention(q, k, v, 1.0)
    assert torch.allclose(out[0], v[0])  # the first token can only see itself
