"""Per-batch plan: which requests of a ForwardBatch are scorecar packed requests.

Built once per forward pass in the ForwardBatch.init_new hook (scheduler
process) and stored on the ForwardBatch, where the attention and logits hooks
find it. A span is *valid* only when the whole packed request is in this extend
with nothing served from a prefix cache; anything else (a request split by
chunked prefill, a radix-cache hit) cannot be scored exactly, and the logits
hook then reports NaN for it instead of a wrong score.
"""

import logging
from dataclasses import dataclass, field
from typing import Any, List, Optional, Tuple

import torch

from ..layout import PackedLayout
from ..packing import parse_custom_params

logger = logging.getLogger(__name__)


@dataclass
class PackedSpan:
    req_index: int  # position of the request in the batch
    start: int  # first token of this request's extend in the flattened batch
    length: int  # tokens of this request in the batch
    layout: Optional[PackedLayout]
    label_ids: Tuple[int, ...]
    valid: bool
    reason: str = ""

    @property
    def needs_custom_attention(self) -> bool:
        return self.valid and self.layout is not None and not self.layout.is_trivial

    def scored_rows(self) -> List[int]:
        """Flattened token indices whose hidden states are scored."""
        if self.layout.is_trivial:
            return [self.start + self.length - 1]
        return [self.start + off for off in self.layout.scored_offsets()]

    @property
    def num_slots(self) -> int:
        n_items = self.layout.num_items if self.layout is not None else 0
        return n_items * len(self.label_ids)


@dataclass
class ScorecarBatchPlan:
    spans: List[PackedSpan]
    batch_size: int
    num_tokens: int
    # Set by the attention hook when a layer cannot run the exact path.
    failure: Optional[str] = None
    _rows: Optional[torch.Tensor] = field(default=None, repr=False)

    @property
    def all_packed(self) -> bool:
        return len(self.spans) == self.batch_size

    @property
    def all_custom_attention(self) -> bool:
        return self.all_packed and all(s.needs_custom_attention for s in self.spans)

    @property
    def any_custom_attention(self) -> bool:
        return any(s.needs_custom_attention for s in self.spans)

    def invalidate(self, reason: str) -> None:
        if self.failure is None:
            logger.error("scorecar: packed requests in this batch cannot be scored exactly: %s", reason)
        self.failure = reason
        for s in self.spans:
            s.valid, s.reason = False, reason


PLAN_ATTR = "scorecar_plan"


def attach_plan(forward_batch: Any, plan: Optional["ScorecarBatchPlan"]) -> None:
    """Store the plan where the attention and logits hooks find it.

    SGLang 0.5.23's eager runner does not hand the model the ForwardBatch that
    init_new returned: it copies it into static buffers and passes a
    ``dataclasses.replace`` view (runner/eager_runner.py:180-208,
    cuda_graph_buffer_registry.py:573), which drops attributes that are not
    dataclass fields. The view shares ``sampling_info`` by reference, so the plan
    rides on it too. init_new runs for every forward, so the attachment is
    rewritten (or cleared) each time and never outlives its batch.
    """
    setattr(forward_batch, PLAN_ATTR, plan)
    sampling_info = getattr(forward_batch, "sampling_info", None)
    if sampling_info is not None:
        setattr(sampling_info, PLAN_ATTR, plan)


def plan_of(forward_batch: Any) -> Optional["ScorecarBatchPlan"]:
    plan = getattr(forward_batch, PLAN_ATTR, None)
    if plan is None:
        plan = getattr(getattr(forward_batch, "sampling_info", None), PLAN_ATTR, None)
    if plan is not None and getattr(forward_batch, "batch_size", plan.batch_size) != plan.batch_size:
        return None  # not the batch this plan was built for
    return plan


def _is_plain_extend(forward_mode: Any) -> bool:
    return getattr(forward_mode, "name", None) == "EXTEND"


def build_plan(forward_batch: Any) -> Optional[ScorecarBatchPlan]:
    """Plan for a ForwardBatch, or None when it holds no scorecar request."""
    sampling_info = getattr(forward_batch, "sampling_info", None)
    params = getattr(sampling_info, "custom_params", None)
    if not params:
        return None
    parsed: List[Any] = []
    for cp in params:
        try:
            parsed.append(parse_custom_params(cp))
        except ValueError as exc:
            parsed.append(exc)
    if all(p is None for p in parsed):
        return None

    mode = getattr(forward_batch, "forward_mode", None)
    if mode is not None and mode.is_decode_or_idle():
        return None  # prefill-only requests never decode; nothing to do
    bs = forward_batch.batch_size
    seq_lens = forward_batch.extend_seq_lens_cpu
    prefix_lens = forward_batch.extend_prefix_lens_cpu
    if len(parsed) != bs or seq_lens is None or len(seq_lens) != bs:
        # custom_params out of step with the batch: never guess, never touch.
        logger.warning("scorecar: custom_params do not line up with the batch; ignoring")
        return None
    plain = _is_plain_extend(mode)
    spans, offset = [], 0
    for i, (p, n) in enumerate(zip(parsed, seq_lens)):
        n = int(n)
        if isinstance(p, ValueError):
            spans.append(PackedSpan(i, offset, n, None, (), False, f"malformed payload: {p}"))
        elif p is not None:
            layout, labels = p
            cached = int(prefix_lens[i]) if prefix_lens is not None else 0
            if not plain:
                valid, why = False, f"forward mode {getattr(mode, 'name', mode)} is not a plain extend"
            elif layout.is_trivial:
                valid, why = cached + n == layout.total_len, "request arrived in pieces"
            else:
                valid, why = (cached == 0 and n == layout.total_len), (
                    "packed request was split or partly served from the prefix cache "
                    "(run with --disable-radix-cache --chunked-prefill-size -1)"
                )
            spans.append(PackedSpan(i, offset, n, layout, labels, valid, "" if valid else why))
        offset += n
    return ScorecarBatchPlan(spans=spans, batch_size=bs, num_tokens=offset)


def packed_positions(plan: ScorecarBatchPlan) -> Optional[Tuple[torch.Tensor, torch.Tensor]]:
    """(token indices, positions) to write into ForwardBatch.positions, or None."""
    idx, pos = [], []
    for s in plan.spans:
        if s.needs_custom_attention:
            idx.extend(range(s.start, s.start + s.length))
            pos.extend(s.layout.positions())
    if not idx:
        return None
    return torch.tensor(idx, dtype=torch.long), torch.tensor(pos, dtype=torch.long)
