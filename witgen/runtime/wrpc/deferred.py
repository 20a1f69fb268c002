"""Futures and streams that flow while a call runs: the engine's side of async values.

The codec (`witgen.runtime.asyncvalues`) turns pending values into producers (to send)
and readers (to feed) of paths; this module moves their bytes over a transport's paths:

- `pump` sends one producer on its path: a stream's items as they are produced (one
  chunk per item of an async iterable, a sync iterator's items taken in a thread so that
  it may block, in-memory sequences in chunks of up to `CHUNK_ITEMS`), then the end
  chunk `00`; a future's value once. A sink that waits while the peer is behind is what
  bounds a fast producer. A producer that raises ends its path with a failure the reader
  sees as an error; a path whose peer went away, or whose reader stopped it alone (a
  sink's `stop_with`), closes the producer (`aclose()` for async generators, `close()`
  otherwise).
- `Lifetime` keeps the transport of one call until its async values are over: every
  pump done and every reader ended; a reader closed before its end cancels the call's
  other end (the transport is closed as abandoned).
- `read_root` reads the root path until its bytes decode (wait on `Incomplete`): the wRPC
  Go peers never close the root path of a call with async values.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import secrets
from collections.abc import AsyncGenerator, Callable, Coroutine
from typing import Any, TypeVar

from witgen.runtime import values
from witgen.runtime.asyncvalues import CURRENT, Exchange, Producer, show_path
from witgen.runtime.errors import BusError, InvalidPayload, ProviderFailure, TransportError
from witgen.runtime.primitives import CodecError, Incomplete
from witgen.runtime.wrpc.transport import ByteSink, ByteSource

__all__ = ["CHUNK_ITEMS", "Lifetime", "decode_with", "pump", "read_root"]

log = logging.getLogger("witgen.runtime.wrpc")

CHUNK_ITEMS = 256  # items of an in-memory sequence per chunk
_END = object()
T = TypeVar("T")


class _Gone(Exception):
    """The path's peer is gone (a write failed): stop producing, quietly."""


async def _write(sink: ByteSink, data: bytes) -> None:
    try:
        await sink.write(data)
    except Exception as exc:
        raise _Gone(exc) from None


async def _batches(value: Any) -> AsyncGenerator[list[Any], None]:
    """The items of a producer, in the chunks they are sent as."""
    if type(value) is values.Stream:  # a pending `values.Stream`: its source
        value = value.items
    if hasattr(value, "__aiter__"):
        it = value.__aiter__()
        try:
            while True:
                try:
                    item = await it.__anext__()
                except StopAsyncIteration:
                    return
                yield [item]
        finally:
            aclose = getattr(it, "aclose", None)
            if aclose is not None:
                await aclose()
        return
    if isinstance(value, (list, tuple, range, values.Stream)):
        items = list(value)
        for at in range(0, len(items), CHUNK_ITEMS):
            yield items[at : at + CHUNK_ITEMS]
        return
    it = iter(value)
    step: asyncio.Future[Any] | None = None
    try:
        while True:
            step = asyncio.ensure_future(asyncio.to_thread(next, it, _END))
            item = await asyncio.shield(step)
            step = None
            if item is _END:
                return
            yield [item]
    finally:
        close = getattr(it, "close", None)
        if close is not None:
            if step is not None and not step.done():  # still running in its thread
                step.add_done_callback(lambda _: close())
            else:
                close()


def _discard(value: Any) -> None:
    """Release an awaitable that will not be awaited."""
    if inspect.iscoroutine(value):
        value.close()
    else:
        close = getattr(value, "close", None)
        if close is not None:
            close()


async def pump(producer: Producer, sink: ByteSink, where: str) -> bool:
    """Send `producer` on `sink` (module docstring); False when it did not end normally."""
    t = producer.type
    path = f"{where}: path {show_path(producer.path)}"
    value = producer.value
    awaited = False
    try:
        if t.kind == "future":
            awaited = True
            result = await value
            assert t.message is not None
            await _write(sink, t.message(result))
        else:
            batches = _batches(value)
            try:
                async for batch in batches:
                    data = t.chunk(batch)
                    if data != b"\x00":  # an empty chunk would end the stream
                        await _write(sink, data)
            finally:
                await batches.aclose()  # closes the producer at once, even when cancelled
            await _write(sink, b"\x00")
        try:
            await sink.close()
        except Exception as exc:
            log.debug("%s: closing failed: %s", path, exc)
        return True
    except _Gone as exc:
        log.debug("%s: the peer went away: %s", path, exc.__cause__ or exc)
        return False
    except asyncio.CancelledError:
        raise
    except BusError as exc:  # a reader being echoed failed: pass its error on
        await _fail(sink, exc, path)
        return False
    except BaseException as exc:  # noqa: BLE001 - whatever the producer raised ends its path only
        error_id = secrets.token_hex(4)
        if isinstance(exc, CodecError):
            log.error("%s: an item does not encode as %s (error id %s): %s", path, t.wit, error_id, exc)
        else:
            log.error("%s: the producer of the %s failed (error id %s)", path, t.wit, error_id, exc_info=exc)
        reason = f"the producer of the {t.wit} failed with {type(exc).__name__} (error id {error_id})"
        await _fail(sink, ProviderFailure(reason), path)
        return False
    finally:
        if not awaited and t.kind == "future":
            _discard(value)


async def _fail(sink: ByteSink, error: BusError, path: str) -> None:
    fail = getattr(sink, "fail", None)
    try:
        if fail is not None:
            await fail(error)
        else:
            await sink.close()
    except Exception as exc:
        log.debug("%s: cannot send the failure: %s", path, exc)


def decode_with(exchange: Exchange, decode: Callable[[bytes], T], data: bytes) -> T:
    """`decode(data)` with `exchange` as the current exchange (readers bind to it)."""
    token = CURRENT.set(exchange)
    try:
        return decode(data)
    finally:
        CURRENT.reset(token)


async def read_root(
    source: ByteSource, attempt: Callable[[bytes], T], what: str
) -> tuple[T, bool]:
    """Read `source` until `attempt(bytes so far)` stops raising `Incomplete`.

    Returns the value and whether the path ended. Bytes that do not decode raise
    `InvalidPayload`; a path that ends inside its value, `TransportError`.
    """
    data = b""
    while True:
        chunk = await source.read()
        ended = not chunk
        data = data + chunk if data else chunk
        try:
            return attempt(data), ended
        except Incomplete as exc:
            if ended:
                if not data:
                    raise TransportError(f"{what} ended without a value") from None
                raise InvalidPayload(f"{what} ends inside its value: {exc}") from None
        except CodecError as exc:
            raise InvalidPayload(f"{what} does not decode: {exc}") from None


class Lifetime:
    """The async values of one call at one end, until all are over (module docstring)."""

    _live: set[Lifetime] = set()  # held here while values flow

    def __init__(self, release: Callable[[bool], Coroutine[Any, Any, None]], where: str) -> None:
        self.release = release  # called once: release(abandoned)
        self.where = where
        self.tasks: set[asyncio.Task[bool]] = set()
        self.readers: Exchange | None = None
        self.abandoned = False
        self.failed = False  # a pump did not end normally
        self._over = False
        self._watching = False
        Lifetime._live.add(self)

    def start(self, producer: Producer, sink: ByteSink) -> None:
        task = asyncio.get_running_loop().create_task(pump(producer, sink, self.where))
        self.tasks.add(task)
        task.add_done_callback(self._pumped)
        stop_with = getattr(sink, "stop_with", None)
        if stop_with is not None:  # the reader of this path may stop it alone
            stop_with(task.cancel)

    def watch(self, readers: Exchange | None) -> None:
        """Count the readers of `readers` too; the lifetime may end from now on."""
        self.readers = readers
        self._watching = True
        if readers is not None:
            readers.on_reader_end = self._reader_ended
            if readers.cancelled:  # a reader was closed before its end already
                self.abandoned = True
        self._check()

    def _pumped(self, task: asyncio.Task[bool]) -> None:
        self.tasks.discard(task)
        if task.cancelled() or task.exception() is not None or not task.result():
            self.failed = True
        self._check()

    def _reader_ended(self, cancelled: bool) -> None:
        if cancelled:
            self.abandoned = True
        self._check()

    def _check(self) -> None:
        if self._over or not self._watching:
            return
        readers = self.readers
        if self.abandoned and readers is not None and readers.live == 0:
            self.abandon()
            return
        if self.tasks or (readers is not None and readers.live > 0):
            return
        self._finish(self.abandoned)

    def abandon(self) -> None:
        """Stop everything now (a reader was closed, the peer went away, a timeout)."""
        if self._over:
            return
        for task in list(self.tasks):
            task.cancel()
        self._finish(True)

    async def wait_pumps(self) -> None:
        """Until every pump is done."""
        while self.tasks:
            await asyncio.wait(set(self.tasks))

    def _finish(self, abandoned: bool) -> None:
        self._over = True
        Lifetime._live.discard(self)
        asyncio.get_running_loop().create_task(self._release(abandoned))

    async def _release(self, abandoned: bool) -> None:
        try:
            await self.release(abandoned)
        except Exception as exc:
            log.debug("%s: releasing the call failed: %s", self.where, exc)
