"""The PostgreSQL queue, on a real server: the schema is created and versioned, jobs run
through `serve --queue postgresql://...` and a separate `skillrt worker`, and a job enqueued
while the worker sleeps wakes it through NOTIFY rather than its poll."""
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import CLI, SKILLS, Server, make_token, wasm_built

pytestmark = pytest.mark.skipif(not wasm_built(), reason="WebAssembly skills not built "
                                "(scripts/build-wasm.sh)")


def wait_for_state(server, token, job_id, states, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = server.request("GET", "/v1/jobs/" + job_id, token=token).json()
        if job["state"] in states:
            return job
        time.sleep(0.02)
    raise AssertionError("job %s stuck in %s" % (job_id, job["state"]))


def test_jobs_on_postgres_with_a_separate_worker(home, postgres):
    url = postgres.create_database("lifecycle")
    server = Server(home, extra=["--queue", url, "--workers", "0"]).start()
    worker = subprocess.Popen([CLI, "--home", str(home), "--skills", str(SKILLS), "worker",
                               "--queue", url, "--workers", "2"],
                              stderr=open(home / "worker.log", "ab"), start_new_session=True)
    try:
        assert postgres.psql("lifecycle", "SELECT version FROM skillrt_schema") .strip() == "1"
        run = make_token(home, "run")
        time.sleep(1.0)  # The worker is idle, LISTENing.
        waits = []
        for i in range(5):
            r = server.request("POST", "/v1/jobs", token=run,
                               body={"skill": "number-stats", "input": {"numbers": [i, 2 * i]}},
                               headers={"Idempotency-Key": "pg-%d" % i})
            assert r.status == 201, r.body
            job = wait_for_state(server, run, r.json()["id"], {"succeeded", "failed", "dead"})
            assert job["state"] == "succeeded", job
            assert job["outcome"]["output"]["count"] == 2
            assert job["worker"] is None
            events = server.request("GET", "/v1/jobs/%s?events=1" % job["id"], token=run).json()["events"]
            started = [e for e in events if e["type"] == "started"][0]["time"]
            from datetime import datetime
            t_start = datetime.fromisoformat(started.replace("Z", "+00:00"))
            t_created = datetime.fromisoformat(job["created"].replace("Z", "+00:00"))
            waits.append((t_start - t_created).total_seconds())
            time.sleep(0.6)  # Idle again, past the worker's poll interval.
        again = server.request("POST", "/v1/jobs", token=run,
                               body={"skill": "number-stats", "input": {}},
                               headers={"Idempotency-Key": "pg-0"})
        assert again.status == 200
        # Woken by NOTIFY: the median enqueue-to-start is well under the 250 ms poll.
        assert sorted(waits)[len(waits) // 2] < 0.2, waits

        # Cancel and retry on PostgreSQL.
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
        r = server.request("POST", "/v1/jobs", token=run, body={"skill": "number-stats", "input": {}})
        job_id = r.json()["id"]
        assert server.request("POST", "/v1/jobs/%s/cancel" % job_id, token=run).json()["state"] == "cancelled"
        assert server.request("POST", "/v1/jobs/%s/cancel" % job_id, token=run).status == 409
        assert server.request("POST", "/v1/jobs/%s/retry" % job_id, token=run).json()["state"] == "queued"
        listed = server.request("GET", "/v1/jobs?state=queued", token=run).json()["jobs"]
        assert [j["id"] for j in listed] == [job_id]
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
        server.stop()


def test_a_newer_schema_is_refused(home, postgres):
    url = postgres.create_database("newer")
    postgres.psql("newer", "CREATE TABLE skillrt_schema (version INTEGER NOT NULL); "
                           "INSERT INTO skillrt_schema VALUES (99)")
    out = subprocess.run([CLI, "--home", str(home), "worker", "--queue", url],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode != 0
    assert "newer" in out.stderr


def test_unreachable_database_is_a_clear_error(home):
    out = subprocess.run([CLI, "--home", str(home), "serve", "--listen", "127.0.0.1:0",
                          "--queue", "postgresql:///none?host=/nonexistent-dir"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode != 0
    assert "cannot connect" in out.stderr
