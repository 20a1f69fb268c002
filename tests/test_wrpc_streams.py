"""Futures and streams between witgen peers, as they are produced: in-process, over
framed TCP and over NATS, with generated clients and providers.

Streams of records, of bytes, futures, async values nested in records and lists,
cancellation both ways, failing producers, a slow reader holding a fast producer back
(counted in items, not time), and the codec telling incomplete bytes from invalid ones.
"""

from __future__ import annotations

import asyncio
import importlib
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from nats_server import NatsServer, nats  # noqa: E402,F401
from tcp_support import HOST, frame, generate, preamble  # noqa: E402

from witgen.runtime import asyncvalues, codec, values, wit  # noqa: E402
from witgen.runtime.bus import InvalidPayload, ProviderFailure, TransportError  # noqa: E402
from witgen.runtime.inprocess import InProcessBus  # noqa: E402
from witgen.runtime.primitives import CodecError, Incomplete  # noqa: E402
from witgen.runtime.tcp import TcpBus  # noqa: E402
from witgen.runtime.tcp.frames import FrameParser  # noqa: E402

FLOWS = """\
package witgen-test:flows;

/// Futures and streams between witgen peers.
interface flows {
  record point {
    x: s32,
    y: s32,
    label: string,
  }

  record batch {
    name: string,
    items: stream<u32>,
  }

  points: func(n: u32) -> stream<point>;
  forever: func(size: u32) -> stream<point>;
  broken: func(good: u32) -> stream<point>;
  count: func(items: stream<point>) -> u32;
  first: func(items: stream<point>) -> option<point>;
  upper: func(data: stream<u8>) -> stream<u8>;
  later: func(text: string) -> future<string>;
  length: func(text: future<string>) -> u32;
  total: func(values: list<future<u32>>) -> u64;
  bundle: func(n: u32) -> batch;
}

world provider {
  export flows;
}

world caller {
  import flows;
}
"""
INSTANCE = "witgen-test:flows/flows"
CAP = 20_000  # `forever` stops here, so a test of flow control that fails does not eat memory


@pytest.fixture(scope="module")
def mods(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("flows")
    generate(FLOWS, "flowsgen", root)
    sys.path.insert(0, str(root))
    try:
        base = "flowsgen.witgen_test_flows"
        yield {
            "flows": importlib.import_module(f"{base}.flows"),
            "provider": importlib.import_module(f"{base}.provider"),
            "caller": importlib.import_module(f"{base}.caller"),
        }
    finally:
        sys.path.remove(str(root))


class Flows:
    """The provider: async generators and coroutines, counting what it produced."""

    def __init__(self, types: Any) -> None:
        self.t = types
        self.produced = 0
        self.closed = asyncio.Event()
        self.client_closed = False

    def point(self, i: int, size: int = 0) -> Any:
        return self.t.Point(i, -i, f"p{i}" + "x" * size)

    async def points(self, n: int) -> AsyncIterator[Any]:
        for i in range(n):
            yield self.point(i)

    async def forever(self, size: int) -> AsyncIterator[Any]:
        try:
            for i in range(CAP):
                self.produced += 1
                yield self.point(i, size)
        finally:
            self.closed.set()

    async def broken(self, good: int) -> AsyncIterator[Any]:
        for i in range(good):
            yield self.point(i)
        raise ValueError("the source ran dry")

    async def count(self, items: values.Stream[Any]) -> int:
        return sum([1 async for _ in items])

    async def first(self, items: values.Stream[Any]) -> Any:
        async for item in items:
            return item
        return None

    async def upper(self, data: values.Stream[bytes]) -> AsyncIterator[bytes]:
        async for chunk in data:
            yield chunk.upper()

    async def later(self, text: str) -> Awaitable[str]:
        async def resolve() -> str:
            await asyncio.sleep(0.01)
            return text

        return resolve()

    async def length(self, text: values.Future[str]) -> int:
        return len(await text)

    async def total(self, values_: list[values.Future[int]]) -> int:
        return sum([await v for v in values_])

    def bundle(self, n: int) -> Any:
        async def items() -> AsyncIterator[int]:
            for i in range(n):
                yield i

        return self.t.Batch("b", values.Stream(items()))


Transport = Callable[[Any, Flows], Any]


@asynccontextmanager
async def inprocess(mods: dict[str, Any], impl: Flows) -> AsyncIterator[Any]:
    bus = InProcessBus()
    with mods["provider"].serve(bus, flows=impl):
        yield bus


@asynccontextmanager
async def tcp(mods: dict[str, Any], impl: Flows) -> AsyncIterator[Any]:
    server = await TcpBus.connect(f"{HOST}:0")
    await server.serve_async(mods["provider"].dispatch_table(flows=impl))
    caller = await TcpBus.connect(server.address)
    try:
        yield caller
    finally:
        await caller.close_async(1)
        await server.close_async(1)


@asynccontextmanager
async def over_nats(url: str, mods: dict[str, Any], impl: Flows) -> AsyncIterator[Any]:
    from witgen.runtime.nats import NatsBus

    server = await NatsBus.connect(url, prefix="flows")
    await server.serve_async(mods["provider"].dispatch_table(flows=impl))
    caller = await NatsBus.connect(url, prefix="flows")
    try:
        yield caller
    finally:
        await caller.close_async(1)
        await server.close_async(1)


@pytest.fixture(params=["inprocess", "tcp", "nats"])
def transport(request: pytest.FixtureRequest, mods: dict[str, Any]) -> Any:
    if request.param == "inprocess":
        return lambda impl: inprocess(mods, impl)
    if request.param == "tcp":
        return lambda impl: tcp(mods, impl)
    server: NatsServer = request.getfixturevalue("nats")
    return lambda impl: over_nats(server.url, mods, impl)


def run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 60))  # type: ignore[arg-type]


async def until(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s")
        await asyncio.sleep(0.01)


# --------------------------------------------------------------------------- values that flow


def test_stream_of_records_both_ways(transport: Any, mods: dict[str, Any]) -> None:
    t = mods["flows"]

    async def go() -> None:
        impl = Flows(t)
        async with transport(impl) as bus:
            client = mods["caller"].FlowsAsyncClient(bus)
            got = [p async for p in await client.points(5)]
            assert got == [impl.point(i) for i in range(5)]

            async def mine() -> AsyncIterator[Any]:
                for i in range(7):
                    await asyncio.sleep(0)
                    yield impl.point(i)

            assert await client.count(mine()) == 7
            assert await client.count([impl.point(1), impl.point(2)]) == 2
            assert await client.count(values.Stream([impl.point(1)])) == 1  # complete: inline
            # The sync client, from a worker thread: blocking iteration of the reader.
            sync = mods["caller"].FlowsClient(bus)
            xs = await asyncio.to_thread(lambda: [p.x for p in sync.points(4)])
            assert xs == [0, 1, 2, 3]
            assert await asyncio.to_thread(lambda: sync.count(iter([impl.point(0)] * 3))) == 3

    run(go())


def test_bytes_stream(transport: Any, mods: dict[str, Any]) -> None:
    async def go() -> None:
        async with transport(Flows(mods["flows"])) as bus:
            client = mods["caller"].FlowsAsyncClient(bus)

            async def chunks() -> AsyncIterator[bytes]:
                for part in (b"foo ", b"", b"bar"):
                    yield part

            got = await client.upper(chunks())
            assert b"".join([c async for c in got]) == b"FOO BAR"
            assert all(isinstance(c, bytes) for c in await (await client.upper([b"a", b"b"])).collect())
            with pytest.raises(InvalidPayload, match="not one bytes: wrap it in a list of bytes chunks"):
                await client.upper(b"abc")  # bytes are an iterable of ints, not of chunks

    run(go())


def test_futures(transport: Any, mods: dict[str, Any]) -> None:
    async def go() -> None:
        async with transport(Flows(mods["flows"])) as bus:
            client = mods["caller"].FlowsAsyncClient(bus)
            assert await (await client.later("soon")) == "soon"

            async def text() -> str:
                await asyncio.sleep(0.01)
                return "hello"

            assert await client.length(text()) == 5
            assert await client.length("ready") == 5  # a value is a ready future
            loop = asyncio.get_running_loop()
            pending: asyncio.Future[int] = loop.create_future()
            loop.call_later(0.01, pending.set_result, 30)

            async def two() -> int:
                return 2

            assert await client.total([values.Future(1), two(), pending]) == 33
            sync = mods["caller"].FlowsClient(bus)
            assert await asyncio.to_thread(lambda: sync.later("x").result(10)) == "x"

    run(go())


def test_stream_inside_a_record(transport: Any, mods: dict[str, Any]) -> None:
    async def go() -> None:
        async with transport(Flows(mods["flows"])) as bus:
            batch = await mods["caller"].FlowsAsyncClient(bus).bundle(4)
            assert batch.name == "b"
            assert await batch.items.collect() == [0, 1, 2, 3]

    run(go())


# --------------------------------------------------------------------------- ends and failures


def test_caller_that_stops_reading_closes_the_producer(transport: Any, mods: dict[str, Any]) -> None:
    async def go() -> None:
        impl = Flows(mods["flows"])
        async with transport(impl) as bus:
            stream = await mods["caller"].FlowsAsyncClient(bus).forever(1024)
            got = [await stream.__anext__() for _ in range(3)]
            assert [p.x for p in got] == [0, 1, 2]
            await stream.aclose()
            await asyncio.wait_for(impl.closed.wait(), 20)
            assert impl.produced < CAP

    run(go())


def test_provider_that_stops_reading_closes_the_callers_producer(transport: Any, mods: dict[str, Any]) -> None:
    async def go() -> None:
        impl = Flows(mods["flows"])
        closed = asyncio.Event()
        sent = 0

        async def endless() -> AsyncIterator[Any]:
            nonlocal sent
            try:
                for i in range(CAP):
                    sent += 1
                    yield impl.point(i, 1024)
            finally:
                closed.set()

        async with transport(impl) as bus:
            first = await mods["caller"].FlowsAsyncClient(bus).first(endless())
            assert first == impl.point(0, 1024)
            await asyncio.wait_for(closed.wait(), 20)
            assert sent < CAP

    run(go())


def test_failing_producer_ends_the_stream_with_an_error(
    transport: Any, mods: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    async def go() -> None:
        impl = Flows(mods["flows"])
        async with transport(impl) as bus:
            client = mods["caller"].FlowsAsyncClient(bus)
            stream = await client.broken(2)
            assert [(await stream.__anext__()).x for _ in range(2)] == [0, 1]
            with pytest.raises(ProviderFailure, match=r"the producer of the stream<point> failed with ValueError"):
                await stream.__anext__()

            async def dry() -> AsyncIterator[Any]:
                yield impl.point(0)
                raise KeyError("caller side")

            with pytest.raises(ProviderFailure):  # the provider's reader failed: so did its method
                await client.count(dry())

    run(go())
    assert "the source ran dry" in caplog.text  # the details stay in the producer's log


def test_slow_reader_holds_a_fast_producer_back(transport: Any, mods: dict[str, Any]) -> None:
    async def go() -> None:
        impl = Flows(mods["flows"])
        async with transport(impl) as bus:
            stream = await mods["caller"].FlowsAsyncClient(bus).forever(64 * 1024)
            read = 0
            for _ in range(5):
                await stream.__anext__()
                read += 1
            # The reader pauses: the producer may run ahead only as far as the buffers go.
            for _ in range(50):
                await asyncio.sleep(0.02)
            ahead = impl.produced - read
            assert ahead < 500, f"{ahead} items produced ahead of a reader that stopped"
            async for _ in stream:  # then it catches up: nothing was lost
                read += 1
                if read == 600:
                    break
            assert read == 600
            await stream.aclose()

    run(go())


# --------------------------------------------------------------------------- the codec


def test_incomplete_bytes_are_told_apart_from_invalid_ones() -> None:
    f = wit.Func("f", {"s": wit.Stream(wit.U64), "n": wit.U32}, wit.Tuple(wit.Future(wit.STRING), wit.U8))
    fc = codec.function(f)
    exchange = asyncvalues.Exchange()
    token = asyncvalues.CURRENT.set(exchange)
    try:
        (reader, n) = fc.decode_params(bytes.fromhex("0005"))
        assert isinstance(reader, asyncvalues.StreamReader) and reader.path == (0,) and n == 5
        fut, u = fc.decode_result(bytes.fromhex("0007"))
        assert isinstance(fut, asyncvalues.FutureReader) and fut.path == (0, 0) and u == 7
        for cut in ("00", "", "0180"):
            with pytest.raises(Incomplete):
                fc.decode_params(bytes.fromhex(cut))
        for bad in ("0205", "00ffffffffff01"):
            with pytest.raises(CodecError) as info:
                fc.decode_params(bytes.fromhex(bad))
            assert not isinstance(info.value, Incomplete)
        payload = fc.encode_params(iter([1, 2]), 3)
        assert payload == bytes.fromhex("0003")
        assert [(p.path, p.type.wit) for p in exchange.producers] == [((0,), "stream<u64>")]
        assert fc.encode_params(values.Stream([1, 2]), 3) == bytes.fromhex("0102010203")  # inline
    finally:
        asyncvalues.CURRENT.reset(token)
    with pytest.raises(CodecError, match="can only be read inside a wRPC call"):
        fc.decode_params(bytes.fromhex("0005"))


def test_tcp_root_decoded_before_its_path_ends(mods: dict[str, Any]) -> None:
    """A caller that never half-closes (as the wRPC Go clients) and splits values across
    frames still gets its answer: the root is decoded once complete."""

    async def go() -> None:
        impl = Flows(mods["flows"])
        server = await TcpBus.connect(f"{HOST}:0")
        await server.serve_async(mods["provider"].dispatch_table(flows=impl))
        try:
            reader, writer = await asyncio.open_connection(HOST, server.port)
            writer.write(preamble(INSTANCE, "count") + frame((), b"\x00"))
            point = bytes.fromhex("0201") + bytes([1]) + b"a"  # x=2, y=1... as s32 LEB128
            for piece in (b"\x02", point[:2], point[2:], point + b"\x00", b"\x00"):  # chunks split
                writer.write(frame((0,), piece))
            await writer.drain()
            parser = FrameParser(header=False, max_data=1 << 20)
            frames: list[tuple[tuple[int, ...], bytes]] = []
            while not frames:
                data = await asyncio.wait_for(reader.read(1 << 16), 20)
                assert data, "the provider closed without an answer"
                frames += parser.feed(data)
            assert frames[0] == ((), b"\x02")  # two points counted
            writer.close()
        finally:
            await server.close_async(1)

    run(go())


def test_tcp_socket_is_free_after_streams(mods: dict[str, Any]) -> None:
    """A finished call with streams releases its connection on both sides."""

    async def go() -> None:
        impl = Flows(mods["flows"])
        async with tcp(mods, impl) as bus:
            client = mods["caller"].FlowsAsyncClient(bus)
            for _ in range(20):
                assert len(await (await client.points(3)).collect()) == 3
            await asyncio.sleep(0.1)
            # Every connection was closed: a new listener on a fresh socket is not needed
            # to tell, the provider has no call left in flight.
            assert bus.in_flight == 0

    run(go())


def _unused() -> socket.socket:  # keeps the import for type checkers of helpers above
    return socket.socket()
