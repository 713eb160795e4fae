#!/usr/bin/env python3
"""What the Python SDK adds to a call, measured in one process and one run (docs/python.md,
docs/benchmarks.md):

  C++        Engine::Run of a WebAssembly skill, timed in C++ (the extension's bench_run)
  Python     skillrt.Engine.run of the same call, and reading its output, timed in Python
  2 threads  Engine.run from two Python threads at once: calls per second
  CLI        the `skillrt run` CLI started with subprocess, as a wrapper that shells out does

The C++ and Python cases alternate call by call on one engine, so both see the same machine
state; the added cost is the difference of their percentiles (and the median of the
differences of each pair). The skill is number-stats
(examples/skills/number-stats, WASI, built by scripts/build-wasm.sh).

Usage: <build>/pyenv/bin/python bench/python_bench.py [--rounds N] [--calls N] [--cli-calls N]
Environment: SKILLRT_CLI (default: build/skillrt).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import tempfile
import threading
import time

import skillrt

ROOT = pathlib.Path(__file__).resolve().parents[1]
SKILLS = ROOT / "examples" / "skills"
SKILL = "number-stats"
INPUT = {"numbers": [2, 4, 4, 4, 5, 5, 7, 9, 11, 13], "percentiles": [50, 90]}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def python_calls(engine: skillrt.Engine, count: int) -> list[float]:
    micros = []
    for _ in range(count):
        start = time.perf_counter_ns()
        outcome = engine.run(SKILL, INPUT)
        output = outcome.output
        micros.append((time.perf_counter_ns() - start) / 1000)
        if outcome.status != "ok" or output is None:
            raise SystemExit(f"python_bench: {SKILL}: {outcome.status}: {outcome.message}")
    return micros


def threaded(engine: skillrt.Engine, threads: int, seconds: float) -> float:
    counts = [0] * threads
    stop = time.monotonic() + seconds

    def work(i: int) -> None:
        while time.monotonic() < stop:
            engine.run(SKILL, INPUT)
            counts[i] += 1

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    begin = time.monotonic()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(counts) / (time.monotonic() - begin)


def cli_calls(cli: str, home: str, count: int) -> list[float]:
    argv = [cli, "--home", home, "--skills", str(SKILLS), "run", SKILL, "--json",
            "--input", json.dumps(INPUT)]
    micros = []
    for _ in range(count):
        start = time.perf_counter_ns()
        proc = subprocess.run(argv, capture_output=True, check=False)
        json.loads(proc.stdout)
        micros.append((time.perf_counter_ns() - start) / 1000)
        if proc.returncode != 0:
            raise SystemExit(f"python_bench: the CLI failed: {proc.stderr.decode()[:300]}")
    return micros


def row(name: str, micros: list[float]) -> str:
    return (f"| {name} | {len(micros)} | {percentile(micros, 50):.1f} | "
            f"{percentile(micros, 99):.1f} | {statistics.fmean(micros):.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--calls", type=int, default=100, help="pairs of calls per round")
    parser.add_argument("--cli-calls", type=int, default=30)
    parser.add_argument("--threads-seconds", type=float, default=3.0)
    args = parser.parse_args()
    cli = os.environ.get("SKILLRT_CLI") or str(ROOT / "build" / "skillrt")

    with tempfile.TemporaryDirectory() as home:
        with skillrt.Engine(home=home, skills=[SKILLS], user_policy=False) as engine:
            python_calls(engine, 50)  # Compile the module, fill caches.
            engine._core.bench_run(SKILL, INPUT, 50)
            cpp: list[float] = []
            py: list[float] = []
            for _ in range(args.rounds * args.calls):
                # One call of each, alternating, so that both see the same machine.
                cpp += engine._core.bench_run(SKILL, INPUT, 1)
                py += python_calls(engine, 1)
            paired = [p - c for p, c in zip(py, cpp)]
            one = threaded(engine, 1, args.threads_seconds)
            two = threaded(engine, 2, args.threads_seconds)
        cli_times = cli_calls(cli, home, args.cli_calls)

    print(f"load average: {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs")
    print()
    print("| case | calls | p50 (us) | p99 (us) | mean (us) |")
    print("|---|---:|---:|---:|---:|")
    print(row("C++ Engine::Run (same process, same engine)", cpp))
    print(row("Python Engine.run + .output", py))
    print(row("`skillrt run` CLI via subprocess", cli_times))
    print()
    added50 = percentile(py, 50) - percentile(cpp, 50)
    added99 = percentile(py, 99) - percentile(cpp, 99)
    print(f"added by Python: p50 {added50:.1f} us, p99 {added99:.1f} us; median of the paired "
          f"differences {statistics.median(paired):.1f} us (goal: at most 30 us)")
    print(f"throughput: 1 Python thread {one:.0f} calls/s, 2 Python threads {two:.0f} calls/s")
    print(f"subprocess of the CLI vs Python Engine.run, p50: "
          f"{percentile(cli_times, 50) / percentile(py, 50):.0f}x")


if __name__ == "__main__":
    main()
