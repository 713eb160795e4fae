"""Jobs over HTTP on the SQLite queue: enqueue (idempotent), get, list, events, cancel,
retry; failed and dead are distinct ends."""
import time

import pytest

from conftest import Server, make_token, wasm_built

pytestmark = pytest.mark.skipif(not wasm_built(), reason="WebAssembly skills not built "
                                "(scripts/build-wasm.sh)")


def wait_for_state(server, token, job_id, states, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = server.request("GET", "/v1/jobs/" + job_id, token=token).json()
        if job["state"] in states:
            return job
        time.sleep(0.05)
    raise AssertionError("job %s stuck in %s" % (job_id, job["state"]))


def test_job_runs_to_success_and_keeps_outcome_and_events(server, tokens):
    r = server.request("POST", "/v1/jobs", token=tokens["run"],
                       body={"skill": "number-stats", "input": {"numbers": [1, 2, 3]}})
    assert r.status == 201, r.body
    job = r.json()
    assert job["state"] in ("queued", "running")
    done = wait_for_state(server, tokens["read"], job["id"], {"succeeded", "failed", "dead"})
    assert done["state"] == "succeeded"
    assert done["attempts"] == 1
    assert done["outcome"]["output"]["mean"] == 2
    with_events = server.request("GET", "/v1/jobs/%s?events=1" % job["id"], token=tokens["read"]).json()
    assert with_events["events"][-1]["type"] == "finished"
    r = server.request("GET", "/v1/jobs/%s/events?format=jsonl" % job["id"], token=tokens["read"])
    assert r.status == 200 and r.body.strip().splitlines()[-1].find('"finished"') > 0
    listed = server.request("GET", "/v1/jobs?state=succeeded", token=tokens["read"]).json()["jobs"]
    assert job["id"] in [j["id"] for j in listed]


def test_idempotency_key_deduplicates(server, tokens):
    body = {"skill": "number-stats", "input": {"numbers": [1]}}
    a = server.request("POST", "/v1/jobs", token=tokens["run"], body=body,
                       headers={"Idempotency-Key": "order-17"})
    b = server.request("POST", "/v1/jobs", token=tokens["run"], body=body,
                       headers={"Idempotency-Key": "order-17"})
    assert (a.status, b.status) == (201, 200)
    assert a.json()["id"] == b.json()["id"]


def test_a_skill_failure_is_failed_not_retried(server, tokens):
    # Input the skill's schema refuses: the skill's run ends denied/error, a final failure.
    r = server.request("POST", "/v1/jobs", token=tokens["run"],
                       body={"skill": "number-stats", "input": {"numbers": "not a list"},
                             "max_attempts": 3})
    job = wait_for_state(server, tokens["read"], r.json()["id"], {"succeeded", "failed", "dead"})
    assert job["state"] in ("failed", "dead")
    if job["state"] == "failed":
        assert job["attempts"] == 1


def test_unknown_skill_is_dead_after_its_attempts(server, tokens):
    r = server.request("POST", "/v1/jobs", token=tokens["run"],
                       body={"skill": "no-such-skill", "max_attempts": 2, "backoff_ms": 10})
    job = wait_for_state(server, tokens["read"], r.json()["id"], {"succeeded", "failed", "dead"})
    assert job["state"] == "dead"
    assert job["attempts"] == 2
    assert "no-such-skill" in job["error"]
    r = server.request("POST", "/v1/jobs/%s/retry" % job["id"], token=tokens["run"])
    assert r.status == 200 and r.json()["state"] in ("queued", "running", "dead")
    r = server.request("POST", "/v1/jobs/%s/cancel" % "job_000000000000000000000000",
                       token=tokens["run"])
    assert r.status == 404


def test_cancel_a_queued_job_and_retry_it(tmp_path, home):
    # No workers: jobs stay queued until a worker comes.
    server = Server(home, extra=["--workers", "0"]).start()
    try:
        run = make_token(home, "run")
        job = server.request("POST", "/v1/jobs", token=run,
                             body={"skill": "number-stats", "input": {"numbers": [1]}}).json()
        r = server.request("POST", "/v1/jobs/%s/cancel" % job["id"], token=run)
        assert r.status == 200 and r.json()["state"] == "cancelled"
        r = server.request("POST", "/v1/jobs/%s/cancel" % job["id"], token=run)
        assert r.status == 409 and r.code == "conflict"
        r = server.request("POST", "/v1/jobs/%s/retry" % job["id"], token=run)
        assert r.status == 200 and r.json()["state"] == "queued"
        depth = server.request("GET", "/v1/metrics", token=run).body
        assert 'skillrt_jobs{state="queued"} 1' in depth
    finally:
        server.stop()


def test_graceful_stop_hands_running_jobs_back_uncounted(tmp_path, home):
    # The policy asks about number-stats: its jobs wait, running, for an approval.
    policy = tmp_path / "policy.toml"
    policy.write_text('[[rule]]\nname = "ask"\neffect = "ask"\nskills = ["number-stats"]\n')
    server = Server(home, extra=["--workers", "2", "--policy", str(policy)]).start()
    try:
        run = make_token(home, "run")
        ids = [server.request("POST", "/v1/jobs", token=run,
                              body={"skill": "number-stats", "input": {"numbers": [i]},
                                    "max_attempts": 1}).json()["id"] for i in range(2)]
        for job_id in ids:
            wait_for_state(server, run, job_id, {"running"})
        server.stop()  # SIGTERM
        server = Server(home, extra=["--workers", "0"]).start()
        for job_id in ids:
            job = server.request("GET", "/v1/jobs/" + job_id, token=run).json()
            assert job["state"] == "queued", job
            assert job["attempts"] == 0, job
    finally:
        server.stop()
