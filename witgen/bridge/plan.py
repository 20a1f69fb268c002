"""What a bridge carries: the interfaces it provides and exposes, checked up front.

`plan(resolve, provide, expose)` picks the named interfaces out of a resolved WIT
graph and refuses, naming the function, everything that cannot cross a NATS message
as a plain value: `future`, `stream`, `error-context` and async functions.

Resources cross as the provider's handles (opaque bytes, as over wRPC) in provided
interfaces: constructors, methods and static functions become calls, and `own`/`borrow`
handles of the interface's own resources may appear in parameters and results. A
handle of a resource another interface declares is refused, and so are resources in
exposed interfaces: the bridge's instance lives for one message, so a handle it issued
to a NATS caller would be gone at that caller's next call.

For every function of a provided interface it decides how a transport failure (no responders, timeout, an oversized payload, a provider-side
failure) reaches the caller (`TransportError`):

- the result is `result<_, string>`: the error value is the message;
- the result is `result<_, R>` with `R` a record that has a message-like string field
  (`message`, `error-message`, `error`, `msg`, `reason`, `detail`, `description`,
  first match in that order): that field holds the message, a string field named
  `status` holds `503 Service Unavailable`, an integer field whose name contains
  `code` or `status` holds 503, and every other field its zero value;
- the result is `result<_, V>` with `V` a variant that has a case carrying a string
  (the first of `other`, `unexpected`, `internal`, `transport`, `error`, `unavailable`,
  else the first string case): that case with the message;
- otherwise the call traps with the message (the caller's instance sees a trap).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from witgen import model

__all__ = ["BridgeError", "ErrorRule", "Iface", "Plan", "plan"]

MESSAGE_FIELDS = ("message", "error-message", "error", "msg", "reason", "detail", "description")
MESSAGE_CASES = ("other", "unexpected", "internal", "transport", "error", "unavailable")


class BridgeError(Exception):
    """A bridge cannot be made from this WIT and these options (one line, for the user)."""


@dataclass(frozen=True, slots=True)
class ErrorRule:
    """How a transport failure becomes a function's error value.

    `kind` is `string`, `record`, `variant` or `trap`; `type_id` is the error type
    (record or variant) and `target` the field or case that takes the message.
    """

    kind: str
    type_id: int | None = None
    target: str = ""


@dataclass(frozen=True, slots=True)
class Iface:
    """One bridged interface: its id in the graph, its wire instance name, its functions
    (resource members included), their error rules and the ids of its resources."""

    id: int
    instance: str
    functions: tuple[model.Function, ...]
    rules: dict[str, ErrorRule]
    resources: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Plan:
    """The interfaces a bridge provides (exports) and exposes (imports), in the order given."""

    resolve: model.Resolve
    provide: tuple[Iface, ...]
    expose: tuple[Iface, ...]


def plan(resolve: model.Resolve, provide: Sequence[str], expose: Sequence[str]) -> Plan:
    """Check and select the interfaces; raises `BridgeError` naming what cannot cross."""
    if not provide and not expose:
        raise BridgeError("nothing to bridge: give at least one --provide or --expose interface")
    provided = [_iface(resolve, name, provided=True) for name in provide]
    exposed = [_iface(resolve, name, provided=False) for name in expose]
    seen: dict[int, str] = {}
    for role, group in (("--provide", provided), ("--expose", exposed)):
        for it in group:
            if it.id in seen:
                raise BridgeError(f"interface {it.instance} is given twice ({seen[it.id]} and {role})")
            seen[it.id] = role
    return Plan(resolve, tuple(provided), tuple(exposed))


def find_interface(resolve: model.Resolve, name: str) -> int:
    """The id of `ns:pkg/iface[@version]`, or of `iface` in the root package."""
    matches = []
    for i, iface in enumerate(resolve.interfaces):
        if iface.package is None or iface.name is None:
            continue
        full = resolve.interface_id(i)
        bare = full.partition("@")[0]
        local = resolve.root is not None and iface.package == resolve.root and name == iface.name
        if name in (full, bare) or local:
            matches.append(i)
    if not matches:
        raise BridgeError(f"no interface {name!r} in the WIT (name it ns:pkg/iface or, in the root package, iface)")
    if len(matches) > 1:
        names = ", ".join(resolve.interface_id(i) for i in matches)
        raise BridgeError(f"interface {name!r} is ambiguous: {names} (give the version)")
    return matches[0]


def _iface(resolve: model.Resolve, name: str, *, provided: bool) -> Iface:
    iid = find_interface(resolve, name)
    instance = resolve.interface_id(iid)
    iface = resolve.interfaces[iid]
    functions = tuple(iface.functions.values())
    own = tuple(sorted(t for t in iface.types.values() if isinstance(resolve.types[t].kind, model.Resource)))
    for func in functions:
        where = f"{instance}.{func.name}"
        kind = func.kind.kind
        if kind.startswith("async"):
            raise BridgeError(f"cannot bridge {where}: an async function cannot cross a NATS message")
        if kind != "freestanding" and not provided:
            raise BridgeError(f"cannot expose {where}: a resource {kind} cannot be exposed (the bridge's instance "
                              "lives for one message, so the handles it issued would be gone at the next call); "
                              "--provide carries resources")  # fmt: skip
        if kind in ("method", "static") and func.item_name.partition(".")[2] == "handle":
            raise BridgeError(f"cannot bridge {where}: the bridge keeps the provider's handle in an attribute "
                              "named handle, which a member of that name would hide")  # fmt: skip
        allowed = set(own) if provided else None
        for p in func.params:
            _check(resolve, p.type, f"{where}: parameter '{p.name}'", allowed, instance)
        if func.result is not None:
            _check(resolve, func.result, f"{where}: result", allowed, instance)
    if not functions:
        raise BridgeError(f"interface {instance} has no functions to bridge")
    table = {f.name: error_rule(resolve, f) for f in functions} if provided else {}
    return Iface(iid, instance, functions, table, own if provided else ())


def _check(resolve: model.Resolve, ty: model.Type, where: str, allowed: set[int] | None, instance: str) -> None:
    """Refuse what cannot cross; `allowed`: the resources whose handles may (None: exposed)."""
    bad = _forbidden(resolve, ty, set(), allowed or set())
    if bad.startswith("a resource handle") and allowed is None:
        raise BridgeError(f"cannot expose {where} holds {bad}: resources cannot be exposed (the bridge's instance "
                          "lives for one message); --provide carries them")  # fmt: skip
    if bad.startswith("a resource handle"):
        raise BridgeError(f"cannot bridge {where} holds {bad}, a resource {instance} does not declare "
                          "(provide the interface that declares it instead)")  # fmt: skip
    if bad:
        raise BridgeError(f"cannot bridge {where} holds {bad}, which cannot cross a NATS message")


def _forbidden(resolve: model.Resolve, ty: model.Type, seen: set[int], allowed: set[int]) -> str:
    """What in `ty` cannot travel ('' when all of it can); handles of `allowed` resources can."""
    if isinstance(ty, str):
        return "an error-context" if ty == "error-context" else ""
    if ty in seen:
        return ""
    seen.add(ty)
    kind = resolve.types[ty].kind
    match kind:
        case model.Resource():
            return "" if ty in allowed else f"resource {resolve.types[ty].name}"
        case model.Handle(mode=mode, resource=r):
            base = _resource_of(resolve, r)
            return "" if base in allowed else f"a resource handle ({mode}<{resolve.types[r].name}>)"
        case model.Future():
            return "a future"
        case model.Stream():
            return "a stream"
    return next((b for t in _children(kind) if (b := _forbidden(resolve, t, seen, allowed))), "")


def _resource_of(resolve: model.Resolve, tid: int) -> int:
    """The resource type behind `tid` (a `use`d resource is an alias of the declared one)."""
    found = resolve.dealias(tid)
    return found if isinstance(found, int) else tid


def _children(kind: model.TypeKind) -> Iterable[model.Type]:
    match kind:
        case model.Record(fields=fields):
            return [f.type for f in fields]
        case model.Variant(cases=cases):
            return [c.type for c in cases if c.type is not None]
        case model.Tuple(types=types):
            return types
        case model.Option(type=t) | model.List(type=t) | model.FixedList(type=t) | model.Alias(type=t):
            return [t]
        case model.Result(ok=ok, err=err):
            return [t for t in (ok, err) if t is not None]
        case model.Map(key=k, value=v):
            return [k, v]
    return []


def error_rule(resolve: model.Resolve, func: model.Function) -> ErrorRule:
    """How a transport failure reaches the caller of `func` (see the module docstring)."""
    res = func.result
    if res is None:
        return ErrorRule("trap")
    res = resolve.dealias(res)
    if not isinstance(res, int) or not isinstance(resolve.types[res].kind, model.Result):
        return ErrorRule("trap")
    err = resolve.types[res].kind.err  # type: ignore[union-attr]
    if err is None:
        return ErrorRule("trap")
    err = resolve.dealias(err)
    if err == "string":
        return ErrorRule("string")
    if not isinstance(err, int):
        return ErrorRule("trap")
    kind = resolve.types[err].kind
    if isinstance(kind, model.Record):
        strings = {f.name for f in kind.fields if resolve.dealias(f.type) == "string"}
        field = next((n for n in MESSAGE_FIELDS if n in strings), None)
        if field is not None and all(zero_ok(resolve, f.type) for f in kind.fields):
            return ErrorRule("record", err, field)
    if isinstance(kind, model.Variant):
        cases = [c.name for c in kind.cases if c.type is not None and resolve.dealias(c.type) == "string"]
        case = next((n for n in MESSAGE_CASES if n in cases), cases[0] if cases else None)
        if case is not None:
            return ErrorRule("variant", err, case)
    return ErrorRule("trap")


def zero_ok(resolve: model.Resolve, ty: model.Type) -> bool:
    """True when `ty` has a zero value the bridge can build (no variant, no fixed list)."""
    ty = resolve.dealias(ty)
    if isinstance(ty, str):
        return True
    kind = resolve.types[ty].kind
    match kind:
        case model.Record(fields=fields):
            return all(zero_ok(resolve, f.type) for f in fields)
        case model.Tuple(types=types):
            return all(zero_ok(resolve, t) for t in types)
        case model.Enum() | model.Flags() | model.Option() | model.List() | model.Map():
            return True
    return False
