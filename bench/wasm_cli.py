#!/usr/bin/env python3
"""One-shot WebAssembly runs through the CLI, against the CLI's own start-up, interleaved.

For each binary given (e.g. the build before a change and after it), each round runs:
  run    `skillrt --quiet --skills SKILLS run number-stats --input '{"numbers":[1,2,3]}'`:
         a whole process that opens the engine, makes the WebAssembly runtime, loads the
         compiled module from the disk cache and makes the call;
  start  `skillrt --help`: the same binary's start-up and exit, no engine.
With --daemon, also `run` handed to a `skillrt daemon` serving another home of the binary's
(started here with the callers' environment), whose runtimes are warm.
With --no-own-process, the one-shot `run` in its own process is left out of the rounds: what
the served cases are measured against is then start-up alone, without a process that maps
Wasmtime's library between them.
With --auto, also `run` with SKILLRT_DAEMON=auto and no daemon started here: the warm-up's
calls start one (the first makes the home, the second the daemon), and the measured calls
are handed to it, as an agent's calls are when it sets the variable.
Whole processes, wall time, nearest-rank p50 and p99, each binary with its own SKILLRT_HOME
(warmed, so the compiled module is in its disk cache). With --warm-us (the warm call's p50
from `scripts/bench.sh -- --benchmark_filter=WasmWarm`), prints run / (start + warm), the
issue's measure of a one-shot run.

Usage: bench/wasm_cli.py SKILLRT [SKILLRT...] [--skills DIR] [--runs N] [--warm-us US]
                        [--daemon] [--auto] [--no-own-process]
Needs examples/skills/number-stats/scripts/stats.wasm (scripts/build-wasm.sh).
"""
import argparse
import math
import os
import subprocess
import sys
import tempfile
import time

from daemon_util import (on_demand_env, start_daemon, stop_on_demand_daemon,
                          wait_for_on_demand_daemon)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def percentile(values, p):
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def timed(argv, env):
    start = time.perf_counter()
    # Without a controlling terminal, as an agent's tool call runs (a caller with one keeps
    # its call: docs/daemon.md).
    proc = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          start_new_session=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv[:3])}... failed ({proc.returncode}): "
                 f"{proc.stderr.decode()[-400:]}")
    return elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binaries", nargs="+")
    parser.add_argument("--skills", default=os.path.join(ROOT, "examples", "skills"))
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--warm-us", type=float, default=0)
    parser.add_argument("--daemon", action="store_true",
                        help="also measure `run` served by `skillrt daemon`")
    parser.add_argument("--auto", action="store_true",
                        help="also measure `run` with SKILLRT_DAEMON=auto")
    parser.add_argument("--no-own-process", action="store_true",
                        help="leave out the one-shot `run` in its own process")
    opts = parser.parse_args()
    module = os.path.join(opts.skills, "number-stats", "scripts", "stats.wasm")
    if not os.path.exists(module):
        sys.exit(f"{module} is missing: run scripts/build-wasm.sh")

    homes = [tempfile.mkdtemp(prefix="skillrt-wasm-cli-") for _ in opts.binaries]
    daemon_homes = []
    daemons = []
    cases = []
    for i, binary in enumerate(opts.binaries):
        env = {**os.environ, "SKILLRT_HOME": homes[i]}
        env.pop("SHLVL", None)
        run = [binary, "--quiet", "--skills", opts.skills, "run", "number-stats", "--input",
               '{"numbers":[1,2,3]}']
        if not opts.no_own_process:
            cases.append((f"{binary}: run", run, env))
        cases.append((f"{binary}: start", [binary, "--help"], env))
        if opts.daemon:
            daemon_homes.append(tempfile.mkdtemp(prefix="skillrt-wasm-cli-daemon-"))
            daemon_env = {**env, "SKILLRT_HOME": daemon_homes[-1]}
            daemons.append(start_daemon(binary, daemon_env))
            cases.append((f"{binary}: run via the daemon", run, daemon_env))
        if opts.auto:
            daemon_homes.append(tempfile.mkdtemp(prefix="skillrt-wasm-cli-auto-"))
            cases.append((f"{binary}: run, SKILLRT_DAEMON=auto", run,
                          on_demand_env({**env, "SKILLRT_HOME": daemon_homes[-1]})))
    for _, argv, env in cases:  # Warm-up: the home, the compiled module's disk cache.
        timed(argv, env)
    on_demand = []
    for name, argv, env in cases:
        if "SKILLRT_DAEMON=auto" in name:
            timed(argv, env)  # The home exists now: this call starts the daemon.
            on_demand.append(wait_for_on_demand_daemon(env["SKILLRT_HOME"]))
            timed(argv, env)
    load = os.getloadavg()
    times = {name: [] for name, _, _ in cases}
    for _ in range(opts.runs):
        for name, argv, env in cases:
            times[name].append(timed(argv, env))
    for daemon in daemons:
        daemon.terminate()
        daemon.wait()
    for pid in on_demand:
        stop_on_demand_daemon(pid)
    for home in homes + daemon_homes:
        subprocess.run(["rm", "-rf", home], check=False)

    print(f"{opts.runs} rounds, interleaved; load average at start "
          f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}")
    print("| case | p50 (ms) | p99 (ms) |")
    print("|---|---:|---:|")
    for name, values in times.items():
        print(f"| {name} | {percentile(values, 50) * 1e3:.2f} | "
              f"{percentile(values, 99) * 1e3:.2f} |")
    if opts.warm_us > 0:
        for binary in opts.binaries:
            start = percentile(times[f"{binary}: start"], 50)
            if not opts.no_own_process:
                run = percentile(times[f"{binary}: run"], 50)
                print(f"- {binary}: run / (start + warm call) = "
                      f"{run * 1e3:.2f} / ({start * 1e3:.2f} + {opts.warm_us / 1e3:.2f}) = "
                      f"{run / (start + opts.warm_us / 1e6):.2f}")
            for flag, case in ((opts.daemon, "run via the daemon"),
                               (opts.auto, "run, SKILLRT_DAEMON=auto")):
                if not flag:
                    continue
                served = percentile(times[f"{binary}: {case}"], 50)
                print(f"- {binary}: {case} / (start + warm call) = "
                      f"{served * 1e3:.2f} / ({start * 1e3:.2f} + "
                      f"{opts.warm_us / 1e3:.2f}) = {served / (start + opts.warm_us / 1e6):.2f}")


if __name__ == "__main__":
    main()
