"""fork: the parent's engine goes on; in the child it refuses clearly, and a new engine works."""

from __future__ import annotations

import os
import warnings

import skillrt
from conftest import EXAMPLES


def _in_child(body) -> int:
    """Runs body() in a forked child; returns its exit code (0 when body returned True)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork() with threads running.
        pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = 0 if body() else 2
        except BaseException:  # noqa: BLE001 - the exit code says it
            code = 3
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_engine_refuses_in_the_child_and_works_in_the_parent(engine):
    assert engine.run("calculator", {"expression": "1"}).ok

    def child():
        try:
            engine.run("calculator", {"expression": "1"})
        except skillrt.UnsupportedError as e:
            return "fork" in str(e) and "new skillrt.Engine" in str(e)
        return False

    assert _in_child(child) == 0
    assert engine.run("calculator", {"expression": "2+2"}).output["result"] == 4


def test_a_new_engine_in_the_child_runs_skills(engine, tmp_path):
    engine.run("calculator", {"expression": "1"})

    def child():
        with skillrt.Engine(home=tmp_path / "child-home", skills=[EXAMPLES]) as fresh:
            return fresh.run("calculator", {"expression": "20+1"}).output == {"result": 21}

    assert _in_child(child) == 0
