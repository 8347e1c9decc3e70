"""Layout of one packed scoring request: a shared prefix followed by N items.

The packed token sequence is ``prefix + item_1 + ... + item_N`` with no delimiter
tokens. Each item must behave exactly as if it had been scored alone as
``prefix + item_i``: it attends to the prefix and causally to itself, never to
other items, and its rotary positions continue from the prefix
(``prefix_len + j``), not from its offset in the packed sequence. This module is
the single source of truth for those offsets; the tokenizer side, the position
override, the attention hook and the label head all read it.
"""

from dataclasses import dataclass
from typing import Any, Dict, List, Sequence, Tuple

# Wire format version carried inside SamplingParams.custom_params["scorecar"].
WIRE_VERSION = 1


@dataclass(frozen=True)
class PackedLayout:
    """Offsets of a packed request. Offsets are relative to the request's first token."""

    prefix_len: int
    item_lens: Tuple[int, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.prefix_len, int) or self.prefix_len < 0:
            raise ValueError(f"prefix_len must be a non-negative int, got {self.prefix_len!r}")
        lens = tuple(self.item_lens)
        if not lens:
            raise ValueError("a packed request needs at least one item")
        for n in lens:
            if not isinstance(n, int) or n < 1:
                raise ValueError(f"item lengths must be positive ints, got {n!r}")
        object.__setattr__(self, "item_lens", lens)

    @property
    def num_items(self) -> int:
        return len(self.item_lens)

    @property
    def total_len(self) -> int:
        return self.prefix_len + sum(self.item_lens)

    @property
    def is_trivial(self) -> bool:
        """One item and no prefix: identical to an ordinary single prompt."""
        return self.prefix_len == 0 and self.num_items == 1

    def item_bounds(self) -> List[Tuple[int, int]]:
        """[start, end) of every item inside the packed sequence."""
        bounds, start = [], self.prefix_len
        for n in self.item_lens:
            bounds.append((start, start + n))
            start += n
        return bounds

    def scored_offsets(self) -> List[int]:
        """Offset of the last token of each item: where its next-token label scores are read."""
        return [end - 1 for _, end in self.item_bounds()]

    def positions(self) -> List[int]:
        """Rotary positions of every packed token, as if each item were scored alone."""
        pos = list(range(self.prefix_len))
        for n in self.item_lens:
            pos.extend(range(self.prefix_len, self.prefix_len + n))
        return pos

    def to_wire(self, label_ids: Sequence[int]) -> Dict[str, Any]:
        return {
            "v": WIRE_VERSION,
            "prefix_len": self.prefix_len,
            "item_lens": list(self.item_lens),
            "label_ids": [int(x) for x in label_ids],
        }

    @staticmethod
    def from_wire(obj: Dict[str, Any]) -> Tuple["PackedLayout", Tuple[int, ...]]:
        """Parse and validate the wire dict; raises ValueError on anything unexpected."""
        if not isinstance(obj, dict) or obj.get("v") != WIRE_VERSION:
            raise ValueError(f"unsupported scorecar wire payload: {obj!r}")
        labels = obj.get("label_ids")
        if not isinstance(labels, list) or not labels or not all(
            isinstance(x, int) and x >= 0 for x in labels
        ):
            raise ValueError("label_ids must be a non-empty list of non-negative ints")
        layout = PackedLayout(int(obj["prefix_len"]), tuple(int(x) for x in obj["item_lens"]))
        return layout, tuple(labels)
