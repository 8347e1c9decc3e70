#!/usr/bin/env bash
# The GPU check for patches/: one call, at most 5 minutes on an H100 (torch 2.x + CUDA).
# Correctness in bf16 first, then the items/s table. No downloads. Output is also
# written to $OUT/scorecar_gpu_check.txt when $OUT is set (the lent-device convention).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
py="${PYTHON:-python3}"
out="${OUT:-${TMPDIR:-/tmp}}/scorecar_gpu_check.txt"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
# 280 s hard stop inside the 5-minute slot; the script itself budgets 240 s for timing.
timeout 280 "$py" "$here/bench.py" --budget-s 240 "$@" 2>&1 | tee "$out"
exit "${PIPESTATUS[0]}"
