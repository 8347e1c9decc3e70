"""The launcher: argument split, validation, missing SGLang, refusal under the real release.

A full launch is tests/test_real_sglang.py (a real patched server).
"""

import os
import subprocess
import sys
from types import SimpleNamespace

from scorecar_sglang.launch import split_args, validate_server_args
from scorecar_sglang.sglang_hooks import Options

HERE = os.path.dirname(os.path.abspath(__file__))
PATCHES = os.path.dirname(HERE)
CPU_SITE = os.path.join(PATCHES, "cpu", "site")


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
    # -S: no site-packages, so this Python has no SGLang; the launcher needs only the stdlib to say so.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SCORECAR_SGLANG_OPTIONS")}
    env["PYTHONPATH"] = PATCHES
    proc = subprocess.run([sys.executable, "-S", "-m", "scorecar_sglang.launch", "--model-path", "m"], cwd=PATCHES,
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "SGLang is not importable" in proc.stderr and "Nothing was started" in proc.stderr


def test_refuses_unsafe_server_flags_with_the_real_release():
    # The real 0.5.23 argument parser, with serve.sh's CPU settings; nothing starts.
    proc = _run(["--model-path", "m", "--device", "cpu"], [CPU_SITE, PATCHES],
                {"SGLANG_USE_CPU_ENGINE": "1", "CUDA_VISIBLE_DEVICES": "", "SCORECAR_STUB_SGL_KERNEL": "1"},
                timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "--disable-radix-cache is required" in proc.stderr
    assert "--chunked-prefill-size -1 is required" in proc.stderr
