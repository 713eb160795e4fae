"""A started run: its events (an iterator and an async iterator), cancellation and result
(docs/events.md)."""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator, Iterator, Optional

from . import _skillrt

__all__ = ["RunHandle", "EventStream"]

# How many events one read returns, and how long it waits (ms) before giving Python a turn
# (signals, the event loop).
_BATCH = 256
_WAIT_MS = 100


class EventStream:
    """The events of one run, in order, each once: a dict as docs/events.md documents it
    ({"v", "run_id", "seq", "time", "type", ...}), types "accepted", "planned", "decided",
    "approval_requested", "approval_decided", "started", "output", "egress", "finished".
    The last event is "finished". Iterate with ``for`` or ``async for``.

    Output and egress events beyond the run's event buffer are dropped (never the outcome's
    output); ``dropped`` counts them, and a gap in ``seq`` shows where.
    """

    def __init__(self, core: "_skillrt.RunHandle", after: int = 0) -> None:
        self._core = core
        self._after = after
        self._pending: list[dict[str, Any]] = []
        self._finished = False
        self.dropped = 0
        """Events dropped so far (their buffer was full)."""

    def _take(self, batch: tuple[list[dict[str, Any]], int, bool]) -> None:
        events, dropped, finished = batch
        self.dropped += dropped
        self._pending.extend(events)
        if events:
            self._after = events[-1]["seq"]
        self._finished = finished

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self

    def __next__(self) -> dict[str, Any]:
        while not self._pending:
            if self._finished:
                raise StopIteration
            # The GIL is released while the core waits.
            self._take(self._core.read_events(self._after, _BATCH, _WAIT_MS))
        return self._pending.pop(0)

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self

    async def __anext__(self) -> dict[str, Any]:
        while not self._pending:
            if self._finished:
                raise StopAsyncIteration
            # Events already there come at once; otherwise a worker thread waits for them, so
            # the event loop goes on.
            batch = self._core.read_events(self._after, _BATCH, 0)
            if not batch[0] and not batch[2]:
                batch = await asyncio.to_thread(
                    self._core.read_events, self._after, _BATCH, _WAIT_MS
                )
            self._take(batch)
        return self._pending.pop(0)


class RunHandle:
    """A run started by :meth:`skillrt.Engine.start`. Thread-safe: any thread may read its
    events, cancel it or wait for it. It keeps the run's events and outcome alive after the
    engine is closed."""

    __slots__ = ("_core",)

    def __init__(self, core: "_skillrt.RunHandle") -> None:
        self._core = core

    @property
    def run_id(self) -> str:
        """The run's id, known as soon as start returns."""
        return self._core.run_id

    def done(self) -> bool:
        """True once the run has ended (its "finished" event is out)."""
        return self._core.done()

    def cancel(self, reason: str = "cancelled") -> bool:
        """Asks the run to stop; never blocks. Before the skill starts it is not started;
        while it waits for approval the wait ends; while it runs its sandbox is stopped. The
        outcome is then status "cancelled" with ``reason`` as its message. Returns True when
        this call cancelled a run that had not finished."""
        return self._core.cancel(reason)

    def wait(self, timeout: Optional[float] = None) -> "_skillrt.Outcome":
        """Blocks (the GIL released) until the run ends and returns its Outcome.

        Args:
            timeout: seconds to wait at most; None waits as long as the run takes.

        Raises:
            TimeoutError: the run had not ended after ``timeout`` seconds (it goes on).
            SkillrtError: skillrt itself failed, as Engine.run would have raised.
            KeyboardInterrupt: during the wait (the run goes on; cancel it if you mean to).
        """
        timeout_ms = None if timeout is None else max(0, int(timeout * 1000))
        outcome = self._core.wait(timeout_ms)
        if outcome is None:
            raise TimeoutError(f"run {self.run_id} has not ended after {timeout} s")
        return outcome

    async def wait_async(self) -> "_skillrt.Outcome":
        """As wait(), for asyncio: the event loop goes on while the run does."""
        async for _ in self.events():
            pass
        return self._core.wait(None)

    def events(self, after: int = 0) -> EventStream:
        """The run's events with ``seq`` greater than ``after`` (0: from the first), as an
        iterator and an async iterator that ends after the "finished" event."""
        return EventStream(self._core, after)

    def __repr__(self) -> str:
        state = "done" if self._core.done() else "running"
        return f"RunHandle(run_id={self.run_id!r}, {state})"
