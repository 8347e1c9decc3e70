"""Whole-model check: packed shared-prefix scoring equals per-item scoring on a Qwen3-style decoder."""

import pytest
import torch

from scorecar_sglang.layout import PackedLayout
from scorecar_sglang.qwen3_style import (
    Qwen3StyleConfig,
    Qwen3StyleModel,
    packed_attn,
    score_packed,
    score_per_item,
)

YES, NO = 9, 17


def _model(seed, **kw):
    cfg = dict(vocab_size=700, hidden_size=64, intermediate_size=160, num_hidden_layers=3,
               num_attention_heads=4, num_key_value_heads=2, head_dim=16)
    cfg.update(kw)
    return Qwen3StyleModel(Qwen3StyleConfig(**cfg)).init_random(seed).eval()


def _tokens(g, n, vocab=700):
    return torch.randint(0, vocab, (n,), generator=g).tolist()


@pytest.mark.parametrize(
    "seed,prefix_len,item_lens,heads",
    [
        (0, 12, (5, 9, 3, 14), (4, 2)),
        (1, 30, (40, 1, 22), (8, 2)),
        (2, 0, (6, 6), (4, 4)),
        (3, 50, (20,) * 10, (4, 1)),
    ],
)
def test_packed_equals_per_item(seed, prefix_len, item_lens, heads):
    g = torch.Generator().manual_seed(100 + seed)
    model = _model(seed, num_attention_heads=heads[0], num_key_value_heads=heads[1])
    prefix = _tokens(g, prefix_len)
    items = [_tokens(g, n) for n in item_lens]
    ref = score_per_item(model, prefix, items, [YES, NO])
    got = score_packed(model, prefix, items, [YES, NO])
    assert ref.shape == got.shape == (len(items), 2)
    assert (got - ref).abs().max().item() < 1e-5
    # The scores must actually differ between items, or the comparison is vacuous.
    assert ref[:, 0].max() - ref[:, 0].min() > 1e-4


def test_positions_matter():
    # Negative control: packing without restarting item positions gives different scores.
    g = torch.Generator().manual_seed(7)
    model = _model(7)
    prefix, items = _tokens(g, 10), [_tokens(g, 8), _tokens(g, 8)]
    ref = score_per_item(model, prefix, items, [YES, NO])
    layout = PackedLayout(len(prefix), (8, 8))
    ids = torch.tensor([prefix + items[0] + items[1]])
    wrong_pos = torch.arange(ids.shape[1]).unsqueeze(0)
    with torch.no_grad():
        h = model.hidden_states(ids, wrong_pos, packed_attn(layout))[0]
        logits = h[layout.scored_offsets()] @ model.lm_head.weight[[YES, NO]].t()
    assert (torch.softmax(logits, -1) - ref)[1].abs().max() > 1e-4
