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


def _bottom_right_varlen(q, k, v, cu_q, cu_k, max_q, max_k, scale):
    """CPU stand-in for the varlen flash kernel: same contract, float32 maths."""
    group = q.shape[1] // k.shape[1]
    out = torch.empty(q.shape[0], q.shape[1], v.shape[2], dtype=q.dtype)
    for i in range(len(cu_q) - 1):
        qs, qe, ks, ke = int(cu_q[i]), int(cu_q[i + 1]), int(cu_k[i]), int(cu_k[i + 1])
        assert qe - qs <= max_q and ke - ks <= max_k
        qq = q[qs:qe].float().transpose(0, 1)
        kk = k[ks:ke].float().repeat_interleave(group, dim=1).transpose(0, 1)
        vv = v[ks:ke].float().repeat_interleave(group, dim=1).transpose(0, 1)
        s = qq @ kk.transpose(1, 2) * scale
        tq, tk = qe - qs, ke - ks
        hidden = torch.arange(tk).view(1, -1) > (tk - tq + torch.arange(tq).view(-1, 1))
        s = s.masked_fill(hidden, float("-inf"))
        out[qs:qe] = (torch.softmax(s, dim=-1) @ vv).transpose(0, 1).to(q.dtype)
    return out


@pytest.fixture()
def cpu_varlen(monkeypatch):
    monkeypatch.setattr(kernels, "varlen_causal_attention", _bottom_right_varlen)
    kernels._PLANS.clear()


@pytest.mark.parametrize("layout", [PackedLayout(9, (4, 11, 1, 7)), PackedLayout(6, (5, 5, 5)), PackedLayout(0, (3, 8))])
def test_varlen_single_request(cpu_varlen, layout):
    g = torch.Generator().manual_seed(layout.total_len + 1)
    t = layout.total_len
    q, k, v = torch.randn(t, 8, 16, generator=g), torch.randn(t, 2, 16, generator=g), torch.randn(t, 2, 16, generator=g)
    got = kernels.shared_prefix_attention_varlen(q, k, v, layout, 0.25)
    ref = shared_prefix_attention(q, k, v, layout, 0.25)
    assert ((got - ref).abs().max() / ref.abs().max()).item() < 1e-5


def test_varlen_batched_plan_covers_every_request(cpu_varlen):
    layout = PackedLayout(4, (3, 6, 2))
    g = torch.Generator().manual_seed(7)
    r, t = 3, layout.total_len
    q, k, v = torch.randn(r, t, 4, 8, generator=g), torch.randn(r, t, 2, 8, generator=g), torch.randn(r, t, 2, 8, generator=g)
    got = kernels.shared_prefix_attention_varlen(q, k, v, layout, 0.3)
    assert got.shape == (r, t, 4, 8)
    for i in range(r):
        ref = shared_prefix_attention(q[i], k[i], v[i], layout, 0.3)
        assert ((got[i] - ref).abs().max() / ref.abs().max()).item() < 1e-5
    kv_index, cu_q, cu_k, max_q, max_k = kernels.varlen_plan(layout, r, "cpu")
    # One query sequence for each prefix and each item; keys: prefix once per item plus the items.
    assert len(cu_q) == 1 + r * (1 + layout.num_items) and int(cu_q[-1]) == r * t
    assert int(cu_k[-1]) == len(kv_index) == r * (layout.prefix_len * (1 + layout.num_items) + sum(layout.item_lens))
    assert (max_q, max_k) == (6, 10)


def test_varlen_selftest_uses_the_kernel(cpu_varlen):
    kernels._SELFTEST.clear()
    assert kernels.varlen_selftest(torch.device("cpu"), torch.float32)
    kernels._SELFTEST.clear()


def test_varlen_is_not_offered_on_cpu():
    assert not kernels.varlen_supported(torch.zeros(1, 2, 64))


def test_hook_prefers_varlen_then_fused_then_reference(monkeypatch):
    from scorecar_sglang.sglang_hooks import attention

    q = torch.zeros(4, 2, 64)
    monkeypatch.setattr(kernels, "varlen_supported", lambda x: True)
    monkeypatch.setattr(kernels, "fused_supported", lambda x: True)
    monkeypatch.setattr(kernels, "varlen_selftest", lambda d, t: True)
    monkeypatch.setattr(kernels, "fused_selftest", lambda d, t: True)
    assert attention._kernel_for(q, "auto") is kernels.shared_prefix_attention_varlen
    assert attention._kernel_for(q, "fused") is kernels.shared_prefix_attention_fused
    assert attention._kernel_for(q, "reference") is shared_prefix_attention
    monkeypatch.setattr(kernels, "varlen_selftest", lambda d, t: False)
    assert attention._kernel_for(q, "auto") is kernels.shared_prefix_attention_fused
    assert attention._kernel_for(q, "varlen") is shared_prefix_attention
