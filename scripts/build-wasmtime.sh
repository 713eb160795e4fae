#!/usr/bin/env bash
# Builds Wasmtime's C/C++ API (crates.io crate wasmtime-c-api-impl) into a versioned cache:
#   <cache>/wasmtime/<version>-<key>/lib/libwasmtime.a
#   <cache>/wasmtime/<version>-<key>/lib/native-libs.txt   (system libraries to link after it)
#   <cache>/wasmtime/<version>-<key>/include/{wasm.h,wasi.h,wasmtime.h,wasmtime.hh,wasmtime/...}
# <cache> is $SKILLRT_CACHE or ~/.cache/skillrt; <key> hashes the generated Cargo manifest (crate
# version, features, profile) and `rustc -vV`, so another toolchain or feature set gets its own
# directory. `.complete` is written last; when it exists the script does nothing.
# The cache directory is printed as the last line of stdout; cargo's output goes to stderr.
# Usage: scripts/build-wasmtime.sh
# Environment: SKILLRT_CACHE; CARGO_BUILD_JOBS (default 2);
#   SKILLRT_WASMTIME_KEEP_TARGET=1 keeps cargo's target/ (otherwise it is removed after success
#   when larger than 1 GiB; nothing reads it once the stamp exists).
set -euo pipefail

# Newest release whose rust-version (1.95.0) this toolchain satisfies; 49.x wants 1.96.
readonly version=48.0.8
# Cargo feature names of wasmtime-c-api-impl; the crate's build script turns them into the
# WASMTIME_FEATURE_* defines of wasmtime/conf.h, so headers and library always agree.
readonly features=(
  cranelift
  wasi
  component-model
  # 48.x compiles its component-model bindings only with async on: src/vec.rs exports the
  # declare_vecs macro under cfg(feature = "async") (49.0 gates it on component-model).
  async
  # The C++ headers need gc: wasmtime.hh reaches wasmtime/types/arrayref.hh, which uses types
  # that exist only under WASMTIME_FEATURE_GC. gc-drc is Wasmtime's default collector for it.
  gc
  gc-drc
  pooling-allocator
  parallel-compilation
  wat
  demangle
)
readonly remove_target_above_kib=$((1024 * 1024))

die() { echo "build-wasmtime: $*" >&2; exit 1; }
log() { echo "build-wasmtime: $*" >&2; }

# Prints the Cargo.toml of the wrapper crate: a staticlib that re-exports the C API's rlib.
manifest() {
  local list
  list=$(printf '"%s", ' "${features[@]}")
  cat <<EOF
[package]
name = "skillrt-wasmtime"
version = "0.0.0"
edition = "2021"
publish = false

[lib]
name = "skillrt_wasmtime"
path = "src/lib.rs"
crate-type = ["staticlib"]

[dependencies]
wasmtime-c-api-impl = { version = "=${version}", default-features = false, features = [${list%, }] }

[profile.release]
debug = false
EOF
}

# Writes Cargo.lock in the current directory. Starts from the lockfile the crate was released
# with, so dependencies are the versions upstream tested rather than whatever is newest today;
# cargo then adds the wrapper package to it.
lock_dependencies() {
  local cargo_home=${CARGO_HOME:-$HOME/.cargo} crate_lock
  log "resolving wasmtime-c-api-impl $version"
  cargo generate-lockfile >&2
  cargo fetch >&2
  crate_lock=$(ls "$cargo_home"/registry/src/*/"wasmtime-c-api-impl-$version"/Cargo.lock \
    2>/dev/null | head -n1 || true)
  if [[ -n $crate_lock ]]; then
    cp "$crate_lock" Cargo.lock
    cargo fetch >&2
  else
    log "no Cargo.lock shipped in wasmtime-c-api-impl-$version; keeping the fresh resolution"
  fi
}

# Everything runs inside main so that bash has parsed the whole file before the long build.
main() {
  local tool
  for tool in cargo rustc cmake flock sha256sum; do
    command -v "$tool" >/dev/null || die "'$tool' not found in PATH"
  done

  local manifest toolchain key dir
  manifest=$(manifest)
  # Run from / so a rust-toolchain file in the caller's directory cannot pick the toolchain.
  toolchain=$(cd / && rustc -vV)
  key=$(printf '%s\n%s\n' "$manifest" "$toolchain" | sha256sum | cut -c1-12)
  dir=${SKILLRT_CACHE:-$HOME/.cache/skillrt}/wasmtime/$version-$key

  if [[ -f $dir/.complete ]]; then
    echo "$dir"
    return 0
  fi
  mkdir -p "$dir"
  # One builder per cache entry; a second caller waits here and then finds the stamp.
  exec 9>"$dir/.lock"
  flock 9
  if [[ -f $dir/.complete ]]; then
    echo "$dir"
    return 0
  fi

  local work=$dir/work
  mkdir -p "$work/src"
  printf '%s\n' "$manifest" >"$work/Cargo.toml"
  cat >"$work/src/lib.rs" <<'EOF'
//! Links every `extern "C"` symbol of wasmtime-c-api-impl into one static library.
pub use wasmtime_c_api::*;
EOF
  printf '%s\n%s\n' "$manifest" "$toolchain" >"$dir/key.txt"

  export CARGO_TARGET_DIR=$work/target
  export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2}
  cd "$work"
  [[ -f Cargo.lock ]] || lock_dependencies

  log "building wasmtime-c-api-impl $version [${features[*]}] in $work (jobs=$CARGO_BUILD_JOBS)"
  local start seconds
  start=$(date +%s)
  # `cargo rustc` hands --print to the final staticlib only; it reports the system libraries a
  # C or C++ program must link after libwasmtime.a.
  nice -n 19 cargo rustc --release --lib --message-format=json-render-diagnostics \
    -- --print native-static-libs >cargo-messages.json 2>cargo-stderr.log || {
    tail -n 40 cargo-stderr.log >&2
    die "cargo failed in $work (full log: $work/cargo-stderr.log)"
  }
  seconds=$(($(date +%s) - start))

  local archive=$CARGO_TARGET_DIR/release/libskillrt_wasmtime.a native_libs out_dir
  [[ -f $archive ]] || die "cargo succeeded but $archive is missing"
  native_libs=$(sed -n 's/.*native-static-libs: //p' cargo-stderr.log | tail -n1)
  [[ -n $native_libs ]] || die "no 'native-static-libs' note in $work/cargo-stderr.log"
  # The crate's build script installs the headers and the configured wasmtime/conf.h into its
  # OUT_DIR/include; cargo names that directory in its build-script-executed message.
  out_dir=$(grep '"reason":"build-script-executed"' cargo-messages.json \
    | grep '[#/]wasmtime-c-api-impl@' | sed -n 's/.*"out_dir":"\([^"]*\)".*/\1/p' | tail -n1 \
    || true)
  [[ -n $out_dir && -f $out_dir/include/wasmtime/conf.h ]] ||
    die "no wasmtime/conf.h in the build script's out_dir '$out_dir' ($work/cargo-messages.json)"
  [[ -f $out_dir/include/wasmtime.hh ]] || die "wasmtime.hh missing from $out_dir/include"

  rm -rf "$dir/lib" "$dir/include"
  mkdir -p "$dir/lib"
  cp "$archive" "$dir/lib/libwasmtime.a"
  printf '%s\n' "$native_libs" >"$dir/lib/native-libs.txt"
  cp -r "$out_dir/include" "$dir/include"

  cat >"$dir/.complete" <<EOF
version=$version
features=${features[*]}
build_seconds=$seconds
completed=$(date -u +%Y-%m-%dT%H:%M:%SZ)
EOF
  log "built in ${seconds}s; libwasmtime.a is $(du -h "$dir/lib/libwasmtime.a" | cut -f1)"

  local target_kib
  target_kib=$(du -sk "$CARGO_TARGET_DIR" | cut -f1)
  if [[ ${SKILLRT_WASMTIME_KEEP_TARGET:-0} != 1 ]] && ((target_kib > remove_target_above_kib)); then
    log "removing $CARGO_TARGET_DIR ($((target_kib / 1024)) MiB); the stamp is written"
    rm -rf "$CARGO_TARGET_DIR"
  fi
  echo "$dir"
}

# On one line with exit, so an edit to this file during a build cannot run a stray fragment.
main "$@"; exit
