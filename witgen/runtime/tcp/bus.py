"""`TcpBus`: the `Bus` protocol over wRPC's framed TCP, one connection per call.

    bus = await TcpBus.connect("127.0.0.1:7761")          # asyncio
    await bus.invoke_async("wrpc-examples:hello/handler", "hello", b"")
    bus = TcpBus.connect_sync("[::1]:7761")               # its own loop thread
    bus.invoke("wrpc-examples:hello/handler", "hello", b"")  # sync, from any other thread
    serving = bus.serve(table)                            # listen on the address, answer calls

A bus is one address: calls dial it (nothing is dialled before a call), and
serving listens on it (port 0: a free port; `address` then names the one bound).
Generated clients work on it as on `NatsBus`. TCP carries no caller identity and
no deadline: `source` is always "", and a provider assumes each call waits 60 s.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from witgen.runtime.dispatch import DispatchTable
from witgen.runtime.errors import BusError, TransportError
from witgen.runtime.tcp.address import format_address, parse_address
from witgen.runtime.tcp.client import TcpCall
from witgen.runtime.tcp.server import TcpListener
from witgen.runtime.wrpc import engine
from witgen.runtime.wrpc.loop import LoopThread
from witgen.runtime.wrpc.routes import Routes
from witgen.runtime.wrpc.workers import DEFAULT_QUEUE, DEFAULT_WORKERS, Workers

__all__ = ["DEFAULT_TIMEOUT", "TcpBus", "TcpServing"]

DEFAULT_TIMEOUT = 10.0
T = TypeVar("T")


class TcpServing:
    """A dispatch table served on a `TcpBus`; `close()` stops serving it."""

    def __init__(self, routes: Routes, table: DispatchTable, address: str) -> None:
        self.routes = routes
        self.table = table
        self.address = address

    def close(self) -> None:
        self.routes.remove(self.table)
        self.table.handles.release_all()

    def __enter__(self) -> TcpServing:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class TcpBus:
    """One wRPC address over framed TCP (see the module docstring)."""

    def __init__(
        self,
        address: str | tuple[str, int],
        *,
        timeout: float | None = DEFAULT_TIMEOUT,
        connect_timeout: float = 5.0,
        max_result: int = engine.DEFAULT_MAX_PARAMS,
        max_workers: int = DEFAULT_WORKERS,
        max_queued: int = DEFAULT_QUEUE,
        max_params: int = engine.DEFAULT_MAX_PARAMS,
    ) -> None:
        if isinstance(address, str):
            try:
                self.host, self.port = parse_address(address, listen=True)
            except ValueError as exc:
                raise TransportError(str(exc)) from None
        else:
            self.host, self.port = address
        if max_workers < 1 or max_queued < 0 or max_params < 1 or max_result < 1:
            raise BusError("workers, max_params and max_result must be positive, the queue not negative")
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.max_result = max_result
        self._limits = (max_workers, max_queued, max_params)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._owner: LoopThread | None = None
        self._lock = threading.Lock()
        self._listener: TcpListener | None = None
        self._workers: Workers | None = None
        self.closed = False

    def __repr__(self) -> str:
        return f"<TcpBus {self.address}>"

    @classmethod
    async def connect(cls, address: str | tuple[str, int], **options: Any) -> TcpBus:
        """A bus whose serving runs on the running loop (nothing is dialled yet)."""
        bus = cls(address, **options)
        bus._loop = asyncio.get_running_loop()
        return bus

    @classmethod
    def connect_sync(cls, address: str | tuple[str, int], **options: Any) -> TcpBus:
        """A bus with its own loop thread, for synchronous users."""
        bus = cls(address, **options)
        bus._home()
        return bus

    @property
    def address(self) -> str:
        """`HOST:PORT` called (and served: the bound port once serving)."""
        return format_address(self.host, self.port)

    @property
    def source(self) -> str:
        return ""

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop serving runs on (the bus's own thread's when none was given)."""
        return self._home()

    # ------------------------------------------------------------------ calling

    def invoke(self, instance: str, function: str, payload: bytes, *, timeout: float | None = None) -> bytes:
        """Call and wait, from any thread but the bus's loop."""
        if self.closed:
            raise TransportError("the bus is closed", instance, function)
        return self._run(self.invoke_async(instance, function, payload, timeout=timeout))

    async def invoke_async(
        self, instance: str, function: str, payload: bytes, *, timeout: float | None = None
    ) -> bytes:
        """Call from asyncio, on the running loop (each call has its own connection)."""
        if self.closed:
            raise TransportError("the bus is closed", instance, function)
        if type(payload) is not bytes:
            payload = bytes(payload)
        call = TcpCall(
            self.host,
            self.port,
            instance,
            function,
            max_result=self.max_result,
            connect_timeout=self.connect_timeout,
        )
        return await engine.call(call, instance, function, payload, self.timeout if timeout is None else timeout)

    async def open_call(self, instance: str, function: str) -> tuple[TcpCall, float | None]:
        """The calling end of an invocation with futures or streams, and its timeout
        (for `witgen.runtime.wrpc.client`)."""
        if self.closed:
            raise TransportError("the bus is closed", instance, function)
        call = TcpCall(
            self.host,
            self.port,
            instance,
            function,
            max_result=self.max_result,
            connect_timeout=self.connect_timeout,
            nested=True,
        )
        return call, self.timeout

    # ------------------------------------------------------------------ serving

    async def serve_async(self, table: DispatchTable) -> TcpServing:
        """Answer calls to `table`; the first table starts listening on the address."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._loop is None:
                self._loop = loop
        if loop is not self._loop:
            return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self.serve_async(table), self._loop))
        if self.closed:
            raise TransportError("the bus is closed")
        listener = self._listener
        if listener is None:
            workers, queue, max_params = self._limits
            self._workers = Workers(workers, queue)
            server = engine.Server(Routes(), self._workers, max_params=max_params)
            listener = TcpListener(server)
            await listener.start(self.host, self.port)
            self._listener = listener
            self.port = listener.port
        try:
            listener.server.routes.add(table)
        except ValueError as exc:
            raise BusError(str(exc)) from None
        return TcpServing(listener.server.routes, table, self.address)

    def serve(self, table: DispatchTable) -> TcpServing:
        """`serve_async` from a thread other than the bus's loop."""
        if self.closed:
            raise TransportError("the bus is closed")
        return self._run(self.serve_async(table))

    @property
    def in_flight(self) -> int:
        """Calls being served now."""
        return 0 if self._listener is None else self._listener.server.in_flight

    # ------------------------------------------------------------------ closing

    async def stop_serving(self, grace: float, *, cancel: bool = False) -> None:
        """Stop listening; give the calls in flight `grace` s (then cancel them, with `cancel`)."""
        listener = self._listener
        if listener is not None:
            await listener.stop(grace, cancel=cancel)

    async def close_async(self, grace: float = 10.0) -> None:
        """Stop serving (calls in flight finish, at most `grace` s) and release the tables."""
        loop = self._loop
        if loop is not None and asyncio.get_running_loop() is not loop:
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self.close_async(grace), loop))
            return
        if self.closed:
            return
        self.closed = True
        listener, self._listener = self._listener, None
        if listener is not None:
            await listener.stop(grace)
            routes = listener.server.routes
            for table in list(routes.tables):
                routes.remove(table)
                table.handles.release_all()
        if self._workers is not None:
            self._workers.shutdown()

    def close(self, grace: float = 10.0) -> None:
        """`close_async` from another thread; stops the bus's own loop thread."""
        if not self.closed and (self._loop is not None):
            self._run(self.close_async(grace))
        self.closed = True
        owner, self._owner = self._owner, None
        if owner is not None:
            owner.stop()

    def __enter__(self) -> TcpBus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ internals

    def _home(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                self._owner = LoopThread("witgen-tcp")
                self._loop = self._owner.loop
            return self._loop

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        loop = self._home()
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            coro.close()
            raise BusError(
                "a synchronous call on the bus's own event loop would wait for itself: use the async form there"
            )
        return asyncio.run_coroutine_threadsafe(coro, loop).result()
