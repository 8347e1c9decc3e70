"""The label-only head equals the renormalised full-vocabulary path."""

import pytest
import torch

from scorecar_sglang.label_head import LabelHead, full_vocab_label_probs


@pytest.mark.parametrize("labels", [[9693, 2152], [5, 6, 7, 1], [0]])
@pytest.mark.parametrize("scale,softcap", [(None, None), (0.5, None), (None, 30.0)])
def test_matches_full_vocab(labels, scale, softcap):
    g = torch.Generator().manual_seed(len(labels))
    weight = torch.randn(10000, 64, generator=g) * 0.5
    hidden = torch.randn(13, 64, generator=g)
    head = LabelHead()
    got = head.probs(hidden, weight, labels, scale, softcap)
    ref = full_vocab_label_probs(hidden, weight, labels, scale, softcap)
    assert got.shape == (13, len(labels))
    assert (got - ref).abs().max().item() < 1e-6
    assert torch.allclose(got.sum(-1), torch.ones(13))
    log = head.log_probs(hidden, weight, labels, scale, softcap)
    assert torch.allclose(log.exp(), got, atol=1e-6)


def test_float32_compute_on_half_weights_by_default():
    g = torch.Generator().manual_seed(1)
    weight = (torch.randn(3000, 32, generator=g) * 0.5).to(torch.bfloat16)
    hidden = torch.randn(4, 32, generator=g).to(torch.bfloat16)
    ref = torch.softmax(hidden.float() @ weight.float()[[3, 4]].t(), -1)
    assert (LabelHead().probs(hidden, weight, [3, 4]) - ref).abs().max().item() < 1e-6
    in_weight_dtype = LabelHead(compute_dtype=None).probs(hidden, weight, [3, 4])
    assert in_weight_dtype.dtype == torch.float32 and (in_weight_dtype - ref).abs().max().item() < 5e-2


def test_row_cache_follows_in_place_weight_updates():
    weight = torch.zeros(50, 8)
    hidden = torch.ones(1, 8)
    head = LabelHead()
    before = head.probs(hidden, weight, [1, 2])
    assert torch.allclose(before, torch.tensor([[0.5, 0.5]]))
    with torch.no_grad():
        weight[1] += 1.0  # bumps the version counter, like update_weights_from_disk
    after = head.probs(hidden, weight, [1, 2])
    assert after[0, 0] > 0.99


def test_rejects_labels_outside_the_head():
    with pytest.raises(ValueError):
        LabelHead().probs(torch.ones(1, 4), torch.ones(10, 4), [3, 10])
