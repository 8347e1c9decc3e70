#!/usr/bin/env bash
# `npm test`: everything the tests need on a fresh machine of this kind, then every test.
# System packages come from Debian (apt) when running as root; otherwise this says what to install.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=/usr/bin/python3
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
# lint:deploy: Compose v1 validates docker/compose.yaml without an engine; shellcheck lints the
# SGLang image's entry-point script.
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
$PY -c 'import torch' >/dev/null 2>&1 || missing+=(python3-torch)
$PY -c 'import pytest' >/dev/null 2>&1 || missing+=(python3-pytest)
$PY -c 'import grpc' >/dev/null 2>&1 || missing+=(python3-grpcio)
$PY -c 'import grpc_tools' >/dev/null 2>&1 || missing+=(python3-grpc-tools)
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

npm run --silent build
npm run --silent lint:deploy
npx vitest run "$@"
$PY -m pytest -q patches
