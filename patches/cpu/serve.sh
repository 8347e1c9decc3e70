#!/usr/bin/env bash
# npm run sglang:cpu -- [--port N] [--patched] [extra SGLang args]
#
# A real SGLang server (the release pinned in patches/env/requirements.txt) on CPU, serving the
# tiny Qwen3 from model.sh. Builds the venv and the model first when they are missing.
# --patched starts the same server through patches/' launcher (python -m scorecar_sglang.launch).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
port=30000
patched=0
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --port) port="$2"; shift 2 ;;
    --port=*) port="${1#--port=}"; shift ;;
    --patched) patched=1; shift ;;
    *) extra+=("$1"); shift ;;
  esac
done
venv="$(bash "$here/../env/venv.sh")"
model="$(bash "$here/model.sh")"

# SGLang's CPU route: the CPU engine, no CUDA device, plain-PyTorch attention and sampling, no
# CUDA graphs, a small fixed KV pool (it would otherwise size itself from host RAM), and a
# scheduler that sleeps when idle (it busy-polls a core otherwise, which a 2-core test run feels).
# The memory fraction is fixed: left to itself, 0.5.23 sizes it from free host memory and a busy
# machine gave it a negative one.
export SGLANG_USE_CPU_ENGINE=1 CUDA_VISIBLE_DEVICES= SCORECAR_STUB_SGL_KERNEL=1
export PYTHONPATH="$here/site:$here/..${PYTHONPATH:+:$PYTHONPATH}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
args=(--model-path "$model" --device cpu --attention-backend torch_native --sampling-backend pytorch
  --disable-cuda-graph --disable-overlap-schedule --tp 1 --dtype float32
  --max-total-tokens 16384 --mem-fraction-static 0.3 --context-length 2048 --skip-server-warmup --sleep-on-idle
  --host 127.0.0.1 --port "$port")
if [ "$patched" = 1 ]; then
  exec "$venv/bin/python" -m scorecar_sglang.launch "${args[@]}" "${extra[@]}"
fi
exec "$venv/bin/python" -m sglang.launch_server "${args[@]}" "${extra[@]}"
