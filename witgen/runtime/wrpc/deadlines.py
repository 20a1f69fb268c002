"""Futures that fail with `BusTimeout` when their time is up, all on one timer.

Calls made with the same timeout end in the order they started, so a queue in
that order and one timer at its first deadline serve them all: adding a future
appends it, and the timer, when it fires, fails what is due and waits for the next
one still pending. A future whose deadline comes before the last one's gets a timer
of its own. Futures that are done leave the front of the queue as soon as they are
done there (`settle`), and the queue is compacted when done ones pile up behind a
slow call, so it holds about as many entries as there are calls in flight.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from witgen.runtime.errors import BusTimeout

__all__ = ["Deadlines"]


class Deadlines:
    """The deadlines of the futures of one event loop (module docstring)."""

    __slots__ = ("_queue", "_timer", "_compact_at")

    def __init__(self) -> None:
        self._queue: deque[tuple[float, asyncio.Future[Any], float]] = deque()
        self._timer: asyncio.TimerHandle | None = None  # at the first deadline pending, or earlier
        self._compact_at = 1024

    def __len__(self) -> int:
        return len(self._queue)

    def add(self, future: asyncio.Future[Any], timeout: float) -> None:
        """Fail `future` with `BusTimeout` if it is not done within `timeout` seconds."""
        loop = future.get_loop()
        when = loop.time() + timeout
        queue = self._queue
        if queue and when < queue[-1][0]:
            handle = loop.call_at(when, _expire, future, timeout)
            future.add_done_callback(lambda _: handle.cancel())
            return
        queue.append((when, future, timeout))
        timer = self._timer
        if timer is None or when < timer.when():  # the queue was empty: an earlier timer
            if timer is not None:
                timer.cancel()
            self._timer = loop.call_at(when, self._sweep, loop)
        elif len(queue) > self._compact_at:
            self._queue = queue = deque(entry for entry in queue if not entry[1].done())
            self._compact_at = max(1024, 2 * len(queue))

    def settle(self) -> None:
        """Forget the done futures at the front (call when one of them is done)."""
        queue = self._queue
        while queue and queue[0][1].done():
            queue.popleft()

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        queue = self._queue
        now = loop.time()
        while queue:
            when, future, timeout = queue[0]
            if not future.done():
                if when > now:
                    self._timer = loop.call_at(when, self._sweep, loop)
                    return
                _expire(future, timeout)
            queue.popleft()


def _expire(future: asyncio.Future[Any], timeout: float) -> None:
    if not future.done():
        future.set_exception(BusTimeout(f"no result within {timeout:g} s"))
