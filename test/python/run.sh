#!/usr/bin/env bash
# `npm run test:python`: every Python test, in the project venv (patches/env/venv.sh):
#  - pytest under patches/ (the SGLang extensions);
#  - the gRPC Python client test: test/python/grpc_score_client.py against scorecar, driven by
#    its vitest case in test/e2e/grpc.test.ts (it needs a built scorecar and the emulator).
#    --no-grpc-client leaves it out (npm test passes it: its vitest run already ran that case).
# The real-SGLang numerical reference (test/python/reference_scores.py) runs from
# test/e2e/real-sglang/reference.test.ts, next to the server it is compared with.
set -euo pipefail
cd "$(dirname "$0")/../.."
grpc_client=1
for a in "$@"; do
  case "$a" in
    --no-grpc-client) grpc_client=0 ;;
    *) echo "test/python/run.sh: unknown argument $a" >&2; exit 2 ;;
  esac
done
if [ -z "${SCORECAR_PYTHON:-}" ]; then
  SCORECAR_PYTHON="$(bash patches/env/venv.sh)/bin/python"
  export SCORECAR_PYTHON
fi
status=0
echo "test:python: pytest -q patches ($SCORECAR_PYTHON)"
"$SCORECAR_PYTHON" -m pytest -q patches || status=$?
if [ "$grpc_client" = 1 ]; then
  echo "test:python: the gRPC Python client test"
  [ -f dist/src/cli/main.js ] || npm run --silent build
  npx vitest run test/e2e/grpc.test.ts -t 'a Python client' || status=$?
fi
exit "$status"
