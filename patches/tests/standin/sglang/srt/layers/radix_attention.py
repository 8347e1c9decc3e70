"""Stand-in for RadixAttention.

Mirrors python/sglang/srt/layers/radix_attention.py @0088621c02f1: class at
line 98; __init__ stores tp_q_head_num/tp_k_head_num (line 122), scaling (128),
logit_cap (130), sliding_window_size (131), is_cross_attention (132);
forward(self, q, k, v, forward_batch, save_kv_cache=True,
key_value_num_tokens=None, **kwargs) at line 157 reshapes k/v to
[tokens, heads, dim] and hands everything to the attention backend.
"""

from typing import Optional

from torch import nn


class RadixAttention(nn.Module):
    def __init__(self, num_heads: int, head_dim: int, scaling: float, num_kv_heads: int, layer_id: int,
                 logit_cap: float = 0.0, v_head_dim: int = -1, sliding_window_size: int = -1,
                 is_cross_attention: bool = False):
        super().__init__()
        self.tp_q_head_num = num_heads
        self.tp_k_head_num = num_kv_heads
        self.tp_v_head_num = num_kv_heads
        self.head_dim = head_dim
        self.qk_head_dim = head_dim
        self.v_head_dim = v_head_dim if v_head_dim != -1 else head_dim
        self.scaling = scaling
        self.layer_id = layer_id
        self.logit_cap = logit_cap
        self.sliding_window_size = sliding_window_size or -1
        self.is_cross_attention = is_cross_attention

    def forward(self, q, k, v, forward_batch, save_kv_cache=True, key_value_num_tokens: Optional[int] = None,
                **kwargs):
        if k is not None:
            k = k.view(-1, self.tp_k_head_num, self.qk_head_dim)
            v = v.view(-1, self.tp_v_head_num, self.v_head_dim)
        return forward_batch.attn_backend.forward(q, k, v, self, forward_batch, save_kv_cache, **kwargs)
