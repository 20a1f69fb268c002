"""Flow control over NATS between witgen peers: a fast producer waits for a slow reader
(credit messages from reader to producer), so 100 MB go through one stream while what
waits on either side stays within the window, instead of the stream failing once the
reader fell 16 MiB behind. The provider runs in its own process
(tests/streams_stress_support.py) so that its peak memory is its own.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from nats_server import NatsServer, nats  # noqa: E402,F401
from streams_stress_support import BULK  # noqa: E402
from tcp_support import generate  # noqa: E402
from test_stream_liveness import Process  # noqa: E402

from witgen.runtime.nats.paths import WINDOW  # noqa: E402

SUPPORT = Path(__file__).with_name("streams_stress_support.py")
MB = 1_000_000
TOTAL = 100 * MB
CHUNK = 64 * 1024
MAX_PAYLOAD = 1024 * 1024  # nats-server's default


@pytest.fixture(scope="module")
def mods(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, Any]]]:
    from streams_stress_support import modules

    root = tmp_path_factory.mktemp("bulk")
    generate(BULK, "bulkgen", root)
    try:
        yield root, modules(str(root))
    finally:
        sys.path.remove(str(root))


def test_slow_reader_holds_a_hundred_megabyte_producer_back(
    mods: tuple[Path, dict[str, Any]], nats: NatsServer
) -> None:
    from witgen.runtime.nats import NatsBus

    bindings, m = mods
    with Process("serve", str(bindings), "nats", nats.url, script=SUPPORT) as provider:
        provider.expect("serving ")

        async def go() -> tuple[int, int, int, int, int]:
            bus = await NatsBus.connect(nats.url, prefix="bulk")
            try:
                client = m["caller"].BulkAsyncClient(bus)
                assert sum([len(c) async for c in await client.source(MB, CHUNK)]) == MB
                before = await client.peak()  # the provider after one stream: warmed up
                stream = await client.source(TOTAL, CHUNK)
                read = len(await stream.__anext__())
                queue = stream._in.source  # the path's queue of what waits unread
                await asyncio.sleep(1.0)  # the reader pauses: the producer must wait
                chunks = 1
                async for chunk in stream:
                    read += len(chunk)
                    chunks += 1
                    if chunks % 4 == 0:
                        await asyncio.sleep(0.001)  # and stays slower than the producer
                return read, queue.high_water, before, await client.peak(), MAX_PAYLOAD
            finally:
                await bus.close_async(1)

        read, high_water, before, after, max_payload = asyncio.run(asyncio.wait_for(go(), 120))
    assert read == TOTAL
    # What waited for the reader stayed within the window (plus what one write may carry).
    assert high_water <= WINDOW + max_payload, f"{high_water} bytes waited unread"
    assert after - before < TOTAL // 10, f"the provider's peak grew by {after - before} bytes"
