"""The bus: how a caller reaches a provider, and the errors a call can end with.

A call on the lattice is addressed by an *instance* and a *function*
(wire-format.md, section 2) and carries bytes both ways:

    invoke(instance, function, payload) -> result
      instance  "ollama:llm/llm", "wasi:keyvalue/store@0.2.0-draft2", or "" for
                functions a world exports directly; with or without `@version`
      function  "chat", "counter" (constructor), "counter.incr" (method; the handle
                is the first parameter), "counter.merge" (static), "[drop]counter"
      payload   the parameters encoded as one tuple (no parameters: no bytes)
      result    the encoded result value (no result: no bytes)

`Bus` is the protocol every transport implements: the in-process bus
(`witgen.runtime.inprocess.InProcessBus`, the embedded default), and later an
asyncio NATS transport speaking wRPC and a synchronous bus called from inside a
wasmtime host function (a sync `invoke` that may wait on an asyncio loop running
in another thread). Generated client shims only ever call `invoke` or
`invoke_async`; providers hand their `DispatchTable` to `serve`.

A bus object is one *endpoint*: it has a source id (the caller's identity, the
`source-id` header of wasmCloud) that providers use to keep resource handles per
caller.

Errors: a call either returns the encoded result or raises a `BusError`
subclass carrying a readable message. Application errors are not bus errors:
they travel inside the result, as the error value of the function's WIT
`result`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar, Protocol, TypeVar, runtime_checkable

if TYPE_CHECKING:
    from witgen.runtime.dispatch import DispatchTable

__all__ = [
    "Bus",
    "BusError",
    "Client",
    "InvalidHandle",
    "InvalidPayload",
    "ProviderFailure",
    "Serving",
    "BusTimeout",
    "TransportError",
    "UnknownOperation",
]


class BusError(Exception):
    """A call that could not complete; `message` says why, for people to read.

    `instance` and `function` name the operation as the caller addressed it.
    """

    def __init__(self, message: str, instance: str = "", function: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.instance = instance
        self.function = function

    def __str__(self) -> str:
        if not (self.instance or self.function):
            return self.message
        return f"{self.operation}: {self.message}"

    @property
    def operation(self) -> str:
        """`instance.function` (or the function alone for the empty instance)."""
        return f"{self.instance}.{self.function}" if self.instance else self.function


class UnknownOperation(BusError):
    """No provider serves this instance and function."""


class InvalidPayload(BusError):
    """Bytes that do not decode as the operation's parameters (or result)."""


class InvalidHandle(BusError):
    """A resource handle this provider never gave this caller, or already dropped."""


class ProviderFailure(BusError):
    """The provider's implementation raised; the provider itself keeps serving."""


class BusTimeout(BusError):
    """No complete answer within the timeout."""


class TransportError(BusError):
    """The transport failed (connection lost, results stream ended early, ...)."""


@runtime_checkable
class Serving(Protocol):
    """What `Bus.serve` returns: the registration of one dispatch table."""

    def close(self) -> None:
        """Stop serving the table (in-flight calls finish) and release its handles."""
        ...


@runtime_checkable
class Bus(Protocol):
    """One endpoint on a lattice: invoke operations, serve dispatch tables.

    `timeout` is in seconds; None means the transport's default. A transport
    that cannot time out (the in-process bus running a sync provider inline)
    may ignore it.
    """

    @property
    def source(self) -> str:
        """This endpoint's caller id ("" when anonymous)."""
        ...

    def invoke(
        self, instance: str, function: str, payload: bytes, *, timeout: float | None = None
    ) -> bytes:
        """Call an operation and wait for its encoded result; raise `BusError`."""
        ...

    async def invoke_async(
        self, instance: str, function: str, payload: bytes, *, timeout: float | None = None
    ) -> bytes:
        """`invoke` for asyncio callers."""
        ...

    def serve(self, table: DispatchTable) -> Serving:
        """Answer calls to every operation of `table` until the result is closed."""
        ...


T = TypeVar("T")


class Client:
    """Base of generated client shims: one interface instance reached over one bus.

    `INSTANCE` is the interface's id (`ns:pkg/iface@ver`, or "" for world-level
    functions). Each generated method encodes its parameters, calls `_call` (or
    `_call_async`) and returns the decoded result. A result that does not decode
    raises `InvalidPayload`.
    """

    __slots__ = ("bus", "instance")
    INSTANCE: ClassVar[str] = ""

    def __init__(self, bus: Bus, instance: str | None = None) -> None:
        self.bus = bus
        self.instance = self.INSTANCE if instance is None else instance

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.instance!r} via {self.bus!r}>"

    def _call(self, function: str, payload: bytes, decode: Callable[[bytes], T]) -> T:
        result = self.bus.invoke(self.instance, function, payload)
        try:
            return decode(result)
        except BusError:
            raise
        except Exception as exc:
            raise InvalidPayload(f"undecodable result: {exc}", self.instance, function) from None

    async def _call_async(self, function: str, payload: bytes, decode: Callable[[bytes], T]) -> T:
        result = await self.bus.invoke_async(self.instance, function, payload)
        try:
            return decode(result)
        except BusError:
            raise
        except Exception as exc:
            raise InvalidPayload(f"undecodable result: {exc}", self.instance, function) from None
