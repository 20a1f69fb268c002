"""The NATS call path without nats-py's per-message machinery, against a real nats-server.

witgen's connections read MSG/HMSG lines themselves, deliver the messages of their own
subscriptions straight from the read loop to a plain function (no message object, queue
or task), send through an in-order outbox that appends to the pending buffer at once,
serve sync methods without a task per call, and let a worker thread take the next
waiting call itself. Each test pins one of these and that nothing nats-py's other
callers rely on changed (header parsing, order, the pending bound, deadlines).
"""

from __future__ import annotations

import asyncio
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from nats_server import NatsServer, nats  # noqa: E402,F401

from nats.aio.client import Client  # noqa: E402
from nats.errors import ProtocolError  # noqa: E402
from nats.protocol.parser import Parser  # noqa: E402

from witgen.runtime.dispatch import DispatchTable, Operation, nonblocking  # noqa: E402
from witgen.runtime.errors import BusTimeout  # noqa: E402
from witgen.runtime.nats import NatsBus  # noqa: E402
from witgen.runtime.nats.client import WitgenClient, outbox, parse_headers, subscribe  # noqa: E402
from witgen.runtime.wrpc.workers import Workers  # noqa: E402

STREAM = (
    b'INFO {"max_payload":1048576}\r\nMSG foo 1 5\r\nhello\r\nMSG foo.bar 22 _INBOX.x 0\r\n\r\nPING\r\n'
    b"HMSG a.b 3 r.s 12 15\r\nNATS/1.0\r\n\r\nabc\r\nHMSG a.b 3 12 14\r\nNATS/1.0\r\n\r\nab\r\n+OK\r\n"
    b"PONG\r\nMSG\tx\t4\t\t3\r\nxyz\r\nHMSG s 9 36 36\r\nNATS/1.0 503\r\nwitgen-error: gone\r\n\r\n\r\n"
)


class Recorder:
    """What a parser hands to its client."""

    def __init__(self) -> None:
        self.got: list[tuple[Any, ...]] = []
        self._direct: dict[int, Any] = {}

    async def _process_msg(self, *args: Any) -> None:
        self.got.append(("msg", *(bytes(a) if isinstance(a, (bytes, bytearray)) else a for a in args)))

    async def _process_ping(self) -> None:
        self.got.append(("ping",))

    async def _process_pong(self) -> None:
        self.got.append(("pong",))

    async def _process_info(self, info: dict[str, Any]) -> None:
        self.got.append(("info", info))

    async def _process_err(self, err: str) -> None:
        self.got.append(("err", err))


async def _parse(parser_class: Any, chunks: list[bytes]) -> tuple[list[tuple[Any, ...]], bytes]:
    from witgen.runtime.nats.client import _Parser

    recorder = Recorder()
    parser = parser_class(recorder)
    if parser_class is _Parser:
        recorder._pending_data_size = 0  # type: ignore[attr-defined]
    for chunk in chunks:
        await parser.parse(chunk)
    return recorder.got, bytes(parser.buf)


def test_the_parser_reads_what_nats_py_reads_however_the_bytes_are_split() -> None:
    from witgen.runtime.nats.client import _Parser

    async def main() -> None:
        expected = await _parse(Parser, [STREAM])
        assert len(expected[0]) == 9
        for i in range(0, len(STREAM), 3):
            for j in range(i, len(STREAM), 11):
                assert await _parse(_Parser, [STREAM[:i], STREAM[i:j], STREAM[j:]]) == expected, (i, j)
        for bad in (b"MSG foo x 3\r\nabc\r\n", b"MSG foo 1 2 3 4\r\n", b"HMSG foo 1 -2 3\r\n"):
            for cls in (Parser, _Parser):
                with pytest.raises(ProtocolError):
                    await _parse(cls, [bad])

    asyncio.run(main())


BLOCKS = [
    b"NATS/1.0\r\nwitgen-timeout-ms: 10000\r\n\r\n",
    b"NATS/1.0\r\nsource-id: a\r\nlink-name:b\r\nx:\tspaced  \r\n\r\n",
    b"NATS/1.0 503\r\n\r\n",
    b"NATS/1.0 404 No Messages\r\n\r\n",
    b"NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: 1016\r\n\r\n",
    b"NATS/1.0\r\nk\xc3\xa9y: v\r\nbad key: v\r\nname: caf\xc3\xa9\r\n\r\n",
    b"NATS/1.0\r\n\r\n",
]


def test_header_blocks_read_as_nats_py_reads_them() -> None:
    async def main() -> None:
        reference = Client()
        for block in BLOCKS:
            expected = await reference._process_headers(block)
            assert parse_headers(block) == expected, block
            again = parse_headers(block)  # remembered, but every caller gets its own dict
            assert again == expected
            if again is not None:
                again["changed"] = "yes"
                assert parse_headers(block) == expected
        for malformed in (b"XXXX\r\n\r\n", b"NATS"):  # nats-py raises on these
            assert parse_headers(malformed) is None

    asyncio.run(main())


async def _connect(url: str, **options: Any) -> WitgenClient:
    nc = WitgenClient()
    await nc.connect(servers=[url], **options)
    return nc


def test_direct_subscriptions_deliver_in_order_without_a_task(nats: NatsServer) -> None:
    async def main() -> None:
        nc = await _connect(nats.url)
        got: list[tuple[str, str, bytes, Any]] = []
        plain: list[bytes] = []
        done = asyncio.Event()

        def deliver(subject: str, reply: str, data: bytes, headers: Any) -> None:
            got.append((subject, reply, data, headers))
            if len(got) == 500:
                done.set()

        async def ordinary(msg: Any) -> None:
            plain.append(msg.data)

        sub = await subscribe(nc, "fast.>", deliver)
        other = await nc.subscribe("slow.>", cb=ordinary)
        assert sub._wait_for_msgs_task is None
        box = outbox(nc)
        for i in range(499):
            box.send(f"fast.{i}", str(i).encode(), "r.1")
        await nc.publish("fast.last", b"last", headers={"k": "v"})
        await nc.publish("slow.x", b"ordinary")
        await asyncio.wait_for(done.wait(), 10)
        await nc.flush()
        assert [g[2] for g in got[:499]] == [str(i).encode() for i in range(499)]
        assert got[0][:2] == ("fast.0", "r.1")
        assert got[-1] == ("fast.last", "", b"last", {"k": "v"})
        for _ in range(100):
            if plain:
                break
            await asyncio.sleep(0.01)
        assert plain == [b"ordinary"]  # other subscriptions are delivered as nats-py does
        await other.unsubscribe()
        await nc.close()

    asyncio.run(main())


def test_the_outbox_keeps_order_past_the_pending_bound(nats: NatsServer) -> None:
    async def main() -> None:
        nc = await _connect(nats.url, pending_size=64 * 1024)
        reader = await _connect(nats.url)
        got: list[bytes] = []
        done = asyncio.Event()

        def deliver(subject: str, reply: str, data: bytes, headers: Any) -> None:
            got.append(data[:8])
            if len(got) == 300:
                done.set()

        await subscribe(reader, "order.>", deliver)
        await reader.flush()
        box = outbox(nc)
        for i in range(300):  # 300 x 8 KB: beyond the 64 KB bound, the rest waits its turn
            box.send("order.x", b"%08d" % i + bytes(8192))
        assert box.backlog > 0
        await box.drained()
        assert box.backlog == 0 and not box.waiting
        await asyncio.wait_for(done.wait(), 10)
        assert got == [b"%08d" % i for i in range(300)]
        await nc.close()
        await reader.close()

    asyncio.run(main())


def _table(method: Any) -> DispatchTable:
    table = DispatchTable()

    class Impl:
        pass

    impl = Impl()
    impl.echo = method  # type: ignore[attr-defined]
    table.add_interface(
        "test:fast/ops",
        impl,
        [Operation("echo", lambda call, payload: (payload,), lambda impl: impl.echo, lambda call, value: value)],
    )
    return table


@pytest.mark.parametrize("marked", [True, False])
def test_a_sync_call_makes_no_task_on_either_side(nats: NatsServer, marked: bool) -> None:
    def echo(payload: bytes) -> bytes:
        return payload[::-1]

    method = nonblocking(echo) if marked else echo

    async def main() -> None:
        bus = await NatsBus.connect(nats.url, prefix="fast")
        await bus.serve_async(_table(method))
        assert await bus.invoke_async("test:fast/ops", "echo", b"abc") == b"cba"
        loop = asyncio.get_running_loop()
        created: list[Any] = []

        def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
            created.append(coro)
            return asyncio.Task(coro, loop=loop, **kwargs)

        loop.set_task_factory(factory)
        try:
            for i in range(20):
                assert await bus.invoke_async("test:fast/ops", "echo", b"x%d" % i) == (b"x%d" % i)[::-1]
        finally:
            loop.set_task_factory(None)
        # Before, a worker thread's call was served by a task of its own.
        assert [c for c in created if "exchange" in getattr(c, "__qualname__", "")] == []
        assert len(created) == 0
        await bus.close_async()

    asyncio.run(main())


def test_a_worker_thread_takes_the_next_waiting_call_itself() -> None:
    class Counting(Workers):
        starts = 0

        def _start(self, job: Any, loop: asyncio.AbstractEventLoop) -> None:
            Counting.starts += 1
            super()._start(job, loop)

    async def main() -> None:
        workers = Counting(limit=1, queue=100)
        ran: list[int] = []
        results = await asyncio.gather(*(workers.run(lambda i=i: ran.append(i) or i) for i in range(50)))
        assert results == list(range(50)) and ran == list(range(50))
        # Before, the loop started each call in turn; the one thread went on by itself.
        assert Counting.starts < 5
        workers.shutdown()

    asyncio.run(main())


def test_a_waiting_call_past_its_deadline_is_dropped_without_running() -> None:
    async def main() -> None:
        workers = Workers(limit=1, queue=10)
        release = threading.Event()
        second_ran = threading.Event()
        loop = asyncio.get_running_loop()
        first = asyncio.ensure_future(workers.run(lambda: release.wait(5)))
        await asyncio.sleep(0.05)
        second = asyncio.ensure_future(workers.run(second_ran.set, loop.time() + 0.05))
        with pytest.raises(BusTimeout):
            await second
        release.set()
        assert await first is True
        assert not second_ran.is_set()
        workers.shutdown()

    asyncio.run(main())


def test_a_bus_on_a_plain_nats_py_client_still_calls_and_serves(nats: NatsServer) -> None:
    import nats as nats_py

    def echo(payload: bytes) -> bytes:
        return payload[::-1]

    async def main() -> None:
        nc = await nats_py.connect(nats.url)  # not witgen's client: the ordinary nats-py paths
        assert not isinstance(nc, WitgenClient)
        bus = await NatsBus.attach(nc, prefix="plain")
        await bus.serve_async(_table(echo))
        results = await asyncio.gather(*(bus.invoke_async("test:fast/ops", "echo", b"p%d" % i) for i in range(50)))
        assert results == [(b"p%d" % i)[::-1] for i in range(50)]
        big = bytes(range(256)) * 8192  # 2 MiB: continued parameters, results in pieces
        assert await bus.invoke_async("test:fast/ops", "echo", big) == big[::-1]
        await bus.close_async()

    asyncio.run(main())
