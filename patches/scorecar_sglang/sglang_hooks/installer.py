"""Apply (and undo) the scorecar patches on an imported SGLang.

Two scopes, because SGLang runs in several processes:

* ``server``: the HTTP / tokenizer-manager process: the /v1/score fast path,
  the /server_info advertisement and the post-warmup GC freeze.
* ``model``: the scheduler process(es): layout plumbing, positions, attention
  and the label head.

The launcher installs ``all`` in the main process (class patches are harmless
where unused) and ``model`` in every spawned child. Patching is idempotent and
every wrapper keeps a reference to the original for `uninstall()`.
"""

import importlib
import logging
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional

from .attention import make_radix_attention_forward
from .batch import make_from_schedule_batch, make_init_new
from .logits import make_logits_forward
from .manifest import SignatureMismatch, check_required, symbols_by_id
from .options import Options
from .score import make_score_request
from .server import add_advertiser, make_wait_and_warmup

logger = logging.getLogger(__name__)

_ORIGINAL = "__scorecar_original__"


@dataclass(frozen=True)
class Target:
    symbol_id: str  # key in the manifest
    scope: str  # "server" or "model"
    needs_scoring: bool  # skipped when both exact_prefix and label_head are off
    build: Callable[[Any, Any, Options], Any]  # (module, original, options) -> replacement


def _classmethod(factory):
    return lambda module, original, options: classmethod(factory(original.__func__))


TARGETS: List[Target] = [
    Target("score_request", "server", True,
           lambda m, orig, o: make_score_request(orig, m, o)),
    Target("wait_and_warmup", "server", False,
           lambda m, orig, o: make_wait_and_warmup(orig, o)),
    Target("from_schedule_batch", "model", True, _classmethod(make_from_schedule_batch)),
    Target("forward_batch_init_new", "model", True, _classmethod(make_init_new)),
    Target("radix_attention_forward", "model", True,
           lambda m, orig, o: make_radix_attention_forward(orig, o)),
    Target("logits_processor_forward", "model", True,
           lambda m, orig, o: make_logits_forward(orig, m.LogitsProcessorOutput, o)),
]

_installed: Dict[str, Any] = {}  # symbol id -> (owner, attribute name, original object)


def _owner_and_attr(module: Any, qualname: str):
    parts = qualname.split(".")
    owner = module
    for p in parts[:-1]:
        owner = getattr(owner, p)
    return owner, parts[-1]


def _raw_attr(owner: Any, name: str) -> Any:
    # Class attributes through __dict__ so classmethods stay classmethods.
    if isinstance(owner, type):
        for klass in owner.__mro__:
            if name in klass.__dict__:
                return klass.__dict__[name]
    return getattr(owner, name)


def install(options: Optional[Options] = None, scope: str = "all") -> Dict[str, str]:
    """Patch the imported SGLang. Returns {symbol id: outcome}. Raises SignatureMismatch."""
    if scope not in ("all", "server", "model"):
        raise ValueError("scope must be all, server or model")
    options = options or Options()
    entries = symbols_by_id()
    report: Dict[str, str] = {}
    problems: List[str] = []
    planned = []
    for target in TARGETS:
        if scope != "all" and target.scope != scope:
            continue
        if target.needs_scoring and not options.scoring_enabled:
            report[target.symbol_id] = "disabled"
            continue
        entry = entries[target.symbol_id]
        module = importlib.import_module(entry["module"])
        owner, attr = _owner_and_attr(module, entry["qualname"])
        current = _raw_attr(owner, attr)
        if getattr(getattr(current, "__func__", current), _ORIGINAL, None) is not None:
            report[target.symbol_id] = "already installed"
            continue
        problem = check_required(current, entry)
        if problem:
            problems.append(problem)
        planned.append((target, module, owner, attr, current))
    if problems and options.strict_signatures:
        raise SignatureMismatch(
            "scorecar patches were written against different SGLang signatures:\n  "
            + "\n  ".join(problems)
        )
    for problem in problems:
        logger.warning("scorecar: %s (patching anyway, strict_signatures=False)", problem)

    for target, module, owner, attr, current in planned:
        replacement = target.build(module, current, options)
        setattr(getattr(replacement, "__func__", replacement), _ORIGINAL, current)
        setattr(owner, attr, replacement)
        _installed[target.symbol_id] = (owner, attr, current)
        report[target.symbol_id] = "patched"

    if scope in ("all", "server"):
        http = importlib.import_module(entries["http_app"]["module"])
        report["http_app"] = "patched" if add_advertiser(http.app, options.features()) else "no add_middleware"
    return report


def installed() -> Dict[str, str]:
    return {k: f"{owner.__name__}.{attr}" for k, (owner, attr, _) in _installed.items()}


def uninstall() -> None:
    """Restore every original (tests use this between runs)."""
    for key in list(_installed):
        owner, attr, original = _installed.pop(key)
        setattr(owner, attr, original)
