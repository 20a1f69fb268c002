"""The serving end over TCP: a listener, and one `TcpIncoming` per accepted connection.

A connection is one invocation. The listener reads the version byte and the
header (within `header_timeout`; anything else is logged in one line and the
connection closed), hands a `TcpIncoming` to the engine's `Server.accept`, and
keeps reading frames for it. The result goes back as the root frame (sent even
when empty, as the wRPC Go servers do), a failure as witgen's error frame
(frames.py); either way the write side is then shut. The connection closes once
the caller has shut its side too (or `linger` seconds later).

A function with futures or streams opens parameter paths as their frames come, and
its pending results go out as frames on their own paths; the write side is shut once
the root and every such path closed. The caller resetting the connection (it stopped
reading) sets `lost`, which stops the producers.

TCP carries no caller identity: every TCP caller is the anonymous caller ("")
and shares its handle table, whose handles are minted unguessable. A connection
holds one call, so a handle cannot be tied to it: the next call that uses the
handle comes on another connection.
"""

from __future__ import annotations

import asyncio
import logging
import socket

from witgen.runtime.errors import BusError, InvalidPayload, TransportError
from witgen.runtime.tcp.address import format_address
from witgen.runtime.tcp.client import READ_SIZE, describe_os_error
from witgen.runtime.tcp.frames import (
    ERROR_PATH,
    FrameError,
    FrameParser,
    decode_error,
    encode_error,
    encode_frame,
)
from witgen.runtime.tcp.paths import HIGH_WATER, Demux, PathSink, PathSource, show_path
from witgen.runtime.wrpc.engine import Server, has_values
from witgen.runtime.wrpc.errors import error_from_kind, error_kind
from witgen.runtime.wrpc.logs import Throttled, printable
from witgen.runtime.wrpc.transport import ROOT, Path

__all__ = ["TcpIncoming", "TcpListener"]

log = logging.getLogger("witgen.runtime.tcp")
_BAD = Throttled(log, "bad connections")


class _ResultSink:
    """The root result: each write one frame; closing an empty result sends the empty frame."""

    __slots__ = ("incoming", "wrote")

    def __init__(self, incoming: TcpIncoming) -> None:
        self.incoming = incoming
        self.wrote = False

    async def write(self, data: bytes) -> None:
        if data:
            self.wrote = True
            await self.incoming.send(encode_frame(ROOT, data))

    async def close(self) -> None:
        if not self.wrote:
            self.wrote = True
            await self.incoming.send(encode_frame(ROOT, b""))
        self.incoming.root_done = True
        self.incoming.path_closed()


class TcpIncoming:
    """The serving end of one invocation (`Incoming`; module docstring)."""

    __slots__ = (
        "target",
        "instance",
        "function",
        "peer",
        "params",
        "writer",
        "finished",
        "lost",
        "open_paths",
        "root_done",
    )

    caller = ""  # TCP sends no caller identity
    headers = None
    deadline = None  # nor a deadline: the engine assumes one

    def __init__(self, instance: str, function: str, peer: str, writer: asyncio.StreamWriter, max_params: int) -> None:
        self.instance = instance
        self.function = function
        self.target = f"{instance}.{function}" if instance else function
        self.peer = peer
        self.writer = writer
        self.params = Demux((ROOT,), max_bytes=max_params)
        self.finished = asyncio.Event()
        self.lost = asyncio.Event()  # the caller went away before the end
        self.open_paths = 0
        self.root_done = False

    def source(self, path: Path) -> PathSource:
        return self.params.source(path)

    def sink(self, path: Path) -> _ResultSink | PathSink:
        if not path:
            return _ResultSink(self)
        if not self.params.nested:
            raise BusError(f"this call has no async value at path {show_path(path)}")
        self.open_paths += 1
        return PathSink(self, path)

    def path_ended(self) -> None:
        """A pending result's path ended."""
        self.open_paths -= 1
        self.path_closed()

    def path_closed(self) -> None:
        if self.root_done and self.open_paths == 0:
            self.finish()

    async def abandon(self) -> None:
        """End the call at once (a parameter's reader stopped): reset the connection."""
        self.finished.set()
        self.writer.transport.abort()

    async def fail(self, error: BusError) -> None:
        try:
            await self.send(encode_error(error_kind(error), error.message))
        finally:
            self.finish()

    async def send(self, frame: bytes) -> None:
        writer = self.writer
        try:
            writer.write(frame)
            await writer.drain()
        except OSError as exc:
            self.finished.set()
            self.lost.set()
            raise TransportError(f"the caller at {self.peer} went away: {describe_os_error(exc)}") from None

    def finish(self) -> None:
        """The exchange is over: shut the write side."""
        if self.finished.is_set():
            return
        self.finished.set()
        writer = self.writer
        try:
            if writer.can_write_eof() and not writer.is_closing():
                writer.write_eof()
        except OSError as exc:
            log.debug("%s: shutting the write side failed: %s", self.peer, exc)


class TcpListener:
    """Accepts connections and hands each invocation to `server` (module docstring)."""

    def __init__(
        self,
        server: Server,
        *,
        header_timeout: float = 10.0,
        linger: float = 5.0,
    ) -> None:
        self.server = server
        self.header_timeout = header_timeout
        self.linger = linger
        self.host = ""
        self.port = 0
        self._listener: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    @property
    def address(self) -> str:
        return format_address(self.host, self.port)

    async def start(self, host: str, port: int) -> None:
        """Listen on `host:port` (port 0: a free one, then `port` says which)."""
        try:
            listener = await asyncio.start_server(self._on_connection, host, port, limit=READ_SIZE)
        except OSError as exc:
            raise TransportError(
                f"cannot listen on {format_address(host, port)}: {describe_os_error(exc)}"
            ) from None
        self._listener = listener
        sockets = listener.sockets
        bound = sockets[0].getsockname() if sockets else (host, port)
        self.host = host
        self.port = int(bound[1])

    async def stop(self, grace: float, *, cancel: bool = False) -> None:
        """Take no new connections; let the calls in flight finish (at most `grace` s)."""
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        await self.server.stop(grace, cancel=cancel)
        if self._connections:
            await asyncio.wait(set(self._connections), timeout=grace if not cancel else 1.0)
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.wait(set(self._connections), timeout=1.0)

    async def _on_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        peer = _peer(writer)
        try:
            await self._serve(reader, writer, peer)
        except asyncio.CancelledError:
            writer.transport.abort()
            raise
        except Exception as exc:  # never let one connection take the listener down
            log.warning("%s: connection abandoned: %s: %s", peer, type(exc).__name__, exc)
            writer.transport.abort()
        finally:
            self._connections.discard(task)
            if not writer.is_closing():
                writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: str) -> None:
        max_params = self.server.max_params
        parser = FrameParser(header=True, max_data=max_params)
        try:
            async with asyncio.timeout(self.header_timeout):
                while parser.header is None:
                    data = await reader.read(READ_SIZE)
                    if not data:
                        parser.finish()
                    parser.feed(data)
        except TimeoutError:
            _BAD.warning("%s: no invocation header within %g s; connection closed", peer, self.header_timeout)
            return
        except FrameError as exc:
            _BAD.warning("%s: not a wRPC invocation: %s; connection closed", peer, exc)
            return
        except OSError as exc:
            log.debug("%s: connection lost before the header: %s", peer, describe_os_error(exc))
            return
        instance, function = parser.header
        incoming = TcpIncoming(instance, function, peer, writer, max_params)
        route = self.server.routes.find(incoming.target)
        incoming.params.nested = route is not None and has_values(route[1]) is not None
        reading = asyncio.get_running_loop().create_task(self._read(reader, parser, incoming))
        try:
            inline = self.server.accept(incoming)
            if inline is not None:
                await inline
            await incoming.finished.wait()
            # Wait for the caller to shut its side, so that closing does not reset
            # the connection under the answer it has yet to read.
            await asyncio.wait_for(asyncio.shield(reading), self.linger)
        except TimeoutError:
            log.debug("%s: the caller kept its side open %g s after the answer", peer, self.linger)
        finally:
            if not reading.done():
                reading.cancel()

    async def _read(self, reader: asyncio.StreamReader, parser: FrameParser, incoming: TcpIncoming) -> None:
        params = incoming.params
        try:
            data = b""  # first, the frames that came with the header
            while True:
                for path, chunk in parser.feed(data):
                    if path[:1] == ERROR_PATH and len(path) > 1 and params.nested:
                        kind, message = decode_error(chunk)
                        params.fail(
                            path[1:], error_from_kind(kind, printable(message, 500), incoming.instance, incoming.function)
                        )
                        continue
                    params.deliver(path, chunk)
                if params.buffered > HIGH_WATER:
                    await params.wait_drained()
                data = await reader.read(READ_SIZE)
                if not data:
                    parser.finish()
                    params.end_all()
                    return
        except FrameError as exc:
            self._malformed(incoming, exc)
        except OSError as exc:
            incoming.lost.set()
            error = TransportError(
                f"the connection from {incoming.peer} was lost: {describe_os_error(exc)}",
                incoming.instance,
                incoming.function,
            )
            if not params.fail_all(error):
                log.debug("%s: %s", incoming.target, error.message)

    def _malformed(self, incoming: TcpIncoming, exc: FrameError) -> None:
        """Fail the call's parameters; log here when nothing reads them any more."""
        error = InvalidPayload(
            f"malformed frames from {incoming.peer}: {exc}", incoming.instance, incoming.function
        )
        if not incoming.params.fail_all(error):
            _BAD.warning("%s: %s; the rest of the connection is ignored", printable(incoming.target), error.message)


def _peer(writer: asyncio.StreamWriter) -> str:
    name = writer.get_extra_info("peername")
    sock = writer.get_extra_info("socket")
    if isinstance(name, tuple) and len(name) >= 2:
        return format_address(str(name[0]), int(name[1]))
    if sock is not None and sock.family == socket.AF_UNIX:
        return "a local socket"
    return "an unknown peer"
