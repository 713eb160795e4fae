#!/usr/bin/env bash
# Times the first command (scripts/demo.sh) as on a fresh machine, as far as one machine that
# already has the Debian packages can show it: a fresh clone of this repository's HEAD, an empty
# HOME (so ~/.cache/skillrt, pip's, npm's and cargo's caches and ~/.skillrt start empty), the
# installed Rust toolchain kept (RUSTUP_HOME points at it). Prints a Markdown table of setup's
# steps (seconds, minutes, 1-minute load average when the step ended), then the demo itself and
# the total; the whole log is kept in OUT_DIR/demo.log.
# Usage: bench/fresh/measure.sh OUT_DIR [--seed-search-ml]
#   --seed-search-ml copies the search library's cache entry and model (scripts/build-search-ml.sh)
#   from ~/.cache/skillrt into the empty cache, leaving that step out of the measurement.
# Environment: RUSTUP_HOME (default ~/.rustup of the caller).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$(realpath -m "${1:?usage: bench/fresh/measure.sh OUT_DIR [--seed-search-ml]}")
seed=0
[[ ${2:-} == --seed-search-ml ]] && seed=1

mkdir -p "$out"
work=$(mktemp -d /tmp/skillrt-fresh.XXXXXX)
home=$work/home
mkdir -p "$home"
git clone --quiet "$root" "$work/skillrt"
if ((seed)); then
  mkdir -p "$home/.cache/skillrt"
  cp -a "$HOME/.cache/skillrt/search-ml" "$HOME/.cache/skillrt/search-model" "$home/.cache/skillrt/"
  rm -rf "$home/.cache/skillrt/search-ml/target"
fi

export RUSTUP_HOME=${RUSTUP_HOME:-$HOME/.rustup}
log=$out/demo.log
start=$EPOCHREALTIME
set +e
# Every line stamped with the seconds since the start, so the demo's own time can be told
# from setup's.
env -u SKILLRT_CACHE -u SKILLRT_HOME -u CARGO_HOME -u CCACHE_DIR HOME="$home" \
  CARGO_HOME="$home/.cargo" "$work/skillrt/scripts/demo.sh" 2>&1 </dev/null |
  while IFS= read -r line; do
    printf '%8.1f %s\n' "$(awk -v s="$start" -v e="$EPOCHREALTIME" 'BEGIN { print e - s }')" "$line"
  done >"$log"
status=${PIPESTATUS[0]}
set -e
total=$(awk -v s="$start" -v e="$EPOCHREALTIME" 'BEGIN { print e - s }')

{
  echo "| step | wall s | wall min | cpu s | load (1 min) |"
  echo "| --- | ---: | ---: | ---: | ---: |"
  # setup.sh's lines: "setup: <step>: <wall> s, cpu <cpu> s, load <load>".
  sed -n 's/^ *[0-9.]* setup: \(.*\): \([0-9]*\) s, cpu \([0-9]*\) s, load \([0-9.]*\)$/\1\t\2\t\3\t\4/p' \
    "$log" | awk -F'\t' '{ printf "| %s | %d | %.1f | %d | %s |\n", $1, $2, $2 / 60, $3, $4
                            wall += $2; cpu += $3 }
      END { printf "| setup, all steps | %d | %.1f | %d | |\n", wall, wall / 60, cpu }'
  setup_end=$(sed -n 's/^ *\([0-9.]*\) setup: Python SDK wheel: .*/\1/p' "$log" | tail -n1)
  awk -v t="$total" -v s="${setup_end:-0}" -v load="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
    printf "| the demo (after setup) | %d | %.1f | | %s |\n", t - s, (t - s) / 60, load
    printf "| **scripts/demo.sh, total** | **%d** | **%.1f** | | |\n", t, t / 60 }'
} | tee "$out/table.md"
echo "exit status $status; log $log; clone and home in $work" >&2
exit "$status"
