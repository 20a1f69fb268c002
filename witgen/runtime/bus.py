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

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from witgen.runtime import codec, wit
from witgen.runtime.errors import (
    BusError,
    BusTimeout,
    InvalidHandle,
    InvalidPayload,
    ProviderBusy,
    ProviderFailure,
    TransportError,
    UnknownOperation,
)
from witgen.runtime.handles import Converter, converter

if TYPE_CHECKING:  # the protocol names it; importing it would bring asyncio into codegen
    from witgen.runtime.dispatch import DispatchTable

__all__ = [
    "Bus",
    "BusError",
    "Client",
    "InvalidHandle",
    "InvalidPayload",
    "ProviderBusy",
    "ProviderFailure",
    "Serving",
    "BusTimeout",
    "TransportError",
    "UnknownOperation",
]


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


class Client:
    """Base of generated clients: one interface instance reached over one bus.

    `INSTANCE` is the interface's id (`ns:pkg/iface@ver`, or "" for world-level
    functions), `FUNCTIONS` the descriptions of its functions by wire name, and `PROXIES`
    the proxy class of each imported resource (by its handle class): results carrying
    such handles come back as proxies. Each generated method calls `_call` (or
    `_call_async`) with its wire name and arguments and returns the decoded result; a
    result that does not decode raises `InvalidPayload`. Every member defined here starts
    with `_` or is upper case, so no generated method can shadow one.
    """

    __slots__ = ("_bus", "_instance")
    INSTANCE: ClassVar[str] = ""
    FUNCTIONS: ClassVar[Mapping[str, wit.Func]] = {}
    PROXIES: ClassVar[Mapping[Any, Any]] = {}

    def __init__(self, bus: Bus, instance: str | None = None) -> None:
        self._bus = bus
        self._instance = self.INSTANCE if instance is None else instance

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._instance!r} via {self._bus!r}>"

    def _plan(self, function: str) -> tuple[codec.FunctionCodec, Converter | None]:
        key = (type(self), function)
        plan = _PLANS.get(key)
        if plan is None:
            func = self.FUNCTIONS[function]
            proxies = self.PROXIES
            wanted = {wit.of(cls): proxy for cls, proxy in proxies.items()}

            def to_proxy(client: Client, own: wit.Own, value: Any) -> Any:
                return wanted[own.resource](client, value.handle)

            conv = converter(func.result, wanted.__contains__, to_proxy) if wanted else None
            plan = _PLANS[key] = (codec.function(func), conv)
        return plan

    def _call(self, function: str, *args: Any) -> Any:
        """Call `function` with `args` and return its decoded result."""
        fc, conv = self._plan(function)
        try:
            payload = fc.encode_params(*args)
        except codec.CodecError as exc:
            raise InvalidPayload(f"parameters do not encode: {exc}", self._instance, function) from None
        result = self._bus.invoke(self._instance, function, payload)
        return self._result(fc, conv, function, result)

    async def _call_async(self, function: str, *args: Any) -> Any:
        """`_call` for asyncio callers."""
        fc, conv = self._plan(function)
        try:
            payload = fc.encode_args(args)
        except codec.CodecError as exc:
            raise InvalidPayload(f"parameters do not encode: {exc}", self._instance, function) from None
        result = await self._bus.invoke_async(self._instance, function, payload)
        try:
            value = fc.decode_value(result)
        except Exception as exc:
            raise InvalidPayload(f"undecodable result: {exc}", self._instance, function) from None
        return value if conv is None else conv(self, value)

    def _result(self, fc: codec.FunctionCodec, conv: Converter | None, function: str, data: bytes) -> Any:
        try:
            value = fc.decode_result(data)
        except Exception as exc:
            raise InvalidPayload(f"undecodable result: {exc}", self._instance, function) from None
        return value if conv is None else conv(self, value)

    def _invoke_raw(self, function: str, payload: bytes) -> bytes:
        """Send already encoded parameters (resource drops)."""
        return self._bus.invoke(self._instance, function, payload)

    async def _invoke_raw_async(self, function: str, payload: bytes) -> bytes:
        return await self._bus.invoke_async(self._instance, function, payload)


_PLANS: dict[tuple[type, str], tuple[codec.FunctionCodec, Converter | None]] = {}
