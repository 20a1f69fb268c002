"""Streams whose other end goes away, pauses, or stops one of several streams; provider
methods that are async generators.

Over NATS a peer that disconnects says nothing: between witgen peers, an idle path asks
the other end whether it is still there (see witgen/runtime/nats/paths.py), so a reader
(or a producer) whose peer was killed ends with `TransportError`, while a peer that only
pauses is waited for. The peers that get killed run in their own processes
(tests/stream_liveness_support.py).
"""

from __future__ import annotations

import asyncio
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from nats_server import NatsServer, nats  # noqa: E402,F401
from stream_liveness_support import LIVE, Live  # noqa: E402
from tcp_support import HOST, generate  # noqa: E402

from witgen.runtime.bus import TransportError  # noqa: E402
from witgen.runtime.inprocess import InProcessBus  # noqa: E402
from witgen.runtime.tcp import TcpBus  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SUPPORT = Path(__file__).with_name("stream_liveness_support.py")


@pytest.fixture(scope="module")
def bindings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("live")
    generate(LIVE, "livegen", root)
    yield root


@pytest.fixture(scope="module")
def mods(bindings: Path) -> Iterator[dict[str, Any]]:
    from stream_liveness_support import modules

    try:
        yield modules(str(bindings))
    finally:
        sys.path.remove(str(bindings))


class Process:
    """A support script process; its stdout lines arrive on `lines`; killed on exit."""

    def __init__(self, *args: str, script: Path = SUPPORT) -> None:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "tests")]))
        self.proc = subprocess.Popen(
            [sys.executable, str(script), *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.log: list[str] = []
        for pipe, put in ((self.proc.stdout, self.lines.put), (self.proc.stderr, self.log.append)):
            threading.Thread(target=lambda p=pipe, f=put: [f(line.rstrip("\n")) for line in p], daemon=True).start()

    def expect(self, prefix: str, timeout: float = 30.0) -> str:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no {prefix!r} line within {timeout:g} s; stderr: {self.log}") from None
        assert line.startswith(prefix), (line, self.log)
        return line

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(20)

    def __enter__(self) -> Process:
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()


def run(coro: Awaitable[Any], timeout: float = 60) -> Any:
    return asyncio.run(asyncio.wait_for(coro, timeout))  # type: ignore[arg-type]


@asynccontextmanager
async def nats_caller(url: str) -> AsyncIterator[Any]:
    from witgen.runtime.nats import NatsBus

    bus = await NatsBus.connect(url, prefix="live")
    try:
        yield bus
    finally:
        await bus.close_async(1)


# --------------------------------------------------------------------------- peers that die


def test_provider_killed_mid_stream_over_nats_ends_the_reader(
    bindings: Path, mods: dict[str, Any], nats: NatsServer
) -> None:
    with Process("serve", str(bindings), nats.url) as provider:
        provider.expect("serving")

        async def go() -> None:
            async with nats_caller(nats.url) as bus:
                stream = await mods["caller"].LiveAsyncClient(bus).trickle(3_600_000)
                assert await stream.__anext__() == b"first"
                provider.kill()
                with pytest.raises(TransportError, match="the other end of the call is gone"):
                    await stream.__anext__()

        run(go(), timeout=30)  # a hang fails here


def test_caller_killed_mid_stream_over_nats_ends_the_providers_read(
    bindings: Path, mods: dict[str, Any], nats: NatsServer
) -> None:
    with Process("serve", str(bindings), nats.url) as provider:
        provider.expect("serving")
        with Process("call", str(bindings), nats.url) as caller:
            caller.expect("sending")
            assert provider.expect("read ") == "read 5"  # the first item reached the provider
            caller.kill()
        # The provider's `count` stops reading with an error and serves on.
        assert provider.expect("counted ", timeout=30) == "counted 5"
        assert provider.proc.poll() is None

        async def go() -> int:
            async with nats_caller(nats.url) as bus:
                return int(await mods["caller"].LiveAsyncClient(bus).count([b"next caller"]))

        assert run(go()) == len(b"next caller")


def test_producer_that_pauses_is_waited_for_over_nats(mods: dict[str, Any], nats: NatsServer) -> None:
    """A producer idle for several probe intervals is alive: its reader waits and gets
    what follows."""
    from witgen.runtime.nats import NatsBus

    async def go() -> list[bytes]:
        impl = Live(lambda _: None)
        server = await NatsBus.connect(nats.url, prefix="live")
        await server.serve_async(mods["provider"].dispatch_table(live=impl))
        try:
            async with nats_caller(nats.url) as bus:
                stream = await mods["caller"].LiveAsyncClient(bus).trickle(3500)
                got = [await stream.__anext__(), await stream.__anext__()]
                await stream.aclose()
                await asyncio.wait_for(impl.events.get(), 20)
                return got
        finally:
            await server.close_async(1)

    assert run(go()) == [b"first", b"second"]


# --------------------------------------------------------------------------- one of several


@asynccontextmanager
async def inprocess(mods: dict[str, Any], impl: Live) -> AsyncIterator[Any]:
    bus = InProcessBus()
    with mods["provider"].serve(bus, live=impl):
        yield bus


@asynccontextmanager
async def tcp(mods: dict[str, Any], impl: Live) -> AsyncIterator[Any]:
    server = await TcpBus.connect(f"{HOST}:0")
    await server.serve_async(mods["provider"].dispatch_table(live=impl))
    caller = await TcpBus.connect(server.address)
    try:
        yield caller
    finally:
        await caller.close_async(1)
        await server.close_async(1)


@asynccontextmanager
async def over_nats(url: str, mods: dict[str, Any], impl: Live) -> AsyncIterator[Any]:
    from witgen.runtime.nats import NatsBus

    server = await NatsBus.connect(url, prefix="live")
    await server.serve_async(mods["provider"].dispatch_table(live=impl))
    try:
        async with nats_caller(url) as caller:
            yield caller
    finally:
        await server.close_async(1)


@pytest.fixture(params=["inprocess", "nats"])
def transport(request: pytest.FixtureRequest, mods: dict[str, Any]) -> Callable[[Live], Any]:
    if request.param == "inprocess":
        return lambda impl: inprocess(mods, impl)
    if request.param == "tcp":
        return lambda impl: tcp(mods, impl)
    server: NatsServer = request.getfixturevalue("nats")
    return lambda impl: over_nats(server.url, mods, impl)


def test_closing_one_of_two_streams_stops_its_producer_alone(
    transport: Callable[[Live], Any], mods: dict[str, Any]
) -> None:
    async def go() -> tuple[str, list[int], list[str]]:
        impl = Live(lambda _: None)
        async with transport(impl) as bus:
            left, right = await mods["caller"].LiveAsyncClient(bus).pair()
            assert [await left.__anext__() for _ in range(3)] == [0, 1, 2]
            assert [await right.__anext__() for _ in range(3)] == [0, 1, 2]
            await left.aclose()
            stopped = await asyncio.wait_for(impl.events.get(), 20)
            more = [await right.__anext__() for _ in range(50)]  # the other one runs on
            still = list(impl.closed)
            await right.aclose()
            await asyncio.wait_for(impl.events.get(), 20)
            return stopped, more, still

    stopped, more, closed_while_reading = run(go())
    assert stopped == "left"
    assert more == list(range(3, 53))
    assert closed_while_reading == ["left"]


# --------------------------------------------------------------------------- async generators


def test_async_generator_methods_take_no_worker_thread(mods: dict[str, Any], nats: NatsServer) -> None:
    """A thousand stream calls at once against the default limits (16 workers, 256
    waiting): async generators run on the event loop, so none is refused as busy."""
    from witgen.runtime.nats import NatsBus

    async def go() -> list[int]:
        server = await NatsBus.connect(nats.url, prefix="live")
        await server.serve_async(mods["provider"].dispatch_table(live=Live(lambda _: None)))
        try:
            async with nats_caller(nats.url) as bus:
                client = mods["caller"].LiveAsyncClient(bus)

                async def one(i: int) -> int:
                    return sum([n async for n in await client.count_up(i % 20 + 1)])

                return list(await asyncio.gather(*(one(i) for i in range(1000))))
        finally:
            await server.close_async(1)

    assert run(go(), timeout=120) == [(i % 20) * (i % 20 + 1) // 2 for i in range(1000)]
