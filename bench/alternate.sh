#!/usr/bin/env bash
# Runs Google Benchmark binaries (for example the build before a change and after it) in
# turn, round after round, so that both see the same machine, and prints each case's p50
# (the latency cases' counter) or items per second, one line per binary and round.
#
# Usage: bench/alternate.sh FILTER ROUNDS BINARY [BINARY...]
#   bench/alternate.sh 'BM_WasmWarm/|BM_WasmWarmCalls' 5 BEFORE/skillrt_bench build/skillrt_bench
set -euo pipefail

if [[ $# -lt 3 ]]; then
  sed -n '2,8p' "$0" >&2
  exit 2
fi
filter=$1
rounds=$2
shift 2
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +'%Y-%m-%d %H:%M UTC')"
for round in $(seq "$rounds"); do
  for binary in "$@"; do
    line=$("$binary" --benchmark_filter="$filter" 2>&1 | grep '^BM_' |
      sed -E 's/^(BM_[^ ]+) .*(p50_us=[0-9.k]+).*/\1 \2/; s/^(BM_[^ ]+) .*(items_per_second=[0-9.k]+).*/\1 \2/' |
      tr '\n' ';')
    echo "round $round $binary: $line"
  done
done
