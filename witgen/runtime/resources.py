"""Resource handles: provider-side tables per caller, client-side proxies.

A WIT resource lives in the provider. The caller only ever sees an opaque
*handle*: a few bytes, encoded on the wire like a `list<u8>`, whose meaning
belongs to the provider that issued it (wire-format.md, section 1).

Provider side: a `Handles` registry (one per dispatch table) keeps one
`HandleTable` per caller (the bus source id). A constructor or any function
returning `own<r>` inserts the object and sends the new handle; `borrow<r>`
parameters look the object up; `own<r>` parameters take it out of the table
(ownership moves to the provider's code); `[drop]r` removes it. A handle is only
valid for the caller it was issued to, so one caller can never reach another
caller's objects. When a handle is dropped (or its caller released), an object
that is a context manager has its `__exit__(None, None, None)` called: that is
where a provider frees what a resource holds.

Client side: generated proxies subclass `ResourceProxy`; they keep the handle
and the client that created them, call methods through it, and drop the
resource explicitly (`drop()`, `await drop_async()`, or `with`/`async with`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from types import TracebackType
from typing import Any, ClassVar, Protocol, Self

from witgen.runtime.errors import InvalidHandle, InvalidPayload

_urandom = os.urandom


class Caller(Protocol):
    """What a proxy calls through: a generated client (`witgen.runtime.bus.Client`)."""

    def _call(self, function: str, *args: Any) -> Any: ...
    async def _call_async(self, function: str, *args: Any) -> Any: ...
    def _invoke_raw(self, function: str, payload: bytes) -> bytes: ...
    async def _invoke_raw_async(self, function: str, payload: bytes) -> bytes: ...

__all__ = [
    "ChosenHandles",
    "DROP_PREFIX",
    "HandleTable",
    "Handles",
    "ResourceProxy",
    "decode_handle",
    "drop_name",
    "encode_handle",
]

log = logging.getLogger("witgen.runtime")

# The function name that drops a resource: `[drop]counter`.
DROP_PREFIX = "[drop]"


def drop_name(resource: str) -> str:
    """The wire function name that drops a handle of `resource`."""
    return DROP_PREFIX + resource


def encode_handle(handle: bytes) -> bytes:
    """A handle as a one-value payload (the `list<u8>` encoding)."""
    n = len(handle)
    if n < 0x80:
        return bytes((n,)) + handle
    head = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            head.append(byte | 0x80)
        else:
            head.append(byte)
            return bytes(head) + handle


def decode_handle(payload: bytes) -> bytes:
    """The handle of a payload that holds exactly one handle."""
    n = shift = pos = 0
    while True:
        if pos >= len(payload) or pos > 4:
            raise InvalidPayload("truncated or overlong handle length")
        byte = payload[pos]
        pos += 1
        n |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    if len(payload) - pos != n:
        raise InvalidPayload(f"a handle of {n} bytes does not fill a {len(payload)}-byte payload")
    return bytes(payload[pos:])


def _release(obj: object) -> None:
    exit_ = getattr(obj, "__exit__", None)
    if exit_ is not None:
        exit_(None, None, None)


class ChosenHandles:
    """How a provider names the handles of one resource itself (instead of minted ones).

    `handle_of(obj)` gives the bytes of the handle issued for `obj`; `resolve(source,
    handle)`, when given, returns the object behind a handle this table does not
    hold (or None: then the handle is invalid). The Go keyvalue server of wRPC works
    so: a bucket's handle is its name, valid for every caller.
    """

    __slots__ = ("handle_of", "resolve")

    def __init__(
        self,
        handle_of: Callable[[Any], bytes],
        resolve: Callable[[str, bytes], object | None] | None = None,
    ) -> None:
        self.handle_of = handle_of
        self.resolve = resolve


class HandleTable:
    """The resources one caller holds: handle -> (resource name, object).

    Minted handles are 16 bytes: the registry's 8-byte replica id, then 8 random bytes;
    a handle minted by another replica of the same provider is reported as such.
    """

    __slots__ = ("source", "_entries", "_replica", "_chosen")

    def __init__(
        self,
        source: str,
        replica: bytes = b"",
        chosen: dict[str, ChosenHandles] | None = None,
    ) -> None:
        self.source = source
        self._entries: dict[bytes, tuple[str, object]] = {}
        self._replica = replica
        self._chosen = {} if chosen is None else chosen

    def __len__(self) -> int:
        return len(self._entries)

    def insert(self, resource: str, obj: object) -> bytes:
        """Own `obj` on behalf of this caller; return its new handle."""
        chosen = self._chosen.get(resource)
        if chosen is not None:
            handle = bytes(chosen.handle_of(obj))
        else:
            # 8 random bytes: a handle cannot be guessed from another one.
            handle = self._replica + _urandom(8)
            while handle in self._entries:  # pragma: no cover - one in 2**64
                handle = self._replica + _urandom(8)
        self._entries[handle] = (resource, obj)
        return handle

    def borrow(self, resource: str, handle: bytes) -> Any:
        """The object behind `handle`, which stays in the table."""
        entry = self._entries.get(handle)
        if entry is None or entry[0] != resource:
            return self._resolve(resource, handle)
        return entry[1]

    def take(self, resource: str, handle: bytes) -> Any:
        """Remove the object behind `handle` and return it (an `own` parameter)."""
        entry = self._entries.get(handle)
        if entry is None or entry[0] != resource:
            return self._resolve(resource, handle)
        del self._entries[handle]
        return entry[1]

    def _resolve(self, resource: str, handle: bytes) -> Any:
        chosen = self._chosen.get(resource)
        if chosen is not None and chosen.resolve is not None:
            obj = chosen.resolve(self.source, handle)
            if obj is not None:
                return obj
        raise InvalidHandle(self._unknown(resource, handle))

    def drop(self, resource: str, handle: bytes) -> None:
        """Remove the object behind `handle` and release it."""
        _release(self.take(resource, handle))

    def clear(self) -> int:
        """Release every object of this caller; return how many there were."""
        entries, self._entries = self._entries, {}
        for resource, obj in entries.values():
            try:
                _release(obj)
            except Exception:
                log.exception("releasing a %s of %r failed", resource, self.source)
        return len(entries)

    def _unknown(self, resource: str, handle: bytes) -> str:
        who = f"caller {self.source!r}" if self.source else "the anonymous caller"
        text = f"no {resource} with handle {handle.hex() or '(empty)'} for {who}"
        if self._replica and len(handle) == 16 and not handle.startswith(self._replica):
            text += (
                " (issued by another replica of this provider: a resource lives in the"
                " replica that issued it)"
            )
        return text


class Handles:
    """Per-caller handle tables of one provider.

    `replica` (8 random bytes by default) starts every handle this registry mints,
    so that replicas of one provider never issue the same handle.
    """

    __slots__ = ("_tables", "replica", "_chosen")

    def __init__(self, replica: bytes | None = None) -> None:
        self._tables: dict[str, HandleTable] = {}
        self.replica = os.urandom(8) if replica is None else replica
        self._chosen: dict[str, ChosenHandles] = {}

    def choose(
        self,
        resource: str,
        handle_of: Callable[[Any], bytes],
        resolve: Callable[[str, bytes], object | None] | None = None,
    ) -> None:
        """Let the provider name the handles of `resource` (see `ChosenHandles`)."""
        self._chosen[resource] = ChosenHandles(handle_of, resolve)

    def for_source(self, source: str) -> HandleTable:
        """The table of `source`, created on first use."""
        table = self._tables.get(source)
        if table is None:
            # setdefault is atomic: two threads of one new caller share one table
            table = self._tables.setdefault(
                source, HandleTable(source, self.replica, self._chosen)
            )
        return table

    def count(self, source: str | None = None) -> int:
        """Live handles of one caller, or of all callers."""
        if source is not None:
            table = self._tables.get(source)
            return 0 if table is None else len(table)
        return sum(len(t) for t in self._tables.values())

    def release(self, source: str) -> int:
        """Release everything `source` holds (it went away); return how many."""
        table = self._tables.pop(source, None)
        return 0 if table is None else table.clear()

    def release_all(self) -> int:
        """Release every caller's resources."""
        return sum(self.release(source) for source in list(self._tables))


class ResourceProxy:
    """Base of generated client-side resource proxies.

    `RESOURCE` is the resource's WIT name (`counter`); subclasses add one method
    per resource method. After `drop()`, using the proxy raises `InvalidHandle`.
    """

    __slots__ = ("_client", "_handle")
    RESOURCE: ClassVar[str] = ""

    def __init__(self, client: Caller, handle: bytes) -> None:
        self._client = client
        self._handle: bytes | None = handle

    def __repr__(self) -> str:
        state = "dropped" if self._handle is None else self._handle.hex()
        return f"<{type(self).__name__} {self.RESOURCE} {state}>"

    @property
    def handle(self) -> bytes:
        """The opaque handle; raises `InvalidHandle` once dropped."""
        if self._handle is None:
            raise InvalidHandle(f"this {self.RESOURCE} was dropped")
        return self._handle

    @property
    def dropped(self) -> bool:
        return self._handle is None

    def _call(self, function: str, *args: Any) -> Any:
        """Call a method of this resource (the handle is its first parameter)."""
        return self._client._call(function, self, *args)

    async def _call_async(self, function: str, *args: Any) -> Any:
        return await self._client._call_async(function, self, *args)

    def drop(self) -> None:
        """Release the resource in the provider (idempotent)."""
        if self._handle is None:
            return
        handle, self._handle = self._handle, None
        _no_result(self._client._invoke_raw(drop_name(self.RESOURCE), encode_handle(handle)))

    async def drop_async(self) -> None:
        """`drop` for asyncio callers."""
        if self._handle is None:
            return
        handle, self._handle = self._handle, None
        _no_result(await self._client._invoke_raw_async(drop_name(self.RESOURCE), encode_handle(handle)))

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.drop()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.drop_async()


def _no_result(payload: bytes) -> None:
    if payload:
        raise InvalidPayload(f"expected no result, got {len(payload)} bytes")
