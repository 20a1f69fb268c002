"""The calling end of one invocation over TCP: one connection, then frames both ways.

    call = TcpCall(host, port, instance, function, max_result=...)
    await engine.call(call, instance, function, payload, timeout)

As the wRPC Go clients do: the connection opens when the root parameters are
complete; one write carries the version byte, the header and the root frame (sent
even when empty), then the write side is shut once no other path is open. Results
arrive on the root path until it ends (an empty frame, or the provider's
half-close). A witgen provider's error frame ends the call with the error kind it
names; a connection that ends before any result is a `TransportError`.

A call with futures or streams (`nested=True`) opens a sink per pending parameter
before the root is sent; their frames follow, and the write side is shut when the
last one closes (no empty frame ends a nested path: its end chunk does). Results on
nested paths are buffered until their readers come. Releasing the call with an error
(the caller stopped reading) resets the connection, which stops the provider's
producers.
"""

from __future__ import annotations

import asyncio
import logging
import os

from witgen.runtime.errors import BusError, InvalidPayload, TransportError
from witgen.runtime.tcp.address import format_address
from witgen.runtime.tcp.frames import (
    ERROR_PATH,
    FrameError,
    FrameParser,
    decode_error,
    encode_frame,
    encode_preamble,
)
from witgen.runtime.tcp.paths import HIGH_WATER, Demux, PathSink, PathSource, show_path
from witgen.runtime.wrpc.errors import error_from_kind
from witgen.runtime.wrpc.logs import printable
from witgen.runtime.wrpc.transport import ROOT, Path

__all__ = ["READ_SIZE", "TcpCall"]

log = logging.getLogger("witgen.runtime.tcp")

READ_SIZE = 256 * 1024


def describe_os_error(exc: OSError) -> str:
    """`Connection refused`, not asyncio's `Connect call failed (...)`."""
    if exc.errno:
        return os.strerror(exc.errno)
    return exc.strerror or str(exc) or type(exc).__name__


class _RootSink:
    """The root parameters: kept until complete, then sent with the header."""

    __slots__ = ("call", "parts", "closed")

    def __init__(self, call: TcpCall) -> None:
        self.call = call
        self.parts: list[bytes] = []
        self.closed = False

    async def write(self, data: bytes) -> None:
        if self.closed:
            raise BusError("the root parameters were already sent")
        if data:
            self.parts.append(data)

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            await self.call.start(b"".join(self.parts))
            self.parts = []

    async def fail(self, error: BusError) -> None:
        await self.close()


class TcpCall:
    """The calling end of one invocation (`Outgoing`; module docstring)."""

    __slots__ = (
        "host",
        "port",
        "instance",
        "function",
        "results",
        "_root",
        "_writer",
        "_reading",
        "_closed",
        "_connect_timeout",
        "max_result",
        "_open",
        "_flow",
    )

    def __init__(
        self,
        host: str,
        port: int,
        instance: str,
        function: str,
        *,
        max_result: int,
        connect_timeout: float | None = None,
        nested: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        self.instance = instance
        self.function = function
        self.max_result = max_result
        self.results = Demux((ROOT,), max_bytes=max_result, nested=nested)
        self._root = _RootSink(self)
        self._open = 0  # nested parameter paths not closed yet
        self._flow = asyncio.Lock()
        self._writer: asyncio.StreamWriter | None = None
        self._reading: asyncio.Task[None] | None = None
        self._closed = False
        self._connect_timeout = connect_timeout

    @property
    def address(self) -> str:
        return format_address(self.host, self.port)

    def sink(self, path: Path) -> _RootSink | PathSink:
        if not path:
            return self._root
        if not self.results.nested:
            raise BusError(f"this call has no async value at path {show_path(path)}")
        self._open += 1
        return PathSink(self, path)

    async def send(self, frame: bytes) -> None:
        """Write one frame, waiting while the provider is behind."""
        writer = self._writer
        if writer is None or writer.is_closing():
            raise TransportError(f"the connection to {self.address} is closed")
        try:
            writer.write(frame)
            async with self._flow:
                await writer.drain()
        except OSError as exc:
            raise TransportError(f"the connection to {self.address} was lost: {describe_os_error(exc)}") from None

    def path_ended(self) -> None:
        self._open -= 1
        if self._open == 0 and self._root.closed:
            self._shut()

    def _shut(self) -> None:
        writer = self._writer
        try:
            if writer is not None and writer.can_write_eof() and not writer.is_closing():
                writer.write_eof()
        except OSError as exc:
            log.debug("%s: shutting the write side failed: %s", self.address, exc)

    def source(self, path: Path) -> PathSource:
        return self.results.source(path)

    async def start(self, params: bytes) -> None:
        """Connect, send the header and the root parameters, shut the write side."""
        try:
            async with asyncio.timeout(self._connect_timeout):
                reader, writer = await asyncio.open_connection(self.host, self.port)
        except TimeoutError:
            raise TransportError(
                f"cannot connect to {self.address}: no answer within {self._connect_timeout:g} s"
            ) from None
        except OSError as exc:
            raise TransportError(f"cannot connect to {self.address}: {describe_os_error(exc)}") from None
        self._writer = writer
        if self._closed:  # released while connecting
            writer.close()
            return
        self._reading = asyncio.get_running_loop().create_task(self._read(reader))
        try:
            writer.write(encode_preamble(self.instance, self.function) + encode_frame(ROOT, params))
            if not self._open and writer.can_write_eof():
                writer.write_eof()
            await writer.drain()
        except OSError as exc:
            # The provider may have answered already (an error frame) and closed: let the
            # reader tell; else this is the failure.
            if not self.results.seen:
                raise TransportError(
                    f"cannot send the call to {self.address}: {describe_os_error(exc)}"
                ) from None

    async def _read(self, reader: asyncio.StreamReader) -> None:
        parser = FrameParser(header=False, max_data=self.max_result)
        results = self.results
        try:
            while True:
                data = await reader.read(READ_SIZE)
                if not data:
                    try:
                        parser.finish()
                    except FrameError as exc:  # the provider went away, not a malformed frame
                        results.fail_all(TransportError(f"the connection to {self.address} was lost: {exc}"))
                        return
                    break
                for path, chunk in parser.feed(data):
                    if path[:1] == ERROR_PATH and len(path) > 1 and results.nested:
                        kind, message = decode_error(chunk)
                        results.fail(path[1:], error_from_kind(kind, printable(message, 500), self.instance, self.function))
                        continue
                    if path == ERROR_PATH:
                        kind, message = decode_error(chunk)
                        results.fail_all(
                            error_from_kind(
                                kind,
                                f"results ended without a value ({printable(message, 500)})",
                                self.instance,
                                self.function,
                            )
                        )
                        return
                    results.deliver(path, chunk)
                if results.buffered > HIGH_WATER:
                    await results.wait_drained()
        except FrameError as exc:
            results.fail_all(
                InvalidPayload(f"the provider at {self.address} sent malformed frames: {exc}")
            )
            return
        except OSError as exc:
            results.fail_all(
                TransportError(f"the connection to {self.address} was lost: {describe_os_error(exc)}")
            )
            return
        if ROOT not in results.seen:
            results.fail_all(
                TransportError(f"the provider at {self.address} closed the connection without a result")
            )
        results.end_all()

    async def aclose(self, error: BusError | None = None) -> None:
        if self._closed:
            return
        self._closed = True
        reading, self._reading = self._reading, None
        finished = reading is None or reading.done()
        if not finished:
            assert reading is not None
            reading.cancel()
        writer, self._writer = self._writer, None
        if writer is not None:
            if error is None and (finished or self.results.nested):
                writer.close()
            else:  # the call was abandoned (a timeout, a cancellation): nothing more to send
                writer.transport.abort()
