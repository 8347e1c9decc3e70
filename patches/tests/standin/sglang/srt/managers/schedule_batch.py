"""Stand-in for the scheduler's batch objects (only what flows into ForwardBatch).

Upstream (python/sglang/srt/managers/schedule_batch.py) turns a ScheduleBatch
into a ModelWorkerBatch in get_model_worker_batch(); the fields below are the
ones ForwardBatch.init_new reads (forward_batch_info.py:243-341 @271a25bc88ee).
"""

import dataclasses
from typing import List, Optional

import torch


class Req:
    def __init__(self, rid, origin_input_ids, sampling_params, return_logprob=False,
                 token_ids_logprob=None, custom_logit_processor=None):
        self.rid = rid
        self.origin_input_ids = list(origin_input_ids)
        self.sampling_params = sampling_params
        self.return_logprob = return_logprob
        self.token_ids_logprob = token_ids_logprob
        self.custom_logit_processor = custom_logit_processor


@dataclasses.dataclass
class ScheduleBatch:
    reqs: List[Req]
    device: str = "cpu"
    enable_custom_logit_processor: bool = False


@dataclasses.dataclass
class ModelWorkerBatch:
    forward_mode: object
    input_ids: torch.Tensor
    seq_lens: torch.Tensor
    extend_seq_lens: Optional[List[int]]
    extend_prefix_lens: Optional[List[int]]
    extend_logprob_start_lens: Optional[List[int]]
    return_logprob: bool
    token_ids_logprobs: Optional[List[List[int]]]
    sampling_info: object
