"""Engine.start: events in order, cancel from another thread, asyncio, many threads."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time

import pytest

import skillrt
from conftest import EXAMPLES, ask_about


def test_events_come_in_order_and_end_with_finished(engine):
    handle = engine.start("tick", {"count": 5, "interval": 0.02})
    assert handle.run_id
    events = list(handle.events())
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(1, len(events) + 1))
    assert all(e["run_id"] == handle.run_id for e in events)
    types = [e["type"] for e in events]
    assert types[:4] == ["accepted", "planned", "decided", "started"]
    assert types[-1] == "finished"
    ticks = "".join(e["data"] for e in events if e["type"] == "output" and e["stream"] == "stderr")
    assert ticks.splitlines() == [f"tick {i}" for i in range(5)]
    assert events[-1]["outcome"]["output"] == {"ticks": 5}
    outcome = handle.wait()
    assert outcome.status == "ok" and outcome.run_id == handle.run_id
    assert handle.done()


def test_a_second_reader_resumes_after_a_seq(engine):
    handle = engine.start("tick", {"count": 2})
    handle.wait()
    all_events = list(handle.events())
    rest = list(handle.events(after=2))
    assert rest == all_events[2:]


def test_cancel_from_another_thread_stops_the_run(engine):
    handle = engine.start("tick", {"count": 10000, "interval": 0.01}, run_id="cancel-me")
    assert engine.find_run("cancel-me").run_id == "cancel-me"
    started = threading.Event()

    def watch():
        for event in handle.events():
            if event["type"] == "output":
                started.set()

    reader = threading.Thread(target=watch)
    reader.start()
    assert started.wait(20)
    canceller = threading.Thread(target=lambda: handle.cancel("test says stop"))
    begin = time.monotonic()
    canceller.start()
    outcome = handle.wait(timeout=20)
    canceller.join()
    reader.join(20)
    assert outcome.status == "cancelled"
    assert outcome.message == "test says stop"
    assert time.monotonic() - begin < 10
    assert not handle.cancel()  # Finished: no effect.


def test_wait_with_a_timeout_raises_and_the_run_goes_on(engine):
    handle = engine.start("tick", {"count": 200, "interval": 0.01})
    with pytest.raises(TimeoutError):
        handle.wait(timeout=0.05)
    assert handle.wait(timeout=30).status == "ok"


def test_a_run_id_in_flight_is_a_conflict(engine):
    first = engine.start("tick", {"count": 100, "interval": 0.01}, run_id="same")
    with pytest.raises(skillrt.ConflictError):
        engine.start("tick", {}, run_id="same")
    with pytest.raises(skillrt.InvalidArgumentError):
        engine.start("tick", {}, run_id="no spaces")
    first.cancel()
    first.wait()


def test_exec_can_be_started(engine):
    handle = engine.start("calculator", argv=["python3", "-c", "print('hi')"])
    assert handle.wait().stdout == "hi\n"
    with pytest.raises(skillrt.InvalidArgumentError):
        engine.start("calculator", {"expression": "1"}, argv=["python3"])


def test_asyncio_reads_events_while_the_loop_goes_on(engine):
    # The run would tick for minutes (its wall-clock limit, 30 s, ends it first): only a task
    # of the event loop cancels it, after five beats of its own. If awaiting the events held
    # the loop up, the beats would stop, nothing would cancel the run and it would end at
    # its limit instead. No timing is assumed: a loaded machine only makes the run longer.
    async def main():
        handle = engine.start("tick", {"count": 100000, "interval": 0.05})
        beats = 0

        async def heartbeat():
            nonlocal beats
            while True:
                beats += 1
                if beats == 5:
                    handle.cancel("the event loop went on")
                await asyncio.sleep(0.01)

        beat = asyncio.create_task(heartbeat())
        types = [event["type"] async for event in handle.events()]
        outcome = await handle.wait_async()
        beat.cancel()
        return types, outcome, beats

    types, outcome, beats = asyncio.run(main())
    assert types[0] == "accepted" and types[-1] == "finished"
    assert outcome.status == "cancelled", outcome.message
    assert outcome.message == "the event loop went on"
    assert beats >= 5


def test_eight_threads_run_skills_at_once(engine):
    results: dict[int, str] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def worker(i: int) -> None:
        try:
            barrier.wait()
            for j in range(3):
                outcome = engine.run("calculator", {"expression": f"{i}*10+{j}"})
                assert outcome.status == "ok", outcome.message
                assert outcome.output["result"] == i * 10 + j
            results[i] = "ok"
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    begin = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert sorted(results) == list(range(8))
    assert len(engine.audit_query(skill="calculator")) == 24


def test_runs_overlap_because_the_gil_is_released(engine):
    # Two runs of ~0.5 s each from two threads take well under the ~1 s they take in turn.
    def one():
        assert engine.run("tick", {"count": 10, "interval": 0.05}).status == "ok"

    one()  # Warm up.
    begin = time.monotonic()
    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    both = time.monotonic() - begin
    begin = time.monotonic()
    one()
    single = time.monotonic() - begin
    assert both < single * 1.7, (both, single)


def test_closing_the_engine_cancels_runs_and_handles_stay_usable(home, skills_dir):
    engine = skillrt.Engine(home=home, skills=[skills_dir])
    handle = engine.start("tick", {"count": 10000, "interval": 0.01})
    engine.close()
    outcome = handle.wait(timeout=20)
    assert outcome.status == "cancelled"
    assert list(handle.events())[-1]["type"] == "finished"


def test_interpreter_exit_with_runs_in_flight_ends_promptly(tmp_path, skills_dir):
    # One run in its sandbox, one waiting on a Python approver: exit closes the engine (atexit),
    # cancelling both while the approver can still take the GIL.
    home = tmp_path / "exit-home"
    ask_about(home, "calculator")
    script = f"""
import time, skillrt
def approver(request):
    time.sleep(0.5)
    return "once"
engine = skillrt.Engine(home={str(home)!r}, skills=[{str(skills_dir)!r}, {str(EXAMPLES)!r}],
                        approver=approver)
engine.start("tick", {{"count": 100000, "interval": 0.01}})
engine.start("calculator", {{"expression": "1"}})
time.sleep(0.2)
print("leaving", flush=True)
"""
    begin = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "leaving\n"
    assert time.monotonic() - begin < 30
    statuses = sorted(r["status"] for r in
                      skillrt.Engine(home=home, skills=[skills_dir]).audit_query(event="run"))
    assert "cancelled" in statuses
