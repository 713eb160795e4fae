#!/usr/bin/env python3
"""Python and JavaScript skills in WebAssembly against the same work elsewhere, in one run
(docs/wasm-languages.md, docs/benchmarks.md):

  warm        `run_skill` through one long-lived `skillrt mcp` process over stdio (a warm
              engine: the component compiled and in memory), round trip of each call; and the
              engine's own duration_ms of the call
  cli         `skillrt run` started anew for each call: a cached cold start (a new process
              loads the compiled component from the disk cache)
  native      the same Python script as a native skill (python3 in the Linux sandbox), warm
              through the same `skillrt mcp`, and through the CLI
  bare        python3 / node started on the same script with no sandbox
  build       `skillrt build` of each example into a fresh home: the toolchain's build and the
              ahead-of-time compilation (with --build only: minutes on a loaded machine)

The work: examples/skills/csv-summary-py (Python; group 10 CSV rows and total a column) and
examples/skills/text-stats-js (JavaScript; word statistics of a short text), both with their
input inline so every case does the same work. Cases alternate call by call.

Process cases also report the CPU time the process used (user + system, from wait4), which
the machine's load inflates far less than the wall-clock time.

Usage: bench/wasmlang_bench.py [--calls N] [--cli-calls N] [--build] [--baseline-cli PATH]
  --baseline-cli  another skillrt binary (an earlier build) whose warm calls (its own
                  `skillrt mcp`) and cached cold starts are measured too, interleaved with the
                  current one's (its own compiled code must be in the home: run its
                  `skillrt build` of both examples first)
Environment: SKILLRT_CLI (default build/skillrt); the examples must be built into the home
given by --home (default: $SKILLRT_HOME, else ~/.skillrt; scripts/setup.sh builds them there).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import resource
import shutil
import statistics
import subprocess
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
SKILLS = ROOT / "examples" / "skills"
CSV = (SKILLS / "csv-summary-py" / "data" / "orders.csv").read_text()
PY_INPUT = {"csv": CSV, "group_by": "region", "sum": "amount"}
JS_INPUT = {"text": "One fish. Two fish. Red fish, blue fish. " * 20, "top": 3}


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


class Mcp:
    """`skillrt mcp` over stdio, newline-delimited JSON-RPC."""

    def __init__(self, argv):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, bufsize=1)
        self.next_id = 0
        self.request("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                    "clientInfo": {"name": "wasmlang_bench", "version": "1"}})
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def send(self, message):
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()

    def request(self, method, params):
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        while True:
            reply = json.loads(self.proc.stdout.readline())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise SystemExit(f"wasmlang_bench: {method}: {reply['error']}")
                return reply["result"]

    def run(self, skill, payload):
        """(round trip in ms, the engine's duration_ms)."""
        start = time.perf_counter()
        result = self.request("tools/call", {"name": "run_skill",
                                             "arguments": {"skill": skill, "input": payload}})
        elapsed = (time.perf_counter() - start) * 1000
        out = result.get("structuredContent") or {}
        if out.get("status") != "ok":
            raise SystemExit(f"wasmlang_bench: {skill}: {json.dumps(result)[:400]}")
        return elapsed, out["duration_ms"]

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def native_skill(root: pathlib.Path) -> None:
    """The Python example's own summary.py as a native skill: python3 in the Linux sandbox."""
    skill = root / "csv-summary-native"
    skill.mkdir(parents=True)
    shutil.copy(SKILLS / "csv-summary-py" / "summary.py", skill / "summary.py")
    (skill / "main.py").write_text(
        "import json, sys\nimport summary\n"
        "print(json.dumps(summary.run(json.load(sys.stdin))))\n")
    (skill / "SKILL.md").write_text("---\nname: csv-summary-native\ndescription: The Python "
                                    "example as a native skill, for the benchmark.\n---\n")
    (skill / "skill.toml").write_text('[entry]\nargv = ["python3", "main.py"]\n')


def bare_scripts(root: pathlib.Path) -> tuple[list[str], list[str]]:
    """python3 and node running the examples' own code on stdin, with no sandbox."""
    node_dir = root / "node-bare"
    node_dir.mkdir()
    # The JavaScript example without its `skillrt` import (the work needs no network).
    source = (SKILLS / "text-stats-js" / "stats.js").read_text()
    source = source.replace('import { fetch } from "skillrt";', "const fetch = null;")
    (node_dir / "stats.mjs").write_text(source)
    (node_dir / "main.mjs").write_text(
        'import { run } from "./stats.mjs";\nimport { readFileSync } from "node:fs";\n'
        "console.log(JSON.stringify(run(JSON.parse(readFileSync(0, 'utf8')))));\n")
    py = ["python3", "-c", "import json, sys; sys.path.insert(0, sys.argv[1]); import summary; "
          "print(json.dumps(summary.run(json.load(sys.stdin))))", str(SKILLS / "csv-summary-py")]
    node = shutil.which("node") or str(ROOT / "build" / "node" / "bin" / "node")
    return py, [node, str(node_dir / "main.mjs")]


CPU_MS = {}  # Case name -> CPU time of each process, ms.


def timed_process(argv, payload, name=None):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, input=json.dumps(payload), capture_output=True, text=True)
    elapsed = (time.perf_counter() - start) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"wasmlang_bench: {argv[:2]} failed: {done.stderr[:300]}")
    if name is not None:
        cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
        CPU_MS.setdefault(name, []).append(cpu)
    return elapsed


def row(name, values, extra=""):
    rate = 1000 / statistics.fmean(values)
    return (f"| {name} | {len(values)} | {percentile(values, 50):.2f} | "
            f"{percentile(values, 99):.2f} | {rate:.0f} | {extra} |")


def build_times(cli: str) -> list[str]:
    rows = []
    with tempfile.TemporaryDirectory() as home:
        for skill in ("csv-summary-py", "text-stats-js"):
            done = subprocess.run([cli, "--home", home, "--skills", str(SKILLS), "build",
                                   "--json", skill], capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(f"wasmlang_bench: build {skill}: {done.stderr[-400:]}")
            r = json.loads(done.stdout)
            rows.append(f"| {skill} | {r['build_ms'] / 1000:.1f} | {r['compile_ms'] / 1000:.1f} "
                        f"| {r['component_bytes'] / 1e6:.1f} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--cli-calls", type=int, default=20)
    parser.add_argument("--home", default=os.environ.get("SKILLRT_HOME",
                                                         str(pathlib.Path.home() / ".skillrt")))
    parser.add_argument("--build", action="store_true", help="also time cold builds")
    parser.add_argument("--baseline-cli", help="an earlier skillrt, for its cached cold starts")
    args = parser.parse_args()
    cli = os.environ.get("SKILLRT_CLI") or str(ROOT / "build" / "skillrt")

    with tempfile.TemporaryDirectory(dir="/var/tmp") as tmp:
        root = pathlib.Path(tmp)
        native_skill(root / "skills")
        bare_py, bare_node = bare_scripts(root)
        roots = ["--skills", str(SKILLS), "--skills", str(root / "skills")]
        base = [cli, "--home", args.home, "--policy", str(ROOT / "examples" / "demo-policy.toml"),
                *roots]
        mcp = Mcp([*base, "mcp"])
        cases = {"python-wasm": ("csv-summary-py", PY_INPUT),
                 "js-wasm": ("text-stats-js", JS_INPUT),
                 "python-native": ("csv-summary-native", PY_INPUT)}
        warm = {name: [] for name in cases}
        engine = {name: [] for name in cases}
        # With --baseline-cli, the same warm cases through the baseline binary's own
        # `skillrt mcp`, call by call in the same loop.
        servers = {"": mcp}
        if args.baseline_cli:
            servers[", baseline binary"] = Mcp([args.baseline_cli, *base[1:], "mcp"])
            for name in cases:
                warm[f"{name}, baseline binary"] = []
                engine[f"{name}, baseline binary"] = []
        # The native case again through a server that keeps no prepared Python interpreter:
        # python3 started in a new sandbox per run, the baseline issue 20's goal was set against.
        per_run = "python-native, python3 started per run"
        per_run_server = Mcp([*base, "mcp", "--prepared-sandboxes", "0"])
        warm[per_run] = []
        engine[per_run] = []
        for server in servers.values():  # First calls: load, fill caches.
            for name, (skill, payload) in cases.items():
                for _ in range(5):
                    server.run(skill, payload)
        for _ in range(5):
            per_run_server.run(*cases["python-native"])
        for _ in range(args.calls):
            for suffix, server in servers.items():
                for name, (skill, payload) in cases.items():
                    elapsed, duration = server.run(skill, payload)
                    warm[name + suffix].append(elapsed)
                    engine[name + suffix].append(duration)
            elapsed, duration = per_run_server.run(*cases["python-native"])
            warm[per_run].append(elapsed)
            engine[per_run].append(duration)
        for server in [*servers.values(), per_run_server]:
            server.close()
        cold = {name: [] for name in cases}
        baseline_cases = {}
        if args.baseline_cli:
            baseline_cases = {f"{name}, baseline binary": (skill, payload)
                              for name, (skill, payload) in cases.items() if "wasm" in name}
            cold.update({name: [] for name in baseline_cases})
        bare = {"python3 (bare)": [], "node (bare)": []}
        for _ in range(args.cli_calls):
            for name, (skill, payload) in cases.items():
                cold[name].append(timed_process(
                    [*base, "run", skill, "--json", "--input", json.dumps(payload)], {}, name))
                baseline = f"{name}, baseline binary"
                if baseline in baseline_cases:
                    cold[baseline].append(timed_process(
                        [args.baseline_cli, *base[1:], "run", skill, "--json", "--input",
                         json.dumps(payload)], {}, baseline))
            bare["python3 (bare)"].append(timed_process(bare_py, PY_INPUT, "python3 (bare)"))
            bare["node (bare)"].append(timed_process(bare_node, JS_INPUT, "node (bare)"))

    print(f"load average: {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs")
    print()
    print("| case | calls | p50 (ms) | p99 (ms) | calls/s (1 client) | engine duration_ms p50 "
          "| process CPU ms p50 |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in warm:
        print(row(f"{name}, warm (skillrt mcp)", warm[name],
                  f"{percentile(engine[name], 50):.2f} |"))
    for name in cold:
        print(row(f"{name}, `skillrt run` (new process; wasm: cached cold start)", cold[name],
                  f" | {percentile(CPU_MS[name], 50):.1f}"))
    for name, values in bare.items():
        print(row(name + ", new process", values, f" | {percentile(CPU_MS[name], 50):.1f}"))
    print()
    ratio = percentile(warm["python-native"], 50) / percentile(warm["python-wasm"], 50)
    print(f"warm Python call: WebAssembly {percentile(warm['python-wasm'], 50):.2f} ms vs native "
          f"sandbox {percentile(warm['python-native'], 50):.2f} ms, p50: {ratio:.1f}x "
          f"(goal: at least 10x)")
    wasm_ms = percentile(engine["python-wasm"], 50)
    per_run_ms = percentile(engine["python-native, python3 started per run"], 50)
    print(f"  the engine's own duration_ms, p50: WebAssembly {wasm_ms:.2f} ms vs native sandbox "
          f"starting python3 per run {per_run_ms:.2f} ms: {per_run_ms / wasm_ms:.1f}x")
    for suffix in ("", ", baseline binary"):
        if "python-wasm" + suffix not in engine:
            continue
        wasm_ms = percentile(engine["python-wasm" + suffix], 50)
        native_ms = percentile(engine["python-native" + suffix], 50)
        print(f"  the engine's own duration_ms{suffix}, p50: WebAssembly {wasm_ms:.2f} ms vs native "
              f"sandbox {native_ms:.2f} ms: {native_ms / wasm_ms:.1f}x")
    print(f"cached cold start through the CLI, p50: Python "
          f"{percentile(cold['python-wasm'], 50):.1f} ms, JavaScript "
          f"{percentile(cold['js-wasm'], 50):.1f} ms (goal: under 50 ms)")
    for name in baseline_cases:
        print(f"  baseline binary, {name.split(',')[0]}: "
              f"{percentile(cold[name], 50):.1f} ms p50, "
              f"{percentile(CPU_MS[name], 50):.1f} ms CPU p50")
    if args.build:
        print()
        print("| skill | build (s) | ahead-of-time compile (s) | component (MB) |")
        print("|---|---:|---:|---:|")
        for line in build_times(cli):
            print(line)


if __name__ == "__main__":
    main()
