#!/usr/bin/env python3
"""Warm Python skills through a long-lived `skillrt mcp`, with and without prepared
interpreters (docs/sandbox.md, "Prepared Python interpreters"; docs/benchmarks.md).

Two `skillrt mcp` servers over stdio on one home and the same skills: the baseline with
`--prepared-sandboxes 0` (every call spawns its sandbox and starts python3 in it), the
candidate with the default (a call of a plan run before is released into an interpreter
initialised ahead of need). Calls alternate between the two, call by call, and which one goes
first alternates each round, so both see the same machine. Reported per case: the engine's own
duration_ms of the call (from the plan to the outcome) and the client's round trip.

The skills: examples/skills/calculator (python3 scripts/calc.py, a short expression), and
csv-summary-native (bench/wasmlang_bench.py's: python3 main.py importing the csv-summary-py
example's module, 10 CSV rows grouped and totalled).

Usage: bench/prepared_python_bench.py [--calls N]
Environment: SKILLRT_CLI (default build/skillrt).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from wasmlang_bench import PY_INPUT, Mcp, native_skill, percentile  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
SKILLS = ROOT / "examples" / "skills"
CASES = {"calculator": ("calculator", {"expression": "2*(3+4) + sqrt(16)"}),
         "csv-summary-native": ("csv-summary-native", PY_INPUT)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    cli = os.environ.get("SKILLRT_CLI") or str(ROOT / "build" / "skillrt")
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(dir="/var/tmp") as tmp:
        root = pathlib.Path(tmp)
        native_skill(root / "skills")
        base = [cli, "--home", str(root / "home"), "--policy",
                str(ROOT / "examples" / "demo-policy.toml"), "--skills", str(SKILLS),
                "--skills", str(root / "skills"), "mcp"]
        servers = {"baseline (--prepared-sandboxes 0)": Mcp([*base, "--prepared-sandboxes",
                                                                 "0"]),
                   "prepared sandboxes (default)": Mcp(base)}
        engine = {(s, c): [] for s in servers for c in CASES}
        trip = {(s, c): [] for s in servers for c in CASES}
        for server in servers.values():  # First calls: load the catalogue, prepare.
            for skill, payload in CASES.values():
                for _ in range(3):
                    server.run(skill, payload)
        order = list(servers)
        for i in range(args.calls):
            for case, (skill, payload) in CASES.items():
                for name in (order if i % 2 == 0 else order[::-1]):
                    elapsed, duration = servers[name].run(skill, payload)
                    engine[(name, case)].append(duration)
                    trip[(name, case)].append(elapsed)
        for server in servers.values():
            server.close()
    load_after = os.getloadavg()

    print(f"load average (1, 5, 15 min) before: {load_before[0]:.2f} {load_before[1]:.2f} "
          f"{load_before[2]:.2f}; after: {load_after[0]:.2f} {load_after[1]:.2f} "
          f"{load_after[2]:.2f}; {os.cpu_count()} CPUs; {args.calls} calls per row")
    print()
    print("| skill | server | engine duration_ms p50 | p99 | round trip ms p50 | p99 |")
    print("|---|---|---:|---:|---:|---:|")
    for case in CASES:
        for name in servers:
            e, t = engine[(name, case)], trip[(name, case)]
            print(f"| {case} | {name} | {percentile(e, 50):.2f} | {percentile(e, 99):.2f} | "
                  f"{percentile(t, 50):.2f} | {percentile(t, 99):.2f} |")


if __name__ == "__main__":
    main()
