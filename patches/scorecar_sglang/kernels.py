"""Fused GPU paths for shared-prefix attention (torch >= 2.x on CUDA only).

Same maths as `prefix_attention.py`, run with kernels that do not materialise
the score matrix:

* ``fused``: PyTorch's FlashAttention kernel (``aten::_scaled_dot_product_flash_attention``,
  falling back to the memory-efficient kernel), which also returns the
  log-sum-exp. Items are batched into one causal call, the prefix into one dense
  call, and the two results are merged by LSE in float32.
* ``varlen``: PyTorch's variable-length FlashAttention forward
  (``aten::_flash_attention_forward`` with cumulative sequence lengths). Each
  prefix is one causal sequence; each item is one sequence whose keys are the
  prefix followed by the item, with the causal mask aligned bottom-right (query
  j of an item sees the prefix and item tokens 0..j). No padding, no LSE merge,
  GQA inside the kernel; the only copy is the prefix KV repeated once per item.
* ``flex``: one FlexAttention call with a block mask "key is in the prefix or in
  my own item, and not after me"; the merge happens inside the kernel's online
  softmax. Compiled per shape, so it suits fixed-shape benchmarks better than a
  server that sees every length.

Nothing here is imported at module load time from torch 2.x-only namespaces, so
the package still imports under Debian's torch 1.13 (where these paths simply
report themselves unavailable). Each fused path checks itself against the
reference once per (device, dtype) before it is trusted.
"""

import logging
import math
from typing import Dict, Optional, Tuple

import torch

from .layout import PackedLayout
from .prefix_attention import merge_attention_states, shared_prefix_attention

logger = logging.getLogger(__name__)

_SELFTEST: Dict[Tuple[str, str, torch.dtype], bool] = {}


def _flash_op():
    return getattr(torch.ops.aten, "_scaled_dot_product_flash_attention", None)


def _efficient_op():
    return getattr(torch.ops.aten, "_scaled_dot_product_efficient_attention", None)


def _flash_shaped(q: torch.Tensor) -> bool:
    # What PyTorch's flash and memory-efficient kernels accept: half precision on CUDA,
    # head dims that are a multiple of 8 up to 256.
    return q.is_cuda and q.dtype in (torch.float16, torch.bfloat16) and q.shape[-1] % 8 == 0 and q.shape[-1] <= 256


def fused_supported(q: torch.Tensor) -> bool:
    """Whether the fused LSE kernels can run on tensors like ``q`` at all."""
    return _flash_shaped(q) and (_flash_op() is not None or _efficient_op() is not None)


def _expand_kv(x: torch.Tensor, group: int) -> torch.Tensor:
    # [B, T, Hkv, D] -> [B, Hq, T, D]; the fused kernels want equal head counts.
    x = x.transpose(1, 2)
    return x.repeat_interleave(group, dim=1) if group > 1 else x


def attention_lse_fused(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, scale: float, causal: bool
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Batched attention returning (out [B,Tq,Hq,Dv] in q.dtype, lse [B,Tq,Hq] float32).

    q [B, Tq, Hq, D], k/v [B, Tk, Hkv, D]. ``causal`` is only used with Tq == Tk.
    """
    group = q.shape[2] // k.shape[2]
    qh = q.transpose(1, 2).contiguous()
    kh = _expand_kv(k, group).contiguous()
    vh = _expand_kv(v, group).contiguous()
    tq = q.shape[1]
    op = _flash_op()
    if op is not None:
        try:
            res = op(qh, kh, vh, 0.0, causal, False, scale=scale)
            out, lse = res[0], res[1]
            return out.transpose(1, 2), lse[..., :tq].transpose(1, 2).float()
        except RuntimeError as exc:  # e.g. a head dim the flash kernel rejects
            logger.debug("flash attention kernel unavailable: %s", exc)
    op = _efficient_op()
    if op is None:
        raise RuntimeError("no fused attention kernel with log-sum-exp in this torch build")
    res = op(qh, kh, vh, None, True, 0.0, causal, scale=scale)
    out, lse = res[0], res[1]
    return out.transpose(1, 2), lse[..., :tq].transpose(1, 2).float()


def shared_prefix_attention_fused(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, layout: PackedLayout, scale: float,
    out: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """One packed sequence ([T, H, D] tensors) with fused kernels; items may differ in length."""
    p, n = layout.prefix_len, layout.num_items
    if out is None:
        out = torch.empty(q.shape[0], q.shape[1], v.shape[2], dtype=q.dtype, device=q.device)
    if p > 0:
        o_p, _ = attention_lse_fused(q[None, :p], k[None, :p], v[None, :p], scale, True)
        out[:p] = o_p[0]
    lmax = max(layout.item_lens)
    rows = _packed_rows(layout, q.device)
    if all(x == lmax for x in layout.item_lens):
        # Equal lengths: a free reshape instead of a padded copy.
        qi = q[p:].reshape(n, lmax, q.shape[1], q.shape[2])
        ki = k[p:].reshape(n, lmax, k.shape[1], k.shape[2])
        vi = v[p:].reshape(n, lmax, v.shape[1], v.shape[2])
    else:
        # Right-pad every item to lmax with one scatter per tensor. Padding sits
        # after the real tokens, so the causal mask hides it from every real query.
        qi = q.new_zeros(n * lmax, q.shape[1], q.shape[2]).index_copy_(0, rows, q[p:]).view(n, lmax, q.shape[1], q.shape[2])
        ki = k.new_zeros(n * lmax, k.shape[1], k.shape[2]).index_copy_(0, rows, k[p:]).view(n, lmax, k.shape[1], k.shape[2])
        vi = v.new_zeros(n * lmax, v.shape[1], v.shape[2]).index_copy_(0, rows, v[p:]).view(n, lmax, v.shape[1], v.shape[2])
    o_self, lse_self = attention_lse_fused(qi, ki, vi, scale, True)
    # Back to packed order in one gather: row j of item i sits at i*lmax + j.
    hq, dv = q.shape[1], v.shape[2]
    o_items = o_self.reshape(n * lmax, hq, dv).index_select(0, rows)
    lse_items = lse_self.reshape(n * lmax, hq).index_select(0, rows)
    if p > 0:
        o_x, lse_x = attention_lse_fused(q[None, p:], k[None, :p], v[None, :p], scale, False)
        merged, _ = merge_attention_states(o_x[0].float(), lse_x[0], o_items.float(), lse_items)
        out[p:] = merged.to(out.dtype)
    else:
        out[p:] = o_items
    return out


_ROWS: Dict[Tuple, torch.Tensor] = {}


def _packed_rows(layout: PackedLayout, device: torch.device) -> torch.Tensor:
    """Indices of the real (unpadded) item tokens in an [items * max_len] layout, cached."""
    key = (layout.item_lens, str(device))
    rows = _ROWS.get(key)
    if rows is None:
        lmax = max(layout.item_lens)
        idx = [i * lmax + j for i, n in enumerate(layout.item_lens) for j in range(n)]
        rows = torch.tensor(idx, dtype=torch.long, device=device)
        if len(_ROWS) > 4096:
            _ROWS.clear()
        _ROWS[key] = rows
    return rows


def batched_shared_prefix_attention_fused(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, layout: PackedLayout, scale: float
) -> torch.Tensor:
    """R packed sequences with one common layout: q [R, T, Hq, D] -> [R, T, Hq, Dv].

    Used when a batch holds many requests of the same shape (the benchmark): every
    kernel call covers all R requests at once.
    """
    r, p, n = q.shape[0], layout.prefix_len, layout.num_items
    lens = set(layout.item_lens)
    if len(lens) != 1:
        return torch.stack([shared_prefix_attention_fused(q[i], k[i], v[i], layout, scale) for i in range(r)])
    li = lens.pop()
    hq, hkv, d, dv = q.shape[2], k.shape[2], q.shape[3], v.shape[3]
    out = torch.empty(r, q.shape[1], hq, dv, dtype=q.dtype, device=q.device)
    if p > 0:
        out[:, :p] = attention_lse_fused(q[:, :p], k[:, :p], v[:, :p], scale, True)[0]
    o_self, lse_self = attention_lse_fused(
        q[:, p:].reshape(r * n, li, hq, d), k[:, p:].reshape(r * n, li, hkv, d),
        v[:, p:].reshape(r * n, li, hkv, dv), scale, True,
    )
    o_self = o_self.reshape(r, n * li, hq, dv)
    lse_self = lse_self.reshape(r, n * li, hq)
    if p == 0:
        out[:, p:] = o_self
        return out
    o_x, lse_x = attention_lse_fused(q[:, p:], k[:, :p], v[:, :p], scale, False)
    merged, _ = merge_attention_states(
        o_x.float().flatten(0, 1), lse_x.flatten(0, 1), o_self.float().flatten(0, 1), lse_self.flatten(0, 1)
    )
    out[:, p:] = merged.view(r, n * li, hq, dv).to(out.dtype)
    return out


def _flash_varlen_op():
    return getattr(torch.ops.aten, "_flash_attention_forward", None)


def varlen_supported(q: torch.Tensor) -> bool:
    """Whether the variable-length flash kernel can run on tensors like ``q``."""
    return _flash_shaped(q) and _flash_varlen_op() is not None


def varlen_causal_attention(q, k, v, cu_q, cu_k, max_q: int, max_k: int, scale: float) -> torch.Tensor:
    """Causal attention over packed sequences, mask aligned bottom-right.

    q [sum Tq, Hq, D], k/v [sum Tk, Hkv, D] (Hq a multiple of Hkv), cu_q/cu_k int32
    cumulative lengths. Query i of a sequence with Tq queries and Tk keys sees keys
    0..Tk-Tq+i, which is FlashAttention's causal convention for Tq != Tk.
    """
    res = _flash_varlen_op()(q, k, v, cu_q, cu_k, max_q, max_k, 0.0, True, False, scale=scale)
    return res[0]


_PLANS: Dict[Tuple, Tuple] = {}


def varlen_plan(layout: PackedLayout, reps: int, device) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, int, int]:
    """(kv_index, cu_q, cu_k, max_q, max_k) for ``reps`` packed sequences of one layout.

    Query sequences are the packed order itself (prefix, item 1, ..., item N per
    request), so the kernel's output needs no reordering. Key sequence of the
    prefix: the prefix; of item i: the prefix followed by item i, gathered by
    ``kv_index`` from the packed keys.
    """
    key = (layout, reps, str(device))
    plan = _PLANS.get(key)
    if plan is not None:
        return plan
    t, p = layout.total_len, layout.prefix_len
    kv, cu_q, cu_k = [], [0], [0]
    for r in range(reps):
        base = r * t
        prefix = list(range(base, base + p))
        if p:
            kv += prefix
            cu_q.append(cu_q[-1] + p)
            cu_k.append(cu_k[-1] + p)
        for s, e in layout.item_bounds():
            kv += prefix
            kv += range(base + s, base + e)
            cu_q.append(cu_q[-1] + e - s)
            cu_k.append(cu_k[-1] + p + e - s)
    lmax = max(layout.item_lens)
    plan = (
        torch.tensor(kv, dtype=torch.long, device=device),
        torch.tensor(cu_q, dtype=torch.int32, device=device),
        torch.tensor(cu_k, dtype=torch.int32, device=device),
        max(p, lmax),
        p + lmax,
    )
    if len(_PLANS) > 1024:
        _PLANS.clear()
    _PLANS[key] = plan
    return plan


def shared_prefix_attention_varlen(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, layout: PackedLayout, scale: float,
    out: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """Packed sequences of one layout in one varlen kernel call.

    q [T, Hq, D] or [R, T, Hq, D]; k/v likewise with Hkv heads. Returns q's shape with Dv.
    """
    reps = q.shape[0] if q.dim() == 4 else 1
    hq, d = q.shape[-2], q.shape[-1]
    hkv, dv = k.shape[-2], v.shape[-1]
    kv_index, cu_q, cu_k, max_q, max_k = varlen_plan(layout, reps, q.device)
    o = varlen_causal_attention(
        q.reshape(-1, hq, d).contiguous(),
        k.reshape(-1, hkv, d).index_select(0, kv_index),
        v.reshape(-1, hkv, dv).index_select(0, kv_index),
        cu_q, cu_k, max_q, max_k, scale,
    ).view(*q.shape[:-1], dv)
    if out is None:
        return o
    out.copy_(o)
    return out


def varlen_selftest(device: torch.device, dtype: torch.dtype) -> bool:
    """Compare the varlen path with the float32 reference once per (device, dtype)."""
    return _selftest("varlen", shared_prefix_attention_varlen, device, dtype)


def fused_selftest(device: torch.device, dtype: torch.dtype) -> bool:
    """Compare the LSE-merge path with the float32 reference once per (device, dtype)."""
    return _selftest("fused", shared_prefix_attention_fused, device, dtype)


def _selftest(name: str, fn, device: torch.device, dtype: torch.dtype) -> bool:
    key = (name, str(device), dtype)
    if key in _SELFTEST:
        return _SELFTEST[key]
    ok = False
    try:
        g = torch.Generator(device="cpu").manual_seed(1234)
        layout = PackedLayout(13, (7, 11, 5))
        t = layout.total_len
        q = torch.randn(t, 4, 64, generator=g).to(device=device, dtype=dtype)
        k = torch.randn(t, 2, 64, generator=g).to(device=device, dtype=dtype)
        v = torch.randn(t, 2, 64, generator=g).to(device=device, dtype=dtype)
        ref = shared_prefix_attention(q.float(), k.float(), v.float(), layout, 0.125).float()
        got = fn(q, k, v, layout, 0.125).float()
        err = (got - ref).abs().max().item() / max(ref.abs().max().item(), 1e-6)
        ok = math.isfinite(err) and err < 3e-2
        if not ok:
            logger.warning("scorecar %s attention self-test failed (rel err %.3g)", name, err)
    except Exception as exc:  # any kernel/shape error means "do not use this path"
        logger.warning("scorecar %s attention unavailable (%s)", name, exc)
    _SELFTEST[key] = ok
    return ok


def flex_available() -> bool:
    try:
        from torch.nn.attention.flex_attention import flex_attention  # noqa: F401
    except Exception:
        return False
    return torch.cuda.is_available()


def doc_ids(layout: PackedLayout, device) -> torch.Tensor:
    """0 for prefix tokens, i + 1 for the tokens of item i."""
    doc = torch.zeros(layout.total_len, dtype=torch.int32, device=device)
    for i, (s, e) in enumerate(layout.item_bounds()):
        doc[s:e] = i + 1
    return doc


def shared_prefix_mask_mod(doc: torch.Tensor):
    """FlexAttention mask: a key is visible if it is not after the query and lies in
    the prefix or in the query's own item. Over the union of those keys one softmax
    equals the LSE merge of the two partial attentions in `prefix_attention.py`."""

    def mask_mod(b, h, q_idx, kv_idx):
        return (kv_idx <= q_idx) & ((doc[kv_idx] == 0) | (doc[kv_idx] == doc[q_idx]))

    return mask_mod


class FlexSharedPrefix:
    """FlexAttention over whole packed sequences; compiled once, block masks cached per layout."""

    def __init__(self) -> None:
        from torch.nn.attention.flex_attention import create_block_mask, flex_attention

        self._create_block_mask = create_block_mask
        self._flex = torch.compile(flex_attention, dynamic=False)
        self._masks: Dict[Tuple, object] = {}

    def _mask(self, layout: PackedLayout, device: torch.device):
        key = (layout, str(device))
        mask = self._masks.get(key)
        if mask is None:
            mask = self._create_block_mask(
                shared_prefix_mask_mod(doc_ids(layout, device)), B=None, H=None,
                Q_LEN=layout.total_len, KV_LEN=layout.total_len, device=device,
            )
            self._masks[key] = mask
        return mask

    def __call__(self, q, k, v, layout: PackedLayout, scale: float) -> torch.Tensor:
        """q [R, T, Hq, D], k/v [R, T, Hkv, D] -> [R, T, Hq, Dv]."""
        out = self._flex(
            q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2),
            block_mask=self._mask(layout, q.device), scale=scale,
            enable_gqa=q.shape[2] != k.shape[2],
        )
        return out.transpose(1, 2)
