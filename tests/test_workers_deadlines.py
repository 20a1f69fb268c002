"""Worker-thread calls and their deadlines: one timer sweeps calls whose callers wait alike.

Calls reach `Workers` in the order their callers' deadlines come (callers wait alike),
so one timer at the first deadline serves them all; a call whose deadline comes before
an earlier call's gets a timer of its own. Either way a call still waiting at its
deadline is dropped (`BusTimeout`) and one still running stops counting against the
limit, so the calls behind it start.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from witgen.runtime.errors import BusTimeout
from witgen.runtime.wrpc.workers import Job, Workers


def test_calls_with_alike_deadlines_share_one_timer() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        armed: list[float] = []
        call_at = loop.call_at

        def counting(when: float, callback: Any, *args: Any, **kwargs: Any) -> asyncio.TimerHandle:
            armed.append(when)
            return call_at(when, callback, *args, **kwargs)

        loop.call_at = counting  # type: ignore[method-assign]
        workers = Workers(limit=4, queue=100)
        try:
            deadline = loop.time() + 30
            results = await asyncio.gather(*(workers.run(lambda i=i: i * 2, deadline) for i in range(50)))
        finally:
            loop.call_at = call_at  # type: ignore[method-assign]
            workers.shutdown()
        assert results == [i * 2 for i in range(50)]
        # Before, each call armed a timer of its own (50).
        assert len(armed) == 1

    asyncio.run(main())


def test_a_call_whose_deadline_comes_first_is_dropped_at_it() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        workers = Workers(limit=1, queue=10)
        release = threading.Event()
        ran: list[str] = []
        first = asyncio.ensure_future(workers.run(lambda: release.wait(5), loop.time() + 20))
        await asyncio.sleep(0.05)
        late = asyncio.ensure_future(workers.run(lambda: ran.append("late") or "late", loop.time() + 20))
        early = asyncio.ensure_future(workers.run(lambda: ran.append("early"), loop.time() + 0.05))
        with pytest.raises(BusTimeout):
            await early
        assert not late.done()
        release.set()
        assert await first is True
        assert await late == "late"
        assert ran == ["late"]
        workers.shutdown()

    asyncio.run(main())


def test_a_call_running_past_its_deadline_lets_the_next_one_start() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        workers = Workers(limit=1, queue=10)
        release = threading.Event()
        second_ran = threading.Event()
        stuck = asyncio.ensure_future(workers.run(lambda: release.wait(10), loop.time() + 0.05))
        await asyncio.sleep(0)
        second = asyncio.ensure_future(workers.run(second_ran.set, loop.time() + 20))
        await second  # started once the stuck call's deadline passed, while it still runs
        assert second_ran.is_set() and not stuck.done()
        release.set()
        assert await stuck is True
        workers.shutdown()

    asyncio.run(main())


def test_a_job_object_runs_in_a_thread_and_finishes_on_the_loop() -> None:
    class Doubling(Job):
        __slots__ = ("value", "got", "threads")

        def __init__(self, value: int) -> None:
            super().__init__()
            self.value = value
            self.got: list[Any] = []
            self.threads: list[int] = []

        def run(self) -> int:
            self.threads.append(threading.get_ident())
            return self.value * 2

        def finish(self, result: Any, exc: BaseException | None) -> None:
            self.threads.append(threading.get_ident())
            self.got.append((result, exc))
            done.set()

    async def main() -> None:
        workers = Workers(limit=2, queue=0)
        job = Doubling(21)
        workers.start(job, asyncio.get_running_loop().time() + 5)
        await done.wait()
        assert job.got == [(42, None)]
        assert job.threads[0] != threading.get_ident() and job.threads[1] == threading.get_ident()
        workers.shutdown()

    done = asyncio.Event()
    asyncio.run(main())


def test_a_short_deadline_after_longer_ones_ended_is_kept() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        workers = Workers(limit=1, queue=10)
        assert await workers.run(lambda: 1, loop.time() + 30) == 1  # its deadline's timer outlives it
        release = threading.Event()
        blocker = asyncio.ensure_future(workers.run(lambda: release.wait(10)))
        await asyncio.sleep(0)
        waiting = asyncio.ensure_future(workers.run(lambda: 2, loop.time() + 0.05))
        with pytest.raises(BusTimeout):
            await asyncio.wait_for(waiting, 5)
        release.set()
        assert await blocker is True
        workers.shutdown()

    asyncio.run(main())
