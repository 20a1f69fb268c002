"""A witgen peer in its own process for the stream liveness tests (it gets killed).

    python tests/stream_liveness_support.py serve BINDINGS NATS_URL
    python tests/stream_liveness_support.py call BINDINGS NATS_URL   # sends `trickle` to `count`

`serve` prints `serving`, then `closed <name>` when a producer of it was closed, `read <n>`
each time `count` received a chunk (n bytes so far) and `counted <n>` when `count` ended.
`call` prints `sending` once its first item was handed to the call (not yet on the wire).
"""

from __future__ import annotations

import asyncio
import importlib
import sys
from collections.abc import AsyncIterator
from typing import Any

LIVE = """\
package witgen-test:live;

/// Streams whose ends go away, or only pause.
interface live {
  trickle: func(pause-ms: u32) -> stream<u8>;
  pair: func() -> tuple<stream<u32>, stream<u32>>;
  count: func(data: stream<u8>) -> u64;
  count-up: func(n: u32) -> stream<u32>;
}

world provider {
  export live;
}

world caller {
  import live;
}
"""
BASE = "livegen.witgen_test_live"


def modules(bindings: str) -> dict[str, Any]:
    sys.path.insert(0, bindings)
    return {name: importlib.import_module(f"{BASE}.{name}") for name in ("live", "provider", "caller")}


class Live:
    """`trickle`: one chunk, a pause, another chunk, then nothing more (a producer that waits
    on something for ever); `pair`: two endless streams; `count`: the bytes it received."""

    def __init__(self, say: Any) -> None:
        self.say = say
        self.closed: list[str] = []
        self.events: asyncio.Queue[str] = asyncio.Queue()

    def _closed(self, name: str) -> None:
        self.closed.append(name)
        self.events.put_nowait(name)
        self.say(f"closed {name}")

    async def trickle(self, pause_ms: int) -> AsyncIterator[bytes]:
        try:
            yield b"first"
            await asyncio.sleep(pause_ms / 1000)
            yield b"second"
            await asyncio.Event().wait()
        finally:
            self._closed("trickle")

    def pair(self) -> tuple[AsyncIterator[int], AsyncIterator[int]]:
        return self._numbers("left"), self._numbers("right")

    async def _numbers(self, name: str) -> AsyncIterator[int]:
        try:
            i = 0
            while True:
                yield i
                i += 1
                await asyncio.sleep(0.001)
        finally:
            self._closed(name)

    async def count_up(self, n: int) -> AsyncIterator[int]:
        for i in range(n):
            yield i

    async def count(self, data: Any) -> int:
        n = 0
        try:
            async for chunk in data:
                n += len(chunk)
                self.say(f"read {n}")
        finally:
            self.say(f"counted {n}")
        return n


async def serve(bindings: str, url: str) -> None:
    from witgen.runtime.nats import NatsBus

    mods = modules(bindings)
    bus = await NatsBus.connect(url, prefix="live")
    await bus.serve_async(mods["provider"].dispatch_table(live=Live(lambda line: print(line, flush=True))))
    print("serving", flush=True)
    await asyncio.Event().wait()


async def call(bindings: str, url: str) -> None:
    from witgen.runtime.nats import NatsBus

    mods = modules(bindings)
    bus = await NatsBus.connect(url, prefix="live")

    async def trickle() -> AsyncIterator[bytes]:
        yield b"first"
        print("sending", flush=True)
        await asyncio.Event().wait()

    await mods["caller"].LiveAsyncClient(bus).count(trickle())


def main(argv: list[str]) -> None:
    asyncio.run((serve if argv[0] == "serve" else call)(argv[1], argv[2]))


if __name__ == "__main__":
    main(sys.argv[1:])
