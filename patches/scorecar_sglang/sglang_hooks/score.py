"""TokenizerManagerScoreMixin.score_request hook: the /v1/score fast path (tokenizer process).

Served here: token-id ``query`` and ``items`` with ``apply_softmax=true`` and
``item_first=false``. Everything else (text input, apply_softmax=false,
item_first) goes to the stock method unchanged.

The request becomes one GenerateReqInput with one packed sequence per group of
items (see `packing.py`), using the same prefill-only recipe upstream uses for
single-item scoring (max_new_tokens=0, return_logprob, logprob_start_len=-1,
token_ids_logprob), plus the layout in sampling_params.custom_params and an
explicit temperature of 1.0 so a server-wide preferred temperature cannot
rescale the slot row. The response has the stock shape (ScoreResult when the
installed SGLang has it, else the bare list of score rows).
"""

import functools
import logging

from ..packing import PackedRequest, eligibility, pack, unpack_scores
from ..layout import PackedLayout

logger = logging.getLogger(__name__)

# Default request cap when the tokenizer manager does not know the server's yet.
_FALLBACK_MAX_TOKENS = 32768


def _max_tokens(tm) -> int:
    # A pack must fit one request, and preferably one prefill batch's token budget
    # so that packs of one call can share a forward pass with other work.
    caps = [
        getattr(tm, "max_req_input_len", None),
        getattr(tm, "context_len", None),
        getattr(getattr(tm, "server_args", None), "max_prefill_tokens", None),
    ]
    caps = [int(c) for c in caps if isinstance(c, int) and c > 0]
    return min(caps) if caps else _FALLBACK_MAX_TOKENS


def _one_item_per_request(query, items, labels):
    # exact_prefix disabled: each prompt is query+item on its own (trivial layout),
    # scored by the label head alone.
    return [
        PackedRequest(list(query) + list(it), PackedLayout(0, (len(query) + len(it),)), tuple(labels), (i,))
        for i, it in enumerate(items)
    ]


def make_score_request(original, mixin_module, options):
    generate_req_cls = mixin_module.GenerateReqInput
    score_result_cls = getattr(mixin_module, "ScoreResult", None)

    @functools.wraps(original)
    async def score_request(self, query=None, items=None, label_token_ids=None, apply_softmax=False,
                            item_first=False, request=None, *args, **kwargs):
        reason = eligibility(query, items, label_token_ids, apply_softmax, item_first)
        if reason is not None or args or kwargs:
            return await original(self, query, items, label_token_ids, apply_softmax, item_first,
                                  request, *args, **kwargs)

        tokenizer = getattr(self, "tokenizer", None)
        if tokenizer is not None:
            # Same check and message as upstream.
            for token_id in label_token_ids:
                if token_id >= tokenizer.vocab_size:
                    raise ValueError(
                        f"Token ID {token_id} is out of vocabulary (vocab size: {tokenizer.vocab_size})"
                    )
        if options.exact_prefix:
            packs = pack(query, items, label_token_ids, _max_tokens(self), options.max_slots)
        else:
            packs = _one_item_per_request(query, items, label_token_ids)

        batch_request = generate_req_cls(
            input_ids=[p.input_ids for p in packs],
            return_logprob=True,
            logprob_start_len=-1,
            token_ids_logprob=[p.slot_ids() for p in packs],
            stream=False,
            sampling_params=[
                {"max_new_tokens": 0, "temperature": 1.0, "custom_params": p.custom_params()}
                for p in packs
            ],
        )
        results = await self.generate_request(batch_request, request).__anext__()
        if isinstance(results, dict):
            results = [results]
        if len(results) != len(packs):
            raise RuntimeError(f"scorecar: expected {len(packs)} results, got {len(results)}")

        scores = [None] * len(items)
        prompt_tokens = 0
        for p, result in zip(packs, results):
            meta = result["meta_info"]
            prompt_tokens += meta.get("prompt_tokens", 0)
            out = meta.get("output_token_ids_logprobs") or []
            if not out:
                raise RuntimeError(f"scorecar: no label scores for request {meta.get('id', '<unknown>')}")
            for idx, row in zip(p.item_indices, unpack_scores(out[0], p)):
                scores[idx] = row
        if score_result_cls is not None:
            return score_result_cls(scores=scores, prompt_tokens=prompt_tokens)
        return scores

    return score_request
