"""A Python approver, approvals answered through Engine.approve, and what an approver sees."""

from __future__ import annotations

import sys
import threading
import time

import pytest

import skillrt
from conftest import EXAMPLES, ask_about


def test_a_python_approver_is_asked_and_its_answer_holds(home, skills_dir):
    ask_about(home, "calculator")
    seen: list[skillrt.ApprovalRequest] = []
    answers = iter([skillrt.Decision.ONCE, "deny", True])

    def approver(request: skillrt.ApprovalRequest):
        seen.append(request)
        return next(answers)

    with skillrt.Engine(home=home, skills=[EXAMPLES], approver=approver) as engine:
        assert engine.run("calculator", {"expression": "1+1"}).status == "ok"
        denied = engine.run("calculator", {"expression": "1+1"})
        assert denied.status == "denied"
        assert engine.run("calculator", {"expression": "1+2"}).status == "ok"
        records = [r for r in engine.audit_query(skill="calculator") if r["event"] != "approval"]
        approvals = engine.audit_query(event="approval")
    assert len(seen) == 3
    assert len(approvals) == 3
    request = seen[0]
    assert request.skill == "calculator"
    assert request.kind == "run"
    assert len(request.key) == 64
    assert request.policy["effect"] == "ask"
    assert "ask-calculator" in request.prompt
    assert [r["status"] for r in records] == ["ok", "denied", "ok"]
    assert records[0]["decision"]["approval"]["via"] == "python"


def test_an_approver_that_raises_or_answers_nonsense_denies(home, monkeypatch):
    ask_about(home, "calculator")
    calls = []
    reported: list[BaseException] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: reported.append(u.exc_value))

    def approver(request):
        calls.append(request.key)
        if len(calls) == 1:
            raise RuntimeError("approver is broken")
        return "maybe"

    with skillrt.Engine(home=home, skills=[EXAMPLES], approver=approver) as engine:
        assert engine.run("calculator", {"expression": "1"}).status == "denied"
        assert engine.run("calculator", {"expression": "2"}).status == "denied"
    assert len(calls) == 2
    # Both are reported, not swallowed.
    assert [type(e) for e in reported] == [RuntimeError, ValueError]
    assert "approver is broken" in str(reported[0])
    assert "'once', 'session'" in str(reported[1])


def test_session_approval_answers_later_calls_without_asking(home):
    ask_about(home, "calculator")
    calls = []

    def approver(request):
        calls.append(request)
        return skillrt.Decision.SESSION

    with skillrt.Engine(home=home, skills=[EXAMPLES], approver=approver) as engine:
        for _ in range(3):
            assert engine.run("calculator", {"expression": "3*3"}).status == "ok"
    assert len(calls) == 1


def test_pending_approvals_answered_from_another_thread(home):
    ask_about(home, "calculator")
    with skillrt.Engine(home=home, skills=[EXAMPLES], approval_timeout=30) as engine:
        handle = engine.start("calculator", {"expression": "5+5"})
        deadline = time.monotonic() + 20
        while not engine.pending_approvals() and time.monotonic() < deadline:
            time.sleep(0.01)
        (pending,) = engine.pending_approvals()
        assert pending.run_id == handle.run_id
        assert pending.deadline > pending.since
        assert pending.request.skill == "calculator"
        answered = []
        t = threading.Thread(
            target=lambda: answered.append(engine.approve(handle.run_id, "once", via="test"))
        )
        t.start()
        t.join()
        assert answered == [1]
        outcome = handle.wait(timeout=20)
        assert outcome.status == "ok" and outcome.output["result"] == 10
        types = [e["type"] for e in handle.events()]
        assert "approval_requested" in types and "approval_decided" in types
        with pytest.raises(skillrt.NotFoundError):
            engine.approve(handle.run_id, "once")
        with pytest.raises(skillrt.InvalidArgumentError, match="decision"):
            engine.approve("x", "perhaps")


def test_without_an_approver_the_policy_asking_denies(home):
    ask_about(home, "calculator")
    with skillrt.Engine(home=home, skills=[EXAMPLES]) as engine:
        outcome = engine.run("calculator", {"expression": "1"})
        check = engine.check_policy("calculator")
    assert outcome.status == "denied"
    assert check["effect"] == "ask"
    assert any(rule["name"] == "ask-calculator" for rule in check["rules"])
