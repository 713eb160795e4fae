#!/usr/bin/env python3
"""A container skill through the CLI against the same `podman run`, interleaved.

Each round runs, in turn:
  engine        `<engine> run --rm IMAGE /bin/true` with the flags skillrt gives this skill
                (isolation, limits, the skill directory's mount, an environment file), but
                no cgroup parent of skillrt's: the peer, "the same engine run";
  engine-bare   `<engine> run --rm IMAGE /bin/true` with open-file and process limits
                (the engine's defaults exceed this machine's hard limits);
  skillrt       `skillrt run SKILL` of a container skill running /bin/true in the same image,
                with the engine probe read from the cache in SKILLRT_HOME;
  skillrt-probe the same with the probe's cache entry removed before the run, so that the
                engine is asked (`<engine> info`) as every run did before the cache.
Whole processes, wall time, nearest-rank p50 and p99. The load average is printed.

Usage: bench/container_compare.py SKILLRT [--engine podman] [--image IMAGE] [--runs N]
"""
import argparse
import glob
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

MANIFEST = """runtime = "container"

[container]
image = "{image}"
command = ["/bin/true"]
user = "65534:65534"

[entry]
input = "none"
output = "text"
"""

SKILL_MD = """---
name: container-true
description: Runs /bin/true in a container; a benchmark skill.
---

# container-true
"""


def percentile(values, p):
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def timed(argv, env=None):
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{argv[0]} failed ({proc.returncode}): {proc.stderr.decode()[-400:]}")
    return elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("skillrt")
    parser.add_argument("--engine", default=shutil.which("podman") or "podman")
    parser.add_argument("--image", default="localhost/skillrt-busybox:1")
    parser.add_argument("--runs", type=int, default=30)
    opts = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        skill = os.path.join(tmp, "skills", "container-true")
        home = os.path.join(tmp, "home")
        os.makedirs(skill)
        os.chmod(tmp, 0o755)
        os.chmod(os.path.dirname(skill), 0o755)
        os.chmod(skill, 0o755)
        with open(os.path.join(skill, "skill.toml"), "w") as f:
            f.write(MANIFEST.format(image=opts.image))
        with open(os.path.join(skill, "SKILL.md"), "w") as f:
            f.write(SKILL_MD)
        skillrt = [opts.skillrt, "--quiet", "--skills", os.path.dirname(skill), "run", "container-true"]
        env = {**os.environ, "SKILLRT_HOME": home, "SKILLRT_CONTAINER_ENGINE": opts.engine}
        env_file = os.path.join(tmp, "env")
        open(env_file, "w").close()
        same_flags = [
            "--rm", "--interactive", "--pull=never", "--log-driver=none", "--network=none",
            "--cap-drop=ALL", "--security-opt=no-new-privileges", "--read-only",
            "--user=65534:65534", "--tmpfs=/tmp:rw,nosuid,nodev,size=67108864,mode=1777",
            "--pids-limit=64", "--memory=268435456", "--memory-swap=268435456",
            "--ulimit=nofile=256:256", "--ulimit=nproc=32768:32768",
            "--ulimit=fsize=16777216:16777216", "--ulimit=cpu=30:31",
            f"--mount=type=bind,source={skill},destination=/skill,readonly",
            "--workdir=/skill", f"--env-file={env_file}"]
        if os.path.basename(opts.engine).startswith("podman"):
            same_flags += ["--read-only-tmpfs=false", "--http-proxy=false", "--unsetenv-all",
                           "--timeout=32"]
        cases = {
            "engine": lambda: timed([opts.engine, "run"] + same_flags + [opts.image,
                                                                          "/bin/true"]),
            "engine-bare": lambda: timed([opts.engine, "run", "--rm", "--ulimit=nofile=256:256",
                                          "--ulimit=nproc=32768:32768",
                                          opts.image, "/bin/true"]),
            "skillrt": lambda: timed(skillrt, env),
            "skillrt-probe": lambda: (
                [os.unlink(p) for p in glob.glob(os.path.join(home, "cache", "container",
                                                              "engine-*"))],
                timed(skillrt, env))[1],
        }
        for run in cases.values():  # Warm-up: the image's layers, the home, the cache.
            run()
        load = os.getloadavg()
        times = {name: [] for name in cases}
        for _ in range(opts.runs):
            for name, run in cases.items():
                times[name].append(run())

    print(f"{opts.runs} rounds, interleaved; load average at start "
          f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}; engine {opts.engine}, "
          f"image {opts.image}")
    print("| case | p50 (ms) | p99 (ms) | p50 / engine |")
    print("|---|---:|---:|---:|")
    base = percentile(times["engine"], 50)
    for name, values in times.items():
        p50 = percentile(values, 50)
        print(f"| {name} | {p50 * 1e3:.1f} | {percentile(values, 99) * 1e3:.1f} | "
              f"{p50 / base:.2f}x |")


if __name__ == "__main__":
    main()
