"""Stand-in for ForwardBatch / ForwardMode.

Mirrors python/sglang/srt/model_executor/forward_batch_info.py @271a25bc88ee:
ForwardMode at line 56, ForwardBatch at line 140 (positions field line 174,
sampling_info line 202), init_new(cls, batch, model_runner) at line 243, which
copies sampling_info (line 272) and, for extends, computes positions from the
prefix and extend lengths (lines 329-339) and stores the CPU length lists
(lines 340-341).
"""

from dataclasses import dataclass
from enum import IntEnum, auto
from typing import List, Optional

import torch


class ForwardMode(IntEnum):
    EXTEND = auto()
    DECODE = auto()
    MIXED = auto()
    IDLE = auto()

    def is_extend(self):
        return self in (ForwardMode.EXTEND, ForwardMode.MIXED)

    def is_decode_or_idle(self):
        return self in (ForwardMode.DECODE, ForwardMode.IDLE)


class CaptureHiddenMode(IntEnum):
    NULL = auto()
    FULL = auto()
    LAST = auto()

    def need_capture(self):
        return self != CaptureHiddenMode.NULL


@dataclass
class ForwardBatch:
    forward_mode: ForwardMode
    batch_size: int
    input_ids: torch.Tensor
    seq_lens: torch.Tensor
    return_logprob: bool = False
    token_ids_logprobs: Optional[List[List[int]]] = None
    positions: torch.Tensor = None
    extend_prefix_lens_cpu: Optional[List[int]] = None
    extend_seq_lens_cpu: Optional[List[int]] = None
    extend_logprob_start_lens_cpu: Optional[List[int]] = None
    sampling_info: object = None
    attn_backend: object = None
    capture_hidden_mode: CaptureHiddenMode = CaptureHiddenMode.NULL

    @classmethod
    def init_new(cls, batch, model_runner):
        ret = cls(
            forward_mode=batch.forward_mode,
            batch_size=len(batch.seq_lens),
            input_ids=batch.input_ids,
            seq_lens=batch.seq_lens,
            return_logprob=batch.return_logprob,
            token_ids_logprobs=batch.token_ids_logprobs,
            sampling_info=batch.sampling_info,
            attn_backend=model_runner.attn_backend,
        )
        if ret.forward_mode.is_decode_or_idle():
            ret.positions = (batch.seq_lens - 1).to(torch.long)
            return ret
        # Each request's tokens continue from its cached prefix (compute_position_torch).
        ret.positions = torch.cat(
            [torch.arange(p, p + n, dtype=torch.long) for p, n in zip(batch.extend_prefix_lens, batch.extend_seq_lens)]
        )
        ret.extend_prefix_lens_cpu = batch.extend_prefix_lens
        ret.extend_seq_lens_cpu = batch.extend_seq_lens
        ret.extend_logprob_start_lens_cpu = batch.extend_logprob_start_lens
        return ret
