"""LogitsProcessor.forward hook: label-only scoring at the scored positions only.

Where the stock path (LogitsProcessor.forward, cited in the manifest) does more
work than a score needs:

1. It multiplies the hidden state by the whole LM head ([vocab, hidden]) at
   every row it keeps, and upcasts the [rows, vocab] result to float32.
2. The sampler then runs a full-vocabulary log-softmax on those rows and
   gathers the label columns; apply_softmax renormalises them afterwards,
   undoing the vocabulary normaliser it just paid for.
3. Under upstream multi-item scoring it keeps one row per delimiter (N+1 rows
   per request, the first of which is thrown away) and runs steps 1-2 on each;
   with logprob_start_len=0 in general it would keep every input position.
4. Single-item scoring keeps one row per request, but a request is a whole
   ``query + item`` prompt, so the query is re-prefilled per item.

For packed requests this hook keeps exactly the N scored rows (the last token
of each item), gathers only the label rows of the LM head, and takes the
softmax over the labels (`label_head.py`). It then hands SGLang one "slot row"
per packed request: slot ``i*L + j`` holds ``log P(item i, label j)``. When the
whole batch is packed, that row is N*L wide, so the sampler's log-softmax runs
over N*L numbers instead of the vocabulary; in a mixed batch the stock path
runs for the other requests and the packed requests' rows are overwritten.
A span that cannot be served exactly gets +inf in its row: the sampler's
log-softmax turns that into NaN (it survives SGLang's optional NaN scrubbing,
which only replaces NaN *logits*), and the tokenizer side raises.
"""

import functools
import logging
import math
from typing import Dict, List, Tuple

import torch

from ..label_head import LabelHead
from .plan import plan_of

logger = logging.getLogger(__name__)

_HEAD = LabelHead()


def _span_values(processor, hidden_states, lm_head, plan, label_head_enabled) -> Dict[int, torch.Tensor]:
    """req_index -> flat [N*L] float32 log-probabilities (+inf when not servable)."""
    values: Dict[int, torch.Tensor] = {}
    weight = getattr(lm_head, "weight", None)
    problem = ""
    if weight is None:
        problem = "LM head without a plain weight (quantised/GGUF head)"
    elif getattr(processor, "do_tensor_parallel_all_gather", False):
        problem = "vocabulary-parallel LM head (tp_size > 1)"
    elif weight.shape[0] < getattr(getattr(processor, "config", None), "vocab_size", 0):
        problem = "LM head is a vocabulary shard"
    if problem:
        plan.invalidate(problem)

    groups: Dict[Tuple[int, ...], List[Tuple[int, List[int]]]] = {}
    for span in plan.spans:
        if span.valid and span.layout is not None:
            groups.setdefault(span.label_ids, []).append((span.req_index, span.scored_rows()))
        else:
            n = max(span.num_slots, 1)
            values[span.req_index] = torch.full((n,), math.inf, dtype=torch.float32, device=hidden_states.device)

    scale = getattr(processor, "logit_scale", None)
    softcap = getattr(processor, "final_logit_softcapping", None)
    for labels, members in groups.items():
        rows = torch.tensor([r for _, rs in members for r in rs], dtype=torch.long, device=hidden_states.device)
        h = hidden_states.index_select(0, rows)
        if label_head_enabled:
            logp = _HEAD.log_probs(h, weight, labels, scale, softcap)
        else:
            # Same rows, upstream maths: full logits, vocabulary log-softmax, then labels.
            full = torch.matmul(h.to(weight.dtype), weight.t()).float()
            if scale is not None:
                full = full * scale
            if softcap:
                full = softcap * torch.tanh(full / softcap)
            idx = torch.tensor(labels, dtype=torch.long, device=full.device)
            logp = torch.log_softmax(torch.log_softmax(full, dim=-1).index_select(1, idx), dim=-1)
        pos = 0
        for req_index, rs in members:
            values[req_index] = logp[pos : pos + len(rs)].reshape(-1)
            pos += len(rs)
    return values


def _needs_stock_outputs(logits_metadata) -> bool:
    """True when something beyond next-token logits is expected from this pass."""
    mode = getattr(logits_metadata, "capture_hidden_mode", None)
    if mode is not None and hasattr(mode, "need_capture") and mode.need_capture():
        return True
    starts = getattr(logits_metadata, "extend_logprob_start_lens_cpu", None)
    lens = getattr(logits_metadata, "extend_seq_lens_cpu", None)
    if getattr(logits_metadata, "return_logprob", False) and starts and lens:
        return any(int(n) - int(s) > 0 for s, n in zip(starts, lens))  # input logprobs wanted
    return False


def make_logits_forward(original_func, output_cls, options):
    @functools.wraps(original_func)
    def forward(self, input_ids, hidden_states, lm_head, logits_metadata, *args, **kwargs):
        plan = plan_of(logits_metadata)
        if plan is None:
            return original_func(self, input_ids, hidden_states, lm_head, logits_metadata, *args, **kwargs)
        values = _span_values(self, hidden_states, lm_head, plan, options.label_head)
        device = hidden_states.device

        if plan.all_packed and not _needs_stock_outputs(logits_metadata):
            width = max(v.numel() for v in values.values())
            row = torch.full((plan.batch_size, width), -math.inf, dtype=torch.float32, device=device)
            for i, v in values.items():
                row[i, : v.numel()] = v
            return output_cls(next_token_logits=row, hidden_states=None)

        out = original_func(self, input_ids, hidden_states, lm_head, logits_metadata, *args, **kwargs)
        logits = getattr(out, "next_token_logits", None)
        if logits is None or logits.shape[0] != plan.batch_size:
            logger.error("scorecar: unexpected logits layout in a mixed batch; packed scores dropped")
            if logits is not None:
                for span in plan.spans:
                    if span.req_index < logits.shape[0]:
                        logits[span.req_index].fill_(math.inf)
            return out
        for i, v in values.items():
            if v.numel() > logits.shape[1]:
                v = torch.full((logits.shape[1],), math.inf, dtype=torch.float32, device=device)
            logits[i].fill_(-math.inf)
            logits[i, : v.numel()] = v.to(logits.dtype)
        return out

    return forward
