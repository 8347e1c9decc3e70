"""The checked-in manifest of every SGLang symbol we touch, and checks against it.

`patches/manifest/sglang_pins.json` (written by manifest/pin.py) records the
SGLang release and, for each symbol, the module and qualified name, its
signature in that release, the file and line, and which leading parameters our wrapper relies on. Tests
check it against the installed release; `install()` compares the live SGLang with it.
"""

import inspect
import json
import os
from typing import Any, Dict, List, Optional

MANIFEST_PATH = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    "manifest",
    "sglang_pins.json",
)


class SignatureMismatch(RuntimeError):
    """The installed SGLang does not match what the patches were written against."""


def load_manifest(path: str = MANIFEST_PATH) -> Dict[str, Any]:
    with open(path, "r", encoding="utf-8") as fh:
        return json.load(fh)


def symbols_by_id(manifest: Optional[Dict[str, Any]] = None) -> Dict[str, Dict[str, Any]]:
    manifest = manifest or load_manifest()
    return {s["id"]: s for s in manifest["symbols"]}


class _Named:
    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


def unwrap_callable(obj: Any) -> Any:
    """The plain function behind a classmethod/staticmethod/bound method."""
    if isinstance(obj, (classmethod, staticmethod)):
        return obj.__func__
    return getattr(obj, "__func__", obj)


def plain_signature(func: Any) -> str:
    """Signature text without annotations, e.g. ``(self, q, k, v, forward_batch, save_kv_cache=True, **kwargs)``."""
    sig = inspect.signature(unwrap_callable(func))
    params = []
    for p in sig.parameters.values():
        p = p.replace(annotation=inspect.Parameter.empty)
        if p.default is not inspect.Parameter.empty and callable(p.default):  # a function default prints its address; keep its name
            p = p.replace(default=_Named(getattr(p.default, "__name__", type(p.default).__name__)))
        params.append(p)
    return str(sig.replace(parameters=params, return_annotation=inspect.Signature.empty))


def parameter_names(func: Any) -> List[str]:
    return list(inspect.signature(unwrap_callable(func)).parameters)


def check_required(func: Any, entry: Dict[str, Any]) -> Optional[str]:
    """None when ``func`` starts with the parameters the wrapper relies on, else a message."""
    required = entry.get("required_params", [])
    release = load_manifest().get("release", "?")
    live = parameter_names(func)
    if live[: len(required)] != required:
        return (
            f"{entry['module']}.{entry['qualname']}: expected leading parameters {required}, "
            f"found {live} (manifest: {release} {entry['path']}:{entry['line']})"
        )
    return None
