"""An in-memory transport: both ends of one invocation in one process (`open_loopback`).

The in-process bus runs most calls inline; a function with futures or streams needs
its values to flow while the call runs, so it goes through the engine over this
transport instead. Each path is a `Pipe`: a queue of at most `PIPE_CHUNKS` chunks, so a
writer waits while its reader is behind (a slow reader holds a fast producer back).
A reader that closes its path makes the writer's next write fail, which stops that
producer; abandoning either end fails every path of both directions.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Mapping

from witgen.runtime.errors import BusError, TransportError
from witgen.runtime.wrpc.engine import Server
from witgen.runtime.wrpc.errors import error_from_kind, error_kind
from witgen.runtime.wrpc.transport import ROOT, Path

__all__ = ["PIPE_CHUNKS", "Pipe", "open_loopback"]

PIPE_CHUNKS = 16


class Pipe:
    """One path, one direction: a `ByteSink` at one end and a `ByteSource` at the other."""

    __slots__ = ("chunks", "ended", "error", "closed", "_readable", "_writable")

    def __init__(self) -> None:
        self.chunks: deque[bytes] = deque()
        self.ended = False
        self.error: BusError | None = None
        self.closed = False  # the reader is gone
        self._readable: asyncio.Future[None] | None = None
        self._writable: asyncio.Future[None] | None = None

    @property
    def complete(self) -> bool:
        return self.ended and not self.chunks

    async def write(self, data: bytes) -> None:
        while len(self.chunks) >= PIPE_CHUNKS and not self.closed:
            self._writable = asyncio.get_running_loop().create_future()
            await self._writable
        if self.closed:
            raise TransportError("the reader of this path is gone")
        if self.ended:
            raise TransportError("this path has ended")
        if data:
            self.chunks.append(data)
            _wake(self._readable)

    async def close(self) -> None:
        self.ended = True
        _wake(self._readable)

    async def fail(self, error: BusError) -> None:
        self.error = error
        self.ended = True
        _wake(self._readable)

    async def read(self) -> bytes:
        while True:
            if self.chunks:
                data = self.chunks.popleft()
                _wake(self._writable)
                return data
            if self.error is not None:
                raise self.error
            if self.ended or self.closed:
                return b""
            self._readable = asyncio.get_running_loop().create_future()
            await self._readable

    def close_reader(self) -> None:
        self.closed = True
        self.chunks.clear()
        _wake(self._writable)
        _wake(self._readable)


def _wake(waiter: asyncio.Future[None] | None) -> None:
    if waiter is not None and not waiter.done():
        waiter.set_result(None)


class _Source:
    """The reading end of a pipe (`close` stops reading it)."""

    __slots__ = ("pipe",)

    def __init__(self, pipe: Pipe) -> None:
        self.pipe = pipe

    @property
    def complete(self) -> bool:
        return self.pipe.complete

    async def read(self) -> bytes:
        return await self.pipe.read()

    def close(self) -> None:
        self.pipe.close_reader()


class _Pipes:
    """Both directions of one invocation, path by path (made on first use by either end)."""

    def __init__(self) -> None:
        self.params: dict[Path, Pipe] = {}
        self.results: dict[Path, Pipe] = {}
        self.lost = asyncio.Event()  # the caller abandoned the call
        self.gone = False

    def param(self, path: Path) -> Pipe:
        pipe = self.params.get(path)
        if pipe is None:
            pipe = self.params[path] = Pipe()
            if self.gone:
                pipe.error, pipe.ended = TransportError("the call was abandoned"), True
        return pipe

    def result(self, path: Path) -> Pipe:
        pipe = self.results.get(path)
        if pipe is None:
            pipe = self.results[path] = Pipe()
            if self.gone:
                pipe.error, pipe.ended = TransportError("the call was abandoned"), True
        return pipe

    def abandon(self, why: str) -> None:
        if self.gone:
            return
        self.gone = True
        self.lost.set()
        for pipe in (*self.params.values(), *self.results.values()):
            if not pipe.ended:
                pipe.error, pipe.ended = TransportError(why), True
            pipe.close_reader()


class LoopbackCall:
    """The calling end (`Outgoing`)."""

    def __init__(self, pipes: _Pipes) -> None:
        self.pipes = pipes

    def sink(self, path: Path) -> Pipe:
        return self.pipes.param(path)

    def source(self, path: Path) -> _Source:
        return _Source(self.pipes.result(path))

    async def aclose(self, error: BusError | None = None) -> None:
        if error is not None:
            self.pipes.abandon("the caller abandoned the call")


class LoopbackIncoming:
    """The serving end (`Incoming`)."""

    headers: Mapping[str, str] | None = None
    deadline: float | None = None

    def __init__(self, pipes: _Pipes, target: str, caller: str) -> None:
        self.pipes = pipes
        self.target = target
        self.caller = caller
        self.lost = pipes.lost

    def source(self, path: Path) -> _Source:
        return _Source(self.pipes.param(path))

    def sink(self, path: Path) -> Pipe:
        return self.pipes.result(path)

    async def fail(self, error: BusError) -> None:
        await self.pipes.result(ROOT).fail(error_from_kind(error_kind(error), error.message, "", ""))

    async def abandon(self) -> None:
        self.pipes.abandon("the provider abandoned the call")


def open_loopback(server: Server, target: str, caller: str) -> LoopbackCall:
    """A new invocation of `target`, served by `server` on the running loop."""
    pipes = _Pipes()
    incoming = LoopbackIncoming(pipes, target, caller)
    inline = server.accept(incoming)
    if inline is not None:
        asyncio.get_running_loop().create_task(inline)
    return LoopbackCall(pipes)
