"""The paths of one direction of a connection: frames in, byte sources out.

`Demux` routes each frame to the `PathSource` of its path. For a call without async
values only the root exists; a frame for any other path, or for a path that ended,
is a protocol error, as for the wRPC Go peers. For a call with futures or streams
(`nested=True`) a frame on a new path opens it (at most `MAX_PATHS`), buffered until
its reader comes. A frame with empty data ends its path; the end of the connection
ends every path.

Flow control: `buffered` counts the bytes received and not yet read on every path;
the connection's reader stops reading the socket while it is above `HIGH_WATER`
(`wait_drained`), so a slow reader holds the sender back through TCP itself.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable
from typing import Protocol

from witgen.runtime.errors import BusError
from witgen.runtime.tcp.frames import FrameError, encode_error, encode_frame
from witgen.runtime.wrpc.errors import error_kind
from witgen.runtime.wrpc.transport import ROOT, Path

__all__ = ["HIGH_WATER", "MAX_PATHS", "Demux", "PathSink", "PathSource", "show_path"]

HIGH_WATER = 1024 * 1024  # bytes buffered on a connection's paths before reading pauses
MAX_PATHS = 4096  # paths one direction of a call may open


class _SendingEnd(Protocol):
    async def send(self, frame: bytes) -> None: ...

    def path_ended(self) -> None: ...


class PathSink:
    """A pending value's path in the sending direction: each write one frame; closing it
    tells its end (which shuts the write side once every path has ended)."""

    __slots__ = ("end", "path", "closed")

    def __init__(self, end: _SendingEnd, path: Path) -> None:
        self.end = end
        self.path = path
        self.closed = False

    async def write(self, data: bytes) -> None:
        if data:
            await self.end.send(encode_frame(self.path, data))

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.end.path_ended()

    async def fail(self, error: BusError) -> None:
        if not self.closed:
            try:
                await self.end.send(encode_error(error_kind(error), error.message, self.path))
            finally:
                await self.close()


def show_path(path: Path) -> str:
    """A path for messages: `root` or its indices joined by dots."""
    return ".".join(map(str, path)) if path else "root"


class PathSource:
    """The bytes of one path, as frames bring them (a `ByteSource`)."""

    __slots__ = ("path", "owner", "_chunks", "ended", "received", "_error", "_waiter", "_closed")

    def __init__(self, path: Path, owner: Demux | None = None) -> None:
        self.path = path
        self.owner = owner
        self._chunks: deque[bytes] = deque()
        self.ended = False
        self.received = 0  # bytes, for the cap
        self._error: BusError | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._closed = False

    @property
    def complete(self) -> bool:
        return self.ended and self._error is None

    def push(self, data: bytes) -> None:
        if not self._closed:
            self._chunks.append(data)
            self._wake()

    def end(self) -> None:
        self.ended = True
        self._wake()

    def fail(self, error: BusError) -> bool:
        """Make the reader raise `error` after what arrived; whether the path was open."""
        if self.ended or self._error is not None:
            return False
        self._error = error
        self._wake()
        return not self._closed

    async def read(self) -> bytes:
        while True:
            if self._chunks:
                data = self._chunks.popleft()
                if self.owner is not None:
                    self.owner.consumed(len(data))
                return data
            if self._error is not None:
                raise self._error
            if self.ended or self._closed:
                return b""
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                self._waiter = None

    def close(self) -> None:
        self._closed = True
        if self.owner is not None:
            self.owner.consumed(sum(map(len, self._chunks)))
        self._chunks.clear()
        self._wake()

    @property
    def closed(self) -> bool:
        """The reader stopped reading (what arrives is dropped)."""
        return self._closed

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class Demux:
    """Frames of one direction -> the sources of the paths an exchange expects."""

    __slots__ = ("paths", "max_bytes", "seen", "nested", "buffered", "_drained")

    def __init__(self, expected: Iterable[Path] = (ROOT,), *, max_bytes: int, nested: bool = False) -> None:
        self.paths = {path: PathSource(path, self) for path in expected}
        self.max_bytes = max_bytes
        self.seen: set[Path] = set()  # paths that received a frame
        self.nested = nested
        self.buffered = 0
        self._drained: asyncio.Future[None] | None = None

    def source(self, path: Path) -> PathSource:
        found = self.paths.get(path)
        if found is None:
            if not self.nested:
                raise BusError(f"this call has no async value at path {show_path(path)}")
            found = self.paths[path] = PathSource(path, self)
        return found

    def consumed(self, size: int) -> None:
        self.buffered -= size
        waiter = self._drained
        if waiter is not None and self.buffered <= HIGH_WATER // 2 and not waiter.done():
            waiter.set_result(None)

    async def wait_drained(self) -> None:
        """Until the paths' readers took enough of what is buffered (flow control)."""
        while self.buffered > HIGH_WATER:
            self._drained = asyncio.get_running_loop().create_future()
            try:
                await self._drained
            finally:
                self._drained = None

    def deliver(self, path: Path, data: bytes) -> None:
        """One frame; `FrameError` for a path not expected or already ended, or past the cap."""
        source = self.paths.get(path)
        if source is None and self.nested and path and len(self.paths) < MAX_PATHS:
            source = self.paths[path] = PathSource(path, self)
        if source is None:
            raise FrameError(f"a frame for path {show_path(path)}, which this call does not use")
        if source.ended:
            raise FrameError(f"a frame for path {show_path(path)} after it ended")
        self.seen.add(path)
        if not data:
            source.end()
            return
        if source.closed:
            return
        source.received += len(data)
        if source.received > self.max_bytes and not path:
            raise FrameError(f"more than {self.max_bytes} bytes on path {show_path(path)}")
        self.buffered += len(data)
        source.push(data)

    def fail(self, path: Path, error: BusError) -> None:
        """The sender failed the value at `path` (witgen's error frame for a nested path)."""
        source = self.paths.get(path)
        if source is None and self.nested and len(self.paths) < MAX_PATHS:
            source = self.paths[path] = PathSource(path, self)
        if source is not None:
            source.fail(error)

    def end_all(self) -> None:
        """The direction ended (a half-close): every path ends."""
        for source in self.paths.values():
            source.end()

    def fail_all(self, error: BusError) -> bool:
        """Every open path fails with `error`; whether a reader was still there to see it."""
        seen = False
        for source in self.paths.values():
            seen = source.fail(error) or seen
        return seen
