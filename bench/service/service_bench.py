#!/usr/bin/env python3
"""The service benchmark (docs/service.md, docs/benchmarks.md): for the number-stats
WebAssembly skill, enqueue-to-start latency (p50/p99, jobs enqueued one at a time) and jobs
per second (a burst of jobs), on SQLite and on PostgreSQL, with 1 and 2 worker processes of 2
workers each; SSE delivery latency (event time to receipt); and the engine called directly in
the same run (bench/service/engine_direct.cc). Prints a Markdown table.

Usage: BUILD_DIR/pyenv/bin/python service_bench.py BUILD_DIR [--samples N] [--burst N]
(as root: the private PostgreSQL runs as the postgres user)."""
import argparse
import datetime
import json
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "service"))
from conftest import Server, make_token  # noqa: E402
import conftest  # noqa: E402
from postgres import PostgresServer, unavailable_reason  # noqa: E402


def ts(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(p / 100 * len(v)))]


def job_started(server, token, job_id):
    while True:
        job = server.request("GET", "/v1/jobs/%s?events=1" % job_id, token=token).json()
        if job["state"] in ("succeeded", "failed", "dead", "cancelled"):
            assert job["state"] == "succeeded", job
            started = [e for e in job["events"] if e["type"] == "started"][0]["time"]
            return job, ts(started) - ts(job["created"])
        time.sleep(0.002)


def measure_queue(cli, queue, processes, samples, burst, home):
    # processes 0: the server's own 2 workers, woken in-process on every enqueue.
    server = Server(home, extra=["--workers", "0" if processes else "2", "--queue", queue]).start()
    workers = [subprocess.Popen([cli, "--home", str(home), "--skills", str(conftest.SKILLS),
                                 "worker", "--queue", queue, "--workers", "2", "-q"],
                                start_new_session=True) for _ in range(processes)]
    try:
        token = make_token(home, "run")
        time.sleep(1.0)
        body = lambda i: {"skill": "number-stats", "input": {"numbers": [i, i + 1]}}
        for i in range(5):  # Warm the workers' compile caches.
            job_started(server, token, server.request("POST", "/v1/jobs", token=token, body=body(i)).json()["id"])
        waits = []
        for i in range(samples):
            job_id = server.request("POST", "/v1/jobs", token=token, body=body(i)).json()["id"]
            waits.append(job_started(server, token, job_id)[1] * 1000)
            time.sleep(0.02)
        t0 = time.monotonic()
        ids = [server.request("POST", "/v1/jobs", token=token, body=body(i)).json()["id"]
               for i in range(burst)]
        last = 0.0
        for job_id in ids:
            job, _ = job_started(server, token, job_id)
            last = max(last, ts(job["updated"]))
        first = ts(server.request("GET", "/v1/jobs/" + ids[0], token=token).json()["created"])
        rate = burst / (last - first)
        return pct(waits, 50), pct(waits, 99), rate
    finally:
        for w in workers:
            os.killpg(w.pid, signal.SIGTERM)
            w.wait()
        server.stop()


def measure_sse(samples, home):
    """Runs wait for an approval while the client connects; after the approval every event
    is emitted while the client listens: their delay from emission to receipt is measured."""
    policy = home.parent / "ask.toml"
    policy.write_text('[[rule]]\nname = "ask"\neffect = "ask"\nskills = ["number-stats"]\n')
    server = Server(home, extra=["--no-jobs", "--policy", str(policy)]).start()
    try:
        token = make_token(home, "run")
        approver = make_token(home, "approve")
        delays = []
        for i in range(samples):
            run_id = "sse-%d" % i
            server.request("POST", "/v1/runs", token=token,
                           body={"skill": "number-stats", "input": {"numbers": [i]},
                                 "run_id": run_id})
            conn = server.connection()
            conn.request("GET", "/v1/runs/%s/events" % run_id,
                         headers={"Authorization": "Bearer " + token["token"]})
            resp = conn.getresponse()
            live = False
            while True:
                line = resp.fp.readline()
                if not line:
                    break
                if not line.startswith(b"data: "):
                    continue
                received = time.time()
                event = json.loads(line[6:])
                if live:
                    delays.append((received - ts(event["time"])) * 1000)
                if event["type"] == "approval_requested":
                    live = True
                    server.request("POST", "/v1/approvals/" + run_id, token=approver,
                                   body={"decision": "approve"})
                if event["type"] == "finished":
                    break
            conn.close()
        return pct(delays, 50), pct(delays, 99), len(delays)
    finally:
        server.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--burst", type=int, default=300)
    args = ap.parse_args()
    build = pathlib.Path(args.build).resolve()
    cli = str(build / "skillrt")
    conftest.CLI = cli
    rows = []
    work = pathlib.Path(tempfile.mkdtemp(prefix="skillrt-service-bench-", dir="/var/tmp"))

    direct = json.loads(subprocess.run(
        [str(build / "service_bench_engine"), str(conftest.SKILLS), str(work / "direct"),
         str(args.samples), "4"], check=True, capture_output=True, text=True).stdout)
    rows.append(("engine called directly (Start to `started`), 4 threads", direct["start_p50_ms"],
                 direct["start_p99_ms"], direct["runs_per_s"]))

    pg = None
    if unavailable_reason() is None:
        pg = PostgresServer().start()
    try:
        queues = [("SQLite", lambda n: "sqlite:%s" % (work / n / "jobs.db"))]
        if pg:
            queues.append(("PostgreSQL", lambda n: pg.create_database(n.replace("-", "_"))))
        for name, make in queues:
            for processes in (0, 1, 2):
                label = "%s-%d" % (name.lower(), processes)
                p50, p99, rate = measure_queue(cli, make(label), processes, args.samples,
                                               args.burst, work / label)
                where = ("the server's own 2 workers" if processes == 0 else
                         "%d `skillrt worker` process%s x 2 workers"
                         % (processes, "es" if processes > 1 else ""))
                rows.append(("job on %s, %s (enqueue to `started`)" % (name, where), p50, p99,
                             rate))
        sse50, sse99, n = measure_sse(max(20, args.samples // 5), work / "sse")
    finally:
        if pg:
            pg.stop()

    print("| case | p50 (ms) | p99 (ms) | runs or jobs per s |")
    print("|---|---|---|---|")
    for label, p50, p99, rate in rows:
        print("| %s | %.2f | %.2f | %.0f |" % (label, p50, p99, rate))
    print("| SSE delivery: event time to receipt by a client, %d events | %.2f | %.2f | |"
          % (n, sse50, sse99))
    print("\nload average: %s" % " ".join(open("/proc/loadavg").read().split()[:3]))


if __name__ == "__main__":
    main()
