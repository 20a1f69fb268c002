"""The paths of one direction of a connection: frames in, byte sources out.

`Demux` routes each frame to the `PathSource` of its path. Only paths the
exchange expects exist (the root today); a frame for any other path, or for a
path that ended, is a protocol error, as for the wRPC Go peers. A frame with empty
data ends its path; the end of the connection ends every path.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable

from witgen.runtime.errors import BusError
from witgen.runtime.tcp.frames import FrameError
from witgen.runtime.wrpc.transport import ROOT, Path

__all__ = ["Demux", "PathSource", "show_path"]


def show_path(path: Path) -> str:
    """A path for messages: `root` or its indices joined by dots."""
    return ".".join(map(str, path)) if path else "root"


class PathSource:
    """The bytes of one path, as frames bring them (a `ByteSource`)."""

    __slots__ = ("path", "_chunks", "ended", "received", "_error", "_waiter", "_closed")

    def __init__(self, path: Path) -> None:
        self.path = path
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
                return self._chunks.popleft()
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
        self._chunks.clear()
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class Demux:
    """Frames of one direction -> the sources of the paths an exchange expects."""

    __slots__ = ("paths", "max_bytes", "seen")

    def __init__(self, expected: Iterable[Path] = (ROOT,), *, max_bytes: int) -> None:
        self.paths = {path: PathSource(path) for path in expected}
        self.max_bytes = max_bytes
        self.seen: set[Path] = set()  # paths that received a frame

    def source(self, path: Path) -> PathSource:
        found = self.paths.get(path)
        if found is None:
            raise BusError(
                f"async values on nested paths ({show_path(path)}) are not supported over TCP yet"
            )
        return found

    def deliver(self, path: Path, data: bytes) -> None:
        """One frame; `FrameError` for a path not expected or already ended, or past the cap."""
        source = self.paths.get(path)
        if source is None:
            raise FrameError(f"a frame for path {show_path(path)}, which this call does not use")
        if source.ended:
            raise FrameError(f"a frame for path {show_path(path)} after it ended")
        self.seen.add(path)
        if not data:
            source.end()
            return
        source.received += len(data)
        if source.received > self.max_bytes:
            raise FrameError(f"more than {self.max_bytes} bytes on path {show_path(path)}")
        source.push(data)

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
