#!/usr/bin/env bash
# Installs what skillrt needs from Debian's packages (once) and builds it.
# Idempotent: packages already present are not reinstalled, and the build is incremental.
# Usage: scripts/setup.sh [--tests] [BUILD_DIR]   (default: build)
#   Without --tests: what the main job (scripts/demo.sh) runs: the skillrt binary, the Python
#   module and its wheel, the WebAssembly examples, the studio.
#   --tests: everything scripts/test.sh needs besides: every target (the test suite, the
#   benchmarks, the WebAssembly probes) and the Debian packages only tests use.
# Each step prints what it does, its own progress, and how long it took with the load average
# ("setup: <step>: <wall> s, cpu <user+system> s, load <1-minute load>"; bench/fresh/measure.sh
# reads these lines).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tests=0
if [[ ${1:-} == --tests ]]; then
  tests=1
  shift
fi
build=${1:-$root/build}

packages=(
  build-essential cmake ninja-build pkg-config
  libseccomp-dev nettle-dev libre2-dev libyaml-cpp-dev libtomlplusplus-dev nlohmann-json3-dev libcli11-dev
  libssl-dev libcurl4-openssl-dev openssl ca-certificates libgtest-dev libgmock-dev libbenchmark-dev
  libsqlite3-dev
  python3 python3-pip python3-venv python3-dev bash git curl
  clang-14 lld-14 wasi-libc libclang-rt-14-dev-wasm32
  podman runc busybox-static
  libcpp-httplib-dev libpq-dev
)
# Used only by tests and benchmarks: the spawn benchmark's peer (bubblewrap), the service's
# PostgreSQL queue tests (postgresql), the studio's browser test (chromium), the container
# tests' own docker daemon (docker.io).
test_packages=(bubblewrap postgresql chromium docker.io)
((tests)) && packages+=("${test_packages[@]}")

# Sets cpu_now to the CPU seconds (user and system) used so far by this script's finished child
# processes. `times` runs in this shell (in a command substitution it would report a subshell's).
cpu_file=$(mktemp)
trap 'rm -f "$cpu_file"' EXIT
children_cpu() {
  times >"$cpu_file"
  cpu_now=$(tail -n1 "$cpu_file" |
    awk '{ for (i = 1; i <= 2; ++i) { split($i, t, /[ms]/); s += t[1] * 60 + t[2] } }
         END { printf "%.1f", s }')
}

# Runs one step: its name, then the command (whose output is the step's progress), then its
# wall time, the CPU time of its processes (less sensitive than wall time to a loaded machine)
# and the 1-minute load average.
step() {
  local name=$1 start cpu
  shift
  echo "setup: $name" >&2
  start=$EPOCHREALTIME
  children_cpu
  cpu=$cpu_now
  "$@"
  children_cpu
  awk -v name="$name" -v start="$start" -v end="$EPOCHREALTIME" -v cpu0="$cpu" \
    -v cpu1="$cpu_now" -v load="$(cut -d' ' -f1 /proc/loadavg)" \
    'BEGIN { printf "setup: %s: %.0f s, cpu %.0f s, load %s\n", name, end - start, cpu1 - cpu0, load }' >&2
}

install_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  echo "setup: installing ${missing[*]}" >&2
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: run as root to install packages (or install them yourself): ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  # apt's own lines (Get:, Unpacking, Setting up) are the progress.
  apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
}

# Node 22 and npm from the npm registry's tarballs, checked against pinned digests, then the
# MCP conformance suite (scripts/node-env.sh): no npm client is needed first.
node_env() {
  "$root/scripts/node-env.sh" "$build" >/dev/null
}

configure() {
  [[ -f $build/build.ninja ]] && return 0
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
}

# The main job's targets only (ninja's [n/N] lines are the progress); --tests builds all.
compile() {
  if ((tests)); then
    cmake --build "$build" -j"$(nproc)"
    return
  fi
  local targets=(skillrt_cli)
  grep -q '^SKILLRT_BUILD_PYTHON:BOOL=ON' "$build/CMakeCache.txt" && targets+=(_skillrt)
  cmake --build "$build" -j"$(nproc)" --target "${targets[@]}"
}

# Python and JavaScript skills (docs/wasm-languages.md): the toolchain once, then the bundled
# examples built into components and compiled ahead of time (cached by their source).
wasm_languages() {
  "$root/scripts/wasmlang-env.sh" "$build" >/dev/null
  local skill
  for skill in csv-summary-py text-stats-js; do
    echo "setup: skillrt build $skill" >&2
    "$build/skillrt" --skills "$root/examples/skills" build "$skill"
  done
}

build_wasm() {
  if ((tests)); then
    "$root/scripts/build-wasm.sh" "$build"
  else
    "$root/scripts/build-wasm.sh" --examples-only "$build"
  fi
}

step "Debian packages" install_packages "${packages[@]}"
step "Python environment (build/pyenv)" "$root/scripts/python-env.sh" "$build" >/dev/null
step "Node (build/node)" node_env
# The studio (studio/, docs/studio.md): its pinned npm packages, then Vite into <build>/studio.
step "studio" "$root/scripts/build-studio.sh" "$build"
# Configuring fetches Wasmtime (scripts/fetch-wasmtime.sh) and builds the search library
# (scripts/build-search-ml.sh) into ~/.cache/skillrt on the first run.
step "configure (Wasmtime, search library)" configure
step "compile" compile
step "WebAssembly examples" build_wasm
step "Python and JavaScript skills" wasm_languages
# The Python SDK: a wheel made from this build (nothing compiled again), installed into pyenv.
step "Python SDK wheel" "$root/scripts/python-wheel.sh" "$build"
