"""The GPU check script stays runnable without a GPU: syntax, dry run, table shape."""

import os
import subprocess
import sys

GPU_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "gpu")


def test_run_sh_is_valid_bash():
    proc = subprocess.run(["bash", "-n", os.path.join(GPU_DIR, "run.sh")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_cpu_smoke_prints_checks_and_table():
    proc = subprocess.run([sys.executable, os.path.join(GPU_DIR, "bench.py"), "--cpu-smoke"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert out.count("PASS") >= 3 and "FAIL" not in out
    table = [line for line in out.splitlines() if line.startswith("| tiny")]
    assert len(table) == 8  # 2 models x 2 item lengths x (baseline + optimised)
    assert all("error" not in line and "skipped" not in line for line in table)
    assert "1530 items/s" in out


def test_bench_refuses_to_run_without_cuda_unless_smoke():
    proc = subprocess.run([sys.executable, os.path.join(GPU_DIR, "bench.py")], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2 and "--cpu-smoke" in proc.stderr
