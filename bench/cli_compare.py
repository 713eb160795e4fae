#!/usr/bin/env python3
"""Whole-process timing of two skillrt binaries, interleaved (A B A B ...), each with its own
SKILLRT_HOME: wall and CPU time per run, medians and the A/B ratio of the medians.

Usage: bench/cli_compare.py A_BINARY B_BINARY [--runs N] [-- SKILLRT ARGS...]
Default arguments: --skills examples/skills run calculator --input '{"expression":"2*(3+4)"}'
"""
import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def one(binary, home, args):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([binary] + args, env={**os.environ, "SKILLRT_HOME": home},
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"{binary} failed ({proc.returncode}): {proc.stderr.decode()[:400]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main():
    argv = sys.argv[1:]
    split = argv.index("--") if "--" in argv else len(argv)
    parser = argparse.ArgumentParser()
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--runs", type=int, default=30)
    opts = parser.parse_args(argv[:split])
    args = argv[split + 1:]
    if not args:
        args = ["--skills", os.path.join(ROOT, "examples/skills"), "run", "calculator",
                "--input", '{"expression":"2*(3+4)"}']
    with tempfile.TemporaryDirectory() as ha, tempfile.TemporaryDirectory() as hb:
        for binary, home in ((opts.a, ha), (opts.b, hb)):  # Warm-up: caches, the home.
            one(binary, home, args)
        runs = {"A": [], "B": []}
        for _ in range(opts.runs):
            runs["A"].append(one(opts.a, ha, args))
            runs["B"].append(one(opts.b, hb, args))
    med = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
           for k, v in runs.items()}
    for k, name in (("A", opts.a), ("B", opts.b)):
        print(f"{k} {name}: wall p50 {med[k][0] * 1e3:.1f} ms, cpu p50 {med[k][1] * 1e3:.1f} ms")
    print(f"A/B wall {med['A'][0] / med['B'][0]:.3f}, cpu {med['A'][1] / med['B'][1]:.3f} "
          f"({opts.runs} runs each, interleaved)")


if __name__ == "__main__":
    main()
