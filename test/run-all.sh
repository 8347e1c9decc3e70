#!/usr/bin/env bash
# `npm test`: everything the tests need on a fresh machine of this kind, then every test.
# System packages come from Debian (apt) when running as root; otherwise this says what to install.
# Everything Python comes from the project venv (patches/env/venv.sh, built when missing: about
# 4-6 minutes and 11 GB the first time, since SGLang pulls CUDA torch; reused afterwards).
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

VENV="$(bash patches/env/venv.sh)"
export SCORECAR_PYTHON="$VENV/bin/python"
if [ -x "$VENV/bin/hadolint" ]; then export HADOLINT="$VENV/bin/hadolint"; fi

npm run --silent build
npm run --silent lint:deploy

# One real SGLang server (the pinned release, on CPU, tiny Qwen3) for every suite that needs it.
# Its whole process group is stopped when the tests end.
sglang_pid=""
stop_sglang() {
  if [ -n "$sglang_pid" ]; then
    kill -TERM -- "-$sglang_pid" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$sglang_pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL -- "-$sglang_pid" 2>/dev/null || true
  fi
}
trap stop_sglang EXIT
port="$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{process.stdout.write(String(s.address().port));s.close()})")"
sglang_log="$(mktemp -t scorecar-sglang-XXXXXX.log)"
echo "npm test: starting the real SGLang server on 127.0.0.1:$port (log: $sglang_log)"
started=$(date +%s)
setsid bash patches/cpu/serve.sh --port "$port" >"$sglang_log" 2>&1 &
sglang_pid=$!
up=0
for _ in $(seq 1 300); do
  if curl -sf -o /dev/null "http://127.0.0.1:$port/health"; then up=1; break; fi
  kill -0 "$sglang_pid" 2>/dev/null || break
  sleep 1
done
if [ "$up" = 1 ]; then
  export SCORECAR_REAL_SGLANG_URL="http://127.0.0.1:$port"
  echo "npm test: real SGLang up in $(( $(date +%s) - started )) s at $SCORECAR_REAL_SGLANG_URL"
else
  echo "npm test: the real SGLang server did not come up; its log ends with:" >&2
  tail -n 40 "$sglang_log" >&2 || true
  if [ "${CI:-}" = "true" ] && [ ! -f BLOCKED-sglang.md ]; then
    echo "npm test: under CI the real-SGLang suites need it (or a committed BLOCKED-sglang.md)" >&2
    exit 1
  fi
fi

npx vitest run "$@"
npm run --silent test:python
