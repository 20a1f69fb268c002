"""A `stream<u8>` / `stream<u64>` provider or caller in its own process, for stress tests
and the streams benchmark.

    python tests/streams_stress_support.py serve BINDINGS tcp
    python tests/streams_stress_support.py serve BINDINGS nats NATS_URL
    python tests/streams_stress_support.py call BINDINGS ADDRESS   # reads `endless` forever

`serve` prints `serving <address>` on stdout, then one line per event on stdout:
`closed endless` when an `endless` producer was closed, `ready` after each `peak` call.
`call` prints `reading` once the first chunk arrived, then keeps reading.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

BULK = """\
package witgen-test:bulk;

/// Bulk streams: bytes and numbers, as fast as they go.
interface bulk {
  source: func(total: u64, chunk: u32) -> stream<u8>;
  sink: func(data: stream<u8>) -> u64;
  numbers: func(n: u64, chunk: u32) -> stream<u64>;
  endless: func(chunk: u32) -> stream<u8>;
  broken: func(good: u32) -> stream<u8>;
  peak: func() -> u64;
}

world provider {
  export bulk;
}

world caller {
  import bulk;
}
"""
BASE = "bulkgen.witgen_test_bulk"
QUEUE = 2000  # calls that may wait for a worker: a thousand streams start at once


def memory_kib(field: str, pid: str = "self") -> int:
    """A `/proc/<pid>/status` field in KiB (VmRSS, VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def modules(bindings: str) -> dict[str, Any]:
    sys.path.insert(0, bindings)
    return {name: importlib.import_module(f"{BASE}.{name}") for name in ("bulk", "provider", "caller")}


class Bulk:
    """The provider: one shared chunk, so what memory grows by is what waits in buffers."""

    def __init__(self, say: Any) -> None:
        self.say = say

    async def source(self, total: int, chunk: int) -> AsyncIterator[bytes]:
        block = b"\xa5" * chunk
        sent = 0
        while sent + chunk <= total:
            yield block
            sent += chunk
        if total > sent:
            yield block[: total - sent]

    async def sink(self, data: Any) -> int:
        return sum([len(c) async for c in data])

    async def numbers(self, n: int, chunk: int) -> AsyncIterator[int]:
        for i in range(n):
            yield i
            if i % chunk == chunk - 1:
                await asyncio.sleep(0)

    async def endless(self, chunk: int) -> AsyncIterator[bytes]:
        block = b"\x5a" * chunk
        try:
            while True:
                yield block
        finally:
            self.say("closed endless")

    async def broken(self, good: int) -> AsyncIterator[bytes]:
        for _ in range(good):
            yield b"ok"
        raise RuntimeError("the disk went away")

    def peak(self) -> int:
        """The highest resident set of this process so far, in bytes."""
        return memory_kib("VmHWM") * 1024


async def serve(bindings: str, transport: str, url: str | None) -> None:
    mods = modules(bindings)

    def say(line: str) -> None:
        print(line, flush=True)

    table = mods["provider"].dispatch_table(bulk=Bulk(say))
    if transport == "tcp":
        from witgen.runtime.tcp import TcpBus

        tcp = await TcpBus.connect("127.0.0.1:0", max_queued=QUEUE)
        await tcp.serve_async(table)
        say(f"serving {tcp.address}")
    else:
        from witgen.runtime.nats import NatsBus

        assert url is not None
        nats = await NatsBus.connect(url, prefix="bulk", max_queued=QUEUE)
        await nats.serve_async(table)
        say(f"serving {url}")
    await asyncio.Event().wait()


async def call(bindings: str, address: str) -> None:
    from witgen.runtime.tcp import TcpBus

    mods = modules(bindings)
    bus = await TcpBus.connect(address)
    stream = await mods["caller"].BulkAsyncClient(bus).endless(65536)
    first = True
    async for _ in stream:
        if first:
            print("reading", flush=True)
            first = False


def main(argv: list[str]) -> None:
    if argv[0] == "serve":
        asyncio.run(serve(argv[1], argv[2], argv[3] if len(argv) > 3 else None))
    else:
        asyncio.run(call(argv[1], argv[2]))


if __name__ == "__main__":
    main(sys.argv[1:])
