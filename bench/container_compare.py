#!/usr/bin/env python3
"""A container skill through the CLI against the same engine run, podman and docker, interleaved.

Each round runs, in turn, for each engine (podman, then docker):
  <engine> run        `<engine> run --rm IMAGE /bin/true` with the flags skillrt gives this
                      skill (isolation, limits, the skill directory's mount, an environment
                      file), but no cgroup parent of skillrt's: the peer, "the same run";
  skillrt (<engine>)  `skillrt run SKILL` of a container skill running /bin/true in the same
                      image on the same engine, the engine probe read from the cache in
                      SKILLRT_HOME;
and, with --probe, also
  skillrt (<engine>, probe)  the same with the probe's cache entry removed before the run,
                      so that the engine is asked (`<engine> info`) as every run once did.
With --before SKILLRT, a second build runs the same skill in the same rounds.
Whole processes, wall time, nearest-rank p50 and p99; the load average is recorded before
and after. docker runs against a daemon of the benchmark's own, started and stopped with
tests/docker/daemon.sh (nothing of a system daemon is used); the image is loaded into it by
scripts/build-container-image.sh, as for podman.

Usage: bench/container_compare.py SKILLRT [--before SKILLRT] [--engines podman,docker]
                                  [--image IMAGE] [--runs N] [--probe]
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

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

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


def timed(argv, env):
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{argv[0]} failed ({proc.returncode}): {proc.stderr.decode()[-400:]}")
    return elapsed


def same_flags(engine, skill, env_file):
    """The flags skillrt gives the benchmark skill (docs/container.md, "Always-on flags")."""
    flags = [
        "--rm", "--interactive", "--pull=never", "--log-driver=none", "--network=none",
        "--cap-drop=ALL", "--security-opt=no-new-privileges", "--read-only",
        "--user=65534:65534", "--tmpfs=/tmp:rw,nosuid,nodev,size=67108864,mode=1777",
        "--pids-limit=64", "--memory=268435456", "--memory-swap=268435456", "--cpus=1.000",
        "--ulimit=nofile=256:256", "--ulimit=nproc=32768:32768",
        "--ulimit=fsize=16777216:16777216", "--ulimit=cpu=30:31",
        f"--mount=type=bind,source={skill},destination=/skill,readonly,bind-nonrecursive",
        "--workdir=/skill", f"--env-file={env_file}"]
    if engine == "podman":
        flags += ["--read-only-tmpfs=false", "--http-proxy=false", "--unsetenv-all",
                  "--timeout=32"]
    return flags


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("skillrt")
    parser.add_argument("--before", help="another skillrt build, run in the same rounds")
    parser.add_argument("--engines", default="podman,docker")
    parser.add_argument("--image", default="localhost/skillrt-busybox:1")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--probe", action="store_true",
                        help="also run skillrt with the engine probe made on every run")
    opts = parser.parse_args()
    engines = [e for e in opts.engines.split(",") if e]

    with tempfile.TemporaryDirectory() as tmp:
        skill = os.path.join(tmp, "skills", "container-true")
        os.makedirs(skill)
        for d in (tmp, os.path.dirname(skill), skill):
            os.chmod(d, 0o755)
        with open(os.path.join(skill, "skill.toml"), "w") as f:
            f.write(MANIFEST.format(image=opts.image))
        with open(os.path.join(skill, "SKILL.md"), "w") as f:
            f.write(SKILL_MD)
        env_file = os.path.join(tmp, "env")
        with open(env_file, "w") as f:
            f.write("PATH=/usr/local/bin:/usr/bin:/bin\nHOME=/tmp\nTMPDIR=/tmp\nLANG=C.UTF-8\n"
                    "SKILL_DIR=/skill\nSKILLRT_RUN_ID=bench\n")
        docker_state = os.path.join(tmp, "docker-state")
        cases = {}
        versions = []
        try:
            for engine in engines:
                env = {**os.environ, "SKILLRT_CONTAINER_ENGINE": engine}
                if engine == "docker":
                    subprocess.run([os.path.join(ROOT, "tests/docker/daemon.sh"), "start",
                                    docker_state], check=True, stdout=subprocess.DEVNULL)
                    with open(os.path.join(docker_state, "host")) as f:
                        env["DOCKER_HOST"] = f.read().strip()
                else:
                    subprocess.run([os.path.join(ROOT, "scripts/build-container-image.sh"),
                                    opts.image], check=True, env=env,
                                   stdout=subprocess.DEVNULL)
                versions.append(subprocess.run(
                    [engine, "version", "--format", "{{.Client.Version}} (daemon {{.Server.Version}})" if engine == "docker"
                     else "{{.Client.Version}}"], env=env, capture_output=True,
                    text=True).stdout.strip())
                peer = [engine, "run"] + same_flags(engine, skill, env_file) + [opts.image,
                                                                                 "/bin/true"]
                cases[f"{engine} run"] = (lambda argv, env: lambda: timed(argv, env))(peer, env)
                builds = [("", opts.skillrt)] + ([(" before", opts.before)] if opts.before
                                                  else [])
                for label, binary in builds:
                    home = os.path.join(tmp, f"home-{engine}{label.strip()}")
                    run_env = {**env, "SKILLRT_HOME": home}
                    argv = [binary, "--quiet", "--skills", os.path.dirname(skill), "run",
                            "container-true"]
                    cases[f"skillrt{label} ({engine})"] = (
                        lambda argv, env: lambda: timed(argv, env))(argv, run_env)
                    if opts.probe:
                        def probed(argv=argv, env=run_env, home=home):
                            for p in glob.glob(os.path.join(home, "cache", "container",
                                                            "engine-*")):
                                os.unlink(p)
                            return timed(argv, env)
                        cases[f"skillrt{label} ({engine}, probe)"] = probed
            for run in cases.values():  # Warm-up: the image's layers, the homes, the caches.
                run()
            load = os.getloadavg()
            times = {name: [] for name in cases}
            for _ in range(opts.runs):
                for name, run in cases.items():
                    times[name].append(run())
            load_end = os.getloadavg()
        finally:
            if "docker" in engines:
                subprocess.run([os.path.join(ROOT, "tests/docker/daemon.sh"), "stop",
                                docker_state], stdout=subprocess.DEVNULL)

    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {opts.runs} rounds, "
          f"interleaved; load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} at the "
          f"start, {load_end[0]:.2f} / {load_end[1]:.2f} / {load_end[2]:.2f} at the end; "
          f"image {opts.image}; " +
          ", ".join(f"{e} {v}" for e, v in zip(engines, versions)))
    print("| case | p50 (ms) | p99 (ms) | p50 / same engine run |")
    print("|---|---:|---:|---:|")
    for name, values in times.items():
        engine = next(e for e in engines if e in name)
        base = percentile(times[f"{engine} run"], 50)
        p50 = percentile(values, 50)
        print(f"| {name} | {p50 * 1e3:.1f} | {percentile(values, 99) * 1e3:.1f} | "
              f"{p50 / base:.2f}x |")


if __name__ == "__main__":
    main()
