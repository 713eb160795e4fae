#!/usr/bin/env bash
# Creates (once) the virtual environment the tests use, <build>/pyenv, from Debian's python3,
# and installs requirements-dev.txt into it. Idempotent: when the file has not changed since
# the last install (its sha256 is kept in the environment), nothing is done.
# Usage: scripts/python-env.sh [BUILD_DIR]    Prints the environment's python on stdout.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
env=$build/pyenv
req=$root/requirements-dev.txt
mkdir -p "$build"
if [[ ! -x $env/bin/python ]]; then
  echo "python-env: creating $env" >&2
  /usr/bin/python3 -m venv "$env" >&2
fi
want=$(sha256sum "$req" | cut -d' ' -f1)
have=$(cat "$env/.requirements.sha256" 2>/dev/null || true)
if [[ $want != "$have" ]]; then
  echo "python-env: installing requirements-dev.txt (progress below)" >&2
  "$env/bin/python" -m pip install --disable-pip-version-check --progress-bar on \
    -r "$req" >&2
  echo "$want" >"$env/.requirements.sha256"
fi
echo "$env/bin/python"
