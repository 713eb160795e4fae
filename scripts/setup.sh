#!/usr/bin/env bash
# Installs what skillrt needs from Debian's packages (once) and builds it.
# Idempotent: packages already present are not reinstalled, and the build is incremental.
# Usage: scripts/setup.sh [BUILD_DIR]   (default: build)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}

packages=(
  build-essential cmake ninja-build pkg-config
  libseccomp-dev libre2-dev libyaml-cpp-dev libtomlplusplus-dev nlohmann-json3-dev libcli11-dev
  libssl-dev libcurl4-openssl-dev openssl ca-certificates libgtest-dev libgmock-dev libbenchmark-dev
  libsqlite3-dev
  python3 python3-pip python3-venv python3-dev bash bubblewrap git
  clang-14 lld-14 wasi-libc libclang-rt-14-dev-wasm32
  podman runc busybox-static docker.io
  libcpp-httplib-dev libsqlite3-dev libpq-dev postgresql
  chromium
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: run as root to install packages (or install them yourself): ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

"$root/scripts/python-env.sh" "$build" >/dev/null
# npm installs Node 22 and the MCP conformance suite (scripts/node-env.sh). A machine whose
# nodejs already carries npm keeps it; otherwise Debian's npm is installed.
if ! command -v npm >/dev/null; then
  [[ $(id -u) -eq 0 ]] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
fi
"$root/scripts/node-env.sh" "$build" >/dev/null
# The studio (studio/, docs/studio.md): its pinned npm packages, then Vite into <build>/studio.
echo "setup: building the studio" >&2
"$root/scripts/build-studio.sh" "$build"

if [[ ! -f $build/build.ninja ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" -j"$(nproc)"
"$root/scripts/build-wasm.sh" "$build"
# Python and JavaScript skills (docs/wasm-languages.md): the toolchain once, then the bundled
# examples built into components and compiled ahead of time (cached by their source).
"$root/scripts/wasmlang-env.sh" "$build" >/dev/null
for skill in csv-summary-py text-stats-js; do
  "$build/skillrt" --skills "$root/examples/skills" build "$skill"
done
# The Python SDK: a wheel made from this build (nothing compiled again), installed into pyenv.
"$root/scripts/python-wheel.sh" "$build"
