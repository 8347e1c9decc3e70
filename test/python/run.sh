#!/usr/bin/env bash
# `npm run test:python`: every Python test, in the project venv (patches/env/venv.sh builds it
# when missing): patches/ and test/python/. Suites that need the real SGLang server read
# SCORECAR_REAL_SGLANG_URL, which `npm test` sets.
set -euo pipefail
cd "$(dirname "$0")/../.."
py="${SCORECAR_PYTHON:-$(bash patches/env/venv.sh)/bin/python}"
"$py" -m pytest -q -p no:cacheprovider patches test/python
