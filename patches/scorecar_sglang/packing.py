"""Tokenizer-side packing of /v1/score requests for the exact shared-prefix path.

A request with token-id ``query`` and ``items`` becomes one or more packed
sequences ``query + item_a + item_b + ...``. Each packed sequence is sent to
SGLang as one ordinary prefill-only request whose SamplingParams.custom_params
carry the layout (prefix length, item lengths, label ids). The scheduler-side
hooks read that layout; nothing else in SGLang looks at it.

Results come back through the ordinary single-item channel: the request asks for
``token_ids_logprob = [0, 1, ..., N*L - 1]`` ("slots"), and the label head writes
``log P(item i, label j)`` into slot ``i*L + j`` of the request's output row, with
-inf everywhere else. The sampler's log-softmax over that row only shifts every
slot by the same constant (log N), which the per-item renormalisation below
removes exactly.
"""

import json
import math
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .layout import PackedLayout

SCORECAR_KEY = "scorecar"


@dataclass(frozen=True)
class PackedRequest:
    input_ids: List[int]
    layout: PackedLayout
    label_ids: Tuple[int, ...]
    item_indices: Tuple[int, ...]  # positions of these items in the caller's list

    @property
    def num_slots(self) -> int:
        return self.layout.num_items * len(self.label_ids)

    def slot_ids(self) -> List[int]:
        return list(range(self.num_slots))

    def custom_params(self) -> Dict[str, Any]:
        # One JSON string, not a nested dict: SGLang 0.5.23 types custom_params as
        # Dict[str, scalar | list[scalar] | dict[str, scalar]] for its msgpack IPC
        # (sampling_params.py:33-40), which a dict holding lists would not satisfy.
        return {SCORECAR_KEY: json.dumps(self.layout.to_wire(self.label_ids), separators=(",", ":"))}


def _is_id_list(x: Any) -> bool:
    return isinstance(x, list) and all(isinstance(t, int) and not isinstance(t, bool) for t in x)


def eligibility(
    query: Any, items: Any, label_token_ids: Any, apply_softmax: bool, item_first: bool
) -> Optional[str]:
    """None when the fast path can serve the request, else the reason it cannot.

    Only the token-id form with apply_softmax=true is served: the label head
    produces probabilities renormalised over the labels, which is exactly what
    apply_softmax=true asks for. apply_softmax=false needs the full-vocabulary
    probability, and item_first puts the item before the query (nothing shared).
    """
    if not apply_softmax:
        return "apply_softmax is false (needs full-vocabulary probabilities)"
    if item_first:
        return "item_first is set (no shared prefix)"
    if not _is_id_list(query):
        return "query is not a token-id list"
    if not isinstance(items, list) or not items or not all(_is_id_list(it) and it for it in items):
        return "items are not non-empty token-id lists"
    if not _is_id_list(label_token_ids) or not label_token_ids:
        return "label_token_ids is not one flat list of token ids"
    if any(t < 0 for t in label_token_ids) or len(set(label_token_ids)) != len(label_token_ids):
        # The stock method refuses these with its own message; let it.
        return "label_token_ids has a negative or repeated id"
    return None


def pack(
    query: Sequence[int],
    items: Sequence[Sequence[int]],
    label_ids: Sequence[int],
    max_tokens: int,
    max_slots: int,
) -> List[PackedRequest]:
    """Greedily pack items (in order) into sequences of at most ``max_tokens`` tokens.

    ``max_slots`` bounds items * labels per packed request so the slot ids stay
    inside the logits row. A single item that cannot fit with the query raises
    ValueError, like SGLang does for an over-long single prompt.
    """
    labels = tuple(int(x) for x in label_ids)
    per_pack_items = max(1, max_slots // len(labels))
    prefix = list(query)
    packs: List[PackedRequest] = []
    cur_ids: List[int] = []
    cur_lens: List[int] = []
    cur_idx: List[int] = []

    def flush() -> None:
        if cur_lens:
            packs.append(
                PackedRequest(
                    input_ids=prefix + cur_ids[:],
                    layout=PackedLayout(len(prefix), tuple(cur_lens)),
                    label_ids=labels,
                    item_indices=tuple(cur_idx),
                )
            )
            cur_ids.clear()
            cur_lens.clear()
            cur_idx.clear()

    for i, item in enumerate(items):
        n = len(item)
        if len(prefix) + n > max_tokens:
            raise ValueError(
                f"item {i}: query ({len(prefix)} tokens) + item ({n} tokens) exceeds the "
                f"maximum request length ({max_tokens} tokens)"
            )
        full = len(prefix) + sum(cur_lens) + n > max_tokens
        if cur_lens and (full or len(cur_lens) >= per_pack_items):
            flush()
        cur_ids.extend(int(t) for t in item)
        cur_lens.append(n)
        cur_idx.append(i)
    flush()
    return packs


def unpack_scores(token_ids_logprobs: Sequence[Sequence[Any]], packed: PackedRequest) -> List[List[float]]:
    """Turn one request's output_token_ids_logprobs[0] into per-item label probabilities.

    Entries are ``(logprob, slot_id, text)`` as SGLang's detokenizer emits them.
    Two integrity checks guard against silently wrong scores:

    * the scheduler-side hooks mark a packed request they could not serve
      exactly with +inf in its row, which the sampler's log-softmax turns into
      NaN; any non-finite slot raises;
    * the slot row holds the whole distribution, so the slot probabilities must
      sum to 1. If the model-side hooks were not active (e.g. a worker process
      without the patches), the slots are just token ids 0..N*L-1 of an ordinary
      next-token distribution and the sum is far from 1; that raises too.
    """
    by_slot: Dict[int, float] = {}
    for entry in token_ids_logprobs:
        by_slot[int(entry[1])] = float(entry[0])
    n_labels = len(packed.label_ids)
    values: List[float] = []
    for slot in range(packed.num_slots):
        lp = by_slot.get(slot)
        if lp is None or (not math.isfinite(lp) and lp != -math.inf):
            raise RuntimeError(
                "scorecar: the server did not return exact scores for a packed request "
                "(was it split by chunked prefill or served from the radix cache?)"
            )
        values.append(lp)
    total = sum(math.exp(v) for v in values)
    if abs(total - 1.0) > 1e-3:
        raise RuntimeError(
            f"scorecar: slot probabilities sum to {total:.4g}, not 1; the model-side patches "
            "are not active in the scheduler process"
        )
    scores: List[List[float]] = []
    for i in range(packed.layout.num_items):
        vals = values[i * n_labels : (i + 1) * n_labels]
        m = max(vals)
        if m == -math.inf:
            raise RuntimeError("scorecar: all label scores are -inf for a packed item")
        exps = [math.exp(x - m) for x in vals]
        total_i = sum(exps)
        scores.append([e / total_i for e in exps])
    return scores


def parse_custom_params(custom_params: Any) -> Optional[Tuple[PackedLayout, Tuple[int, ...]]]:
    """Scheduler side: the layout of a request, or None when it is not a scorecar request.

    Raises ValueError for a scorecar payload that does not validate, so that a
    malformed request is reported instead of silently scored the normal way.
    """
    if not isinstance(custom_params, dict) or SCORECAR_KEY not in custom_params:
        return None
    payload = custom_params[SCORECAR_KEY]
    if isinstance(payload, str):
        try:
            payload = json.loads(payload)
        except ValueError as exc:
            raise ValueError(f"scorecar payload is not JSON: {exc}") from exc
    return PackedLayout.from_wire(payload)
