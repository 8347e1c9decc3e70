#!/usr/bin/env bash
# Prints the path of the project's Python virtualenv, building it first when it is missing.
#
# The venv lives outside the clone, in $SCORECAR_VENV_ROOT (default ~/.cache/scorecar), named by
# a hash of requirements.txt, so every clone on a machine shares one build, and a change to the
# pins builds a new one (older ones are removed). Build output goes to stderr; only the path goes
# to stdout.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
req="$here/requirements.txt"
root="${SCORECAR_VENV_ROOT:-$HOME/.cache/scorecar}"
hash="$(sha256sum "$req" | cut -c1-16)"
venv="$root/venv-$hash"
mkdir -p "$root"

if [ -f "$venv/.complete" ]; then
  echo "$venv"
  exit 0
fi

exec 9>"$root/venv.lock"
flock 9
if [ ! -f "$venv/.complete" ]; then
  py="$(command -v python3.11 || command -v python3)"
  start=$(date +%s)
  echo "python venv: building $venv from $req with $py (a few minutes, ~11 GB: SGLang pulls CUDA torch)" >&2
  rm -rf "$venv"
  "$py" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --upgrade pip >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req" >&2
  for old in "$root"/venv-*; do
    [ "$old" = "$venv" ] || [ ! -d "$old" ] || rm -rf "$old"
  done
  echo "built in $(( $(date +%s) - start )) s; $(du -sh "$venv" | cut -f1)" > "$venv/.complete"
  echo "python venv: $(cat "$venv/.complete")" >&2
fi
echo "$venv"
