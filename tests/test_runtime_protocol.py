"""The Bus protocol fits a transport that is async underneath, called synchronously.

The shape later transports take: a NATS bus is asyncio inside; a wasmtime host
function must call it synchronously, from a thread that is not the loop's. Here
`LoopBackedBus` is such a transport in miniature: its `invoke` waits on an asyncio
loop running in another thread, where the real work (`invoke_async` of an inner
bus, standing in for the network) happens. Generated clients and the samples'
providers must work over it unchanged.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from samples.ollama import actor as ollama_actor  # noqa: E402
from samples.ollama import provider as ollama_provider  # noqa: E402
from samples.stateful import actor as stateful_actor  # noqa: E402
from samples.stateful import provider as stateful_provider  # noqa: E402
from witgen.runtime.bus import Bus, BusTimeout, Serving, UnknownOperation  # noqa: E402
from witgen.runtime.dispatch import DispatchTable  # noqa: E402
from witgen.runtime.inprocess import InProcessBus  # noqa: E402
from witgen.runtime.values import Err, Ok  # noqa: E402


class LoopBackedBus:
    """A sync-callable bus whose transport runs on an asyncio loop in another thread."""

    def __init__(self, inner: InProcessBus, loop: asyncio.AbstractEventLoop) -> None:
        self._inner = inner
        self._loop = loop

    @property
    def source(self) -> str:
        return self._inner.source

    def invoke(
        self, instance: str, function: str, payload: bytes, *, timeout: float | None = None
    ) -> bytes:
        future = asyncio.run_coroutine_threadsafe(
            self.invoke_async(instance, function, payload, timeout=timeout), self._loop
        )
        try:
            return future.result(timeout)
        except FutureTimeout:
            future.cancel()
            raise BusTimeout(f"no result within {timeout} s", instance, function) from None

    async def invoke_async(
        self, instance: str, function: str, payload: bytes, *, timeout: float | None = None
    ) -> bytes:
        return await self._inner.invoke_async(instance, function, payload, timeout=timeout)

    def serve(self, table: DispatchTable) -> Serving:
        return self._inner.serve(table)


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield loop
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


def test_a_loop_backed_bus_is_a_bus(loop: asyncio.AbstractEventLoop) -> None:
    bus: Bus = LoopBackedBus(InProcessBus("host"), loop)
    assert isinstance(bus, Bus) and bus.source == "host"


def test_samples_run_over_a_loop_backed_bus(loop: asyncio.AbstractEventLoop) -> None:
    lattice = InProcessBus()
    lattice.serve(stateful_actor.dispatch_table())
    lattice.serve(ollama_provider.dispatch_table())
    bus = LoopBackedBus(lattice.connect("component"), loop)

    pulled = stateful_provider.pull(bus)
    assert isinstance(pulled, Ok) and pulled.value.data == stateful_actor.SAMPLE_STATE.data
    assert ollama_actor.ask(ollama_actor.LlmClient(bus), "reverse:latest", "abc") == "cba"
    # the async clients work over it too, from the caller's own loop
    answer = asyncio.run(ollama_actor.ask_async(ollama_actor.LlmAsyncClient(bus), "echo:latest", "x"))
    assert answer == "x"
    with pytest.raises(UnknownOperation):
        bus.invoke("ollama:llm/llm", "embed", b"")


def test_errors_and_timeouts_cross_the_thread(loop: asyncio.AbstractEventLoop) -> None:
    class Slow:
        async def get_data(self) -> Ok[bytes] | Err[stateful_actor.Error]:
            await asyncio.sleep(60)
            return Ok(b"")

        def get_metadata(self) -> Ok[list[str]] | Err[stateful_actor.Error]:
            return Err(stateful_actor.NO_STATE)

    from samples.stateful.bindings.wamli_stateful import actor as world

    lattice = InProcessBus()
    lattice.serve(world.dispatch_table(state=Slow(), model=stateful_actor.Model(None)))
    bus = LoopBackedBus(lattice, loop)
    with pytest.raises(BusTimeout):
        bus.invoke("wamli:stateful/state", "get-data", b"", timeout=0.05)
    assert stateful_provider.StateClient(bus).get_metadata() == Err(stateful_actor.NO_STATE)
