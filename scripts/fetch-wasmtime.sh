#!/usr/bin/env bash
# Installs Wasmtime's C/C++ API into a versioned cache, nothing compiled (docs/wasmtime.md):
#   <cache>/wasmtime/<version>-wheel-<key>/lib/libwasmtime.so   the shared library shipped in
#       PyPI's wasmtime wheel, pinned by version and sha256
#   <cache>/wasmtime/<version>-wheel-<key>/include/   the headers of the crates.io crate
#       wasmtime-c-api-impl of the same version (fetched with cargo, pinned by sha256), with
#       wasmtime/conf.h written for the features found in that library
#   <cache>/wasmtime/<version>-wheel-<key>/features.txt   those features and their evidence
# <cache> is $SKILLRT_CACHE or ~/.cache/skillrt; <key> hashes the two pins and this script's
# feature table. `.complete` is written last; when it exists the script does nothing.
# The cache directory is printed as the last line of stdout; progress goes to stderr.
# Usage: scripts/fetch-wasmtime.sh      Environment: SKILLRT_CACHE; CARGO_HOME.
set -euo pipefail

readonly version=50.0.1
readonly wheel=wasmtime-$version-py3-none-manylinux1_x86_64.whl
readonly wheel_sha256=cc14c3a17654e0394e0225b11813532ef0cd7bd1e222a0c5494cdedaabeddac4
readonly wheel_member=wasmtime/linux-x86_64/_libwasmtime.so
readonly crate=wasmtime-c-api-impl
readonly crate_sha256=3c24d3970786b4baecb5b6aff31759b4f361879e8d99dbd5dc36a9524a0db6e6

# Every WASMTIME_FEATURE_* of conf.h.in and how the library shows it was built with it: a C
# function the feature exports (the features that gate declarations in the headers), else a
# Rust path that only the feature compiles in (the library keeps its symbol table). A feature
# without evidence stays undefined.
readonly feature_table="
ASYNC                  export  wasmtime_func_call_async
PROFILING              export  wasmtime_guestprofiler_new
CACHE                  export  wasmtime_config_cache_config_load
PARALLEL_COMPILATION   export  wasmtime_config_parallel_compilation_set
WASI                   export  wasi_config_new
WASI_HTTP              export  wasmtime_context_set_wasi_http
THREADS                export  wasmtime_config_wasm_threads_set
GC                     export  wasmtime_anyref_clone
WAT                    export  wasmtime_wat2wasm
POOLING_ALLOCATOR      export  wasmtime_pooling_allocation_config_new
COMPONENT_MODEL        export  wasmtime_component_new
COMPONENT_MODEL_ASYNC  export  wasmtime_config_wasm_component_model_async_set
CRANELIFT              symbol  17cranelift_codegen
WINCH                  symbol  13winch_codegen
PULLEY                 symbol  18pulley_interpreter
LOGGING                symbol  10env_logger
COREDUMP               symbol  7runtime8coredump
ADDR2LINE              symbol  9addr2line
DEMANGLE               symbol  12cpp_demangle
GC_DRC                 symbol  7DrcHeap
GC_NULL                symbol  8NullHeap
DEBUG_BUILTINS         symbol  14debug_builtins
ALL_ARCH               symbol  3isa7aarch64
"
# What skillrt's wasm runtime uses (src/wasm); the cache entry is refused without any of them.
# GC: wasmtime.hh does not compile without it (its arrayref types are declared under it).
readonly required_features=(CRANELIFT WASI COMPONENT_MODEL ASYNC POOLING_ALLOCATOR WAT GC)

die() { echo "fetch-wasmtime: $*" >&2; exit 1; }
log() { echo "fetch-wasmtime: $*" >&2; }

# Unpacks the pinned wheel's library into `dest` (pip checks the hash as it downloads).
fetch_library() {
  local dest=$1 tmp
  tmp=$(mktemp -d)
  log "downloading the wasmtime $version wheel from PyPI (about 10 MB)"
  printf 'wasmtime==%s --hash=sha256:%s\n' "$version" "$wheel_sha256" >"$tmp/req.txt"
  python3 -m pip download --disable-pip-version-check --progress-bar on --no-deps \
    --only-binary=:all: --platform manylinux1_x86_64 --require-hashes -r "$tmp/req.txt" \
    -d "$tmp" >&2 || die "pip download wasmtime==$version failed"
  [[ -f $tmp/$wheel ]] || die "pip did not produce $wheel"
  echo "$wheel_sha256  $tmp/$wheel" | sha256sum -c --quiet - >&2 || die "$wheel: sha256 mismatch"
  python3 - "$tmp/$wheel" "$wheel_member" "$dest/libwasmtime.so" <<'EOF' || die "cannot unpack $wheel"
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel, wheel.open(sys.argv[2]) as src:
    with open(sys.argv[3], "wb") as dst:
        shutil.copyfileobj(src, dst)
EOF
  rm -rf "$tmp"
}

# Prints the source directory of the pinned crate, fetched with cargo through a throwaway
# manifest (cargo checks every download against the registry's checksum; the crate's own is
# checked here against the pin as well).
fetch_crate() {
  local tmp=$1 cargo_home=${CARGO_HOME:-$HOME/.cargo} archive src
  mkdir -p "$tmp/src"
  : >"$tmp/src/lib.rs"
  cat >"$tmp/Cargo.toml" <<EOF
[package]
name = "skillrt-wasmtime-headers"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
$crate = { version = "=$version", default-features = false }
EOF
  log "fetching the crate $crate $version with cargo (its headers; nothing is compiled)"
  (cd "$tmp" && cargo fetch --target x86_64-unknown-linux-gnu >&2) || die "cargo fetch $crate $version failed"
  archive=$(ls "$cargo_home"/registry/cache/*/"$crate-$version.crate" 2>/dev/null | head -n1 || true)
  [[ -n $archive ]] || die "cargo fetch left no $crate-$version.crate under $cargo_home"
  echo "$crate_sha256  $archive" | sha256sum -c --quiet - >&2 || die "$archive: sha256 mismatch"
  src=$(ls -d "$cargo_home"/registry/src/*/"$crate-$version" 2>/dev/null | head -n1 || true)
  [[ -f $src/cmake/install-headers.cmake ]] || die "no cmake/install-headers.cmake in '$src'"
  echo "$src"
}

# Writes to stdout one line per feature found in `so`: NAME KIND WITNESS.
detect_features() {
  local so=$1 exports symbols name kind witness
  exports=$(nm -D --defined-only "$so" | awk '{print $3}')
  symbols=$(nm "$so" 2>/dev/null | awk '{print $NF}')
  [[ -n $symbols ]] || die "$so has no symbol table: its features cannot be told"
  while read -r name kind witness; do
    [[ -z $name ]] && continue
    case $kind in
      export) grep -qxF "$witness" <<<"$exports" && echo "$name $kind $witness" ;;
      symbol) grep -qF "$witness" <<<"$symbols" && echo "$name $kind $witness" ;;
    esac
  done <<<"$feature_table"
  return 0
}

# Installs the crate's headers into `dest` with conf.h for `features`, as the crate's own
# build script does (cmake -P cmake/install-headers.cmake, one -D per feature).
install_headers() {
  local src=$1 dest=$2 args=() f
  shift 2
  for f in "$@"; do args+=("-DWASMTIME_FEATURE_$f=ON"); done
  (cd "$src" && cmake -DWASMTIME_DISABLE_ALL_FEATURES=ON -DCMAKE_INSTALL_PREFIX="$dest" \
    "${args[@]}" -P cmake/install-headers.cmake >/dev/null) || die "installing the headers failed"
  [[ -f $dest/include/wasmtime/conf.h && -f $dest/include/wasmtime.hh ]] ||
    die "the headers are incomplete under $dest/include"
}

main() {
  local tool
  for tool in python3 cargo cmake nm sha256sum flock; do
    command -v "$tool" >/dev/null || die "'$tool' not found in PATH"
  done
  [[ $(uname -sm) == "Linux x86_64" ]] ||
    die "the pinned wheel is for Linux x86_64; on $(uname -sm) configure with" \
      "-DSKILLRT_WASMTIME_DIR=<prefix of a Wasmtime $version C API build> (docs/wasmtime.md)"

  local key dir
  key=$(printf '%s\n%s\n%s\n' "$wheel_sha256" "$crate_sha256" "$feature_table" | sha256sum |
    cut -c1-12)
  dir=${SKILLRT_CACHE:-$HOME/.cache/skillrt}/wasmtime/$version-wheel-$key
  if [[ -f $dir/.complete ]]; then
    echo "$dir"
    return 0
  fi
  mkdir -p "$dir"
  exec 9>"$dir/.lock"
  flock 9
  if [[ -f $dir/.complete ]]; then
    echo "$dir"
    return 0
  fi

  local work=$dir/work src found=() line f
  rm -rf "$work" "$dir/lib" "$dir/include"
  mkdir -p "$work" "$dir/lib"
  fetch_library "$dir/lib"
  src=$(fetch_crate "$work/manifest")
  detect_features "$dir/lib/libwasmtime.so" >"$work/features.txt"
  while read -r line; do found+=("${line%% *}"); done <"$work/features.txt"
  for f in "${required_features[@]}"; do
    [[ " ${found[*]} " == *" $f "* ]] ||
      die "the wheel's library lacks the feature $f that skillrt needs (found: ${found[*]})"
  done
  log "features of the library: ${found[*]}"
  install_headers "$src" "$dir" "${found[@]}"
  mv "$work/features.txt" "$dir/features.txt"
  rm -rf "$work"
  cat >"$dir/.complete" <<EOF
version=$version
wheel=$wheel
wheel_sha256=$wheel_sha256
crate=$crate-$version
crate_sha256=$crate_sha256
completed=$(date -u +%Y-%m-%dT%H:%M:%SZ)
EOF
  log "installed in $dir"
  echo "$dir"
}

# On one line with exit, so an edit to this file while it runs cannot run a stray fragment.
main "$@"; exit
