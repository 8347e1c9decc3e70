"""The pinned SGLang release itself, imported in this process (no server).

The manifest names sglang==X; the installed release must be X, every symbol
must sit at the manifest's file:line with the manifest's signature, and
install() must patch the real modules (and refuse when a signature drifts).
"""

import importlib
import os
import re

import pytest

import sglang_cpu

sglang_cpu.prepare()

from scorecar_sglang.sglang_hooks import Options, install, uninstall  # noqa: E402
from scorecar_sglang.sglang_hooks import installer as installer_mod  # noqa: E402
from scorecar_sglang.sglang_hooks.installer import TARGETS  # noqa: E402
from scorecar_sglang.sglang_hooks.manifest import (  # noqa: E402
    SignatureMismatch,
    load_manifest,
    plain_signature,
    symbols_by_id,
)

MANIFEST = load_manifest()
ENTRIES = MANIFEST["symbols"]


def _resolve(entry):
    module = importlib.import_module(entry["module"])
    obj = module
    for part in entry["qualname"].split("."):
        obj = getattr(obj, part)
    return module, obj


@pytest.fixture()
def clean_install():
    yield
    uninstall()


def test_installed_release_is_the_pinned_one():
    import sglang

    assert MANIFEST["release"] == f"sglang=={sglang.__version__}"
    req = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "env", "requirements.txt")
    with open(req, encoding="utf-8") as fh:
        assert MANIFEST["release"] in fh.read().split()


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e["id"])
def test_manifest_line_and_signature_match_the_release(entry):
    import sglang

    module, obj = _resolve(entry)
    root = os.path.dirname(os.path.dirname(os.path.abspath(sglang.__file__)))
    with open(os.path.join(root, entry["path"]), encoding="utf-8") as fh:
        line = fh.read().splitlines()[entry["line"] - 1]
    name = entry["qualname"].split(".")[-1]
    assert re.match(rf"\s*((async\s+)?def|class)\s+{re.escape(name)}\b|{re.escape(name)}\s*=", line), line
    if entry["signature"]:
        target = obj.__init__ if entry["kind"] == "class" else obj
        assert plain_signature(target) == entry["signature"]


def test_launcher_signature_check_passes_and_hooks_install_into_the_real_modules(clean_install):
    report = install(Options(), scope="all")
    assert report == {**{t.symbol_id: "patched" for t in TARGETS}, "http_app": "patched"}
    by_id = symbols_by_id()
    for target in TARGETS:
        entry = by_id[target.symbol_id]
        module = importlib.import_module(entry["module"])
        owner = module
        for part in entry["qualname"].split(".")[:-1]:
            owner = getattr(owner, part)
        raw = installer_mod._raw_attr(owner, entry["qualname"].split(".")[-1])
        func = getattr(raw, "__func__", raw)
        assert getattr(func, "__scorecar_original__", None) is not None, entry["qualname"]
    # The classmethods stay classmethods on the real classes.
    from sglang.srt.model_executor.forward_batch_info import ForwardBatch
    from sglang.srt.sampling.sampling_batch_info import SamplingBatchInfo

    assert isinstance(ForwardBatch.__dict__["init_new"], classmethod)
    assert isinstance(SamplingBatchInfo.__dict__["from_schedule_batch"], classmethod)
    # The FastAPI app carries the advertiser.
    from sglang.srt.entrypoints import http_server

    assert getattr(http_server.app, "_scorecar_advertiser", False)
    uninstall()
    for target in TARGETS:
        entry = by_id[target.symbol_id]
        module, obj = _resolve(entry)
        assert getattr(getattr(obj, "__func__", obj), "__scorecar_original__", None) is None


def test_install_refuses_signature_drift(clean_install, monkeypatch):
    drifted = {k: dict(v) for k, v in symbols_by_id().items()}
    drifted["radix_attention_forward"]["required_params"] = ["self", "q", "k", "v", "batch"]
    monkeypatch.setattr(installer_mod, "symbols_by_id", lambda: drifted)
    with pytest.raises(SignatureMismatch) as err:
        install(Options(), scope="model")
    assert "RadixAttention.forward" in str(err.value) and "sglang==" in str(err.value)
    from sglang.srt.layers.radix_attention import RadixAttention

    assert getattr(RadixAttention.forward, "__scorecar_original__", None) is None  # nothing patched
    report = install(Options(strict_signatures=False), scope="model")
    assert report["radix_attention_forward"] == "patched"


def test_score_hook_serves_only_what_it_computes_exactly():
    from scorecar_sglang.sglang_hooks.score import NEUTRAL_EXTRAS, stock_reason
    from sglang.srt.managers.tokenizer_manager_score_mixin import TokenizerManagerScoreMixin
    import inspect

    params = list(inspect.signature(TokenizerManagerScoreMixin.score_request).parameters.values())
    extras = {p.name: p.default for p in params[6:] if p.name != "request"}
    assert extras == NEUTRAL_EXTRAS  # every 0.5.23 keyword is known, with the stock default

    class TM:
        is_generation = True

    ok = ([1, 2], [[3], [4]], [5, 6], True, False)
    assert stock_reason(TM(), *ok, (), {"request": None, **NEUTRAL_EXTRAS}) is None
    assert "temperature" in stock_reason(TM(), *ok, (), {"temperature": 0.5})
    assert "return_token_logprobs" in stock_reason(TM(), *ok, (), {"return_token_logprobs": True})
    assert "label" in stock_reason(TM(), [1], [[3]], [[5, 6]], True, False, (), {})  # per-item labels
    assert "negative or repeated" in stock_reason(TM(), [1], [[3]], [5, 5], True, False, (), {})
    TM.is_generation = False
    assert "generation" in stock_reason(TM(), *ok, (), {})
