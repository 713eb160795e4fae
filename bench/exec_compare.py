#!/usr/bin/env python3
"""`skillrt exec SKILL -- true` against `bwrap --unshare-all true`, whole processes, interleaved.

Each round runs, in turn, for every skillrt binary given (e.g. the build before a change and
after it) `skillrt --quiet exec quiet -- true` (a native skill whose only command is `true`,
each binary with its own SKILLRT_HOME), then bubblewrap with every namespace, /usr read-only
and the merged-/usr links, running /usr/bin/true. Wall time, nearest-rank p50 and p99, and the
ratio to bubblewrap's p50; the CPU time (user + system) of each process and its children
(wait4(2)'s rusage), which a loaded machine inflates less than the wall time. (Peak memory:
/usr/bin/time -v, see docs/benchmarks.md.)

With --daemon, each binary is also measured with `skillrt daemon` serving its home (started
by the benchmark in the same environment and directory, stopped at the end): the same call,
handed to the resident process, which runs it in a sandbox prepared ahead. Every process is
started in a new session, without a controlling terminal (a caller with one keeps its call,
whose approvals are asked there: docs/daemon.md).

Usage: bench/exec_compare.py SKILLRT [SKILLRT...] [--runs N] [--daemon]
"""
import argparse
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

from daemon_util import start_daemon

BWRAP = ["bwrap", "--unshare-all", "--die-with-parent", "--ro-bind", "/usr", "/usr",
         "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib", "--symlink",
         "usr/lib64", "/lib64", "--proc", "/proc", "--dev", "/dev", "/usr/bin/true"]


def percentile(values, p):
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def timed(argv, env=None):
    """(wall seconds, CPU seconds) of one run of argv."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"{argv[0]} failed ({proc.returncode}): {err.decode()[-400:]}")
    return elapsed, usage.ru_utime + usage.ru_stime


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binaries", nargs="+")
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--gap-ms", type=float, default=0,
                        help="idle time after each process, so that work one case leaves "
                             "behind (a daemon preparing its next sandbox) is not charged to "
                             "the case that follows")
    parser.add_argument("--daemon", action="store_true",
                        help="also measure each binary's calls served by `skillrt daemon`")
    opts = parser.parse_args()
    if not shutil.which("bwrap"):
        sys.exit("bwrap is not installed")

    with tempfile.TemporaryDirectory() as tmp:
        skill = os.path.join(tmp, "skills", "quiet")
        os.makedirs(skill)
        for d in (tmp, os.path.dirname(skill), skill):
            os.chmod(d, 0o755)
        with open(os.path.join(skill, "SKILL.md"), "w") as f:
            f.write("---\nname: quiet\ndescription: Runs true.\n---\n# quiet\n")
        with open(os.path.join(skill, "skill.toml"), "w") as f:
            f.write('[capabilities]\ncommands = ["true"]\n')
        cases = []
        daemons = []
        for i, binary in enumerate(opts.binaries):
            env = {**os.environ, "SKILLRT_HOME": os.path.join(tmp, f"home{i}")}
            argv = [binary, "--quiet", "--skills", os.path.dirname(skill), "exec", "quiet",
                    "--", "true"]
            cases.append((binary, argv, env))
            if opts.daemon:
                daemon_env = {**env, "SKILLRT_HOME": os.path.join(tmp, f"daemon{i}")}
                daemons.append(start_daemon(binary, daemon_env))
                cases.append((f"{binary} (daemon)", argv, daemon_env))
        cases.append(("bwrap --unshare-all true", BWRAP, None))
        for _, argv, env in cases:  # Warm-up.
            timed(argv, env)
        load = os.getloadavg()
        times = {name: [] for name, _, _ in cases}
        cpu = {name: [] for name, _, _ in cases}
        for _ in range(opts.runs):
            for name, argv, env in cases:
                wall, used = timed(argv, env)
                times[name].append(wall)
                cpu[name].append(used)
                if opts.gap_ms:
                    time.sleep(opts.gap_ms / 1000)
        for daemon in daemons:
            daemon.terminate()
            daemon.wait()

    print(f"{opts.runs} rounds, interleaved, {opts.gap_ms:g} ms idle after each process; "
          f"load average at start "
          f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}")
    print("| case | p50 (ms) | p99 (ms) | p50 / bwrap | CPU p50 (ms) |")
    print("|---|---:|---:|---:|---:|")
    base = percentile(times["bwrap --unshare-all true"], 50)
    for name, values in times.items():
        p50 = percentile(values, 50)
        print(f"| {name} | {p50 * 1e3:.2f} | {percentile(values, 99) * 1e3:.2f} | "
              f"{p50 / base:.2f}x | {percentile(cpu[name], 50) * 1e3:.2f} |")


if __name__ == "__main__":
    main()
