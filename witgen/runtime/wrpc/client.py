"""Generated clients call functions with futures or streams through here.

    result = _w.call(self, "echo", r)                 # sync client
    result = await _w.call_async(self, "echo", r)     # asyncio client

Such a call cannot be bytes in, bytes out: its values flow while it runs. A bus that
carries them has `open_call(instance, function) -> (Outgoing, timeout)` (NATS, TCP),
awaited on its `loop`; the in-process bus goes through the in-memory loopback
transport. The result's readers belong to the bus's loop: iterate them with `async for`
there, or with a plain `for` (and `result()`) from any other thread.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, cast

from witgen.runtime.bus import Client
from witgen.runtime.errors import TransportError
from witgen.runtime.inprocess import InProcessBus
from witgen.runtime.wrpc import engine
from witgen.runtime.wrpc.loop import LoopThread
from witgen.runtime.wrpc.loopback import open_loopback
from witgen.runtime.wrpc.routes import Route, Routes
from witgen.runtime.wrpc.workers import Workers

__all__ = ["call", "call_async"]


def call(client: Client, function: str, *args: Any) -> Any:
    """Call `function` from a thread other than the bus's loop; its readers block there."""
    loop = _loop(client._bus)
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        raise TransportError(
            "a synchronous call on the bus's own event loop would wait for itself: use the async client there",
            client._instance,
            function,
        )
    return asyncio.run_coroutine_threadsafe(_call(client, function, args), loop).result()


async def call_async(client: Client, function: str, *args: Any) -> Any:
    """Call `function` from asyncio: on the bus's loop (another loop's call hops to it)."""
    loop = _loop(client._bus)
    if asyncio.get_running_loop() is not loop:
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(_call(client, function, args), loop))
    return await _call(client, function, args)


async def _call(client: Client, function: str, args: tuple[Any, ...]) -> Any:
    bus: Any = client._bus
    instance = client._instance
    fc, conv = client._plan(function)
    if isinstance(bus, InProcessBus):
        route = bus.route(instance, function)
        server = engine.Server(_OneRoute(route), _workers())
        outgoing: Any = open_loopback(server, f"{instance}.{function}" if instance else function, bus.source)
        timeout: float | None = None
    else:
        opener = getattr(bus, "open_call", None)
        if opener is None:
            raise TransportError(
                f"{type(bus).__name__} does not carry futures and streams (use NATS, TCP or the in-process bus)",
                instance,
                function,
            )
        outgoing, timeout = await opener(instance, function)
    value = await engine.call_values(outgoing, instance, function, fc, args, timeout)
    return value if conv is None else conv(client, value)


def _loop(bus: Any) -> asyncio.AbstractEventLoop:
    if isinstance(bus, InProcessBus):
        try:
            return asyncio.get_running_loop()
        except RuntimeError:
            return _home().loop
    loop = getattr(bus, "loop", None)
    if loop is None:
        raise TransportError(f"{type(bus).__name__} does not carry futures and streams")
    return cast(asyncio.AbstractEventLoop, loop)


# --------------------------------------------------------------------------- in-process


class _OneRoute(Routes):
    """The route of one in-process invocation (the lattice found it already)."""

    def __init__(self, route: Route) -> None:
        super().__init__()
        self.route = route

    def find(self, tail: str) -> Route | None:
        return self.route


_lock = threading.Lock()
_state: dict[str, Any] = {}


def _home() -> LoopThread:
    with _lock:
        home = _state.get("loop")
        if home is None:
            home = _state["loop"] = LoopThread("witgen-inprocess-values")
        return cast(LoopThread, home)


def _workers() -> Workers:
    with _lock:
        workers = _state.get("workers")
        if workers is None:
            workers = _state["workers"] = Workers()
        return cast(Workers, workers)
