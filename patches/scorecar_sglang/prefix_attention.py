"""Exact shared-prefix attention in plain PyTorch (torch >= 1.13, any device).

The paper's "amortized prefill" (section 5.2) computes the shared prefix once and
lets every item reuse its keys and values inside the same forward pass. For an
item token, attention over ``prefix + item`` splits into two disjoint key sets:

  * the prefix keys, all visible (dense, non-causal), and
  * the item's own keys, visible causally.

Each part is a softmax over a subset of the keys. Keeping each part's
log-sum-exp (LSE) of the scores lets us merge the two normalised outputs into
exactly the softmax over the union:

    o = (exp(lse_a) * o_a + exp(lse_b) * o_b) / (exp(lse_a) + exp(lse_b))

so the result equals full causal attention over the concatenated prompt up to
floating-point rounding. No delimiter token enters the context (unlike upstream
multi-item scoring), so scores match single-item scoring.

Everything here accumulates in float32. This is the reference used by the tests
and the CPU fallback of the SGLang hook; `kernels.py` provides fused GPU paths
for the same maths.
"""

import math
from typing import Optional, Tuple

import torch

from .layout import PackedLayout

# Queries per block when materialising scores: bounds memory to
# heads * block * keys floats instead of heads * queries * keys.
_QUERY_BLOCK = 512


def _check_shapes(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> Tuple[int, int]:
    if q.dim() != 3 or k.dim() != 3 or v.dim() != 3:
        raise ValueError("expected q, k, v shaped [tokens, heads, head_dim]")
    if k.shape[0] != v.shape[0] or k.shape[1] != v.shape[1]:
        raise ValueError("k and v must have the same tokens and heads")
    hq, hkv = q.shape[1], k.shape[1]
    if hq % hkv != 0:
        raise ValueError(f"query heads ({hq}) must be a multiple of kv heads ({hkv})")
    if q.shape[2] != k.shape[2]:
        raise ValueError("q and k head dims differ")
    return hkv, hq // hkv


def attention_with_lse(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    scale: float,
    causal: bool,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Softmax attention of ``q`` over ``k``/``v`` returning (output, lse), both float32.

    Shapes: q [Tq, Hq, D], k [Tk, Hkv, D], v [Tk, Hkv, Dv] with Hq a multiple of
    Hkv (grouped-query attention: query head h reads kv head h // (Hq // Hkv)).
    ``causal`` aligns the last query with the last key (query i sees key j iff
    j <= i + Tk - Tq), which for self-attention is the usual causal mask.
    Returns out [Tq, Hq, Dv] and lse [Tq, Hq]; with no keys, out is 0 and lse -inf,
    which merges as "contributes nothing".
    """
    hkv, group = _check_shapes(q, k, v)
    tq, tk, dv = q.shape[0], k.shape[0], v.shape[2]
    out = torch.zeros(tq, hkv * group, dv, dtype=torch.float32, device=q.device)
    lse = torch.full((tq, hkv * group), -math.inf, dtype=torch.float32, device=q.device)
    if tq == 0 or tk == 0:
        return out, lse

    kf = k.to(torch.float32).permute(1, 2, 0)  # [Hkv, D, Tk]
    vf = v.to(torch.float32).permute(1, 0, 2)  # [Hkv, Tk, Dv]
    key_idx = torch.arange(tk, device=q.device)
    shift = tk - tq
    for s in range(0, tq, _QUERY_BLOCK):
        e = min(tq, s + _QUERY_BLOCK)
        # [Hkv, G*(e-s), D]: fold the query group into the row dimension so one
        # batched matmul per kv head serves all its query heads.
        qb = q[s:e].to(torch.float32).reshape(e - s, hkv, group, -1)
        qb = qb.permute(1, 2, 0, 3).reshape(hkv, group * (e - s), -1)
        scores = torch.bmm(qb, kf) * scale  # [Hkv, G*(e-s), Tk]
        scores = scores.view(hkv, group, e - s, tk)
        if causal:
            q_idx = torch.arange(s, e, device=q.device)
            hidden = key_idx.view(1, -1) > (q_idx.view(-1, 1) + shift)  # [e-s, Tk]
            scores = scores.masked_fill(hidden.view(1, 1, e - s, tk), -math.inf)
        block_lse = torch.logsumexp(scores, dim=-1)  # [Hkv, G, e-s]
        # Rows with every key masked have lse -inf; exp(-inf - -inf) would be NaN.
        safe_lse = torch.where(torch.isinf(block_lse), torch.zeros_like(block_lse), block_lse)
        probs = torch.exp(scores - safe_lse.unsqueeze(-1))
        ob = torch.bmm(probs.view(hkv, group * (e - s), tk), vf)  # [Hkv, G*(e-s), Dv]
        ob = ob.view(hkv, group, e - s, dv).permute(2, 0, 1, 3).reshape(e - s, hkv * group, dv)
        out[s:e] = ob
        lse[s:e] = block_lse.permute(2, 0, 1).reshape(e - s, hkv * group)
    return out, lse


def merge_attention_states(
    o_a: torch.Tensor, lse_a: torch.Tensor, o_b: torch.Tensor, lse_b: torch.Tensor
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Merge two partial attentions over disjoint key sets (float32 in, float32 out).

    o_* [T, H, Dv], lse_* [T, H]. Subtracting the running max keeps exp() in range;
    a side with lse -inf (no keys) gets weight 0.
    """
    m = torch.maximum(lse_a, lse_b)
    m_safe = torch.where(torch.isinf(m), torch.zeros_like(m), m)
    w_a = torch.exp(lse_a - m_safe)
    w_b = torch.exp(lse_b - m_safe)
    denom = w_a + w_b
    denom_safe = torch.where(denom == 0, torch.ones_like(denom), denom)
    out = (o_a * w_a.unsqueeze(-1) + o_b * w_b.unsqueeze(-1)) / denom_safe.unsqueeze(-1)
    return out, m_safe + torch.log(denom_safe)


def causal_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, scale: float) -> torch.Tensor:
    """Plain causal self-attention of one sequence, returned in q's dtype."""
    out, _ = attention_with_lse(q, k, v, scale, causal=True)
    return out.to(q.dtype)


def shared_prefix_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    layout: PackedLayout,
    scale: float,
    out: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """Attention for one packed sequence ``prefix + item_1 + ... + item_N``.

    q [T, Hq, D], k [T, Hkv, D], v [T, Hkv, Dv] with T == layout.total_len.
    Prefix tokens attend causally within the prefix (they are computed once).
    Item tokens attend densely to the prefix and causally to their own item; the
    two partial results are merged by log-sum-exp. Returns [T, Hq, Dv] in q's dtype
    (written into ``out`` when given).
    """
    if q.shape[0] != layout.total_len or k.shape[0] != layout.total_len:
        raise ValueError(
            f"packed sequence has {q.shape[0]} tokens, layout expects {layout.total_len}"
        )
    p = layout.prefix_len
    if out is None:
        out = torch.empty(q.shape[0], q.shape[1], v.shape[2], dtype=q.dtype, device=q.device)

    if p > 0:
        o_prefix, _ = attention_with_lse(q[:p], k[:p], v[:p], scale, causal=True)
        out[:p] = o_prefix.to(out.dtype)
        # Every item's queries see all prefix keys: one dense pass for all items.
        o_cross, lse_cross = attention_with_lse(q[p:], k[:p], v[:p], scale, causal=False)

    for start, end in layout.item_bounds():
        o_self, lse_self = attention_with_lse(
            q[start:end], k[start:end], v[start:end], scale, causal=True
        )
        if p > 0:
            rows = slice(start - p, end - p)
            o_self, _ = merge_attention_states(o_cross[rows], lse_cross[rows], o_self, lse_self)
        out[start:end] = o_self.to(out.dtype)
    return out
