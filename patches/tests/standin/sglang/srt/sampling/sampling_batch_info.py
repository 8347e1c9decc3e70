"""Stand-in for SamplingBatchInfo.

Mirrors python/sglang/srt/sampling/sampling_batch_info.py @dd99fb90a295:
class at line 23, custom_params field at line 58, from_schedule_batch at line 71,
which fills custom_params only when a request brings a custom logit processor
and the server flag allows it (lines 101-131).
"""

import dataclasses
from typing import Any, Dict, List, Optional

import torch


@dataclasses.dataclass
class SamplingBatchInfo:
    temperatures: torch.Tensor
    vocab_size: int
    has_custom_logit_processor: bool = False
    custom_params: Optional[List[Optional[Dict[str, Any]]]] = None
    device: str = "cpu"

    @classmethod
    def from_schedule_batch(cls, batch, vocab_size: int):
        reqs = batch.reqs
        temperatures = torch.tensor([r.sampling_params.temperature for r in reqs], dtype=torch.float).view(-1, 1)
        has_processor = batch.enable_custom_logit_processor and any(r.custom_logit_processor for r in reqs)
        custom_params = [r.sampling_params.custom_params for r in reqs] if has_processor else None
        return cls(
            temperatures=temperatures,
            vocab_size=vocab_size,
            has_custom_logit_processor=has_processor,
            custom_params=custom_params,
            device=batch.device,
        )
