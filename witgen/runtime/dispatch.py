"""Dispatch tables: (instance, function) -> decode, call the provider, encode.

A provider serves one or more interface instances. Generated code describes each
function of an interface as an `Operation`:

    Operation(
        name="get-data",                 # wire name (wire-format.md, section 2)
        decode=decode_get_data_params,   # (call, payload) -> tuple of arguments
        bind=lambda impl: impl.get_data, # implementation object -> callable
        encode=encode_get_data_result,   # (call, returned value) -> bytes
    )

and registers them with `DispatchTable.add_interface(instance, impl, ops,
resources=(...))`. The table then answers, for every operation:
- the canonical address `(instance, function)`, the instance with or without
  its `@version` (a different version is unknown);
- the legacy wasmCloud 0.x names `ns:pkg/Iface.Func` and `Iface.Func`
  (UpperCamelCase, freestanding functions only), whatever the instance;
- `[drop]r` for every resource `r` it declares (the handle is the only
  parameter; the object is removed from the caller's table and released).

Invocation, sync (`dispatch`) or asyncio (`dispatch_async`), works with sync
and async implementations alike: a coroutine returned to `dispatch` runs on a
private event loop thread; a sync method called from `dispatch_async` runs
inline. Failures raise `BusError` subclasses and leave the table serving:
`UnknownOperation`, `InvalidPayload` (parameters do not decode), `InvalidHandle`,
`ProviderFailure` (the implementation raised or returned a value that does not
encode; logged with its traceback on the `witgen.runtime` logger), `BusTimeout`.

`decode` and `encode` receive the `Call`: its `own`, `borrow`, `take` methods
turn resource objects into handles and back, per caller.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import logging
import secrets
import threading
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from witgen.runtime.errors import (
    BusError,
    BusTimeout,
    InvalidPayload,
    ProviderFailure,
    UnknownOperation,
)
from witgen.runtime import codec, wit
from witgen.runtime.handles import converter
from witgen.runtime.resources import Handles, decode_handle, drop_name
from witgen.runtime.values import Err, Handle, Ok

__all__ = [
    "BoundOperation",
    "Call",
    "HANDLER_ERRORS",
    "DispatchTable",
    "Operation",
    "is_nonblocking",
    "legacy_names",
    "operations",
    "nonblocking",
    "pascal",
    "split_instance",
]

log = logging.getLogger("witgen.runtime")

Decoder = Callable[["Call", bytes], tuple[Any, ...]]
Encoder = Callable[["Call", Any], bytes | bytearray]
Binder = Callable[[Any], Callable[..., Any]]


@dataclass(frozen=True, slots=True)
class Operation:
    """One function of an interface, as generated code describes it."""

    name: str  # wire function name: `chat`, `counter`, `counter.incr`, `counter.merge`
    decode: Decoder
    bind: Binder  # implementation object -> the callable that takes the decoded arguments
    encode: Encoder
    func: wit.Func | None = None  # the description, when the operation was built from one


class Call:
    """What `decode`/`encode` know about the call in progress."""

    __slots__ = ("handles", "source", "instance", "function")

    def __init__(self, handles: Handles, source: str, instance: str, function: str) -> None:
        self.handles = handles
        self.source = source
        self.instance = instance
        self.function = function

    def own(self, resource: str, obj: object) -> bytes:
        """Give the caller a new handle to `obj` (an `own<r>` result)."""
        return self.handles.for_source(self.source).insert(resource, obj)

    def borrow(self, resource: str, handle: bytes | Handle) -> Any:
        """The caller's object behind `handle` (a `borrow<r>` or `self` parameter)."""
        if isinstance(handle, Handle):
            handle = handle.handle
        return self.handles.for_source(self.source).borrow(resource, handle)

    def take(self, resource: str, handle: bytes | Handle) -> Any:
        """Move the caller's object out of its table (an `own<r>` parameter)."""
        if isinstance(handle, Handle):
            handle = handle.handle
        return self.handles.for_source(self.source).take(resource, handle)


# --------------------------------------------------------------------------- blocking or not

_F = TypeVar("_F", bound=Callable[..., Any])


def nonblocking(method: _F) -> _F:
    """Mark a sync provider method that never blocks (pure computation, no I/O).

    Transports that run sync methods in worker threads (NATS) may then run it
    inline on their event loop, saving the thread handoff.
    """
    method.__witgen_nonblocking__ = True  # type: ignore[attr-defined]
    return method


def is_nonblocking(bound: BoundOperation) -> bool:
    """Whether the implementation of `bound` was marked with `nonblocking`."""
    return bool(getattr(bound.fn, "__witgen_nonblocking__", False))


# --------------------------------------------------------------------------- names


def split_instance(instance: str) -> tuple[str, str, str | None]:
    """`ns:pkg/iface@ver` -> (`ns:pkg`, `iface`, `ver` or None); "" -> ("", "", None)."""
    base, _, version = instance.partition("@")
    package, _, interface = base.rpartition("/")
    return package, interface, version or None


def pascal(kebab: str) -> str:
    """`get-data` -> `GetData` (the case of the legacy 0.x operation names)."""
    return "".join(part[:1].upper() + part[1:] for part in kebab.split("-"))


def legacy_names(instance: str, function: str) -> tuple[str, ...]:
    """The wasmCloud 0.x names of a freestanding function: `ns:pkg/Iface.Func`, `Iface.Func`."""
    package, interface, _ = split_instance(instance)
    if not interface or "." in function or function.startswith("["):
        return ()
    short = f"{pascal(interface)}.{pascal(function)}"
    return (f"{package}/{short}", short)


# --------------------------------------------------------------------------- running coroutines from sync code


class _LoopThread:
    """One daemon thread running an event loop, for async providers called synchronously."""

    _lock = threading.Lock()
    _loop: asyncio.AbstractEventLoop | None = None
    _thread_id: int | None = None

    @classmethod
    def run(cls, awaitable: Awaitable[Any], timeout: float | None) -> Any:
        loop = cls._loop
        if loop is None:
            with cls._lock:
                if cls._loop is None:
                    new = asyncio.new_event_loop()
                    thread = threading.Thread(
                        target=new.run_forever, name="witgen-dispatch-loop", daemon=True
                    )
                    thread.start()
                    cls._thread_id = thread.ident
                    cls._loop = new
                loop = cls._loop
        assert loop is not None
        if cls._thread_id == threading.get_ident():
            if inspect.iscoroutine(awaitable):
                awaitable.close()
            raise BusError(
                "a synchronous call from inside an async provider would wait for itself: "
                "use invoke_async there"
            )
        future = asyncio.run_coroutine_threadsafe(_as_coroutine(awaitable), loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise BusTimeout(f"no result within {timeout} s") from None


async def _as_coroutine(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


# --------------------------------------------------------------------------- the table


class BoundOperation:
    """An operation bound to its implementation."""

    __slots__ = ("instance", "name", "decode", "fn", "encode", "is_async", "awaits", "func", "async_codec")

    def __init__(self, instance: str, op: Operation, fn: Callable[..., Any]) -> None:
        self.instance = instance
        self.name = op.name
        self.decode = op.decode
        self.fn = fn
        self.encode = op.encode
        # `awaits`: calling it gives a coroutine; `is_async`: it runs on the event loop
        # (coroutines, and async generators, whose items the loop produces).
        self.awaits = inspect.iscoroutinefunction(fn)
        self.is_async = self.awaits or inspect.isasyncgenfunction(fn)
        self.func = op.func
        # The function codec when the values hold futures or streams, else None; False
        # until the wRPC engine first asks.
        self.async_codec: Any = False


class DispatchTable:
    """Operations of one provider, keyed by (instance, function) and their aliases."""

    def __init__(self) -> None:
        self.handles = Handles()
        self._ops: dict[tuple[str, str], BoundOperation] = {}
        self._legacy: dict[str, BoundOperation] = {}
        self._instances: list[str] = []

    def __repr__(self) -> str:
        return f"<DispatchTable {', '.join(map(repr, self._instances))}>"

    # ------------------------------------------------------------------ building

    def add_interface(
        self,
        instance: str,
        impl: object,
        operations: Iterable[Operation],
        *,
        resources: Iterable[str] = (),
    ) -> None:
        """Serve `operations` of `instance` (`""` for world-level functions) with `impl`."""
        if instance in self._instances:
            raise ValueError(f"instance {instance!r} is already in this table")
        self._instances.append(instance)
        ops = list(operations)
        for resource in resources:
            ops.append(_drop_operation(resource))
        for op in ops:
            bound = BoundOperation(instance, op, op.bind(impl))
            for key in _canonical_keys(instance, op.name):
                if key in self._ops:
                    raise ValueError(f"operation {key} is defined twice")
                self._ops[key] = bound
            for alias in legacy_names(instance, op.name):
                # Two interfaces may share a legacy short name; the first one keeps it.
                self._legacy.setdefault(alias, bound)

    def add_functions(self, impl: object, operations: Iterable[Operation]) -> None:
        """Serve functions a world exports directly (the empty instance)."""
        self.add_interface("", impl, operations)

    # ------------------------------------------------------------------ lookup

    @property
    def instances(self) -> tuple[str, ...]:
        return tuple(self._instances)

    def keys(self) -> Iterator[tuple[str, str]]:
        """Every (instance, function) the table answers directly, aliases included."""
        yield from self._ops
        for alias in self._legacy:
            package, _, short = alias.rpartition("/")
            if package:
                yield ("", alias)
                yield (package, short)

    def find(self, instance: str, function: str) -> BoundOperation | None:
        """The operation at this address, canonical or legacy; None when unknown."""
        bound = self._ops.get((instance, function))
        if bound is None:
            if instance:
                bound = self._legacy.get(f"{instance}/{function}")
            if bound is None:
                bound = self._legacy.get(function)
        return bound

    def operation(self, instance: str, function: str) -> BoundOperation:
        bound = self.find(instance, function)
        if bound is None:
            raise UnknownOperation("no such operation in this provider", instance, function)
        return bound

    # ------------------------------------------------------------------ invocation

    def dispatch(
        self,
        instance: str,
        function: str,
        payload: bytes,
        *,
        source: str = "",
        timeout: float | None = None,
    ) -> bytes:
        """Run one call synchronously; return the encoded result or raise `BusError`."""
        return self.run(self.operation(instance, function), payload, source, timeout)

    async def dispatch_async(
        self,
        instance: str,
        function: str,
        payload: bytes,
        *,
        source: str = "",
    ) -> bytes:
        """Run one call from asyncio; return the encoded result or raise `BusError`."""
        return await self.run_async(self.operation(instance, function), payload, source)

    def run(
        self, bound: BoundOperation, payload: bytes, source: str = "", timeout: float | None = None
    ) -> bytes:
        """`dispatch` for an operation already found (the buses cache `find`)."""
        # The hot path of every call: decode, call, encode inline; errors are
        # converted out of line.
        call = Call(self.handles, source, bound.instance, bound.name)
        try:
            args = bound.decode(call, payload)
        except Exception as exc:
            raise _decode_error(bound, exc) from None
        try:
            value = bound.fn(*args)
        except HANDLER_ERRORS as exc:
            raise _failure(bound, exc) from None
        if bound.awaits or (type(value) not in _PLAIN and inspect.isawaitable(value)):
            try:
                value = _LoopThread.run(value, timeout)
            except HANDLER_ERRORS as exc:
                raise _failure(bound, exc) from None
        try:
            out = bound.encode(call, value)
        except Exception as exc:
            raise _encode_error(bound, exc, value) from None
        return out if type(out) is bytes else bytes(out)

    async def run_async(self, bound: BoundOperation, payload: bytes, source: str = "") -> bytes:
        """`dispatch_async` for an operation already found."""
        call = Call(self.handles, source, bound.instance, bound.name)
        try:
            args = bound.decode(call, payload)
        except Exception as exc:
            raise _decode_error(bound, exc) from None
        try:
            value = bound.fn(*args)
            if bound.awaits or (type(value) not in _PLAIN and inspect.isawaitable(value)):
                value = await value
        except HANDLER_ERRORS as exc:
            raise _failure(bound, exc) from None
        try:
            out = bound.encode(call, value)
        except Exception as exc:
            raise _encode_error(bound, exc, value) from None
        return out if type(out) is bytes else bytes(out)

    def release(self, source: str) -> int:
        """Release every resource `source` holds; return how many."""
        return self.handles.release(source)


def _canonical_keys(instance: str, function: str) -> tuple[tuple[str, str], ...]:
    base = instance.partition("@")[0]
    if base != instance:
        return ((instance, function), (base, function))
    return ((instance, function),)


# What a provider method may raise that fails its call and nothing more: `SystemExit`,
# `KeyboardInterrupt` and `GeneratorExit` from a handler must not end the serving process.
HANDLER_ERRORS = (Exception, SystemExit, KeyboardInterrupt, GeneratorExit)

# Result types that are never awaitable: skips `inspect.isawaitable` on the hot path.
_PLAIN = frozenset({type(None), bool, int, float, str, bytes, list, tuple, dict, Ok, Err})


def _decode_error(bound: BoundOperation, exc: Exception) -> BusError:
    if isinstance(exc, BusError):
        exc.instance, exc.function = bound.instance, bound.name
        return exc
    return InvalidPayload(f"parameters do not decode: {exc}", bound.instance, bound.name)


def _encode_error(bound: BoundOperation, exc: Exception, value: Any) -> BusError:
    error_id = secrets.token_hex(4)
    log.error(
        "%s returned a value that does not encode (error id %s): %s: %s; the value: %.300r",
        _operation_name(bound),
        error_id,
        type(exc).__name__,
        exc,
        value,
    )
    return ProviderFailure(
        f"the provider returned a value that does not encode (error id {error_id};"
        " details in the provider's log)",
        bound.instance,
        bound.name,
    )


def _failure(bound: BoundOperation, exc: BaseException) -> BusError:
    if isinstance(exc, BusError) and not exc.instance and not exc.function:
        # Raised by the runtime on this call's behalf (an unknown handle, ...).
        exc.instance, exc.function = bound.instance, bound.name
        return exc
    # The exception's text may hold secrets (a database URL, say): it goes to the
    # provider's log only; the caller gets the id that finds it there.
    error_id = secrets.token_hex(4)
    log.error(
        "%s raised (error id %s)", _operation_name(bound), error_id, exc_info=exc
    )
    if isinstance(exc, BusError):  # a call the provider made failed: witgen's own words
        return ProviderFailure(
            f"the provider's own call failed (error id {error_id}): {exc}", bound.instance, bound.name
        )
    return ProviderFailure(
        f"the provider failed with {type(exc).__name__} (error id {error_id};"
        " details in the provider's log)",
        bound.instance,
        bound.name,
    )


def _operation_name(bound: BoundOperation) -> str:
    return f"{bound.instance}.{bound.name}" if bound.instance else bound.name


def _drop_operation(resource: str) -> Operation:
    def decode(call: Call, payload: bytes) -> tuple[Any, ...]:
        return (call, decode_handle(payload))

    def drop(call: Call, handle: bytes) -> None:
        call.handles.for_source(call.source).drop(resource, handle)

    return Operation(
        name=drop_name(resource),
        decode=decode,
        bind=lambda impl: drop,
        encode=lambda call, value: b"",
    )



def operations(
    functions: Mapping[str, wit.Func], methods: Mapping[str, str], *, resources: Iterable[Any] = ()
) -> list[Operation]:
    """The operations serving `methods` (wire name -> Python method name) of `functions`.

    Built from the functions' descriptions: parameters are decoded and the handles of
    `resources` (the handle classes of resources this provider implements) become the
    caller's objects; results are encoded, objects of those resources becoming new handles.
    A method's first parameter is its object: the operation calls the named method on it.
    """
    local = {wit.of(r) for r in resources}
    return [_operation(functions[wire], name, local) for wire, name in methods.items()]


def _to_object(call: Call, t: wit.Own, handle: Any) -> Any:
    if t.mode == "borrow":
        return call.borrow(t.resource.name, handle)
    return call.take(t.resource.name, handle)


def _to_handle(call: Call, t: wit.Own, obj: Any) -> Any:
    return t.resource.py(call.own(t.resource.name, obj))


def _operation(func: wit.Func, name: str, local: set[wit.Type]) -> Operation:
    fc = codec.function(func)
    wanted = local.__contains__
    params = [converter(t, wanted, _to_object) for _, t in func.params]
    result = converter(func.result, wanted, _to_handle)
    decode_params = fc.params.decode
    encode_result = fc.encode_value
    if any(params):

        def decode(call: Call, payload: bytes) -> tuple[Any, ...]:
            args = decode_params(payload)
            return tuple(c(call, a) if c is not None else a for c, a in zip(params, args, strict=True))

    else:

        def decode(call: Call, payload: bytes) -> tuple[Any, ...]:
            return decode_params(payload)

    if result is not None:
        conv = result

        def encode(call: Call, value: Any) -> bytes:
            return encode_result(conv(call, value))

    else:

        def encode(call: Call, value: Any) -> bytes:
            return encode_result(value)

    if func.kind == "method":

        def bind(impl: object) -> Callable[..., Any]:
            def method(obj: Any, *args: Any) -> Any:
                return getattr(obj, name)(*args)

            return method

    else:

        def bind(impl: object) -> Callable[..., Any]:
            fn: Callable[..., Any] = getattr(impl, name)
            return fn

    return Operation(func.name, decode, bind, encode, func)
