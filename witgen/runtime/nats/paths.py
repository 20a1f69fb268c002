"""Nested paths over NATS: the subjects of futures and streams while a call runs.

A pending value at path `(i, j)` travels on `R_s.params.i.j` (parameters) or
`R_c.results.i.j` (results), one message per chunk the writer wrote; its end chunk
ends it, and no empty message is sent to a nested subject (as the wRPC Go peers do).
witgen adds two things the Go peers ignore: a producer that fails sends an empty
message with the error headers to its subject, and an end that abandons a call sends
an empty message to the other end's `.cancel` subject (`R_s.cancel`, `R_c.cancel`).

Messages arrive on the connection's inbox wildcard subscription, so a path exists as
soon as the call is registered, before any message can come (nothing is lost between
the handshake and the first read). NATS has no flow control: what a slow reader has
not taken yet waits in its `PathQueue`, at most `max_pending` bytes, past which the
path fails (the reader sees why).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from witgen.runtime.errors import BusError, TransportError
from witgen.runtime.nats.subjects import ERROR_HEADER, ERROR_KIND_HEADER
from witgen.runtime.wrpc.errors import error_kind
from witgen.runtime.wrpc.transport import Path

if TYPE_CHECKING:
    from nats.aio.client import Client as NATS

__all__ = ["DEFAULT_MAX_PENDING", "PathQueue", "PathSink", "parse_path", "path_subject"]

DEFAULT_MAX_PENDING = 16 * 1024 * 1024
_MAX_INDEX = 0xFFFF_FFFF


def path_subject(base: str, path: Path) -> str:
    """`base.i.j` for path `(i, j)`."""
    return ".".join((base, *map(str, path)))


def parse_path(text: str) -> Path | None:
    """`"0.1"` -> `(0, 1)`; None for anything that is not dot-separated u32 indices."""
    parts = text.split(".")
    if len(parts) > 64 or not all(p.isdigit() and len(p) <= 10 for p in parts):
        return None
    path = tuple(int(p) for p in parts)
    return path if all(i <= _MAX_INDEX for i in path) else None


class PathQueue:
    """The messages of one nested path, as they arrive (a `ByteSource`)."""

    __slots__ = ("path", "chunks", "buffered", "max_pending", "ended", "error", "closed", "_waiter")

    def __init__(self, path: Path, max_pending: int = DEFAULT_MAX_PENDING) -> None:
        self.path = path
        self.chunks: deque[bytes] = deque()
        self.buffered = 0
        self.max_pending = max_pending
        self.ended = False
        self.error: BusError | None = None
        self.closed = False
        self._waiter: asyncio.Future[None] | None = None

    @property
    def complete(self) -> bool:
        return self.ended and not self.chunks

    def push(self, data: bytes) -> None:
        if self.closed or self.ended:
            return
        self.buffered += len(data)
        if self.buffered > self.max_pending:
            self.chunks.clear()
            self.fail(
                TransportError(
                    f"the reader of path {'.'.join(map(str, self.path))} fell more than"
                    f" {self.max_pending} bytes behind (NATS has no flow control)"
                )
            )
            return
        self.chunks.append(data)
        self._wake()

    def fail(self, error: BusError) -> None:
        if self.ended:
            return
        self.error = error
        self.ended = True
        self._wake()

    def end(self) -> None:
        self.ended = True
        self._wake()

    async def read(self) -> bytes:
        while True:
            if self.chunks:
                data = self.chunks.popleft()
                self.buffered -= len(data)
                return data
            if self.error is not None:
                raise self.error
            if self.ended or self.closed:
                return b""
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    def close(self) -> None:
        self.closed = True
        self.chunks.clear()
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class PathSink:
    """One nested path's messages out (a `ByteSink`). `subject()` gives the subject of
    the root (`R_s.params`, `R_c.results`) once known (a caller learns the provider's
    inbox from the handshake); `gone()` tells that the other end abandoned the call."""

    __slots__ = ("nc", "path", "subject", "gone")

    def __init__(
        self,
        nc: NATS,
        path: Path,
        subject: Callable[[], asyncio.Future[str] | str],
        gone: Callable[[], bool],
    ) -> None:
        self.nc = nc
        self.path = path
        self.subject = subject
        self.gone = gone

    async def _subject(self) -> str:
        found = self.subject()
        base = found if isinstance(found, str) else await found
        return path_subject(base, self.path)

    async def write(self, data: bytes) -> None:
        if self.gone():
            raise TransportError("the other end abandoned the call")
        subject = await self._subject()
        size = self.nc.max_payload
        for at in range(0, len(data), size):
            await self.nc.publish(subject, data[at : at + size])

    async def close(self) -> None:
        """Nothing to send: the end chunk ended the path."""

    async def fail(self, error: BusError) -> None:
        headers = {ERROR_HEADER: error.message, ERROR_KIND_HEADER: error_kind(error)}
        await self.nc.publish(await self._subject(), b"", headers=headers)
