#!/usr/bin/env bash
# Installs (once) the toolchain that builds Python and JavaScript skills into WebAssembly
# components (docs/wasm-languages.md) into <build>/wasmlang, pinned:
#   py/    a virtual environment with componentize-py (src/wasmlang/toolchain/requirements.txt)
#   js/    componentize-js and esbuild from npm, installed with `npm ci` from the lockfile
#          (src/wasmlang/toolchain/package-lock.json)
#   node   Node 22 (a link to <build>/node/bin/node, made by scripts/node-env.sh), and its npm
#          as js/node_modules/npm
# Idempotent: a stamp of the pin files' sha256 is kept, and nothing is done when it matches.
# Usage: scripts/wasmlang-env.sh [BUILD_DIR]    Prints the toolchain directory on stdout.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(realpath -m "${1:-$root/build}")
pins=$root/src/wasmlang/toolchain
dir=$build/wasmlang
stamp=$(cat "$pins/requirements.txt" "$pins/package.json" "$pins/package-lock.json" |
  sha256sum | cut -d' ' -f1)
node_dir=$("$root/scripts/node-env.sh" "$build")
if [[ -x $dir/py/bin/componentize-py && -x $dir/js/node_modules/esbuild/bin/esbuild &&
      -f $dir/js/node_modules/npm/bin/npm-cli.js && -f $dir/.stamp && $(cat "$dir/.stamp") == "$stamp" ]]; then
  echo "$dir"
  exit 0
fi
echo "wasmlang-env: installing componentize-py, componentize-js and esbuild into $dir" >&2
mkdir -p "$dir/js"
if [[ ! -x $dir/py/bin/python ]]; then
  /usr/bin/python3 -m venv "$dir/py" >&2
fi
"$dir/py/bin/python" -m pip install --disable-pip-version-check --progress-bar on \
  -r "$pins/requirements.txt" >&2
cp "$pins/package.json" "$pins/package-lock.json" "$dir/js/"
(cd "$dir/js" && PATH="$node_dir/bin:$PATH" npm ci --no-audit --no-fund --loglevel=error >&2)
ln -sfn "$node_dir/bin/node" "$dir/node"
# The npm that installs a JavaScript skill's dependencies (src/wasmlang/build_component.py
# looks for it here): the one of scripts/node-env.sh.
ln -sfn "$node_dir/lib/npm" "$dir/js/node_modules/npm"
"$dir/py/bin/componentize-py" --version >&2
echo "$stamp" >"$dir/.stamp"
echo "$dir"
