"""Call deadlines on one timer (`witgen.runtime.wrpc.deadlines`), and over NATS."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from nats_server import NatsServer, nats  # noqa: E402,F401

from witgen.runtime.dispatch import DispatchTable, Operation  # noqa: E402
from witgen.runtime.errors import BusTimeout  # noqa: E402
from witgen.runtime.nats import NatsBus  # noqa: E402
from witgen.runtime.wrpc.deadlines import Deadlines  # noqa: E402


def _counting_timers(loop: asyncio.AbstractEventLoop) -> list[float]:
    armed: list[float] = []
    call_at = loop.call_at

    def counting(when: float, callback: Any, *args: Any, **kwargs: Any) -> asyncio.TimerHandle:
        armed.append(when)
        return call_at(when, callback, *args, **kwargs)

    loop.call_at = counting  # type: ignore[method-assign]
    return armed


def test_futures_with_the_same_timeout_share_one_timer_and_expire_in_order() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        armed = _counting_timers(loop)
        deadlines = Deadlines()
        futures = [loop.create_future() for _ in range(20)]
        for f in futures:
            deadlines.add(f, 0.05)
        for f in futures[::2]:
            f.set_result(b"ok")
        deadlines.settle()
        await asyncio.sleep(0.2)
        assert all(f.result() == b"ok" for f in futures[::2])
        for f in futures[1::2]:
            with pytest.raises(BusTimeout, match="no result within 0.05 s"):
                f.result()
        assert len(armed) <= 3 and len(deadlines) == 0

    asyncio.run(main())


def test_a_future_with_an_earlier_deadline_expires_at_it() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        deadlines = Deadlines()
        late, early = loop.create_future(), loop.create_future()
        deadlines.add(late, 30)
        deadlines.add(early, 0.05)
        with pytest.raises(BusTimeout):
            await asyncio.wait_for(early, 5)
        assert not late.done()
        late.cancel()

    asyncio.run(main())


def test_done_futures_behind_a_slow_one_do_not_pile_up() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        deadlines = Deadlines()
        slow = loop.create_future()
        deadlines.add(slow, 60)
        for _ in range(20_000):
            f = loop.create_future()
            deadlines.add(f, 60)
            f.set_result(None)
            deadlines.settle()
        assert len(deadlines) <= 1100
        slow.cancel()
        deadlines.settle()

    asyncio.run(main())


def test_nats_calls_with_one_timeout_arm_one_timer_on_the_caller(nats: NatsServer) -> None:
    def echo(payload: bytes) -> bytes:
        if payload == b"slow":
            time.sleep(1)
        return payload

    async def main() -> None:
        table = DispatchTable()
        ops = [Operation("echo", lambda call, p: (p,), lambda impl: echo, lambda call, v: v)]
        table.add_interface("test:d/ops", object(), ops)
        server = await NatsBus.connect(nats.url, prefix="dl")
        await server.serve_async(table)
        bus = await NatsBus.connect(nats.url, prefix="dl", timeout=30)
        armed = _counting_timers(asyncio.get_running_loop())
        results = await asyncio.gather(*(bus.invoke_async("test:d/ops", "echo", b"%d" % i) for i in range(200)))
        assert results == [b"%d" % i for i in range(200)]
        # Before, every call armed a timer of its own; now the caller's calls share one
        # (the server's worker threads add at most one more).
        assert len(armed) <= 4
        with pytest.raises(BusTimeout, match="no result within"):
            await bus.invoke_async("test:d/ops", "echo", b"slow", timeout=0.2)
        await bus.close_async()
        await server.close_async()

    asyncio.run(main())
