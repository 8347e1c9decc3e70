"""The checked-in manifest is complete and consistent with the installer (no SGLang needed).

tests/test_release.py checks it against the installed release itself.
"""

import re

from scorecar_sglang.sglang_hooks.installer import TARGETS
from scorecar_sglang.sglang_hooks.manifest import check_required, load_manifest, symbols_by_id

MANIFEST = load_manifest()
ENTRIES = MANIFEST["symbols"]


def test_manifest_pins_one_release():
    assert re.fullmatch(r"sglang==\d+\.\d+\.\d+", MANIFEST["release"])
    assert all("commit" not in e for e in ENTRIES)  # no per-file commits any more


def test_manifest_entries_are_complete():
    ids = [e["id"] for e in ENTRIES]
    assert len(ids) == len(set(ids))
    for e in ENTRIES:
        assert isinstance(e["line"], int) and e["line"] > 0
        assert e["path"].startswith("sglang/") and e["path"].endswith(".py")
        assert e["role"] in ("patched", "used", "called")
        assert e["why"] and e["module"].startswith("sglang")
        assert e["path"][:-3].replace("/", ".") == e["module"]
        if e["signature"]:
            # The parameters the wrapper relies on lead the recorded signature.
            names = [p.split("=")[0].strip().lstrip("*") for p in e["signature"].strip("()").split(",") if p.strip()]
            assert names[: len(e["required_params"])] == e["required_params"], e["id"]


def test_every_patched_symbol_has_an_installer_and_back():
    patched = {e["id"] for e in ENTRIES if e["role"] == "patched"}
    handled = {t.symbol_id for t in TARGETS} | {"http_app"}
    assert patched == handled


def test_check_required_reports_release_and_location():
    entry = symbols_by_id()["logits_processor_forward"]

    def forward(self, hidden_states):
        return hidden_states

    msg = check_required(forward, entry)
    assert f"sglang/srt/layers/logits_processor.py:{entry['line']}" in msg
    assert MANIFEST["release"] in msg
    assert check_required(lambda self, input_ids, hidden_states, lm_head, logits_metadata, x=None: 0, entry) is None
