"""Stand-in for TokenizerManagerScoreMixin (single-item scoring only).

Mirrors python/sglang/srt/managers/tokenizer_manager_score_mixin.py @016f96e5bc2b:
ScoreResult at line 12, score_request at line 222. Upstream builds one batched
GenerateReqInput with the prefill-only recipe (lines 280-286: label ids as
token_ids_logprob, return_logprob, logprob_start_len -1, max_new_tokens 0),
reads output_token_ids_logprobs[0] of each result (line 203) and, with
apply_softmax, takes a softmax over the label logprobs (else exp()). The
stand-in implements that single-item path for token-id input.
"""

import math
from dataclasses import dataclass
from typing import Any, List, Optional, Union

import torch

from sglang.srt.managers.io_struct import GenerateReqInput


@dataclass(frozen=True)
class ScoreResult:
    scores: List[List[float]]
    prompt_tokens: int


class TokenizerManagerScoreMixin:
    async def score_request(self, query: Optional[Union[str, List[int]]] = None,
                            items: Optional[Union[str, List[str], List[List[int]]]] = None,
                            label_token_ids: Optional[List[int]] = None, apply_softmax: bool = False,
                            item_first: bool = False, request: Optional[Any] = None) -> ScoreResult:
        if label_token_ids is None:
            raise ValueError("label_token_ids must be provided")
        if items is None:
            raise ValueError("items must be provided")
        if not items:
            return ScoreResult(scores=[], prompt_tokens=0)
        if not (isinstance(query, list) and isinstance(items[0], list)):
            raise ValueError("the stand-in only scores token-id input")
        prompts = [it + query if item_first else query + it for it in items]
        batch_request = GenerateReqInput(
            input_ids=prompts,
            token_ids_logprob=label_token_ids,
            return_logprob=True,
            logprob_start_len=-1,
            stream=False,
            sampling_params={"max_new_tokens": 0},
        )
        results = await self.generate_request(batch_request, request).__anext__()
        scores, prompt_tokens = [], 0
        for result in results:
            prompt_tokens += result["meta_info"]["prompt_tokens"]
            entries = result["meta_info"]["output_token_ids_logprobs"][0]
            by_id = {tid: lp for lp, tid, _ in entries}
            vals = [by_id.get(t, float("-inf")) for t in label_token_ids]
            if apply_softmax:
                vals = torch.softmax(torch.tensor(vals), dim=0).tolist()
            else:
                vals = [math.exp(x) if x != float("-inf") else 0.0 for x in vals]
            scores.append(vals)
        return ScoreResult(scores=scores, prompt_tokens=prompt_tokens)
