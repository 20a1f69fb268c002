"""Worker threads wake one at a time, yet a call that blocks never holds up the ones behind it.

A thread is woken only when no other is awake and looking for work; a thread that takes
a call and leaves more behind wakes the next. So calls started together, the first ones
blocking, all run at once up to the limit, and short calls started together run on
fewer threads than there are calls.
"""

from __future__ import annotations

import asyncio
import threading
import time

from witgen.runtime.wrpc.workers import Workers


def test_calls_started_together_run_beside_the_ones_that_block() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        workers = Workers(limit=4, queue=10)
        release = threading.Event()
        deadline = loop.time() + 30
        # Started in one go: no thread is awake yet when the second, third and fourth come.
        stuck = [asyncio.ensure_future(workers.run(lambda: release.wait(20), deadline)) for _ in range(2)]
        quick = [asyncio.ensure_future(workers.run(lambda i=i: i, deadline)) for i in range(2)]
        try:
            assert await asyncio.wait_for(asyncio.gather(*quick), 10) == [0, 1]
            assert not any(call.done() for call in stuck)
            assert workers.running == 2
        finally:
            release.set()
        assert await asyncio.gather(*stuck) == [True, True]
        assert workers.running == 0
        workers.shutdown()

    asyncio.run(main())


def test_a_call_that_blocks_after_others_drained_gets_a_thread_of_its_own() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        workers = Workers(limit=2, queue=30)
        release = threading.Event()
        deadline = loop.time() + 30
        assert await asyncio.gather(*(workers.run(lambda i=i: i, deadline) for i in range(20))) == list(range(20))
        stuck = asyncio.ensure_future(workers.run(lambda: release.wait(20), deadline))
        await asyncio.sleep(0.05)  # its thread is in the call
        try:
            assert await asyncio.wait_for(workers.run(lambda: "next", deadline), 10) == "next"
            assert not stuck.done()
        finally:
            release.set()
        assert await stuck is True
        workers.shutdown()

    asyncio.run(main())


def test_threads_park_between_bursts_and_end_at_shutdown() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        workers = Workers(limit=16, queue=100)
        names = {t.name for t in threading.enumerate()}
        for _ in range(3):
            deadline = loop.time() + 30
            assert await asyncio.gather(*(workers.run(lambda i=i: i, deadline) for i in range(50))) == list(range(50))
        ours = [t for t in threading.enumerate() if t.name.startswith("witgen-provider") and t.name not in names]
        assert 1 <= len(ours) <= 16 and all(t.daemon for t in ours)
        workers.shutdown()
        end = time.monotonic() + 10
        while any(t.is_alive() for t in ours) and time.monotonic() < end:
            await asyncio.sleep(0.01)
        assert not any(t.is_alive() for t in ours)

    asyncio.run(main())
