"""The seam between the wRPC engine and a transport (NATS today).

A value travels on a *path*: a tuple of u32 indices, `ROOT = ()` for the whole
parameter tuple or result; parameter `i` of an async value is `(i, ...)`.

Client side, one `Outgoing` per invocation: write the parameters to `sink(ROOT)`,
close it, read the result from `source(ROOT)` until `b""`. Server side, one
`Incoming` per invocation: read the parameters from `source(ROOT)`, write the
result to `sink(ROOT)` and close it, or `fail(error)` to end the exchange without
a value. A source raises `BusError` when the exchange failed.

A transport whose sends never wait may also offer, on an `Outgoing`, `send_now(payload,
timeout) -> asyncio.Future[bytes]` (send the whole parameter tuple at once; the future of
the whole result, failed with `BusTimeout` after `timeout` seconds unless None) and
`release()` (the call is over): `engine.call` then awaits one future.

Calls with futures or streams also write and read nested paths: a sink of a nested path
may have `fail(error)` (end the path with an error the reader sees) and `stop_with(cb)`
(`cb()` runs when the reader stops that path alone); a source may have `stop()` (stop
reading before the end and tell that path's producer); an `Incoming` may
have `lost` (an `asyncio.Event`: the caller went away), `abandon()` (end the call at
once) and `release()` (its async values are over).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from witgen.runtime.errors import BusError

__all__ = ["ROOT", "ByteSink", "ByteSource", "Incoming", "Outgoing", "Path"]

Path = tuple[int, ...]
ROOT: Path = ()


class ByteSource(Protocol):
    """The bytes of one path, as they arrive."""

    @property
    def complete(self) -> bool:
        """Whether what was read so far is known to be the whole path."""
        ...

    async def read(self) -> bytes:
        """The next chunk; `b""` once the path ended. Raises `BusError` on failure."""
        ...

    def close(self) -> None:
        """Stop reading (what arrives later is dropped)."""
        ...


class ByteSink(Protocol):
    """Where the bytes of one path go."""

    async def write(self, data: bytes) -> None:
        """Send a chunk (may wait while the peer is behind)."""
        ...

    async def close(self) -> None:
        """End the path."""
        ...


class Outgoing(Protocol):
    """The calling end of one invocation."""

    def sink(self, path: Path) -> ByteSink:
        """Where the parameters at `path` are written."""
        ...

    def source(self, path: Path) -> ByteSource:
        """Where the results at `path` are read."""
        ...

    async def aclose(self, error: BusError | None = None) -> None:
        """Release the invocation (subscriptions, buffers); idempotent."""
        ...


class Incoming(Protocol):
    """The serving end of one invocation."""

    @property
    def target(self) -> str:
        """`<instance>.<function>` as addressed (`<function>` for world functions)."""
        ...

    @property
    def caller(self) -> str:
        """The caller's identity for resource handles ("" when anonymous)."""
        ...

    @property
    def headers(self) -> Mapping[str, str] | None:
        """What the invocation carried besides its payload (call context)."""
        ...

    @property
    def deadline(self) -> float | None:
        """When the caller stops waiting (the loop's clock), if it said so."""
        ...

    def source(self, path: Path) -> ByteSource:
        """Where the parameters at `path` are read."""
        ...

    def sink(self, path: Path) -> ByteSink:
        """Where the results at `path` are written."""
        ...

    async def fail(self, error: BusError) -> None:
        """End the exchange without a value, telling the caller why."""
        ...
