"""Load over NATS: 10,000 calls, 100 in flight, two provider replicas in one queue group.

Every answer is checked against its request (no response lost, duplicated or given
to the wrong caller) and both replicas must have served.
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import load_support  # noqa: E402
from nats_server import NatsServer, Served, nats  # noqa: E402,F401

from witgen.runtime.nats import NatsBus  # noqa: E402

CALLS = 10_000
IN_FLIGHT = 100


@pytest.fixture(scope="module")
def loadgen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, Any]]]:
    root = load_support.build(tmp_path_factory.mktemp("load"))
    sys.path.insert(0, str(root))
    try:
        yield root, load_support.modules()
    finally:
        sys.path.remove(str(root))


def test_ten_thousand_calls_two_replicas(nats: NatsServer, loadgen: tuple[Path, dict[str, Any]]) -> None:
    root, mods = loadgen
    args = ("tests/load_support.py", "--nats", nats.url, "--prefix", "t.load", "--bindings", str(root))
    with Served(*args) as one, Served(*args) as two:

        async def run() -> list[Any]:
            buses = [await NatsBus.connect(nats.url, prefix="t.load", source=f"caller-{i}") for i in range(2)]
            clients = [mods["client"].EchoAsyncClient(b) for b in buses]
            answers: list[Any] = [None] * CALLS
            queue: asyncio.Queue[int] = asyncio.Queue()
            for n in range(CALLS):
                queue.put_nowait(n)

            async def worker(w: int) -> None:
                client = clients[w % 2]
                while not queue.empty():
                    n = queue.get_nowait()
                    call = client.echo if n % 2 else client.echo_async
                    text = f"request {n} from worker {w}"
                    answers[n] = (text, await call(n, text))

            try:
                await asyncio.gather(*(worker(w) for w in range(IN_FLIGHT)))
            finally:
                for b in buses:
                    await b.close_async()
            return answers

        answers = asyncio.run(run())
        assert one.stop() == 0 and two.stop() == 0
    assert [a.n for _, a in answers] == list(range(CALLS))
    assert all(a.text == sent for sent, a in answers)  # each answer is to its own request
    served = Counter(a.replica for _, a in answers)
    assert set(served) == {one.proc.pid, two.proc.pid}, served
    assert sum(served.values()) == CALLS
