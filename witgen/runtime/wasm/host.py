"""Hosting one component: its imports answered by Python, its exports called with witgen types.

    host = ComponentHost(
        "actor.wasm",
        imports={"ollama:llm/llm": llm.FUNCTIONS},            # what the world imports
        exports={"wamli:stateful/state": state.FUNCTIONS},    # what it exports
        providers={"ollama:llm/llm": BuiltinLlm()},            # direct: no encoding
        bus=lattice,                                            # other imports: over a Bus
    )
    host.call("wamli:stateful/state", "get-data")             # Ok(b"...") | Err(Error(...))
    serving = host.serve(lattice)                               # providers call the actor

Every function of every imported interface is defined on the linker (instantiation needs
them all; `wasi:*` interfaces come from `linker.add_wasip2()`), routed to the interface's provider object (arguments and results converted from
wasmtime's values, no encoding), else through `bus` (encoded with `codec.function`), else to
a function that fails the call ("no route"); `routes` names a bus per imported interface,
`methods` the provider's Python method per wire name (default: the generated Protocols' naming). Resources an imported interface declares are
defined on the host: a constructor's object (or, over a bus, its handle) is kept under a
`rep` number, methods receive it back, and the component's drop releases it.

One instance runs one call at a time: calls from other threads queue. A call that arrives
while the instance waits on one of its own imports (a provider calling back into the
actor) is rejected at once with `BusError`, since it would otherwise wait for itself.

Failures: a trap, a provider that raises or returns a value that does not fit the WIT
type, a missing route or a deadline fail that call with a `BusError` naming the function
(`BusTimeout` for the deadline). wasmtime poisons an instance once a host function fails, so
the host instantiates the component again; its state is lost, which is logged.

Limits (`limits.Limits`): `deadline` seconds of guest time per call (None: no limit; time in
Python imports does not count), `max_memory` bytes per linear memory (None: no cap), and
`interrupt(host)`, which stops the running call within a tick and refuses every later one
with `Interrupted` (for shutting down: Ctrl-C).
"""

from __future__ import annotations

import builtins
import importlib
import inspect
import itertools
import keyword
import logging
import os
import re
import signal
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, Protocol

import wasmtime
from wasmtime.component import Component, Linker, LinkerInstance, ResourceAny, ResourceHost, ResourceType

from witgen.runtime import codec, wit
from witgen.runtime.bus import Bus, BusError, BusTimeout, ProviderFailure, Serving, UnknownOperation
from witgen.runtime.dispatch import DispatchTable, Operation, _LoopThread
from witgen.runtime.resources import drop_name, encode_handle
from witgen.runtime.values import Handle
from witgen.runtime.wasm import convert
from witgen.runtime.wasm.limits import DEADLINE, DEFAULT_MAX_MEMORY, INTERRUPTED, Limits, size_text
from witgen.runtime.wasm.loader import engine_for, load

__all__ = ["ComponentHost", "Definer", "Interrupted", "WasiOptions", "interrupt", "linker_name", "method_name"]

log = logging.getLogger("witgen.runtime")

Functions = Mapping[str, wit.Func]
_MAIN_THREAD = threading.main_thread().ident
try:  # `signal.getsignal` without its conversion to `Handlers`, which costs 13 us per call
    _sigint_handler: Callable[[int], Any] = importlib.import_module("_signal").getsignal
except ImportError:
    _sigint_handler = signal.getsignal


class Interrupted(BusError):
    """The host was interrupted (`interrupt`): its running call was stopped, later ones are refused."""


class _InvalidResult(ProviderFailure):
    """A provider's result that does not fit the WIT type (the message names the provider)."""


@dataclass(frozen=True)
class WasiOptions:
    """What the component may reach through WASI beyond stdout/stderr (inherited)."""

    env: Mapping[str, str] = field(default_factory=dict)
    args: Sequence[str] = ()
    dirs: Mapping[str, str] = field(default_factory=dict)  # host path -> guest path
    stdin: bool = False


class Definer(Protocol):
    """Something that defines whole interfaces on the linker itself (`wasmcloud:bus/host`)."""

    instances: tuple[str, ...]

    def define(self, host: ComponentHost, root: LinkerInstance) -> None: ...


def linker_name(func: wit.Func) -> str:
    """The component-model import name of a function: `[method]counter.incr`, `get-data`."""
    member = func.name.partition(".")[2]
    match func.kind:
        case "constructor":
            return f"[constructor]{func.resource}"
        case "method":
            return f"[method]{func.resource}.{member}"
        case "static":
            return f"[static]{func.resource}.{member}"
    return func.name


_KEYWORDS = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist)
_BUILTINS = frozenset(n for n in dir(builtins) if not n.startswith("_"))


def method_name(func: wit.Func) -> str:
    """The provider's Python method for `func` (the generated Protocol's naming)."""
    member = func.name.partition(".")[2] if func.kind != "freestanding" else func.name
    snake = member.removeprefix("%").replace("-", "_").lower()
    match func.kind:
        case "constructor":
            return f"{func.resource.replace('-', '_').lower()}_constructor"
        case "static":
            return f"{func.resource.replace('-', '_').lower()}_{snake}"
    return snake + "_" if snake in _KEYWORDS or snake in _BUILTINS else snake


class _Export:
    """An export prepared for calls: converters now, the wasmtime `Func` per instantiation."""

    __slots__ = ("instance", "func", "lowers", "lift", "handle")

    def __init__(self, instance: str, func: wit.Func) -> None:
        where = f"{instance}.{func.name}" if instance else func.name
        for name, t in func.params:
            convert.check(t, f"{where}, parameter {name}")
        if func.result is not None:
            convert.check(func.result, f"{where}, result")
        self.instance = instance
        self.func = func
        self.lowers = [convert.lower_or_same(t) for _, t in func.params]
        self.lift = convert.lift_or_same(func.result)
        self.handle: Any = None


class ComponentHost:
    """One component instance and the Python side of its world (see the module docstring)."""

    def __init__(
        self,
        component: Component | str | os.PathLike[str] | bytes,
        *,
        imports: Mapping[str, Functions] = {},
        exports: Mapping[str, Functions] = {},
        providers: Mapping[str, object] = {},
        methods: Mapping[str, Mapping[str, str]] = {},
        bus: Bus | None = None,
        routes: Mapping[str, Bus] = {},
        definers: Sequence[Definer] = (),
        deadline: float | None = 10.0,
        max_memory: int | None = DEFAULT_MAX_MEMORY,
        wasi: WasiOptions | None = None,
        name: str = "",
    ) -> None:
        self.engine = engine_for()
        if isinstance(component, Component):
            self.component = component
        else:
            self.component = load(self.engine, component)
            name = name or (os.fspath(component) if not isinstance(component, bytes) else "")
        self.name = name or "component"
        self.bus = bus
        self.routes = dict(routes)
        self.providers = dict(providers)
        self.methods = {i: dict(m) for i, m in methods.items()}
        self.deadline = deadline
        self.wasi = wasi or WasiOptions()
        self._limits = Limits(self.engine, deadline=deadline, max_memory=max_memory)
        self._lock = threading.Lock()
        self._running: int | None = None  # the thread running a call, while one runs
        self._in_import = False
        self._failure: BaseException | None = None
        self._exports: dict[tuple[str, str], _Export] = {}
        for instance, funcs in exports.items():
            for fname, func in funcs.items():
                self._exports[(instance, fname)] = _Export(instance, func)
        # Host resources: (instance, resource) -> wasmtime type id; rep -> object or handle.
        self._resource_ids: dict[tuple[str, str], int] = {}
        self._objects: dict[int, Any] = {}
        self._reps = itertools.count(1)
        self.linker = Linker(self.engine)
        self.linker.add_wasip2()
        with self.linker.root() as root:
            for definer in definers:
                definer.define(self, root)
            defined = {i for d in definers for i in d.instances}
            for instance, funcs in imports.items():
                if instance not in defined and not instance.startswith("wasi:"):
                    self._define_import(root, instance, funcs)
        self.store: wasmtime.Store
        self.instance: Any
        self._instantiate()

    def __repr__(self) -> str:
        return f"<ComponentHost {self.name}>"

    # ------------------------------------------------------------------ instances

    def _instantiate(self) -> None:
        store = wasmtime.Store(self.engine)
        config = wasmtime.WasiConfig()
        config.inherit_stdout()
        config.inherit_stderr()
        if self.wasi.stdin:
            config.inherit_stdin()
        if self.wasi.env:
            config.env = list(self.wasi.env.items())
        if self.wasi.args:
            config.argv = list(self.wasi.args)
        for host_path, guest_path in self.wasi.dirs.items():
            config.preopen_dir(host_path, guest_path)
        store.set_wasi(config)
        self._limits.attach(store)
        self._limits.start(store)
        self._objects.clear()
        try:
            instance = self.linker.instantiate(store, self.component)
        except wasmtime.WasmtimeError as exc:
            if self._limits.stopped == DEADLINE:
                raise BusTimeout(f"{self.name}: cannot instantiate: it ran past its {self.deadline} s deadline") from None
            if self._limits.stopped == INTERRUPTED:
                raise Interrupted(f"{self.name}: interrupted while instantiating") from None
            raise BusError(f"{self.name}: cannot instantiate: {self._trap_text(exc)}") from None
        for key, export in self._exports.items():
            export.handle = self._find_export(store, instance, *key)
        self.store, self.instance = store, instance

    def _find_export(self, store: wasmtime.Store, instance: Any, iface: str, fname: str) -> Any:
        parent = None
        if iface:
            parent = instance.get_export_index(store, iface)
            if parent is None:
                raise BusError(f"{self.name} does not export {iface}")
        index = instance.get_export_index(store, fname, parent)
        func = None if index is None else instance.get_func(store, index)
        if func is None:
            where = f"{iface}.{fname}" if iface else fname
            raise BusError(f"{self.name} does not export function {where}")
        return func

    def _reinstantiate(self, why: str) -> None:
        log.warning("%s: %s; instantiating it again (its state is lost)", self.name, why)
        self._instantiate()

    # ------------------------------------------------------------------ exports

    def call(self, instance: str, function: str, *args: Any) -> Any:
        """Call an export with witgen values; return its result as witgen values."""
        export = self._exports.get((instance, function))
        if export is None:
            raise UnknownOperation(f"{self.name} exports no such function", instance, function)
        if self._limits.interrupted:
            raise Interrupted("interrupted: the host takes no more calls", instance, function)
        me = threading.get_ident()
        if self._running == me or self._in_import:
            raise BusError(
                f"re-entrant call: {self.name} is in the middle of a call and waits on one of its imports",
                instance,
                function,
            )
        with self._lock:
            self._running = me
            try:
                if me == _MAIN_THREAD:
                    return self._call_catching_sigint(export, args)
                return self._call(export, args)
            finally:
                self._running = None
                self._in_import = False

    def _call_catching_sigint(self, export: _Export, args: tuple[Any, ...]) -> Any:
        """`_call` in the main thread: SIGINT cancels the call, then reaches its own handler.

        Python runs signal handlers in the main thread, also inside the callbacks wasmtime
        makes into Python (host functions, the epoch callback), and an exception escaping
        one of those leaves wasmtime without an answer. So while the guest may run, SIGINT
        only cancels the call; once it has ended, the handler it was meant for runs (by
        default: `KeyboardInterrupt`). See `_SigintDuringCalls`."""
        handler = _sigint_handler(signal.SIGINT)
        if not isinstance(handler, _SigintDuringCalls):
            if handler is None:  # a handler not installed from Python: it cannot be wrapped
                return self._call(export, args)
            handler = _SigintDuringCalls(handler)
            signal.signal(signal.SIGINT, handler)
        handler.running = self._limits
        try:
            return self._call(export, args)
        finally:
            handler.running = None
            handler.deliver_caught()

    def _call(self, export: _Export, args: tuple[Any, ...]) -> Any:
        func = export.func
        if len(args) != len(func.params):
            raise BusError(
                f"takes {len(func.params)} argument(s), got {len(args)}", export.instance, func.name
            )
        raw = []
        for (pname, _), lower, arg in zip(func.params, export.lowers, args, strict=True):
            try:
                raw.append(lower(arg))
            except convert.ConversionError as exc:
                raise BusError(f"argument does not fit the WIT type: {exc.located(pname)}", export.instance, func.name) from None
            except Exception as exc:
                raise BusError(f"argument does not fit the WIT type: {exc}", export.instance, func.name) from None
        store = self.store
        self._limits.start(store)
        self._failure = None
        try:
            result = export.handle(store, *raw)
            export.handle.post_return(store)
        except Exception as exc:
            raise self._failed(export, exc) from None
        try:
            return export.lift(result)
        except Exception as exc:
            raise BusError(f"result does not convert: {exc!r}", export.instance, func.name) from None

    def _failed(self, export: _Export, exc: Exception) -> BusError:
        failure, self._failure = self._failure, None
        limits = self._limits
        where = f"{export.instance}.{export.func.name}" if export.instance else export.func.name
        if limits.interrupted:
            return Interrupted("interrupted: the call was stopped", export.instance, export.func.name)
        if limits.cancelled:
            self._reinstantiate(f"{where} was cancelled")
            return Interrupted("interrupted: the call was stopped", export.instance, export.func.name)
        if failure is not None:
            error = BusError(f"{failure}", export.instance, export.func.name)
            if isinstance(failure, BusError):
                error = type(failure)(str(failure), export.instance, export.func.name)
            self._reinstantiate(f"{where} failed in an import ({failure})")
            return error
        text = self._trap_text(exc)
        if limits.stopped == DEADLINE:
            self._reinstantiate(f"{where} ran past its {self.deadline} s deadline")
            return BusTimeout(
                f"the component ran past its {self.deadline} s deadline and was stopped",
                export.instance,
                export.func.name,
            )
        self._reinstantiate(f"{where} trapped ({text})")
        return BusError(f"the component trapped: {text}", export.instance, export.func.name)

    def _trap_text(self, exc: BaseException) -> str:
        """The trap's line; the memory cap too when the trap speaks of memory or happened in
        an allocator (wasmtime cannot say whether a refused `memory.grow` caused it)."""
        text = _first_line(exc)
        cap = self._limits.max_memory
        if cap is not None and _MEMORY_SIGNS.search(str(exc)):
            text += f" (its memory is capped at {size_text(cap)})"
        return text

    def serve(self, bus: Bus) -> Serving:
        """Serve every export on `bus` (providers call the actor with generated clients)."""
        return bus.serve(self.dispatch_table())

    def dispatch_table(self) -> DispatchTable:
        """A dispatch table whose operations call this component's exports."""
        table = DispatchTable()
        by_instance: dict[str, list[Operation]] = {}
        for (instance, fname), export in self._exports.items():
            by_instance.setdefault(instance, []).append(self._operation(instance, fname, export.func))
        for instance, ops in by_instance.items():
            table.add_interface(instance, self, ops)
        return table

    def _operation(self, instance: str, fname: str, func: wit.Func) -> Operation:
        fc = codec.function(func)
        return Operation(
            name=fname,
            decode=lambda call, payload: fc.decode_params(payload),
            bind=lambda host: lambda *args: host.call(instance, fname, *args),
            encode=lambda call, value: fc.encode_result(value),
        )

    # ------------------------------------------------------------------ imports

    def _define_import(self, root: LinkerInstance, instance: str, funcs: Functions) -> None:
        provider = self.providers.get(instance)
        with root.add_instance(instance) as target:
            for res in _resources(funcs):
                self._define_resource(target, instance, res, provider)
            for func in funcs.values():
                where = f"{instance}.{func.name}"
                for pname, t in func.params:
                    convert.check(t, f"{where}, parameter {pname}")
                if func.result is not None:
                    convert.check(func.result, f"{where}, result")
                bus = self.routes.get(instance, self.bus)
                if provider is not None:
                    fn = self._direct(instance, func, provider)
                elif bus is not None:
                    fn = self._over_bus(instance, func, bus)
                else:
                    fn = self._no_route(instance, func)
                target.add_func(linker_name(func), self.guard(f"{instance}.{func.name}", fn))

    def resource_id(self, instance: str, resource: str) -> int:
        """The wasmtime type id of a host resource (one per interface and name)."""
        key = (instance, resource)
        if key not in self._resource_ids:
            self._resource_ids[key] = len(self._resource_ids) + 1
        return self._resource_ids[key]

    def _define_resource(self, target: LinkerInstance, instance: str, res: str, provider: object) -> None:
        rid = self.resource_id(instance, res)

        def dtor(store: Any, rep: int) -> None:
            obj = self._objects.pop(rep, None)
            if obj is None:
                return
            bus = self.routes.get(instance, self.bus)
            if isinstance(obj, Handle):
                if bus is not None:
                    bus.invoke(instance, drop_name(res), _handle_payload(obj))
            else:
                exit_ = getattr(obj, "__exit__", None)
                if exit_ is not None:
                    exit_(None, None, None)

        target.add_resource(res, ResourceType.host(rid), dtor)

    def guard(self, where: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Wrap the host function of import `where`: its failure is kept for the export call
        to report, and the time it takes is not the guest's."""
        limits = self._limits

        def guarded(store: Any, *args: Any) -> Any:
            limits.pause()
            self._in_import = True
            try:
                if limits.interrupted:
                    raise Interrupted("interrupted")
                out = fn(store, *args)
            except BaseException as exc:
                self._failure = self._import_failure(where, exc)
                if not isinstance(exc, Exception):  # wasmtime-py passes on only Exceptions
                    raise BusError(f"import {where}: {type(exc).__name__}") from None
                raise
            finally:
                self._in_import = False
                limits.resume(store)
            return out

        return guarded

    def _import_failure(self, where: str, exc: BaseException) -> BaseException:
        """What the export call reports for an import that raised `exc`."""
        if isinstance(exc, _InvalidResult):
            return ProviderFailure(exc.message)
        if isinstance(exc, BusError) and exc.instance:
            return exc
        if isinstance(exc, BusError):
            return type(exc)(f"import {where}: {exc.message}")
        log.error("%s: import %s raised", self.name, where, exc_info=exc)
        return ProviderFailure(f"import {where}: the provider raised {type(exc).__name__}: {exc}")

    def _rep_of(self, store: Any, value: Any) -> int:
        if isinstance(value, ResourceAny):
            return int(value.to_host(store).rep)
        return int(value.rep)

    def _new_rep(self, instance: str, res: str, obj: Any) -> ResourceHost:
        rep = next(self._reps)
        self._objects[rep] = obj
        return ResourceHost.own(rep, self.resource_id(instance, res))

    def _params(self, instance: str, func: wit.Func) -> list[Callable[[Any, Any], Any]]:
        """Per parameter: (store, wasmtime value) -> witgen value; host handles become objects."""
        out: list[Callable[[Any, Any], Any]] = []
        for i, (_, t) in enumerate(func.params):
            if isinstance(t, wit.Own) or (func.kind == "method" and i == 0):
                own = isinstance(t, wit.Own) and not isinstance(t, wit.Borrow)

                def resolve(store: Any, v: Any, own: bool = own) -> Any:
                    rep = self._rep_of(store, v)
                    return self._objects.pop(rep) if own else self._objects[rep]

                out.append(resolve)
            else:
                out.append(_ignoring_store(convert.lift_or_same(t)))
        return out

    def _result(self, instance: str, func: wit.Func) -> Callable[[Any], Any]:
        """Provider result -> wasmtime value, checked: one that does not fit names the provider."""
        t = func.result
        if isinstance(t, wit.Own) and not isinstance(t, wit.Borrow):
            res = t.resource.name
            return lambda obj: self._new_rep(instance, res, obj)
        lower = convert.lower_or_same(t)
        where = f"{instance}.{func.name}" if instance else func.name

        def checked(value: Any) -> Any:
            try:
                return lower(value)
            except convert.ConversionError as exc:
                raise _InvalidResult(f"provider {where} returned an invalid value: {exc.located('result')}") from None

        return checked

    def _direct(self, instance: str, func: wit.Func, provider: object) -> Callable[..., Any]:
        params = self._params(instance, func)
        result = self._result(instance, func)
        attr = self.methods.get(instance, {}).get(func.name) or method_name(func)
        if func.kind == "method":
            member = attr
            bind: Callable[[list[Any]], Callable[..., Any]] = lambda args: getattr(args.pop(0), member)
        else:
            method = getattr(provider, attr, None)
            if method is None:
                raise TypeError(f"the provider of {instance} has no method {attr!r} for {func.name}")
            bind = lambda args: method  # noqa: E731

        def direct(store: Any, *raw: Any) -> Any:
            args = [p(store, v) for p, v in zip(params, raw, strict=True)]
            value = bind(args)(*args)
            if type(value) not in _PLAIN and inspect.isawaitable(value):
                value = _LoopThread.run(value, self.deadline)
            return result(value)

        return direct

    def _over_bus(self, instance: str, func: wit.Func, bus: Bus) -> Callable[..., Any]:
        fc = codec.function(func)
        params = self._params(instance, func)
        result = self._result(instance, func)
        fname = func.name

        def over_bus(store: Any, *raw: Any) -> Any:
            args = [p(store, v) for p, v in zip(params, raw, strict=True)]
            out = bus.invoke(instance, fname, fc.params.encode(tuple(args)))
            try:
                value = fc.decode_result(out)
            except Exception as exc:
                raise BusError(f"the provider's result does not decode: {exc}", instance, fname) from None
            return result(value)

        return over_bus

    def _no_route(self, instance: str, func: wit.Func) -> Callable[..., Any]:
        def no_route(store: Any, *raw: Any) -> Any:
            raise UnknownOperation(
                f"no route: {self.name} imports {instance} but no provider or bus was given for it",
                instance,
                func.name,
            )

        return no_route


class _SigintDuringCalls:
    """The SIGINT handler of the main thread once a host has run a call there.

    It wraps the handler it replaced (`inner`): while a call runs it only cancels the call
    and keeps the signal until the call has ended; otherwise it is `inner` itself (the
    default action re-raised for `SIG_DFL`). Installed once, so that a call costs no
    `signal.signal`."""

    def __init__(self, inner: Callable[[int, FrameType | None], Any] | int) -> None:
        self.inner = inner
        self.running: Limits | None = None
        self.caught: list[FrameType | None] = []

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.running is not None:
            self.caught.append(frame)
            self.running.cancel()
        else:
            self._deliver(frame)

    def deliver_caught(self) -> None:
        if self.caught:
            frame = self.caught[0]
            self.caught.clear()
            self._deliver(frame)

    def _deliver(self, frame: FrameType | None) -> None:
        if callable(self.inner):
            self.inner(signal.SIGINT, frame)
        elif self.inner == signal.SIG_DFL:
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.raise_signal(signal.SIGINT)


def interrupt(host: ComponentHost) -> None:
    """Stop `host`'s running call within a tick (`Interrupted`) and refuse every later call."""
    host._limits.interrupt()


def _ignoring_store(lift: Callable[[Any], Any]) -> Callable[[Any, Any], Any]:
    return lambda store, v: lift(v)


_PLAIN = frozenset({type(None), bool, int, float, str, bytes, list, tuple, dict})


def _resources(funcs: Functions) -> list[str]:
    """Resources with constructors, methods or statics in `funcs`, in first-use order."""
    seen: dict[str, None] = {}
    for func in funcs.values():
        if func.resource:
            seen.setdefault(func.resource, None)
    return list(seen)


def _handle_payload(handle: Handle) -> bytes:
    return encode_handle(handle.handle)


# A trap about memory, or a backtrace frame in an allocator (`realloc`, `dlmalloc`, `handle_alloc_error`).
_MEMORY_SIGNS = re.compile(r"memory|alloc|\boom\b|sbrk", re.IGNORECASE)


def _first_line(exc: BaseException) -> str:
    """The line that says what went wrong (a trap's `wasm trap: ...` line, not its backtrace)."""
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    for line in lines:
        _, found, reason = line.partition("wasm trap:")  # also as a numbered cause, `1: wasm trap: ...`
        if found:
            return reason.strip()
    return lines[0] if lines else type(exc).__name__
