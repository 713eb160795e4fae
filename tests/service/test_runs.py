"""Runs over HTTP: start and wait, start and follow events (SSE and JSON Lines), resume with
Last-Event-ID, cancel, approvals answered by an approve token, metrics."""
import json
import time

import pytest

from conftest import Server, read_sse, wasm_built

pytestmark = pytest.mark.skipif(not wasm_built(), reason="WebAssembly skills not built "
                                "(scripts/build-wasm.sh)")

STATS = {"skill": "number-stats", "input": {"numbers": [2, 4, 4, 4, 5, 5, 7, 9]}}


def test_run_and_wait_returns_the_outcome(server, tokens):
    r = server.request("POST", "/v1/runs", token=tokens["run"], body=dict(STATS, wait=True))
    assert r.status == 200, r.body
    run = r.json()
    assert run["done"] is True
    assert run["outcome"]["status"] == "ok"
    assert run["outcome"]["output"]["mean"] == 5
    again = server.request("GET", "/v1/runs/" + run["run_id"], token=tokens["read"]).json()
    assert again["outcome"]["output"] == run["outcome"]["output"]


def test_events_stream_and_resume_with_last_event_id(server, tokens):
    r = server.request("POST", "/v1/runs", token=tokens["run"], body=dict(STATS, run_id="sse-1"))
    assert r.status in (200, 202), r.body
    conn = server.connection()
    conn.request("GET", "/v1/runs/sse-1/events",
                 headers={"Authorization": "Bearer " + tokens["read"]["token"],
                          "Accept": "text/event-stream"})
    resp = conn.getresponse()
    assert resp.status == 200
    assert resp.getheader("Content-Type").startswith("text/event-stream")
    first = read_sse(resp, stop_after=2)
    conn.close()  # The client goes away after two events...
    assert [e[0] for e in first] == ["1", "2"]
    assert first[0][1] == "accepted"

    conn = server.connection()  # ...and comes back, naming the last one it saw.
    conn.request("GET", "/v1/runs/sse-1/events",
                 headers={"Authorization": "Bearer " + tokens["read"]["token"],
                          "Last-Event-ID": first[-1][0]})
    rest = read_sse(conn.getresponse())
    conn.close()
    seqs = [int(e[0]) for e in first + rest]
    assert seqs == list(range(1, len(seqs) + 1)), "every event once, in order"
    assert rest[-1][1] == "finished"
    assert rest[-1][2]["outcome"]["status"] == "ok"
    types = [e[1] for e in first + rest]
    assert "started" in types and "planned" in types


def test_events_as_json_lines_from_a_seq(server, tokens):
    r = server.request("POST", "/v1/runs", token=tokens["run"],
                       body=dict(STATS, run_id="jsonl-1", wait=True))
    assert r.status == 200
    r = server.request("GET", "/v1/runs/jsonl-1/events?format=jsonl&after=1", token=tokens["read"])
    assert r.status == 200
    assert r.headers["Content-Type"].startswith("application/x-ndjson")
    events = [json.loads(line) for line in r.body.splitlines()]
    assert events[0]["seq"] == 2
    assert events[-1]["type"] == "finished"
    r = server.request("GET", "/v1/runs/jsonl-1/events?format=jsonl&after=x", token=tokens["read"])
    assert r.status == 400 and r.code == "bad_request"


def test_approval_is_answered_over_http_and_records_the_token(tmp_path, home):
    policy = tmp_path / "policy.toml"
    policy.write_text('[[rule]]\nname = "ask-slugify"\neffect = "ask"\nskills = ["slugify"]\n')
    server = Server(home, extra=["--policy", str(policy)]).start()
    try:
        from conftest import make_token
        run_token = make_token(home, "run", "agent")
        approve_token = make_token(home, "approve", "alice")
        admin = make_token(home, "admin")
        r = server.request("POST", "/v1/runs", token=run_token,
                           body={"skill": "slugify", "input": {"text": "Hello World"},
                                 "run_id": "asks-1"})
        assert r.status == 202, r.body
        pending = []
        for _ in range(100):
            pending = server.request("GET", "/v1/approvals", token=run_token).json()["approvals"]
            if pending:
                break
            time.sleep(0.05)
        assert [p["run_id"] for p in pending] == ["asks-1"]
        # The agent cannot approve its own call.
        assert server.request("POST", "/v1/approvals/asks-1", token=run_token,
                              body={"decision": "approve"}).status == 403
        r = server.request("POST", "/v1/approvals/asks-1", token=approve_token,
                           body={"decision": "approve"})
        assert r.status == 200, r.body
        assert r.json()["via"] == "http:%s:alice" % approve_token["id"]
        for _ in range(200):
            run = server.request("GET", "/v1/runs/asks-1", token=run_token).json()
            if run["done"]:
                break
            time.sleep(0.05)
        assert run["outcome"]["status"] == "ok", run
        records = server.request("GET", "/v1/audit?skill=slugify", token=admin).json()["records"]
        assert any(rec.get("via") == "http:%s:alice" % approve_token["id"] for rec in records)
        assert server.request("GET", "/v1/audit/verify", token=admin).json()["ok"] is True
    finally:
        server.stop()


def test_cancel_a_waiting_run(tmp_path, home):
    policy = tmp_path / "policy.toml"
    policy.write_text('[[rule]]\nname = "ask-slugify"\neffect = "ask"\nskills = ["slugify"]\n')
    server = Server(home, extra=["--policy", str(policy)]).start()
    try:
        from conftest import make_token
        run_token = make_token(home, "run")
        server.request("POST", "/v1/runs", token=run_token,
                       body={"skill": "slugify", "input": {"text": "x"}, "run_id": "c-1"})
        r = server.request("POST", "/v1/runs/c-1/cancel", token=run_token)
        assert r.status == 200 and r.json()["cancelled"] is True
        for _ in range(100):
            run = server.request("GET", "/v1/runs/c-1", token=run_token).json()
            if run["done"]:
                break
            time.sleep(0.05)
        assert run["outcome"]["status"] == "cancelled"
    finally:
        server.stop()


def test_metrics_in_prometheus_text(server, tokens):
    server.request("POST", "/v1/runs", token=tokens["run"], body=dict(STATS, wait=True))
    r = server.request("GET", "/v1/metrics", token=tokens["read"])
    assert r.status == 200
    assert r.headers["Content-Type"].startswith("text/plain")
    text = r.body
    assert "# TYPE skillrt_runs_total counter" in text
    assert 'skillrt_jobs{state="queued"}' in text
    assert "skillrt_http_requests_total" in text
    assert "skillrt_queue_ready" in text
