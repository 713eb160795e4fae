"""`skillrt agent` against the scripted model endpoint, both protocols: tool calls through the
engine, what the agent sends back, the event log, approvals, cancellation, failures, budgets."""
import json
import os
import pty
import select
import signal
import subprocess
import time

import pytest

from conftest import CLI, KEY, agent_args, events_of, run_agent, types
from fake_llm import (Reply, anthropic_calls, anthropic_text, demo_replies, openai_calls,
                      openai_text)

PROTOCOLS = ["openai", "anthropic"]


def calls(protocol, items, **kw):
    return Reply(openai_calls(items, **kw) if protocol == "openai"
                 else anthropic_calls(items))


def text(protocol, answer):
    return Reply(openai_text(answer) if protocol == "openai" else anthropic_text(answer))


def no_key_anywhere(home, *outputs):
    for path in home.rglob("*"):
        if path.is_file():
            assert KEY not in path.read_text(errors="replace"), path
    for output in outputs:
        assert KEY not in output


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_two_tool_calls_over_two_turns_with_a_bundled_skill(fake, skills, home, protocol):
    llm = fake(demo_replies(protocol))
    result = run_agent(llm.url, skills, home, "What is 6*7, and that divided by 4?", protocol,
                       "--expose", "calculator")
    assert result.returncode == 0, result.stderr
    assert "10.5" in result.stdout
    events = events_of(home)
    kinds = types(events)
    assert kinds[0] == "started" and kinds[-1] == "finished"
    assert kinds.count("model_request") == 3 and kinds.count("tool_call") == 2
    assert events[0]["tools"] == ["calculator"]
    results = [e for e in events if e["type"] == "tool_result"]
    assert [r["status"] for r in results] == ["ok", "ok"]
    assert "42" in results[0]["text"] and "10.5" in results[1]["text"]
    # The engine's events of each skill run, nested under the call's id, end with `finished`.
    nested = [e for e in events if e["type"] == "skill_event"]
    first_call = [e["event"]["type"] for e in nested if e["tool_call_id"] == results[0]["tool_call_id"]]
    assert first_call[0] == "accepted" and first_call[-1] == "finished"
    assert "started" in first_call
    assert events[-1]["usage"]["input_tokens"] > 0
    # What the agent sent: the tool definitions, then each call's result in the protocol's form.
    assert len(llm.requests) == 3
    first = llm.requests[0]
    assert first["body"]["stream"] is True
    if protocol == "openai":
        assert first["path"] == "/v1/chat/completions"
        assert first["headers"]["authorization"] == "Bearer " + KEY
        assert first["body"]["tools"][0]["function"]["name"] == "calculator"
        messages = llm.requests[1]["body"]["messages"]
        assistant = [m for m in messages if m["role"] == "assistant"][0]
        assert assistant["content"] == ""  # Never null on the way back.
        assert assistant["tool_calls"][0]["id"] == "call_1"
        tool = [m for m in messages if m["role"] == "tool"][0]
        assert tool["tool_call_id"] == "call_1" and "42" in tool["content"]
    else:
        assert first["path"] == "/v1/messages"
        assert first["headers"]["x-api-key"] == KEY
        assert first["headers"]["anthropic-version"]
        assert first["body"]["tools"][0]["input_schema"]["required"] == ["expression"]
        messages = llm.requests[1]["body"]["messages"]
        assert messages[1]["content"][1] == {"type": "tool_use", "id": "toolu_1",
                                             "name": "calculator",
                                             "input": {"expression": "6*7"}}
        block = messages[2]["content"][0]
        assert block["type"] == "tool_result" and block["tool_use_id"] == "toolu_1"
        assert "42" in block["content"] and block["is_error"] is False
    no_key_anywhere(home, result.stdout, result.stderr)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_parallel_calls_come_back_together_in_order(fake, skills, home, protocol):
    items = [("call_a", "calculator", {"expression": "1+1"}),
             ("call_b", "calculator", {"expression": "2+3"})]
    llm = fake([calls(protocol, items, all_at_index_zero=True) if protocol == "openai"
                else calls(protocol, items), text(protocol, "2 and 5")])
    result = run_agent(llm.url, skills, home, "add", protocol, "--expose", "calculator")
    assert result.returncode == 0, result.stderr
    events = events_of(home)
    assert [e["tool_call_id"] for e in events if e["type"] == "tool_result"] == ["call_a", "call_b"]
    messages = llm.requests[1]["body"]["messages"]
    if protocol == "openai":
        tools = [m for m in messages if m["role"] == "tool"]
        assert [t["tool_call_id"] for t in tools] == ["call_a", "call_b"]
        assert "2" in tools[0]["content"] and "5" in tools[1]["content"]
    else:
        blocks = messages[-1]["content"]
        assert [b["tool_use_id"] for b in blocks] == ["call_a", "call_b"]


def test_a_refused_call_is_told_to_the_model(fake, skills, home):
    llm = fake([Reply(openai_calls([("call_x", "exec_in_skill",
                                     {"skill": "calculator", "argv": ["rm", "-rf", "/tmp"]})])),
                Reply(openai_text("I may not do that."))])
    result = run_agent(llm.url, skills, home, "clean up")
    assert result.returncode == 0, result.stderr
    events = events_of(home)
    assert "list_skills" in events[0]["tools"] and "exec_in_skill" in events[0]["tools"]
    refused = [e for e in events if e["type"] == "tool_result"][0]
    assert refused["is_error"] is True and refused["status"] == "denied"
    tool = [m for m in llm.requests[1]["body"]["messages"] if m["role"] == "tool"][0]
    assert "rm" in tool["content"]


def test_the_disclosure_tools_load_and_read_a_skill(fake, skills, home):
    llm = fake([Reply(openai_calls([("c1", "list_skills", {}),
                                    ("c2", "load_skill", {"skill": "calculator"}),
                                    ("c3", "read_skill_file",
                                     {"skill": "calculator", "path": "../../etc/passwd"})])),
                Reply(openai_text("done"))])
    result = run_agent(llm.url, skills, home, "look around")
    assert result.returncode == 0, result.stderr
    listed, loaded, escaped = [e for e in events_of(home) if e["type"] == "tool_result"]
    assert "calculator" in listed["text"] and "slow" in listed["text"]
    assert "scripts/calc.py" in loaded["text"]
    assert escaped["is_error"] is True and "leave the skill" in escaped["text"]


def test_search_skills_finds_the_skill_for_a_task(fake, skills, home):
    llm = fake([Reply(openai_calls([("s1", "search_skills",
                                     {"query": "evaluate the arithmetic expression 6*7", "top": 2}),
                                    ("s2", "search_skills", {"query": "  "})])),
                Reply(openai_text("calculator it is"))])
    result = run_agent(llm.url, skills, home, "which skill computes 6*7?")
    assert result.returncode == 0, result.stderr
    events = events_of(home)
    assert events[0]["tools"][0] == "search_skills"
    found, blank = [e for e in events if e["type"] == "tool_result"]
    assert found["is_error"] is False
    assert found["text"].startswith("- calculator: "), found["text"]
    assert found["text"].count("\n- ") <= 1  # top 2
    assert blank["is_error"] is True and "query" in blank["text"]
    tool = [m for m in llm.requests[1]["body"]["messages"] if m["role"] == "tool"][0]
    assert "calculator" in tool["content"]


def test_approval_at_a_pseudo_terminal(fake, skills, home, tmp_path):
    policy = tmp_path / "policy.toml"
    policy.write_text('[[rule]]\nname = "ask-calc"\neffect = "ask"\nskills = ["calculator"]\n')
    llm = fake([Reply(openai_calls([("call_1", "calculator", {"expression": "2*2"})])),
                Reply(openai_text("It is 4."))])
    args = agent_args(llm.url, skills, home, "openai", "--expose", "calculator",
                      "--policy", str(policy))
    args[args.index("refuse")] = "tty"
    pid, master = pty.fork()
    if pid == 0:
        os.execve(CLI, args + ["twice two"], {**os.environ, "FAKE_LLM_KEY": KEY})
    output = b""
    answered = False
    deadline = time.time() + 60
    while time.time() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
        if not answered and b"Approve? [y] once" in output:
            os.write(master, b"y\n")
            answered = True
    _, status = os.waitpid(pid, 0)
    assert answered, output.decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 0, output.decode(errors="replace")
    events = events_of(home)
    asked = [e for e in events if e["type"] == "approval_requested"]
    decided = [e for e in events if e["type"] == "approval_decided"]
    assert len(asked) == 1 and asked[0]["tool_call_id"] == "call_1"
    assert decided[0]["decision"] == "approved" and decided[0]["via"] == "tty"
    assert [e for e in events if e["type"] == "tool_result"][0]["status"] == "ok"


def test_an_asked_call_without_an_approver_is_refused(fake, skills, home, tmp_path):
    policy = tmp_path / "policy.toml"
    policy.write_text('[[rule]]\neffect = "ask"\nskills = ["calculator"]\n')
    llm = fake([Reply(openai_calls([("call_1", "calculator", {"expression": "2*2"})])),
                Reply(openai_text("Refused."))])
    result = run_agent(llm.url, skills, home, "twice two", "openai", "--expose", "calculator",
                       "--policy", str(policy))
    assert result.returncode == 0, result.stderr
    events = events_of(home)
    decided = [e for e in events if e["type"] == "approval_decided"]
    assert decided and decided[0]["decision"] == "denied"
    assert [e for e in events if e["type"] == "tool_result"][0]["status"] == "denied"


def leftover(marker):
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if marker in f.read():
                        found.append(pid)
            except OSError:
                pass
    return found


def test_sigint_cancels_the_skill_run_and_the_loop(fake, skills, home):
    llm = fake([Reply(openai_calls([("call_1", "slow", {})])), Reply(openai_text("never"))])
    proc = subprocess.Popen(agent_args(llm.url, skills, home, "openai", "--expose", "slow") +
                            ["tick"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "FAKE_LLM_KEY": KEY}, stdin=subprocess.DEVNULL)
    deadline = time.time() + 30
    started = False
    while time.time() < deadline and not started:
        time.sleep(0.1)
        logs = list((home / "runs").glob("agent-*/events.jsonl"))
        if logs:
            started = any(json.loads(line).get("event", {}).get("type") == "output"
                          for line in logs[0].read_text().splitlines() if line)
    assert started
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    events = events_of(home)
    assert events[-1]["type"] == "cancelled"
    result = [e for e in events if e["type"] == "tool_result"][0]
    assert result["status"] == "cancelled"
    assert len(llm.requests) == 1  # The loop stopped: the model was not asked again.
    time.sleep(0.3)
    assert leftover(b"tick-agent-slow") == []


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_server_that_dies_mid_stream_fails_the_run(fake, skills, home, protocol):
    llm = fake([Reply(text(protocol, "a long answer cut short").events, die_after=3)])
    result = run_agent(llm.url, skills, home, "talk", protocol)
    assert result.returncode == 1
    events = events_of(home)
    assert events[-1]["type"] == "failed"
    assert "ended before" in events[-1]["reason"] or "failed" in events[-1]["reason"]


def test_a_malformed_stream_fails_the_run(fake, skills, home):
    llm = fake([Reply(["data: {\"choices\": [{\"index\": 0, \"delta\": \n\n", "data: [DONE]\n\n"])])
    result = run_agent(llm.url, skills, home, "talk")
    assert result.returncode == 1
    assert "not a JSON object" in events_of(home)[-1]["reason"]


def test_429_then_success(fake, skills, home):
    llm = fake([Reply(status=429, headers={"Retry-After": "0"},
                      body={"error": {"message": "slow down"}}),
                Reply(status=503, body={"error": {"message": "busy"}}),
                Reply(openai_text("Fine now."))])
    result = run_agent(llm.url, skills, home, "hello")
    assert result.returncode == 0, result.stderr
    retries = [e for e in events_of(home) if e["type"] == "model_retry"]
    assert [r["http_status"] for r in retries] == [429, 503]
    assert retries[0]["delay_ms"] == 0
    assert len(llm.requests) == 3


@pytest.mark.parametrize("status,expected", [
    (401, "refused the API key named by env:FAKE_LLM_KEY"),
    (404, "unknown model 'fake-model'"),
])
def test_clear_errors_for_a_bad_key_and_an_unknown_model(fake, skills, home, status, expected):
    llm = fake([Reply(status=status, body={"error": {"message": "no " + KEY[:8]}})])
    result = run_agent(llm.url, skills, home, "hello")
    assert result.returncode == 1
    events = events_of(home)
    assert expected in events[-1]["reason"]
    assert len(llm.requests) == 1  # Not retried.
    no_key_anywhere(home, result.stdout, result.stderr)


def test_a_wrong_base_url_is_named(skills, home):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = run_agent(f"http://127.0.0.1:{port}/v1", skills, home, "hello")
    assert result.returncode == 1
    assert f"cannot reach the model endpoint at http://127.0.0.1:{port}/v1" in \
        events_of(home)[-1]["reason"]


def test_budgets_turns_repeats_and_tokens(fake, skills, home, tmp_path):
    call = ("c", "calculator", {"expression": "1+1"})
    llm = fake([Reply(openai_calls([call]))])
    result = run_agent(llm.url, skills, home, "loop", "openai", "--expose", "calculator",
                       "--max-turns", "1")
    assert result.returncode == 1
    assert "turn limit of 1" in events_of(home)[-1]["reason"]

    home2 = tmp_path / "home2"
    home2.mkdir()
    llm = fake([Reply(openai_calls([call])) for _ in range(3)])
    result = run_agent(llm.url, skills, home2, "loop", "openai", "--expose", "calculator",
                       "--max-identical-calls", "2")
    assert result.returncode == 1
    assert "repeated the same call to calculator more than 2 times" in events_of(home2)[-1]["reason"]

    home3 = tmp_path / "home3"
    home3.mkdir()
    llm = fake([Reply(openai_calls([call], prompt_tokens=50, completion_tokens=20))])
    result = run_agent(llm.url, skills, home3, "loop", "openai", "--expose", "calculator",
                       "--max-tokens", "60")
    assert result.returncode == 1
    assert "token budget of 60" in events_of(home3)[-1]["reason"]


def test_events_on_stdout_and_the_runs_commands(fake, skills, home):
    llm = fake(demo_replies("openai"))
    env = {**os.environ, "FAKE_LLM_KEY": KEY}
    result = subprocess.run(agent_args(llm.url, skills, home, "openai", "--expose", "calculator",
                                       "--events", "-") + ["6*7?"],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    streamed = [json.loads(line) for line in result.stdout.splitlines()]
    assert streamed == events_of(home)
    run_id = streamed[0]["agent_run"]
    listed = json.loads(subprocess.run([CLI, "runs", "list", "--home", str(home), "--json"],
                                       capture_output=True, text=True, check=True).stdout)
    assert listed[0]["run_id"] == run_id and listed[0]["status"] == "finished"
    shown = subprocess.run([CLI, "runs", "show", run_id[:20], "--home", str(home)],
                           capture_output=True, text=True, check=True).stdout
    assert [json.loads(line) for line in shown.splitlines()] == streamed
    tailed = subprocess.run([CLI, "runs", "tail", "last", "--home", str(home)],
                            capture_output=True, text=True, check=True, timeout=10).stdout
    assert tailed == shown
    replay = subprocess.run([CLI, "runs", "replay", "last", "--home", str(home)],
                            capture_output=True, text=True, check=True).stdout
    assert "user> 6*7?" in replay
    assert 'model> calls calculator {"expression": "6*7"}' in replay
    assert "tool calculator [call_1]: ok" in replay
    assert "model> 6*7 is 42, and 42/4 is 10.5." in replay
    assert replay.rstrip().splitlines()[-1].startswith("finished: 3 turns, 2 tool calls")


def test_runs_tail_follows_a_run_in_flight(fake, skills, home):
    llm = fake([Reply(openai_text("slowly streamed answer", pieces=6), delay=0.3)])
    env = {**os.environ, "FAKE_LLM_KEY": KEY}
    agent = subprocess.Popen(agent_args(llm.url, skills, home) + ["hi"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 20
    while time.time() < deadline and not list((home / "runs").glob("agent-*/events.jsonl")):
        time.sleep(0.05)
    tail = subprocess.run([CLI, "runs", "tail", "last", "--home", str(home)],
                          capture_output=True, text=True, timeout=30)
    agent.wait(timeout=30)
    lines = [json.loads(line) for line in tail.stdout.splitlines()]
    assert lines[0]["type"] == "started" and lines[-1]["type"] == "finished"


def test_a_base_url_with_credentials_is_refused_and_not_echoed(skills, home):
    result = run_agent("http://user:sk-inline-secret@127.0.0.1:9/v1", skills, home, "hello")
    assert result.returncode == 2
    assert "carries credentials" in result.stderr
    assert "sk-inline-secret" not in result.stderr + result.stdout
    assert not (home / "runs").exists() or not list((home / "runs").glob("agent-*"))
