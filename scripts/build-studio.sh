#!/usr/bin/env bash
# Builds the studio (studio/, docs/studio.md) into <build>/studio, where `skillrt serve` finds
# it. Its packages (Vite, Preact, marked, DOMPurify, and playwright-core for the browser test)
# come from the npm registry exactly as studio/package-lock.json pins them, installed into
# <build>/studio-src beside a copy of the sources, so the source tree stays clean. Runs under
# the Node of scripts/node-env.sh. Idempotent: npm ci runs again only when the lockfile
# changed, and the build only when a source did.
# Usage: scripts/build-studio.sh [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
mkdir -p "$build"
build=$(cd "$build" && pwd)
src=$build/studio-src
out=$build/studio
node_dir=$("$root/scripts/node-env.sh" "$build")
export PATH=$node_dir/bin:$PATH

mkdir -p "$src"
# The sources, without what npm and Vite make.
tar -C "$root/studio" --exclude=node_modules --exclude=dist -cf - . | tar -C "$src" -xf -
lock_sum=$(sha256sum "$src/package-lock.json" | cut -d' ' -f1)
if [[ ! -d $src/node_modules || $(cat "$src/node_modules/.skillrt-lock" 2>/dev/null) != "$lock_sum" ]]; then
  echo "studio: installing the pinned packages (npm ci)" >&2
  (cd "$src" && npm ci --no-audit --no-fund --loglevel=error >&2)
  echo "$lock_sum" >"$src/node_modules/.skillrt-lock"
fi
sources_sum=$(cd "$src" && find index.html vite.config.js package-lock.json src -type f -print0 |
  sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
if [[ -f $out/index.html && $(cat "$out/.sources" 2>/dev/null) == "$sources_sum" ]]; then
  echo "studio: up to date in $out" >&2
  exit 0
fi
echo "studio: building into $out" >&2
(cd "$src" && STUDIO_OUT_DIR="$out" node node_modules/vite/bin/vite.js build --logLevel warn >&2)
echo "$sources_sum" >"$out/.sources"
echo "studio: built $(find "$out" -type f ! -name .sources | wc -l) files into $out" >&2
