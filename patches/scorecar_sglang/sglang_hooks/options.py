"""Launcher options, shared with SGLang's child processes through one environment variable.

SGLang starts its scheduler and detokenizer in new processes; our patches must
be installed there too, with the same settings. The launcher serialises the
options into ``SCORECAR_SGLANG_OPTIONS`` before SGLang spawns anything, and the
children read it back (see `scorecar_sglang.launch`).
"""

import json
import os
from dataclasses import asdict, dataclass, fields
from typing import Dict, Mapping, Optional

ENV_VAR = "SCORECAR_SGLANG_OPTIONS"
KERNELS = ("auto", "varlen", "fused", "reference")
GC_MODES = ("auto", "always", "never")


@dataclass(frozen=True)
class Options:
    # Pack token-id /v1/score requests into one sequence with an exact shared prefix.
    exact_prefix: bool = True
    # Score packed requests with the label-only head (else: full-vocabulary maths at the same rows).
    label_head: bool = True
    # GC freeze after warmup: auto (unless SGLang does it), always, never.
    gc_freeze: str = "auto"
    # Attention implementation for packed requests on GPU.
    attention_kernel: str = "auto"
    # Refuse to patch when live SGLang signatures differ from the manifest.
    strict_signatures: bool = True
    # Upper bound on items * labels per packed request (slot ids must fit the logits row).
    max_slots: int = 4096

    def __post_init__(self) -> None:
        if self.gc_freeze not in GC_MODES:
            raise ValueError(f"gc_freeze must be one of {GC_MODES}")
        if self.attention_kernel not in KERNELS:
            raise ValueError(f"attention_kernel must be one of {KERNELS}")
        if self.max_slots < 1:
            raise ValueError("max_slots must be positive")

    @property
    def scoring_enabled(self) -> bool:
        return self.exact_prefix or self.label_head

    def features(self) -> Dict[str, bool]:
        """What /server_info advertises under ``scorecar_patches``."""
        return {"exact_prefix": self.exact_prefix, "label_head": self.label_head}

    def to_env(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @staticmethod
    def from_env(environ: Optional[Mapping[str, str]] = None) -> Optional["Options"]:
        raw = (environ if environ is not None else os.environ).get(ENV_VAR)
        if not raw:
            return None
        data = json.loads(raw)
        known = {f.name for f in fields(Options)}
        return Options(**{k: v for k, v in data.items() if k in known})
