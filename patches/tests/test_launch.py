"""The launcher: argument split, validation, missing SGLang, and a full launch on the stand-in."""

import json
import os
import subprocess
import sys
from types import SimpleNamespace

from scorecar_sglang.launch import split_args, validate_server_args
from scorecar_sglang.sglang_hooks import Options

HERE = os.path.dirname(os.path.abspath(__file__))
PATCHES = os.path.dirname(HERE)
STANDIN = os.path.join(HERE, "standin")


def _run(args, pythonpath, extra_env=None, timeout=120):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SCORECAR_SGLANG_OPTIONS")}
    env["PYTHONPATH"] = os.pathsep.join(pythonpath)
    env.update(extra_env or {})
    return subprocess.run([sys.executable, "-m", "scorecar_sglang.launch", *args], cwd=PATCHES, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_split_args_keeps_sglang_flags_intact():
    opts, rest = split_args(["--model-path", "m", "--scorecar-no-label-head", "--port", "1",
                             "--scorecar-gc-freeze", "never"])
    assert rest == ["--model-path", "m", "--port", "1"]
    assert opts == Options(label_head=False, gc_freeze="never")


def test_validation_explains_each_required_flag():
    bad = SimpleNamespace(disable_radix_cache=False, chunked_prefill_size=8192, tp_size=2,
                          multi_item_scoring_delimiter=151643)
    problems = " ".join(validate_server_args(bad, Options()))
    for flag in ("--disable-radix-cache", "--chunked-prefill-size -1", "--tp-size 1", "multi-item"):
        assert flag in problems
    good = SimpleNamespace(disable_radix_cache=True, chunked_prefill_size=-1, tp_size=1)
    assert validate_server_args(good, Options()) == []
    # Label head alone works with the radix cache and chunked prefill.
    assert validate_server_args(bad, Options(exact_prefix=False, label_head=False)) == []


def test_missing_sglang_is_a_clear_error():
    proc = _run(["--model-path", "m"], [PATCHES])
    assert proc.returncode == 2
    assert "SGLang is not importable" in proc.stderr and "Nothing was started" in proc.stderr


def test_refuses_unsafe_server_flags():
    proc = _run(["--model-path", "m"], [PATCHES, STANDIN])
    assert proc.returncode == 2 and "--disable-radix-cache" in proc.stderr


def test_full_launch_patches_children_and_freezes_gc(tmp_path):
    report = tmp_path / "report.json"
    proc = _run(["--model-path", "m", "--disable-radix-cache", "--chunked-prefill-size", "-1",
                 "--skip-server-warmup"], [PATCHES, STANDIN], {"STANDIN_REPORT": str(report)})
    assert proc.returncode == 0, proc.stderr
    data = json.loads(report.read_text())
    assert data["child_patched"] is True  # the spawned "scheduler" saw the patched RadixAttention
    assert data["middleware"] == ["ServerInfoAdvertiser"]
    calls = data["calls"]
    assert calls[0] == "/get_model_info" and "/v1/score" in calls
    assert calls[-2:] == ["/freeze_gc", "freeze_gc_async"]
