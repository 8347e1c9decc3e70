"""TokenizerManagerScoreMixin.score_request hook: the /v1/score fast path (tokenizer process).

Served here: token-id ``query`` and ``items`` with ``apply_softmax=true``,
``item_first=false``, one flat ``label_token_ids`` list, a generation model, and
every 0.5.23 extra left at its default (temperature 1.0, no embedding overrides,
no pooled hidden states, no score-extraction token, no token logprobs, no
images). Everything else goes to the stock method unchanged, which also gives
every refusal its stock message.

OpenAIServingScore calls ``score_request`` with keywords only
(serving_score.py:80-94 in 0.5.23), so the wrapper takes the first five
parameters by name and the rest as ``**kwargs``.

The request becomes one GenerateReqInput with one packed sequence per group of
items (see `packing.py`), using the same prefill-only recipe upstream uses for
single-item scoring (max_new_tokens=0, return_logprob, logprob_start_len=-1,
token_ids_logprob), plus the layout in sampling_params.custom_params and an
explicit temperature of 1.0 so a server-wide preferred temperature cannot
rescale the slot row. The response is the stock ScoreResult.
"""

import functools
import logging

from ..packing import PackedRequest, eligibility, pack, unpack_scores
from ..layout import PackedLayout

logger = logging.getLogger(__name__)

# Default request cap when the tokenizer manager does not know the server's yet.
_FALLBACK_MAX_TOKENS = 32768

# score_request's keyword parameters after item_first, with the value under
# which the fast path computes exactly what the stock method would.
NEUTRAL_EXTRAS = {
    "embed_override_token_id": None,
    "query_embed_overrides": None,
    "item_embed_overrides": None,
    "stacked_query_item_embed_overrides": None,
    "return_pooled_hidden_states": False,
    "score_extraction_token_id": None,
    "temperature": 1.0,
    "return_token_logprobs": False,
    "image_data": None,
}


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


def stock_reason(tm, query, items, label_token_ids, apply_softmax, item_first, args, kwargs):
    """None when the fast path serves this call, else why the stock method does."""
    if args:
        return "positional arguments beyond item_first"
    for name, value in kwargs.items():
        if name == "request":
            continue
        if name not in NEUTRAL_EXTRAS:
            return f"unknown argument {name}"
        neutral = NEUTRAL_EXTRAS[name]
        if value is not neutral and value != neutral:
            return f"{name} is set"
    if getattr(tm, "is_generation", True) is False:
        return "not a generation model"
    return eligibility(query, items, label_token_ids, apply_softmax, item_first)


def make_score_request(original, mixin_module, options):
    generate_req_cls = mixin_module.GenerateReqInput
    score_result_cls = getattr(mixin_module, "ScoreResult", None)

    @functools.wraps(original)
    async def score_request(self, query=None, items=None, label_token_ids=None, apply_softmax=False,
                            item_first=False, *args, **kwargs):
        reason = stock_reason(self, query, items, label_token_ids, apply_softmax, item_first, args, kwargs)
        if reason is not None:
            return await original(self, query, items, label_token_ids, apply_softmax, item_first,
                                  *args, **kwargs)
        request = kwargs.get("request")

        tokenizer = getattr(self, "tokenizer", None)
        if tokenizer is not None:
            # Same check and message as upstream (tokenizer_manager_score_mixin.py:984-991).
            vocab_size = tokenizer.vocab_size
            for token_id in label_token_ids:
                if token_id >= vocab_size:
                    raise ValueError(
                        f"Token ID {token_id} is out of vocabulary (vocab size: {vocab_size})"
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
