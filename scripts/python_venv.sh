#!/usr/bin/env bash
# Creates build/venv with the Python tools the tests use (tests/operate/requirements.txt,
# every version pinned) and prints its path. Idempotent: it reinstalls only when the
# requirements changed since the last install.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/build/venv"
requirements="$root/tests/operate/requirements.txt"
stamp="$venv/.requirements"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" >&2
fi
if ! cmp -s "$requirements" "$stamp"; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements" >&2
  cp "$requirements" "$stamp"
fi
echo "$venv"
