"""Nested paths over NATS: the subjects of futures and streams while a call runs.

A pending value at path `(i, j)` travels on `R_s.params.i.j` (parameters) or
`R_c.results.i.j` (results), one message per chunk the writer wrote; its end chunk
ends it, and no empty message is sent to a nested subject (as the wRPC Go peers do).
witgen adds things the Go peers ignore: a producer that fails sends an empty message
with the error headers to its subject, and an end that abandons a call sends an empty
message to the other end's `.cancel` subject (`R_s.cancel`, `R_c.cancel`).

Messages arrive on the connection's inbox wildcard subscription, so a path exists as
soon as the call is registered, before any message can come (nothing is lost between
the handshake and the first read).

Between two witgen peers (the caller sends `witgen-streams: 1` on the invocation, the
provider answers it on the handshake) each end also serves, under its own base subject
(`R_c`, `R_s`), which it keeps subscribed for the whole call:
- `<base>.credit.<path>`: the reader of `path` took this many more bytes (decimal). A
  producer sends at most `WINDOW` bytes beyond what its reader took, then waits.
- `<base>.cancel.<path>`: the reader of `path` stopped: its producer stops.
- `<base>.ping`: a request; the answer is empty while the call is known, `gone` after.
  A reader (or a producer waiting for credit) idle for `PROBE_IDLE` seconds asks; the
  server's "no responders" (the peer's connection is gone) or `gone` ends the path with
  `TransportError`. A peer that is alive but slow answers, and is waited for.
With a Go peer (no header) nothing of that is sent: what a slow reader has not taken
waits in its `PathQueue`, at most `max_pending` bytes, past which the path fails, and a
peer that dies mid-stream is not noticed.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from witgen.runtime.errors import BusError, TransportError
from witgen.runtime.nats.client import outbox
from witgen.runtime.nats.subjects import ERROR_HEADER, ERROR_KIND_HEADER
from witgen.runtime.wrpc.errors import error_from_kind, error_kind
from witgen.runtime.wrpc.logs import printable
from witgen.runtime.wrpc.transport import Path

if TYPE_CHECKING:
    from nats.aio.client import Client as NATS

__all__ = [
    "DEFAULT_MAX_PENDING",
    "PROBE_IDLE",
    "STREAMS_HEADER",
    "WINDOW",
    "NestedPaths",
    "PathQueue",
    "PathSink",
    "parse_path",
    "path_subject",
]

log = logging.getLogger("witgen.runtime.nats")

DEFAULT_MAX_PENDING = 16 * 1024 * 1024
STREAMS_HEADER = "witgen-streams"  # "1": credit, per-path cancel and liveness probes
WINDOW = 2 * 1024 * 1024  # bytes a producer may send beyond what its reader took
PROBE_IDLE = 1.0  # seconds a path waits before asking whether its peer is still there
PROBE_TIMEOUT = 5.0  # an unanswered probe proves nothing: the peer may be busy
MAX_UNFLUSHED = 4 * 1024 * 1024  # bytes a producer leaves in the client's buffer before a flush
_MAX_PATHS = 4096
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


def _show(path: Path) -> str:
    return ".".join(map(str, path))


class NestedPaths:
    """The nested paths of one call at one end (module docstring).

    `own` is this end's base subject (`R_c` or `R_s`); `other` the peer's, once known;
    `inbound`/`outbound` the legs read and written (`results`/`params` for a caller).
    """

    def __init__(self, nc: NATS, own: str, inbound: str, outbound: str) -> None:
        self.nc = nc
        self.own = own
        self.inbound = inbound
        self.outbound = outbound
        self.other: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.witgen = False  # the peer speaks the additions (credit, cancel, ping)
        self.gone = False  # the peer abandoned the call or went away
        self.ended = asyncio.Event()  # ... and when it did
        self.queues: dict[Path, PathQueue] = {}
        self.sinks: dict[Path, PathSink] = {}
        self._probe: asyncio.Task[BusError | None] | None = None

    def known(self, other: str, witgen: bool) -> None:
        """The peer's base subject, and whether it speaks witgen's additions."""
        self.witgen = witgen
        if not self.other.done():
            self.other.set_result(other)

    def queue(self, path: Path) -> PathQueue:
        found = self.queues.get(path)
        if found is None:
            found = self.queues[path] = PathQueue(path, owner=self)
        return found

    def sink(self, path: Path) -> PathSink:
        found = self.sinks[path] = PathSink(self, path)
        return found

    def deliver(self, leg: str, data: bytes, headers: Mapping[str, str] | None) -> None:
        """A message on `<own>.<leg>`: a path's chunk, a credit, a cancel or a ping."""
        head, _, tail = leg.partition(".")
        path = parse_path(tail) if tail else None
        if path is None:
            return
        if head == self.inbound:
            queue = self.queues.get(path)
            if queue is None:
                if len(self.queues) >= _MAX_PATHS:
                    return
                queue = self.queue(path)
            if data:
                queue.push(data)
                return
            if headers and ERROR_HEADER in headers:
                queue.fail(_error(headers))
            return
        sink = self.sinks.get(path)
        if sink is None:
            return
        if head == "credit":
            text = data.decode("ascii", "replace")
            if text.isdigit() and len(text) <= 12:
                sink.grant(int(text))
        elif head == "cancel":
            sink.cancel()

    def abandoned(self) -> None:
        """The peer abandoned the whole call (`<own>.cancel`)."""
        self.gone = True
        self.ended.set()
        error = TransportError("the other end abandoned the call")
        for queue in self.queues.values():
            queue.fail(error)
        for sink in self.sinks.values():
            sink.cancel()

    def lost(self, error: BusError) -> None:
        """The peer is gone: every path fails."""
        self.gone = True
        self.ended.set()
        for queue in self.queues.values():
            queue.fail(error)
        for sink in self.sinks.values():
            sink.fail_waiting(error)

    async def send(self, leg: str, data: bytes) -> None:
        """A message to `<other>.<leg>`, if the peer speaks the additions."""
        if not self.witgen or not self.other.done() or self.other.cancelled():
            return
        try:
            outbox(self.nc).send(f"{self.other.result()}.{leg}", data)
        except Exception as exc:
            log.debug("cannot send %s: %s", leg, exc)

    def send_soon(self, leg: str, data: bytes) -> None:
        if self.witgen and self.other.done() and not self.other.cancelled():
            asyncio.get_running_loop().create_task(self.send(leg, data))

    async def probe(self) -> BusError | None:
        """Ask the peer whether it is still there: the error to end with when not."""
        if not self.witgen or not self.other.done() or self.other.cancelled():
            return None
        task = self._probe
        if task is None or task.done():
            task = self._probe = asyncio.get_running_loop().create_task(self._ask())
        error = await asyncio.shield(task)
        if error is not None and not self.gone:
            self.lost(error)
        return error

    async def _ask(self) -> BusError | None:
        from nats.errors import NoRespondersError
        from nats.errors import TimeoutError as NatsTimeout

        subject = f"{self.other.result()}.ping"
        try:
            reply = await self.nc.request(subject, b"", timeout=PROBE_TIMEOUT)
        except NoRespondersError:
            return TransportError("the other end of the call is gone (its NATS connection closed)")
        except (NatsTimeout, asyncio.TimeoutError):
            return None  # busy, or the network is slow: ask again later
        except Exception as exc:
            log.debug("cannot ask the other end of the call: %s", exc)
            return None
        if reply.data == b"gone":
            return TransportError("the other end of the call no longer has it")
        return None


def _error(headers: Mapping[str, str]) -> BusError:
    return error_from_kind(headers.get(ERROR_KIND_HEADER, ""), printable(headers[ERROR_HEADER], 500), "", "")


class PathQueue:
    """The messages of one nested path, as they arrive (a `ByteSource`)."""

    __slots__ = (
        "path",
        "owner",
        "chunks",
        "buffered",
        "max_pending",
        "high_water",
        "taken",
        "ended",
        "error",
        "closed",
        "_waiter",
    )

    def __init__(self, path: Path, max_pending: int = DEFAULT_MAX_PENDING, owner: NestedPaths | None = None) -> None:
        self.path = path
        self.owner = owner
        self.chunks: deque[bytes] = deque()
        self.buffered = 0
        self.max_pending = max_pending
        self.high_water = 0  # the most bytes that waited unread at once
        self.taken = 0  # bytes read and not yet granted back to the producer
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
                    f"the reader of path {_show(self.path)} fell more than"
                    f" {self.max_pending} bytes behind (this peer has no flow control over NATS)"
                )
            )
            return
        if self.buffered > self.high_water:
            self.high_water = self.buffered
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
                self._took(len(data))
                return data
            if self.error is not None:
                raise self.error
            if self.ended or self.closed:
                return b""
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            try:
                if self.owner is None or not self.owner.witgen:
                    await waiter
                    continue
                done, _ = await asyncio.wait({waiter}, timeout=PROBE_IDLE)
                if not done:  # idle: is the producer still there?
                    error = await self.owner.probe()
                    if error is not None:
                        self.fail(error)
            finally:
                self._waiter = None
                if not waiter.done():
                    waiter.cancel()

    def _took(self, size: int) -> None:
        owner = self.owner
        if owner is None or not owner.witgen:
            return
        self.taken += size
        if self.taken >= WINDOW // 4:
            taken, self.taken = self.taken, 0
            owner.send_soon(f"credit.{_show(self.path)}", str(taken).encode())

    def stop(self) -> None:
        """Stop reading before the value's end: its producer is told to stop."""
        if not self.closed and not self.ended and self.owner is not None:
            self.owner.send_soon(f"cancel.{_show(self.path)}", b"")
        self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.chunks.clear()
        self.buffered = 0
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class PathSink:
    """One nested path's messages out (a `ByteSink`): to `<other>.<outbound>.<path>`
    once the peer's base subject is known (a caller learns it from the handshake).
    With a witgen peer, at most `WINDOW` bytes beyond what its reader took."""

    __slots__ = ("paths", "path", "credit", "stopped", "error", "on_stop", "_waiter")

    def __init__(self, paths: NestedPaths, path: Path) -> None:
        self.paths = paths
        self.path = path
        self.credit = WINDOW
        self.stopped = False  # the reader stopped this path
        self.error: BusError | None = None
        self.on_stop: Any = None  # called once when the reader stops the path
        self._waiter: asyncio.Future[None] | None = None

    def stop_with(self, callback: Any) -> None:
        """Run `callback()` when the reader stops this path (at once if it did)."""
        if self.stopped:
            callback()
        else:
            self.on_stop = callback

    def grant(self, size: int) -> None:
        self.credit += size
        self._wake()

    def cancel(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        self._wake()
        callback, self.on_stop = self.on_stop, None
        if callback is not None:
            callback()

    def fail_waiting(self, error: BusError) -> None:
        self.error = error
        self._wake()

    async def _subject(self) -> str:
        base = await self.paths.other
        return path_subject(f"{base}.{self.paths.outbound}", self.path)

    async def write(self, data: bytes) -> None:
        paths = self.paths
        subject = await self._subject()
        nc = paths.nc
        box = outbox(nc)
        if box.waiting:  # what the call sent before (its root result) goes first
            await box.drained()
        size = nc.max_payload
        for at in range(0, len(data), size):
            if paths.gone or self.stopped:
                raise TransportError("the other end abandoned the call")
            if paths.witgen:
                await self._wait_credit()
            piece = data[at : at + size]
            self.credit -= len(piece)
            await nc.publish(subject, piece)
            if nc.pending_data_size > MAX_UNFLUSHED:  # keep the client's buffer bounded
                await nc.flush()

    async def _wait_credit(self) -> None:
        while self.credit <= 0:
            if self.error is not None:
                raise self.error
            if self.stopped:
                raise TransportError("the reader stopped the stream")
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            try:
                done, _ = await asyncio.wait({waiter}, timeout=PROBE_IDLE)
                if not done:  # the reader took nothing for a while: is it still there?
                    error = await self.paths.probe()
                    if error is not None:
                        raise error
            finally:
                self._waiter = None
                if not waiter.done():
                    waiter.cancel()

    async def close(self) -> None:
        """Nothing to send: the end chunk ended the path."""

    async def fail(self, error: BusError) -> None:
        headers = {ERROR_HEADER: error.message, ERROR_KIND_HEADER: error_kind(error)}
        outbox(self.paths.nc).send(await self._subject(), b"", headers=headers)

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
