#!/usr/bin/env bash
# Builds skillrt in Release mode, runs the benchmarks (bench/spawn_bench.cc: sandbox spawn;
# bench/wasm_bench.cc: WebAssembly calls; bench/gate_bench.cc: policy and approvals;
# bench/egress_bench.cc: HTTP through the egress proxy) and prints the results as Markdown
# tables. The raw Google Benchmark JSON is kept.
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
# Installs any missing package (those of the tests too: bubblewrap is the spawn benchmark's
# peer), then builds every target: the library, the CLI, the probes and the benchmark.
"$root/scripts/setup.sh" --tests "$build" >&2

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
    "BM_Interleaved": "skillrt library, interleaved with bubblewrap and other work",
}

programs = {"0": "static C program (glibc)", "1": "bare static program (no libc)"}
wasm_labels = {
    "BM_WasmCold": "wasm, cold: read, compile, instantiate, call",
    "BM_WasmCachedCold": "wasm, cold from the disk cache: read, deserialize, call",
    "BM_WasmWarm": "wasm, warm: fresh store and instance, call",
    "BM_WasmComponentWarm": "wasm component (slugify), warm, on its own thread",
    "BM_NativeStats": "native sandbox: the same C program, static",
}
egress_labels = {
    "BM_EgressDirect": "libcurl straight to the server (baseline, no policy)",
    "BM_EgressClient": "EgressHttpClient: libcurl through the egress proxy",
    "BM_EgressWasmCall": "wasm call of web-fetch-wasm that fetches (warm)",
    "BM_EgressWasmNoFetch": "the same wasm call refusing its input, no request",
}
rows, p50, wasm_rows, wasm_p50, calls = [], {}, [], {}, {}
egress_rows, egress_p50 = [], {}
interleaved = {}
for b in report["benchmarks"]:
    if b.get("run_type", "iteration") != "iteration":
        continue
    base = b["name"].split("/")[0]
    if base in egress_labels:
        if b.get("error_occurred"):
            egress_rows.append(f"| {egress_labels[base]} | skipped: {b.get('error_message', '')} | | | | |")
            continue
        egress_p50[base] = b["p50_us"]
        egress_rows.append(f"| {egress_labels[base]} | {b['iterations']} | {b['p50_us']:.0f} | "
                           f"{b['p99_us']:.0f} | {b['mean_us']:.0f} | {b['min_us']:.0f} |")
        continue
    if base == "BM_Interleaved" and not b.get("error_occurred"):
        interleaved[b["name"].split("/")[1]] = (b["p50_us"], b["p99_us"], b["bwrap_p50_us"],
                                                b["bwrap_p99_us"])
    if not base.startswith(("BM_ForkExec", "BM_Library", "BM_Cli", "BM_Bwrap",
                            "BM_Interleaved")) and \
            base not in wasm_labels and base != "BM_WasmWarmCalls":
        continue  # Reported by its own benchmark (gate_bench prints Google Benchmark's table).
    if base == "BM_WasmWarmCalls":
        if not b.get("error_occurred"):
            calls[b.get("threads", 1)] = b["items_per_second"]
        continue
    if base in wasm_labels:
        if b.get("error_occurred"):
            wasm_rows.append(f"| {wasm_labels[base]} | skipped: {b.get('error_message', '')} | | | | |")
            continue
        wasm_p50[base] = b["p50_us"]
        wasm_rows.append(f"| {wasm_labels[base]} | {b['iterations']} | {b['p50_us']:.0f} | "
                         f"{b['p99_us']:.0f} | {b['mean_us']:.0f} | {b['min_us']:.0f} |")
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
if rows:
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

for arg, (lib, lib99, bw, bw99) in interleaved.items():
    print(f"- {programs.get(arg, arg)}, interleaved: library p50 {lib / 1000:.2f} ms "
          f"(p99 {lib99 / 1000:.2f}), bubblewrap p50 {bw / 1000:.2f} ms (p99 {bw99 / 1000:.2f}); "
          f"bubblewrap / library {bw / lib:.2f}; goals p50 at most 1.5 ms and at least 2x: "
          f"{'met' if lib <= 1500 and bw / lib >= 2 else 'not met'}")

if wasm_rows:
    print()
    print("WebAssembly: the number-stats example (C), same input, against the same C program in")
    print("the native sandbox.\n")
    print("| case | runs | p50 (us) | p99 (us) | mean (us) | min (us) |")
    print("|---|---:|---:|---:|---:|---:|")
    print("\n".join(wasm_rows))
    print()
    for threads, rate in sorted(calls.items()):
        print(f"- warm calls per second, {threads} thread{'s' if threads > 1 else ''}: {rate:.0f}")
    goals = [("BM_WasmWarm", 100, "warm p50 at most 100 us"),
             ("BM_WasmCachedCold", 5000, "cached cold p50 at most 5 ms")]
    for name, limit, text in goals:
        if name in wasm_p50:
            verdict = "met" if wasm_p50[name] <= limit else "not met"
            print(f"- {text}: {wasm_p50[name]:.0f} us, {verdict}")
    if calls:
        best = max(calls.values())
        print(f"- at least 5,000 calls per second: {best:.0f}, {'met' if best >= 5000 else 'not met'}")
    if "BM_WasmWarm" in wasm_p50 and "BM_NativeStats" in wasm_p50:
        print(f"- native sandbox p50 / wasm warm p50 = "
              f"{wasm_p50['BM_NativeStats'] / wasm_p50['BM_WasmWarm']:.1f}")

if egress_rows:
    print()
    print("Egress: one GET of a small document from a server on the loopback, one request per")
    print("connection.\n")
    print("| case | runs | p50 (us) | p99 (us) | mean (us) | min (us) |")
    print("|---|---:|---:|---:|---:|---:|")
    print("\n".join(egress_rows))
    print()
    e = egress_p50
    if "BM_EgressDirect" in e and "BM_EgressClient" in e:
        print(f"- the proxy's cost per request (client p50 - direct p50): "
              f"{e['BM_EgressClient'] - e['BM_EgressDirect']:.0f} us")
    if "BM_EgressWasmCall" in e and "BM_EgressWasmNoFetch" in e:
        print(f"- a request from a wasm call (call p50 - call without request p50): "
              f"{e['BM_EgressWasmCall'] - e['BM_EgressWasmNoFetch']:.0f} us")
EOF
