"""A small Qwen3-style decoder in plain PyTorch, for the equality tests and the GPU check.

Not used by the server. It reproduces the parts of Qwen3 that matter for exact
shared-prefix scoring: RMSNorm, rotary embeddings driven by explicit positions,
grouped-query attention with per-head q/k RMSNorm, SwiGLU MLP, and a (tied) LM
head. Attention is injected as a callable so the same weights can be run as

* per-item scoring (each ``prefix + item`` alone, causal attention), the ground truth, and
* packed scoring (``prefix + item_1 + ... + item_N`` in one pass, shared-prefix attention).

Only torch 1.13 APIs are used here (no nn.RMSNorm / SDPA), so it runs under
Debian's python3-torch; the GPU check passes faster attention callables.
"""

from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence

import torch
from torch import nn

from .label_head import LabelHead, full_vocab_label_probs
from .layout import PackedLayout
from .prefix_attention import causal_attention, shared_prefix_attention

# attn(q [B,T,Hq,D], k [B,T,Hkv,D], v [B,T,Hkv,D], scale) -> [B,T,Hq,D]
AttentionFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, float], torch.Tensor]


@dataclass(frozen=True)
class Qwen3StyleConfig:
    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    rope_theta: float = 1_000_000.0
    rms_norm_eps: float = 1e-6
    tie_word_embeddings: bool = True

    @staticmethod
    def qwen3_0_6b() -> "Qwen3StyleConfig":
        # Shapes of Qwen/Qwen3-0.6B's config.json.
        return Qwen3StyleConfig(151936, 1024, 3072, 28, 16, 8, 128)

    @staticmethod
    def pruned_375m() -> "Qwen3StyleConfig":
        # The paper's production model (section 4.3): MLP width halved, last 8 blocks removed.
        return Qwen3StyleConfig(151936, 1024, 1536, 20, 16, 8, 128)

    def num_parameters(self) -> int:
        attn = self.hidden_size * self.head_dim * (2 * self.num_attention_heads + 2 * self.num_key_value_heads)
        mlp = 3 * self.hidden_size * self.intermediate_size
        norms = 2 * self.hidden_size + 2 * self.head_dim
        embed = self.vocab_size * self.hidden_size
        head = 0 if self.tie_word_embeddings else embed
        return embed + head + self.hidden_size + self.num_hidden_layers * (attn + mlp + norms)


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Normalise in float32, scale in the input dtype (as Qwen3 does).
        xf = x.to(torch.float32)
        xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * xf.to(x.dtype)


def rope_cos_sin(positions: torch.Tensor, head_dim: int, theta: float):
    """cos/sin [..., T, head_dim] for integer positions [..., T] (float32)."""
    inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2, device=positions.device, dtype=torch.float32) / head_dim))
    freqs = positions.to(torch.float32).unsqueeze(-1) * inv
    emb = torch.cat([freqs, freqs], dim=-1)
    return emb.cos(), emb.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x [B, T, H, D]; cos/sin [B, T, D]. Rotate-half convention (HF Qwen3)."""
    half = x.shape[-1] // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    xf = x.to(torch.float32)
    out = xf * cos.unsqueeze(2) + rotated.to(torch.float32) * sin.unsqueeze(2)
    return out.to(x.dtype)


class Attention(nn.Module):
    def __init__(self, cfg: Qwen3StyleConfig):
        super().__init__()
        self.cfg = cfg
        hq, hkv, d = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
        self.q_proj = nn.Linear(cfg.hidden_size, hq * d, bias=False)
        self.k_proj = nn.Linear(cfg.hidden_size, hkv * d, bias=False)
        self.v_proj = nn.Linear(cfg.hidden_size, hkv * d, bias=False)
        self.o_proj = nn.Linear(hq * d, cfg.hidden_size, bias=False)
        self.q_norm = RMSNorm(d, cfg.rms_norm_eps)
        self.k_norm = RMSNorm(d, cfg.rms_norm_eps)
        self.scale = d ** -0.5

    def forward(self, x, cos, sin, attn: AttentionFn) -> torch.Tensor:
        b, t, _ = x.shape
        c = self.cfg
        q = self.q_norm(self.q_proj(x).view(b, t, c.num_attention_heads, c.head_dim))
        k = self.k_norm(self.k_proj(x).view(b, t, c.num_key_value_heads, c.head_dim))
        v = self.v_proj(x).view(b, t, c.num_key_value_heads, c.head_dim)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        o = attn(q, k, v, self.scale)
        return self.o_proj(o.reshape(b, t, -1))


class MLP(nn.Module):
    def __init__(self, cfg: Qwen3StyleConfig):
        super().__init__()
        self.gate_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.up_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.down_proj = nn.Linear(cfg.intermediate_size, cfg.hidden_size, bias=False)

    def forward(self, x):
        return self.down_proj(nn.functional.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, cfg: Qwen3StyleConfig):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.mlp = MLP(cfg)

    def forward(self, x, cos, sin, attn):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, attn)
        return x + self.mlp(self.post_attention_layernorm(x))


class Qwen3StyleModel(nn.Module):
    def __init__(self, cfg: Qwen3StyleConfig):
        super().__init__()
        self.cfg = cfg
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList([DecoderLayer(cfg) for _ in range(cfg.num_hidden_layers)])
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)
        if cfg.tie_word_embeddings:
            self.lm_head.weight = self.embed_tokens.weight

    def init_random(self, seed: int, std: float = 0.02) -> "Qwen3StyleModel":
        """Random weights; norms get weights near 1 so they are not a no-op."""
        g = torch.Generator(device="cpu").manual_seed(seed)
        with torch.no_grad():
            for name, p in self.named_parameters():
                if name.endswith("norm.weight") or name.endswith("layernorm.weight"):
                    p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
                else:
                    p.copy_(std * torch.randn(p.shape, generator=g))
        return self

    def hidden_states(self, input_ids: torch.Tensor, positions: torch.Tensor, attn: AttentionFn) -> torch.Tensor:
        """input_ids/positions [B, T] -> final-normed hidden states [B, T, hidden]."""
        x = self.embed_tokens(input_ids)
        cos, sin = rope_cos_sin(positions, self.cfg.head_dim, self.cfg.rope_theta)
        for layer in self.layers:
            x = layer(x, cos, sin, attn)
        return self.norm(x)


def causal_attn(q, k, v, scale):
    """Reference causal attention per sequence of the batch."""
    return torch.stack([causal_attention(q[i], k[i], v[i], scale) for i in range(q.shape[0])])


def packed_attn(layout: PackedLayout) -> AttentionFn:
    def attn(q, k, v, scale):
        return torch.stack([shared_prefix_attention(q[i], k[i], v[i], layout, scale) for i in range(q.shape[0])])

    return attn


@torch.no_grad()
def score_per_item(model: Qwen3StyleModel, prefix: Sequence[int], items: Sequence[Sequence[int]],
                   label_ids: Sequence[int], attn: Optional[AttentionFn] = None) -> torch.Tensor:
    """Ground truth: every ``prefix + item`` on its own, full-vocabulary head. Returns [N, L]."""
    attn = attn or causal_attn
    device = model.lm_head.weight.device
    rows: List[torch.Tensor] = []
    for item in items:
        ids = torch.tensor([list(prefix) + list(item)], device=device)
        pos = torch.arange(ids.shape[1], device=device).unsqueeze(0)
        h = model.hidden_states(ids, pos, attn)[0, -1:]
        rows.append(full_vocab_label_probs(h, model.lm_head.weight, label_ids))
    return torch.cat(rows)


@torch.no_grad()
def score_packed(model: Qwen3StyleModel, prefix: Sequence[int], items: Sequence[Sequence[int]],
                 label_ids: Sequence[int], attn_for_layout=packed_attn,
                 head: Optional[LabelHead] = None) -> torch.Tensor:
    """One forward over ``prefix + item_1 + ... + item_N`` plus the label-only head. Returns [N, L]."""
    layout = PackedLayout(len(prefix), tuple(len(it) for it in items))
    device = model.lm_head.weight.device
    ids = torch.tensor([list(prefix) + [t for it in items for t in it]], device=device)
    pos = torch.tensor([layout.positions()], device=device)
    h = model.hidden_states(ids, pos, attn_for_layout(layout))[0]
    scored = h[torch.tensor(layout.scored_offsets(), device=device)]
    return (head or LabelHead()).probs(scored, model.lm_head.weight, label_ids)
