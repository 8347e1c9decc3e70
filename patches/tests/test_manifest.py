"""The checked-in manifest, the stand-ins and the installer agree on every SGLang symbol."""

import importlib
import inspect
import re

import pytest

from scorecar_sglang.sglang_hooks import Options, install, uninstall
from scorecar_sglang.sglang_hooks.installer import TARGETS
from scorecar_sglang.sglang_hooks.manifest import (
    SignatureMismatch,
    check_required,
    load_manifest,
    plain_signature,
    symbols_by_id,
)
from standin_engine import Sgl

MANIFEST = load_manifest()
ENTRIES = MANIFEST["symbols"]


@pytest.fixture()
def standin():
    s = Sgl()
    yield s
    uninstall()
    Sgl.close()


def _resolve(entry):
    obj = importlib.import_module(entry["module"])
    for part in entry["qualname"].split("."):
        owner, obj = obj, getattr(obj, part)
    return owner, obj


def test_manifest_entries_are_complete():
    assert MANIFEST["repository"] == "sgl-project/sglang"
    ids = [e["id"] for e in ENTRIES]
    assert len(ids) == len(set(ids))
    for e in ENTRIES:
        assert re.fullmatch(r"[0-9a-f]{40}", e["commit"]), e["id"]
        assert isinstance(e["line"], int) and e["line"] > 0
        assert e["path"].startswith("python/sglang/") and e["path"].endswith(".py")
        assert e["role"] in ("patched", "used", "called")
        assert e["why"] and e["module"].startswith("sglang")
        if e["signature"]:
            # The parameters the wrapper relies on lead the recorded signature.
            names = [p.split("=")[0].strip().lstrip("*") for p in e["signature"].strip("()").split(",") if p.strip()]
            assert names[: len(e["required_params"])] == e["required_params"], e["id"]


def test_every_patched_symbol_has_an_installer_and_back():
    patched = {e["id"] for e in ENTRIES if e["role"] == "patched"}
    handled = {t.symbol_id for t in TARGETS} | {"http_app"}
    assert patched == handled


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["id"] for e in ENTRIES])
def test_standin_matches_manifest_signature(standin, entry):
    _, obj = _resolve(entry)
    if not entry["signature"]:
        assert hasattr(obj, "add_middleware")  # the ASGI app contract we rely on
        return
    if entry["kind"] == "class":
        got = plain_signature(obj.__init__)
    else:
        got = plain_signature(obj)
    assert got == entry["signature"]


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["id"] for e in ENTRIES])
def test_standin_cites_the_upstream_line(standin, entry):
    module = importlib.import_module(entry["module"])
    source = inspect.getsource(module)
    assert entry["commit"][:12] in source, f"{entry['id']}: stand-in does not name commit {entry['commit'][:12]}"
    assert re.search(rf"\b{entry['line']}\b", source), f"{entry['id']}: stand-in does not cite line {entry['line']}"


def test_install_patches_exactly_the_manifest_targets(standin):
    report = install(Options(), scope="all")
    patched = {e["id"] for e in ENTRIES if e["role"] == "patched"}
    assert set(report) == patched and set(report.values()) == {"patched"}
    for e in ENTRIES:
        if e["role"] == "patched" and e["id"] != "http_app":
            owner, obj = _resolve(e)
            func = getattr(obj, "__func__", obj)
            assert hasattr(func, "__scorecar_original__"), e["id"]
            # Wrappers keep the upstream signature visible to introspection.
            assert plain_signature(obj) == e["signature"], e["id"]


def test_install_refuses_signature_drift(standin):
    layer_cls = standin.radix.RadixAttention

    def forward(self, query, key, value, forward_batch, save_kv_cache=True):  # renamed params
        raise AssertionError("never called")

    original = layer_cls.__dict__["forward"]
    layer_cls.forward = forward
    try:
        with pytest.raises(SignatureMismatch, match="RadixAttention.forward"):
            install(Options(), scope="model")
        assert layer_cls.forward is forward  # nothing was patched
        report = install(Options(strict_signatures=False), scope="model")
        assert report["radix_attention_forward"] == "patched"
    finally:
        uninstall()
        layer_cls.forward = original


def test_check_required_reports_location():
    entry = symbols_by_id()["logits_processor_forward"]

    def forward(self, hidden_states):
        return hidden_states

    msg = check_required(forward, entry)
    assert "logits_processor.py:368" in msg and "5993251f1c6c" in msg
    assert inspect.signature(forward)  # sanity: a real function was checked
