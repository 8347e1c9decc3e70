"""RadixAttention.forward hook: exact shared-prefix attention for packed requests.

SGLang model code calls ``self.attn(q, k, v, forward_batch)`` once per layer,
after projections, q/k norm and RoPE, with q [T, Hq*D] and k/v [T, Hkv*D]
for all tokens of the batch. For packed requests the stock backend would let
item k attend to items 1..k-1; we recompute their rows with prefix + own-item
attention (`prefix_attention.py` / `kernels.py`).

* Batch made only of packed requests: the backend is skipped entirely, so the
  wasted cross-item attention is never computed. The KV cache is not written
  for these tokens. That is safe because packed requests are prefill-only
  (nothing decodes from them) and the launcher requires --disable-radix-cache,
  so nothing ever reads those cache slots.
* Mixed batch: the backend runs as usual (it also writes the KV cache for the
  other requests), then the packed requests' rows are replaced.

Layers the exact path does not cover (cross-attention, sliding windows,
attention logit capping, MLA-style split RoPE) invalidate the plan rather than
return a subtly wrong score.
"""

import functools
import logging

import torch

from .. import kernels
from ..prefix_attention import shared_prefix_attention
from .plan import plan_of

logger = logging.getLogger(__name__)


def _unsupported(layer, kwargs) -> str:
    if getattr(layer, "is_cross_attention", False):
        return "cross-attention layer"
    if getattr(layer, "sliding_window_size", -1) not in (-1, None):
        return "sliding-window attention"
    if getattr(layer, "logit_cap", 0) not in (0, 0.0, None, -1):
        return "attention logit capping"
    if "k_rope" in kwargs or "q_rope" in kwargs:
        return "split-RoPE (MLA) attention"
    return ""


def _kernel_for(q: torch.Tensor, choice: str):
    """The fastest exact path that passed its self-test on this device and dtype.

    auto prefers the varlen flash kernel (measured fastest in gpu/run.sh), then the
    LSE-merge kernels; a named kernel that is unavailable falls back to the reference.
    """
    if choice == "reference":
        return shared_prefix_attention
    if choice in ("auto", "varlen") and kernels.varlen_supported(q) and kernels.varlen_selftest(q.device, q.dtype):
        return kernels.shared_prefix_attention_varlen
    if choice in ("auto", "fused") and kernels.fused_supported(q) and kernels.fused_selftest(q.device, q.dtype):
        return kernels.shared_prefix_attention_fused
    if choice != "auto":
        logger.warning("scorecar: %s attention requested but unavailable; using the reference path", choice)
    return shared_prefix_attention


def make_radix_attention_forward(original_func, options):
    @functools.wraps(original_func)
    def forward(self, q, k, v, forward_batch, save_kv_cache=True, *args, **kwargs):
        plan = plan_of(forward_batch)
        if plan is None or not plan.any_custom_attention:
            return original_func(self, q, k, v, forward_batch, save_kv_cache, *args, **kwargs)
        why = "cross-layer KV sharing (k is None)" if k is None else _unsupported(self, kwargs)
        if not why and q.shape[0] != plan.num_tokens:
            why = f"attention sees {q.shape[0]} tokens, the plan {plan.num_tokens} (padded batch?)"
        if why or args:
            plan.invalidate(why or "unexpected positional arguments")
            return original_func(self, q, k, v, forward_batch, save_kv_cache, *args, **kwargs)

        hq, hkv = self.tp_q_head_num, self.tp_k_head_num
        d, dv = self.qk_head_dim, self.v_head_dim
        q3, k3, v3 = q.reshape(-1, hq, d), k.reshape(-1, hkv, d), v.reshape(-1, hkv, dv)
        if plan.all_custom_attention:
            out = q3.new_empty(q3.shape[0], hq, dv)
        else:
            base = original_func(self, q, k, v, forward_batch, save_kv_cache, *args, **kwargs)
            out = base.view(q3.shape[0], hq, dv)
        attend = _kernel_for(q3, options.attention_kernel)
        for span in plan.spans:
            if span.needs_custom_attention:
                rows = slice(span.start, span.start + span.length)
                out[rows] = attend(q3[rows], k3[rows], v3[rows], span.layout, self.scaling)
        return out.view(q3.shape[0], hq * dv)

    return forward
