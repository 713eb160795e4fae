"""The agent runs routes over real sockets: a run made by `skillrt agent` against the scripted
model endpoint (tests/agent/fake_llm.py, built from the openai SDK's types) in the service's
home is listed with its counts, read back with its tool calls and skill runs, and streamed
live while it is written; ids are checked (no path reaches the file system), bad ones get a
clear 400 or 404, and the routes need a token with the read scope."""
import json
import os
import subprocess
import sys
import time

import pytest

from conftest import CLI, SKILLS, read_sse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "agent"))
from fake_llm import FakeLLM, Reply, demo_replies, openai_text  # noqa: E402


def agent_argv(home, llm, task="What is 6*7, and that divided by 4?"):
    return [CLI, "--home", str(home), "--skills", str(SKILLS), "agent", "--base-url", llm.url,
            "--model", "fake-model", "--expose", "calculator", "--approve", "refuse", task]


@pytest.fixture
def llm():
    servers = []

    def make(replies):
        servers.append(FakeLLM(replies))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


def only_run(home):
    runs = sorted((home / "runs").glob("agent-*"))
    assert len(runs) == 1, runs
    return runs[0].name


def test_a_finished_run_is_listed_read_and_streamed(server, tokens, home, llm):
    fake = llm(demo_replies("openai"))
    done = subprocess.run(agent_argv(home, fake), capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    run_id = only_run(home)

    r = server.request("GET", "/v1/agent-runs", token=tokens["read"])
    assert r.status == 200, r.body
    (row,) = r.json()["agent_runs"]
    assert row["run_id"] == run_id and row["status"] == "finished"
    assert row["model"] == "fake-model" and row["task"].startswith("What is 6*7")
    assert row["turns"] == 3 and row["tool_calls"] == 2
    # fake_llm's usage: 50 + 20 per call turn, 10 + 5 for the answer.
    assert row["usage"] == {"input_tokens": 110, "output_tokens": 45}
    # The same reader backs `skillrt runs list`.
    listed = json.loads(subprocess.run([CLI, "--home", str(home), "runs", "list", "--json"],
                                       check=True, capture_output=True, text=True).stdout)
    assert listed[0]["turns"] == 3 and listed[0]["tool_calls"] == 2
    assert listed[0]["input_tokens"] == 110

    r = server.request("GET", "/v1/agent-runs/" + run_id, token=tokens["read"])
    assert r.status == 200, r.body
    body = r.json()
    assert body["summary"]["status"] == "finished"
    kinds = [e["type"] for e in body["events"]]
    assert kinds[0] == "started" and kinds[-1] == "finished"
    calls = [e for e in body["events"] if e["type"] == "tool_call"]
    assert [c["arguments"] for c in calls] == [{"expression": "6*7"}, {"expression": "42/4"}]
    results = [e for e in body["events"] if e["type"] == "tool_result"]
    assert [x["status"] for x in results] == ["ok", "ok"] and "42" in results[0]["text"]
    nested = [e["event"] for e in body["events"] if e["type"] == "skill_event"]
    assert {e["run_id"] for e in nested} == {x["skill_run"] for x in results}
    # Run by the agent's own engine, not started through this service.
    assert body["service_runs"] == []

    resp = stream(server, run_id, tokens["read"])
    events = read_agent_sse(resp)
    assert [t for _, t, _ in events] == kinds
    assert [int(i) for i, _, _ in events] == [e["seq"] for e in body["events"]]
    # Resumed after seq 5: the rest only.
    resp = stream(server, run_id, tokens["read"], headers={"Last-Event-ID": "5"})
    assert [int(i) for i, _, _ in read_agent_sse(resp)] == [e["seq"] for e in body["events"]][5:]


def stream(server, run_id, token, headers=None):
    conn = server.connection()
    conn.request("GET", f"/v1/agent-runs/{run_id}/events",
                 headers={"Authorization": "Bearer " + token["token"],
                          "Accept": "text/event-stream", **(headers or {})})
    resp = conn.getresponse()
    assert resp.status == 200
    assert resp.getheader("Content-Type").startswith("text/event-stream")
    return resp


def read_agent_sse(resp):
    """(id, type, data) until the stream ends (after the run's last event)."""
    return read_sse(resp, stop_at_finished=False)


def test_a_run_being_written_is_streamed_live_to_its_end(server, tokens, home, llm):
    # The answer's stream stalls 3 s after its first chunk: the run is in flight meanwhile.
    fake = llm([Reply(openai_text("Nothing to compute."), hang=3.0)])
    proc = subprocess.Popen(agent_argv(home, fake, "Say hello"), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        while time.time() < deadline and not list((home / "runs").glob("agent-*/events.jsonl")):
            time.sleep(0.05)
        run_id = only_run(home)
        r = server.request("GET", "/v1/agent-runs/" + run_id, token=tokens["read"])
        assert r.json()["summary"]["status"] == "unfinished"
        resp = stream(server, run_id, tokens["read"])
        opened = time.time()
        events = read_agent_sse(resp)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    kinds = [t for _, t, _ in events]
    assert kinds[0] == "started" and kinds[-1] == "finished", kinds
    assert "model_response" in kinds
    # The stream stayed open until the writer wrote the end, then closed by itself.
    assert time.time() - opened >= 1.0
    r = server.request("GET", "/v1/agent-runs/" + run_id, token=tokens["read"])
    assert r.json()["summary"]["status"] == "finished"


def test_ids_are_checked_before_anything_is_read(server, tokens, home, llm):
    fake = llm(demo_replies("openai"))
    assert subprocess.run(agent_argv(home, fake), capture_output=True, timeout=120,
                          stdin=subprocess.DEVNULL).returncode == 0
    run_id = only_run(home)
    (home / "runs" / "secret.json").write_text('{"type": "started", "task": "secret"}')
    read = tokens["read"]
    for bad in ["..", "agent-..", "agent-a.b", "%2e%2e%2ftokens.json", "agent-x%2f..%2f..%2fsecret",
                "..%2f..%2fetc%2fpasswd", "agent-" + "a" * 60, "last", "agent-", "runs"]:
        for suffix in ("", "/events"):
            r = server.request("GET", f"/v1/agent-runs/{bad}{suffix}", token=read)
            assert r.status in (400, 404), (bad, suffix, r.status)
            assert "secret" not in r.body and "root:" not in r.body
            if r.status == 400:
                assert r.code == "bad_request" and "not an agent run id" in r.json()["error"]["message"]
    r = server.request("GET", "/v1/agent-runs/agent-nope", token=read)
    assert r.status == 404 and r.code == "not_found" and "agent-nope" in r.body
    # A prefix names nothing over HTTP (the CLI accepts one for typing's sake).
    r = server.request("GET", "/v1/agent-runs/" + run_id[:-3], token=read)
    assert r.status == 404
    assert server.request("GET", "/v1/agent-runs/" + run_id + "/events",
                          token=read, headers={"Accept": "text/event-stream"}).status == 200
    for query in ("limit=0", "limit=abc", "limit=100001", "limit="):
        r = server.request("GET", "/v1/agent-runs?" + query, token=read)
        assert r.status == 400 and "limit" in r.json()["error"]["message"], query
    r = server.request("GET", "/v1/agent-runs?status=failed", token=read)
    assert r.json()["agent_runs"] == []
    # A token is needed; any scope may read.
    assert server.request("GET", "/v1/agent-runs").status == 401
    assert server.request("GET", "/v1/agent-runs/" + run_id).status == 401
    assert server.request("GET", "/v1/agent-runs/" + run_id + "/events").status == 401
    for scope in ("read", "run", "approve", "admin"):
        assert server.request("GET", "/v1/agent-runs", token=tokens[scope]).status == 200
