"""Stand-in for the logits processor.

Mirrors python/sglang/srt/layers/logits_processor.py @5993251f1c6c:
LogitsProcessorOutput at line 67 (same fields), LogitsProcessor.forward at
line 368. For a prefill without input logprobs upstream keeps the last hidden
state of every request (lines 403-417) and multiplies it by the whole LM head,
upcast to float32 (_get_logits); that is what this stand-in does.
"""

import dataclasses
from typing import List, Optional

import torch
from torch import nn


@dataclasses.dataclass
class LogitsProcessorOutput:
    next_token_logits: Optional[torch.Tensor]
    hidden_states: Optional[torch.Tensor] = None
    next_token_logprobs: Optional[torch.Tensor] = None
    next_token_top_logprobs_val: Optional[List] = None
    next_token_top_logprobs_idx: Optional[List] = None
    next_token_token_ids_logprobs_val: Optional[List] = None
    next_token_token_ids_logprobs_idx: Optional[List] = None
    input_token_logprobs: Optional[torch.Tensor] = None
    input_top_logprobs_val: List = None
    input_top_logprobs_idx: List = None
    input_token_ids_logprobs_val: Optional[List] = None
    input_token_ids_logprobs_idx: Optional[List] = None


class LogitsProcessor(nn.Module):
    def __init__(self, config, skip_all_gather: bool = False, logit_scale: Optional[float] = None,
                 tp_size: int = 1):
        super().__init__()
        self.config = config
        self.logit_scale = logit_scale
        self.do_tensor_parallel_all_gather = not skip_all_gather and tp_size > 1
        self.final_logit_softcapping = getattr(config, "final_logit_softcapping", None)

    def forward(self, input_ids, hidden_states, lm_head, logits_metadata,
                aux_hidden_states: Optional[torch.Tensor] = None):
        last_index = torch.cumsum(torch.tensor(logits_metadata.extend_seq_lens_cpu), dim=0) - 1
        pruned = hidden_states[last_index]
        logits = torch.matmul(pruned.to(lm_head.weight.dtype), lm_head.weight.T)
        if self.logit_scale is not None:
            logits = logits * self.logit_scale
        return LogitsProcessorOutput(next_token_logits=logits[:, : self.config.vocab_size].float())
