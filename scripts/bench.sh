#!/usr/bin/env bash
# Builds skillrt in Release mode, runs the sandbox spawn benchmark (bench/spawn_bench.cc) and
# prints its results as a Markdown table. The raw Google Benchmark JSON is kept.
#
# Usage: scripts/bench.sh [BUILD_DIR] [-- BENCHMARK_FLAGS...]
#   BUILD_DIR        default: build-release (configured with CMAKE_BUILD_TYPE=Release)
#   BENCHMARK_FLAGS  passed to skillrt_bench, e.g. --benchmark_filter=Library
# Environment: BENCH_JSON=path of the JSON output (default: BUILD_DIR/spawn_bench.json).
# Needs root, like the sandbox itself when it uses cgroups.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build-release
if [[ $# -gt 0 && $1 != -- ]]; then
  build=$1
  shift
fi
[[ ${1:-} == -- ]] && shift
json=${BENCH_JSON:-$build/spawn_bench.json}

if [[ ! -f $build/build.ninja ]]; then
  # The tests are not needed for measuring.
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DSKILLRT_BUILD_TESTS=OFF >/dev/null
fi
# Installs any missing package, then builds the library, the CLI, the probes and the benchmark.
"$root/scripts/setup.sh" "$build" >&2

echo "bench: load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$build/skillrt_bench" --benchmark_out="$json" --benchmark_out_format=json "$@" >&2
echo "bench: JSON written to $json" >&2

python3 - "$json" <<'EOF'
import json
import sys

with open(sys.argv[1]) as f:
    report = json.load(f)
ctx = report["context"]
labels = {
    "BM_ForkExec": "fork+exec (posix_spawn + waitpid), no isolation",
    "BM_Library": "skillrt library: Runtime::Run, every layer",
    "BM_LibrarySpaced": "skillrt library, runs 50 ms apart",
    "BM_Cli": "skillrt CLI: skillrt exec",
    "BM_Bwrap": "bubblewrap 0.8, --unshare-all",
}

programs = {"0": "static C program (glibc)", "1": "bare static program (no libc)"}
rows, p50 = [], {}
for b in report["benchmarks"]:
    if b.get("run_type", "iteration") != "iteration":
        continue
    parts = b["name"].split("/")
    name, arg = parts[0], parts[1] if len(parts) > 1 and parts[1].isdigit() else "0"
    label = f"{labels.get(name, name)}; {programs.get(arg, arg)}"
    if b.get("error_occurred"):
        rows.append(f"| {label} | skipped: {b.get('error_message', '')} | | | | | |")
        continue
    p50[(name, arg)] = b["p50_us"]
    floor = p50.get(("BM_ForkExec", arg))
    over = f"+{(b['p50_us'] - floor) / 1000:.2f}" if floor and name != "BM_ForkExec" else ""
    rows.append(f"| {label} | {b['iterations']} | {b['p50_us'] / 1000:.2f} | "
                f"{b['p99_us'] / 1000:.2f} | {b['mean_us'] / 1000:.2f} | "
                f"{b['min_us'] / 1000:.2f} | {over} |")

load = ", ".join(f"{x:.2f}" for x in ctx.get("load_avg", []))
print(f"Run {ctx['date']} on {ctx['host_name']}: {ctx['num_cpus']} CPUs, "
      f"load average {load or 'unknown'}.\n")
print("| case | runs | p50 (ms) | p99 (ms) | mean (ms) | min (ms) | p50 over fork+exec (ms) |")
print("|---|---:|---:|---:|---:|---:|---:|")
print("\n".join(rows))
print()
for arg, program in programs.items():
    lib = p50.get(("BM_Library", arg))
    if not lib:
        continue
    verdict = "met" if lib <= 1500 else "not met"
    print(f"- {program}: library p50 {lib / 1000:.2f} ms; goal at most 1.5 ms: {verdict}")
    bwrap = p50.get(("BM_Bwrap", arg))
    if bwrap:
        ratio = bwrap / lib
        verdict = "met" if ratio >= 3 else "not met"
        print(f"- {program}: bubblewrap p50 / library p50 = {ratio:.2f}; goal at least 3: {verdict}")
EOF
