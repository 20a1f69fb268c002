"""Streams under stress: 100 MB through one `stream<u8>` in bounded memory, a thousand
streams at once on one bus, readers that stop early, producers that fail, and peers
killed mid-stream (the other side gets a clear error, never a hang, and keeps serving).

The provider runs in its own process (tests/streams_stress_support.py) so that its
memory (VmHWM, the peak resident set) is its own and so that it can be killed.
"""

from __future__ import annotations

import asyncio
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Awaitable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from nats_server import NatsServer, nats  # noqa: E402,F401
from streams_stress_support import BULK, QUEUE, memory_kib  # noqa: E402
from tcp_support import HOST, frame, generate  # noqa: E402

from witgen.runtime import values  # noqa: E402
from witgen.runtime.bus import ProviderFailure, TransportError  # noqa: E402
from witgen.runtime.inprocess import InProcessBus  # noqa: E402
from witgen.runtime.tcp import TcpBus  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SUPPORT = Path(__file__).with_name("streams_stress_support.py")
MB = 1_000_000
MiB = 1 << 20
TOTAL = 100 * MB
CHUNK = 64 * 1024
NATS_CAP = 16 * MiB  # what may wait unread on one path over NATS without credit (Go peers)


@pytest.fixture(scope="module")
def bindings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("bulk")
    generate(BULK, "bulkgen", root)
    yield root


@pytest.fixture(scope="module")
def mods(bindings: Path) -> Iterator[dict[str, Any]]:
    from streams_stress_support import modules

    try:
        yield modules(str(bindings))
    finally:
        sys.path.remove(str(bindings))


class Process:
    """A support script process; its stdout lines arrive on `lines`."""

    def __init__(self, *args: str) -> None:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "tests")]))
        self.proc = subprocess.Popen(
            [sys.executable, str(SUPPORT), *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.log: list[str] = []
        self._threads = [
            threading.Thread(target=self._read, args=(self.proc.stdout, self.lines.put), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stderr, self.log.append), daemon=True),
        ]
        for t in self._threads:
            t.start()

    @staticmethod
    def _read(pipe: Any, put: Any) -> None:
        for line in pipe:
            put(line.rstrip("\n"))

    def expect(self, prefix: str, timeout: float = 30.0) -> str:
        """The next stdout line, which starts with `prefix`."""
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no {prefix!r} line within {timeout:g} s; stderr: {self.log}") from None
        assert line.startswith(prefix), (line, self.log)
        return line

    @property
    def pid(self) -> str:
        return str(self.proc.pid)

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(20)
        for t in self._threads:
            t.join(2)

    def __enter__(self) -> Process:
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()


def serve_tcp(bindings: Path) -> tuple[Process, str]:
    provider = Process("serve", str(bindings), "tcp")
    return provider, provider.expect("serving ").split()[1]


def run(coro: Awaitable[Any], timeout: float = 120) -> Any:
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def drain(stream: Any, pause_first: float = 0.0) -> tuple[int, int]:
    """Read a byte stream to its end: (bytes read, the highest growth of this process's
    resident set while reading, in bytes). The reader pauses before its first chunk, so an
    unbounded producer would run far ahead."""
    start = memory_kib("VmRSS")
    grown = 0
    read = 0
    chunks = 0
    await asyncio.sleep(pause_first)
    async for chunk in stream:
        read += len(chunk)
        chunks += 1
        if chunks % 64 == 0:
            grown = max(grown, memory_kib("VmRSS") - start)
    return read, grown * 1024


# --------------------------------------------------------------------------- 100 MB


@pytest.mark.slow
def test_hundred_megabytes_over_tcp_in_bounded_memory(bindings: Path, mods: dict[str, Any]) -> None:
    provider, address = serve_tcp(bindings)
    with provider:

        async def go() -> tuple[int, int, int, int]:
            bus = await TcpBus.connect(address)
            try:
                client = mods["caller"].BulkAsyncClient(bus)
                assert (await drain(await client.source(MB, CHUNK)))[0] == MB
                before = await client.peak()  # the provider after one stream: warmed up
                read, grown = await drain(await client.source(TOTAL, CHUNK), pause_first=1.0)
                after = await client.peak()
                return read, grown, before, after
            finally:
                await bus.close_async(1)

        read, caller_grown, before, after = run(go())
    assert read == TOTAL
    # Both ends hold a few MiB of what is under way, not the 100 MB that went through.
    assert after - before < TOTAL // 10, f"the provider's peak grew by {after - before} bytes"
    assert caller_grown < TOTAL // 10, f"the caller's resident set grew by {caller_grown} bytes"


@pytest.mark.slow
def test_hundred_megabytes_into_a_provider_over_tcp(bindings: Path, mods: dict[str, Any]) -> None:
    provider, address = serve_tcp(bindings)
    with provider:

        async def go() -> tuple[int, int, int]:
            bus = await TcpBus.connect(address)
            try:
                client = mods["caller"].BulkAsyncClient(bus)
                assert await client.sink([b"x" * CHUNK] * 16) == 16 * CHUNK
                before = await client.peak()
                block = b"\xa5" * CHUNK

                async def produce() -> Any:
                    for _ in range(TOTAL // CHUNK):
                        yield block

                got = await client.sink(produce())
                return got, before, await client.peak()
            finally:
                await bus.close_async(1)

        got, before, after = run(go())
    assert got == TOTAL // CHUNK * CHUNK
    assert after - before < TOTAL // 10, f"the provider's peak grew by {after - before} bytes"


@pytest.mark.slow
def test_nats_paused_reader_holds_the_producer_back_and_memory_stays_bounded(
    bindings: Path, mods: dict[str, Any], nats: NatsServer
) -> None:
    """Between witgen peers NATS carries credit: a reader that pauses holds the producer
    back (what waits stays far below the cap), then reads on; closing it stops the
    producer. A reader that keeps up takes the 100 MB through."""
    from witgen.runtime.nats import NatsBus

    with Process("serve", str(bindings), "nats", nats.url) as provider:
        provider.expect("serving ")

        async def go() -> tuple[int, int, int, int]:
            bus = await NatsBus.connect(nats.url, prefix="bulk")
            try:
                client = mods["caller"].BulkAsyncClient(bus)
                start = memory_kib("VmRSS")
                stream = await client.endless(CHUNK)
                await stream.__anext__()
                grown = 0
                for _ in range(300):  # the reader pauses; the producer waits for credit
                    await asyncio.sleep(0.01)
                    grown = max(grown, (memory_kib("VmRSS") - start) * 1024)  # what waits unread
                for _ in range(2 * NATS_CAP // CHUNK):  # past the old cap: read on
                    assert len(await stream.__anext__()) == CHUNK
                await stream.aclose()
                stopped = await asyncio.to_thread(provider.expect, "closed endless")
                assert stopped == "closed endless"
                read, keeping_up = await drain(await client.source(TOTAL, CHUNK))
                return grown, read, keeping_up, await client.peak()
            finally:
                await bus.close_async(1)

        paused_grown, read, keeping_up, _ = run(go())
    assert paused_grown < NATS_CAP, f"a paused reader grew by {paused_grown} bytes"
    assert keeping_up < TOTAL // 10, f"a reader keeping up grew by {keeping_up} bytes"
    assert read == TOTAL


# --------------------------------------------------------------------------- many at once


def test_a_thousand_streams_at_once_over_one_tcp_bus(bindings: Path, mods: dict[str, Any]) -> None:
    provider, address = serve_tcp(bindings)
    with provider:

        async def go() -> list[int]:
            bus = await TcpBus.connect(address)
            try:
                client = mods["caller"].BulkAsyncClient(bus)

                async def one(i: int) -> int:
                    return sum([n async for n in await client.numbers(i % 50 + 1, 8)])

                return await asyncio.gather(*(one(i) for i in range(1000)))
            finally:
                await bus.close_async(1)

        sums: list[int] = run(go())
    assert sums == [(i % 50) * (i % 50 + 1) // 2 for i in range(1000)]


def test_a_thousand_streams_at_once_over_one_nats_bus(mods: dict[str, Any], nats: NatsServer) -> None:
    from streams_stress_support import Bulk
    from witgen.runtime.nats import NatsBus

    async def go() -> list[int]:
        server = await NatsBus.connect(nats.url, prefix="many", max_queued=QUEUE)
        await server.serve_async(mods["provider"].dispatch_table(bulk=Bulk(print)))
        bus = await NatsBus.connect(nats.url, prefix="many")
        try:
            client = mods["caller"].BulkAsyncClient(bus)

            async def one(i: int) -> int:
                return sum([n async for n in await client.numbers(i % 50 + 1, 8)])

            return await asyncio.gather(*(one(i) for i in range(1000)))
        finally:
            await bus.close_async(1)
            await server.close_async(1)

    assert run(go()) == [(i % 50) * (i % 50 + 1) // 2 for i in range(1000)]


def test_a_thousand_byte_streams_both_ways_in_process(mods: dict[str, Any]) -> None:
    from streams_stress_support import Bulk

    async def go() -> list[int]:
        bus = InProcessBus()
        with mods["provider"].serve(bus, bulk=Bulk(print)):
            client = mods["caller"].BulkAsyncClient(bus)
            return list(await asyncio.gather(*(client.sink(values.Stream([b"ab"] * (i % 7))) for i in range(1000))))

    assert run(go()) == [2 * (i % 7) for i in range(1000)]


# --------------------------------------------------------------------------- ends and failures


def test_reader_that_stops_early_closes_the_remote_producer(bindings: Path, mods: dict[str, Any]) -> None:
    provider, address = serve_tcp(bindings)
    with provider:

        async def go() -> int:
            bus = await TcpBus.connect(address)
            try:
                client = mods["caller"].BulkAsyncClient(bus)
                stream = await client.endless(CHUNK)
                for _ in range(10):
                    assert len(await stream.__anext__()) == CHUNK
                await stream.aclose()
                assert await asyncio.to_thread(provider.expect, "closed endless") == "closed endless"
                return int(await client.sink([b"still serving"]))
            finally:
                await bus.close_async(1)

        assert run(go()) == len(b"still serving")


def test_producer_that_raises_mid_stream_is_a_clear_error(bindings: Path, mods: dict[str, Any]) -> None:
    provider, address = serve_tcp(bindings)
    with provider:

        async def go() -> list[bytes]:
            bus = await TcpBus.connect(address)
            got: list[bytes] = []
            try:
                stream = await mods["caller"].BulkAsyncClient(bus).broken(3)
                with pytest.raises(ProviderFailure, match=r"the producer of the stream<u8> failed with RuntimeError"):
                    async for chunk in stream:
                        got.append(chunk)
                return got
            finally:
                await bus.close_async(1)

        assert b"".join(run(go())) == b"ok" * 3
    assert any("the disk went away" in line for line in provider.log), provider.log


def test_provider_killed_mid_stream_is_an_error_not_a_hang(bindings: Path, mods: dict[str, Any]) -> None:
    provider, address = serve_tcp(bindings)
    with provider:

        async def go() -> int:
            bus = await TcpBus.connect(address)
            read = 0
            try:
                stream = await mods["caller"].BulkAsyncClient(bus).endless(CHUNK)
                with pytest.raises(TransportError, match="was lost: |ended before its end"):
                    async for chunk in stream:
                        read += len(chunk)
                        if read == 100 * CHUNK:
                            provider.kill()
                return read
            finally:
                await bus.close_async(1)

        assert run(go(), timeout=60) >= 100 * CHUNK


def test_provider_gone_inside_a_frame_is_a_lost_connection(mods: dict[str, Any]) -> None:
    """A provider that stops in the middle of a frame went away: it sent nothing malformed."""

    async def go() -> None:
        async def half_a_chunk(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(4096)
            writer.write(frame((), b"\x00") + frame((0,), b"\x03abc\x00")[:-3])
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(half_a_chunk, HOST, 0)
        address = f"{HOST}:{server.sockets[0].getsockname()[1]}"
        bus = await TcpBus.connect(address)
        try:
            stream = await mods["caller"].BulkAsyncClient(bus).endless(3)
            with pytest.raises(TransportError, match=rf"the connection to {address} was lost: .*inside a frame"):
                await stream.__anext__()
        finally:
            await bus.close_async(1)
            server.close()

    run(go(), timeout=30)


def test_caller_killed_mid_stream_stops_the_producer_and_the_provider_serves_on(
    bindings: Path, mods: dict[str, Any]
) -> None:
    provider, address = serve_tcp(bindings)
    with provider:
        with Process("call", str(bindings), address) as caller:
            caller.expect("reading")
            caller.kill()
        assert provider.expect("closed endless") == "closed endless"
        assert provider.proc.poll() is None

        async def go() -> int:
            bus = await TcpBus.connect(address)
            try:
                return int(await mods["caller"].BulkAsyncClient(bus).sink([b"next caller"]))
            finally:
                await bus.close_async(1)

        assert run(go()) == len(b"next caller")
