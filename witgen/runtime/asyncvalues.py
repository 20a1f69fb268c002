"""Futures and streams whose values travel on their own path while a call runs.

A `future<T>` or `stream<T>` inside parameters or a result is written where it sits as
one status byte: `01` and the value when it is ready (`values.Future(v)`, a complete
`values.Stream([...])`), `00` when it is pending. A pending value's bytes follow on its
own *path* (a tuple of indices: parameter 1 -> `(1,)`, field 0 of the result ->
`(0, 0)`): a future's value once; a stream's chunks, each a `list<T>` (count, items),
until an empty chunk (`00`) ends it. Bytes after the end (the wRPC Go peers send a
second `00`) are ignored.

The built codecs (`compiler.has_async` types) call the helpers below with the path and
the call's `Exchange` (`CURRENT`, set by the wRPC engine around encoding and decoding):
- encoding: a ready value goes inline; anything else writes `00` and is registered as a
  `Producer` of its path (the engine sends it as it is produced);
- decoding: `00` gives a `StreamReader` or `FutureReader` bound to the path.

Receiving side: a `StreamReader` is an async iterator (`async for`) and a blocking
iterator (`for`, from a thread other than the call's event loop); items of
`stream<u8>` come as `bytes` chunks. A `FutureReader` is awaitable (`await`), or
`result()` from another thread. Closing a reader (`aclose()`, `close()`, or dropping
it) tells the exchange, which stops the producer at the other end.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable, Generator
from contextvars import ContextVar
from typing import Any, Protocol, TypeVar

from witgen.runtime import values
from witgen.runtime.errors import InvalidPayload, TransportError
from witgen.runtime.primitives import CodecError, Incomplete

__all__ = [
    "CURRENT",
    "AsyncType",
    "Exchange",
    "FutureReader",
    "Producer",
    "StreamReader",
    "get_future",
    "get_stream",
    "put_future",
    "put_stream",
    "show_path",
]

T = TypeVar("T")
Path = tuple[int, ...]

# The exchange whose values are being encoded or decoded (None outside a wRPC call).
CURRENT: ContextVar[Exchange | None] = ContextVar("witgen_exchange", default=None)

# Bytes a reader keeps while a value is incomplete (a chunk or future larger than this
# fails the reader).
DEFAULT_MAX_PENDING = 64 * 1024 * 1024


def show_path(path: Path) -> str:
    """A path for messages: `root` or its indices joined by dots."""
    return ".".join(map(str, path)) if path else "root"


class AsyncType:
    """What the exchange needs to code one future or stream type on its own path.

    For a stream, `write`/`read`/`message` code a chunk (`list<T>`); for a future, the
    value. They are None for `future` and `stream` without a payload type.
    """

    __slots__ = ("kind", "wit", "write", "read", "message", "nested", "is_bytes", "is_text")

    def __init__(
        self,
        kind: str,
        wit: str,
        *,
        write: Callable[[bytearray, Any], None] | None,
        read: Callable[..., tuple[Any, int]] | None,
        message: Callable[[Any], bytes] | None,
        nested: bool,
        is_bytes: bool,
        is_text: bool,
    ) -> None:
        self.kind = kind
        self.wit = wit
        self.write = write
        self.read = read
        self.message = message
        self.nested = nested
        self.is_bytes = is_bytes
        self.is_text = is_text

    def chunk(self, items: list[Any]) -> bytes:
        """One chunk of stream items as it travels (`stream<u8>`: `bytes` chunks joined)."""
        if self.is_bytes:
            for item in items:
                if not isinstance(item, (bytes, bytearray, memoryview)):
                    raise CodecError(f"a {self.wit} carries bytes chunks, not {type(item).__name__}")
            data = items[0] if len(items) == 1 else b"".join(items)
            assert self.message is not None
            return self.message(data)
        if self.message is None:
            return _uleb(len(items))
        return self.message(items)


def _uleb(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


class Producer:
    """A pending value to send on `path`: an (async) iterable, or an awaitable."""

    __slots__ = ("path", "type", "value")

    def __init__(self, path: Path, t: AsyncType, value: Any) -> None:
        self.path = path
        self.type = t
        self.value = value


class ByteSource(Protocol):
    async def read(self) -> bytes: ...

    def close(self) -> None: ...


class Exchange:
    """The async values of one end of one call: producers to send, readers to feed.

    `opener(path)` gives the bytes arriving on a path (bound by the engine; readers open
    their path on first use). `on_reader_end(cancelled)` runs on `loop` when a reader
    finishes (`cancelled`: closed before its end).
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop | None = None,
        opener: Callable[[Path], ByteSource] | None = None,
        where: str = "",
    ) -> None:
        self.loop = loop
        self.opener = opener
        self.where = where
        self.producers: list[Producer] = []
        self.max_pending = DEFAULT_MAX_PENDING
        self.live = 0  # readers not ended yet
        self.cancelled = 0  # readers closed before their end
        self.on_reader_end: Callable[[bool], None] | None = None
        self._lock = threading.Lock()

    def produce(self, path: Path, t: AsyncType, value: Any) -> None:
        self.producers.append(Producer(path, t, value))

    def opened(self) -> None:
        with self._lock:
            self.live += 1

    def ended(self, cancelled: bool) -> None:
        with self._lock:
            self.live -= 1
            if cancelled:
                self.cancelled += 1
        hook, loop = self.on_reader_end, self.loop
        if hook is None or loop is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            hook(cancelled)
        elif not loop.is_closed():
            loop.call_soon_threadsafe(hook, cancelled)

    def open(self, path: Path) -> ByteSource:
        if self.opener is None:
            raise TransportError(f"the value at path {show_path(path)} is not part of a call in progress")
        return self.opener(path)


# --------------------------------------------------------------------------- the codecs' helpers


def put_stream(buf: bytearray, v: Any, path: Path, exchange: Exchange | None, t: AsyncType) -> None:
    """Write a stream: a complete `values.Stream` inline, anything iterable as pending."""
    if type(v) is values.Stream and isinstance(v.items, (list, tuple, bytes, bytearray)):
        buf.append(1)
        items: Any = v.items
        if t.is_bytes and not isinstance(items, (bytes, bytearray)):
            items = bytes(items) if not items or isinstance(items[0], int) else b"".join(items)
        if t.write is None:
            buf += _uleb(len(items))
        else:
            t.write(buf, items)
        return
    if t.is_text and isinstance(v, str) or t.is_bytes and isinstance(v, (bytes, bytearray, memoryview)):
        hint = "a list of bytes chunks" if t.is_bytes else "a list of strings"
        raise CodecError(f"a {t.wit} takes an iterable of items, not one {type(v).__name__}: wrap it in {hint}")
    if not (hasattr(v, "__aiter__") or hasattr(v, "__iter__")):
        raise CodecError(f"a {t.wit} takes an iterable or async iterable, not {type(v).__name__}")
    if t.nested:
        raise CodecError(f"a pending {t.wit} whose items hold futures or streams is not supported")
    if exchange is None:
        raise CodecError(f"a {t.wit} that is not a complete values.Stream can only be sent in a wRPC call")
    buf.append(0)
    exchange.produce(path, t, v)


def put_future(buf: bytearray, v: Any, path: Path, exchange: Exchange | None, t: AsyncType) -> None:
    """Write a future: a ready value inline (a `values.Future`, or a plain value), any
    awaitable as pending (`values.Future(awaitable)` too)."""
    if type(v) is values.Future:
        v = v.value
    if not hasattr(v, "__await__"):  # a value: ready now (no WIT value is awaitable)
        buf.append(1)
        if t.write is not None:
            t.write(buf, v)
        return
    if t.nested or t.write is None:
        raise CodecError(f"a pending {t.wit} is not supported: send a ready values.Future")
    if exchange is None:
        raise CodecError(f"a {t.wit} that is not ready can only be sent in a wRPC call")
    buf.append(0)
    exchange.produce(path, t, v)


def get_stream(path: Path, exchange: Exchange | None, t: AsyncType) -> StreamReader[Any]:
    """The reader of a pending stream at `path`."""
    if exchange is None:
        raise CodecError(f"a pending {t.wit} can only be read inside a wRPC call (its items follow on its own path)")
    if t.nested:
        raise CodecError(f"a pending {t.wit} whose items hold futures or streams is not supported")
    return StreamReader(exchange, path, t)


def get_future(path: Path, exchange: Exchange | None, t: AsyncType) -> Any:
    """The reader of a pending future at `path` (a `future` without a type is ready at once)."""
    if exchange is None:
        raise CodecError(f"a pending {t.wit} can only be read inside a wRPC call (its value follows on its own path)")
    if t.read is None:
        return values.Future(None)
    if t.nested:
        raise CodecError(f"a pending {t.wit} holding futures or streams is not supported")
    return FutureReader(exchange, path, t)


# --------------------------------------------------------------------------- readers


class _PathBytes:
    """The bytes of one path as a reader consumes them: a buffer, and the source behind it."""

    __slots__ = ("exchange", "path", "buf", "source", "ended", "over")

    def __init__(self, exchange: Exchange, path: Path) -> None:
        self.exchange = exchange
        self.path = path
        self.buf = bytearray()
        self.source: ByteSource | None = None
        self.ended = False
        self.over = False  # the reader ended (done, failed or closed)
        exchange.opened()

    def take(self, read: Callable[..., tuple[Any, int]], what: str) -> tuple[bool, Any]:
        """(True, value) for a value complete in the buffer, (False, None) while incomplete."""
        buf = self.buf
        if not buf:
            return False, None
        try:
            value, at = read(bytes(buf), 0)
        except Incomplete:
            if len(buf) > self.exchange.max_pending:
                raise InvalidPayload(
                    f"{self.where}: {what} is over {self.exchange.max_pending} bytes and still incomplete"
                ) from None
            return False, None
        except CodecError as exc:
            raise InvalidPayload(f"{self.where}: {what} does not decode: {exc}") from None
        del buf[:at]
        return True, value

    @property
    def where(self) -> str:
        prefix = f"{self.exchange.where}: " if self.exchange.where else ""
        return f"{prefix}path {show_path(self.path)}"

    async def more(self) -> bool:
        """Wait for more bytes; False once the path ended."""
        if self.ended:
            return False
        if self.source is None:
            self.source = self.exchange.open(self.path)
        data = await self.source.read()
        if not data:
            self.ended = True
            return False
        self.buf += data
        return True

    def finish(self, cancelled: bool) -> None:
        if self.over:
            return
        self.over = True
        self.buf.clear()
        source, self.source = self.source, None
        if source is None and cancelled and self.exchange.opener is not None:
            try:  # never read: its producer is stopped too
                source = self.exchange.open(self.path)
            except Exception:
                source = None
        if source is not None:
            stop = getattr(source, "stop", None) if cancelled else None
            if stop is not None:
                stop()  # the transport tells this path's producer to stop
            else:
                source.close()
        self.exchange.ended(cancelled)


def _blocking(loop: asyncio.AbstractEventLoop | None, what: str) -> asyncio.AbstractEventLoop:
    """The loop to wait on from this thread; refuses the loop's own thread."""
    if loop is None:
        raise RuntimeError(f"this {what} is not part of a call in progress")
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        raise RuntimeError(
            f"a blocking wait for a {what} on its own event loop would wait for itself: use `async for`/`await` there"
        )
    return loop


class StreamReader(values.Stream[T]):
    """A pending stream being received (module docstring): iterate it, async or not."""

    __slots__ = ("_in", "_type", "_queue", "_done", "_lock")

    def __init__(self, exchange: Exchange, path: Path, t: AsyncType) -> None:
        super().__init__([])
        self._in = _PathBytes(exchange, path)
        self._type = t
        self._queue: deque[Any] = deque()
        self._done = False
        self._lock: asyncio.Lock | None = None

    @property
    def path(self) -> Path:
        return self._in.path

    def __repr__(self) -> str:
        return f"<StreamReader {self._type.wit} at {show_path(self.path)}>"

    def __eq__(self, other: object) -> bool:
        return other is self

    __hash__ = object.__hash__  # type: ignore[assignment]

    def __aiter__(self) -> StreamReader[T]:
        return self

    async def __anext__(self) -> T:
        if self._queue:
            item: T = self._queue.popleft()
            return item
        loop = self._in.exchange.loop
        if loop is not None and asyncio.get_running_loop() is not loop:  # another loop: hop
            return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self.__anext__(), loop))
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            return await self._next()

    async def _next(self) -> T:
        if self._queue:
            item: T = self._queue.popleft()
            return item
        path, t = self._in, self._type
        while True:
            if self._done:
                raise StopAsyncIteration
            try:
                if t.read is None:  # `stream` without a type: counts only
                    found, chunk = path.take(_read_count, f"a chunk of the {t.wit}")
                else:
                    found, chunk = path.take(t.read, f"a chunk of the {t.wit}")
                if not found:
                    if await path.more():
                        continue
                    raise TransportError(
                        f"{path.where}: the {t.wit} ended before its end"
                        + (" (inside a chunk)" if path.buf else "")
                    )
            except BaseException:
                self._end(cancelled=True)  # nothing reads on: the producer may stop
                raise
            if not chunk:
                self._end(cancelled=False)
                raise StopAsyncIteration
            if t.is_bytes:
                data: Any = bytes(chunk)
                return data  # type: ignore[no-any-return]
            self._queue.extend(chunk)
            item = self._queue.popleft()
            return item

    def _end(self, cancelled: bool) -> None:
        self._done = True
        self._in.finish(cancelled)

    def __iter__(self) -> StreamReader[T]:
        return self

    def __next__(self) -> T:
        if self._queue:
            item: T = self._queue.popleft()
            return item
        loop = _blocking(self._in.exchange.loop, "stream")
        try:
            return asyncio.run_coroutine_threadsafe(self.__anext__(), loop).result()
        except StopAsyncIteration:
            raise StopIteration from None

    async def aclose(self) -> None:
        """Stop reading: the producer at the other end is told to stop."""
        self.close()

    def close(self) -> None:
        """`aclose` from any thread."""
        if self._done:
            return
        self._done = True
        self._queue.clear()
        loop = self._in.exchange.loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is None or running is loop or loop.is_closed():
            self._in.finish(cancelled=True)
        else:
            loop.call_soon_threadsafe(self._in.finish, True)

    async def collect(self) -> list[T]:
        """Every item to the end (for `stream<u8>`, the chunks)."""
        return [item async for item in self]

    def __del__(self) -> None:
        try:
            if not self._in.over:
                self.close()
        except Exception:  # noqa: S110 - nothing to tell during garbage collection
            pass


def _read_count(data: bytes, at: int) -> tuple[list[None], int]:
    n = 0
    shift = 0
    while True:
        byte = data[at]
        at += 1
        n |= (byte & 0x7F) << shift
        if byte < 0x80:
            return [None] * n, at
        shift += 7
        if shift > 28:
            raise CodecError("a chunk count longer than 5 bytes")


class FutureReader(values.Future[T]):
    """A pending future being received: `await` it, or `result()` from another thread."""

    __slots__ = ("_in", "_type", "_task", "_resolved")

    def __init__(self, exchange: Exchange, path: Path, t: AsyncType) -> None:
        self._in = _PathBytes(exchange, path)
        self._type = t
        self._task: asyncio.Future[T] | None = None
        self._resolved = False

    @property
    def path(self) -> Path:
        return self._in.path

    def __repr__(self) -> str:
        return f"<FutureReader {self._type.wit} at {show_path(self.path)}>"

    def __eq__(self, other: object) -> bool:
        return other is self

    __hash__ = object.__hash__  # type: ignore[assignment]

    def __await__(self) -> Generator[Any, None, T]:
        return self._get().__await__()

    async def _get(self) -> T:
        if self._resolved:
            return self.value
        loop = self._in.exchange.loop
        if loop is not None and asyncio.get_running_loop() is not loop:  # another loop: hop
            return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self._get(), loop))
        if self._task is None:
            self._task = asyncio.ensure_future(self._fetch())
        return await asyncio.shield(self._task)

    async def _fetch(self) -> T:
        path, t = self._in, self._type
        assert t.read is not None
        try:
            while True:
                found, value = path.take(t.read, f"the value of the {t.wit}")
                if found:
                    self.value = value
                    self._resolved = True
                    path.finish(cancelled=False)
                    return value  # type: ignore[no-any-return]
                if not await path.more():
                    raise TransportError(f"{path.where}: the {t.wit} ended without its value")
        except BaseException:
            path.finish(cancelled=False)
            raise

    def result(self, timeout: float | None = None) -> T:
        """Wait for the value from a thread other than the call's event loop."""
        if self._resolved:
            return self.value
        loop = _blocking(self._in.exchange.loop, "future")
        return asyncio.run_coroutine_threadsafe(self._get(), loop).result(timeout)

    def close(self) -> None:
        """Stop waiting: the producer at the other end is told to stop."""
        if self._in.over:
            return
        loop = self._in.exchange.loop
        if loop is None or loop.is_closed():
            self._in.finish(cancelled=True)
        else:
            loop.call_soon_threadsafe(self._in.finish, True)

    def __del__(self) -> None:
        try:
            if not self._in.over:
                self.close()
        except Exception:  # noqa: S110 - nothing to tell during garbage collection
            pass
