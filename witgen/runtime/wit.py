"""Type descriptions: what generated bindings say about the WIT shape of their types.

A generated module declares its types as ordinary Python (dataclasses, enums, flags,
handle classes) and describes each one's WIT shape next to it:

    @wit.record("error", {"status-code": wit.U32, "status": wit.STRING})
    @dataclasses.dataclass(slots=True)
    class Error:
        status_code: int
        status: str

    FUNCTIONS = wit.functions(
        wit.Func("get-data", {}, wit.Result(wit.List(wit.U8), Error)),
    )

The descriptions are plain data. The runtime builds everything that depends on the
encoding from them when first needed: wire codecs (`witgen.runtime.codec`), handle
conversions of dispatch tables and clients, and the converters of other transports. A
named type is referred to by its Python class (a variant by its union alias); an alias
(`type x = y`) is described by its target. Anonymous types are built with the classes
below: `List(T)`, `List(T, 4)`, `Option(T)`, `Result(ok, err)`, `Tuple(a, b)`,
`Map(k, v)`, `Own(R)`, `Borrow(R)`, `Future(T)`, `Stream(T)`.

Types are described before they are used (WIT types form no cycles, and generated modules
define them in dependency order), so every reference is resolved when it is made.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

__all__ = [
    "BOOL", "CHAR", "ERROR_CONTEXT", "F32", "F64", "S8", "S16", "S32", "S64", "STRING",
    "U8", "U16", "U32", "U64",
    "Borrow", "Case", "Enum", "Field", "Flags", "Func", "Future", "List", "Map", "Named",
    "Option", "Own", "Prim", "Record", "Resource", "Result", "Stream", "Tuple", "Type",
    "Variant", "cached", "enum", "flags", "functions", "of", "record", "resource", "variant",
]

C = TypeVar("C", bound=type)


class Type:
    """The description of one WIT type. Subclasses are immutable after construction.

    `cache` holds what the runtime builds from the description (codecs, converters),
    keyed by the builder; nothing else is stored on a description.
    """

    __slots__ = ("cache",)

    def __init__(self) -> None:
        self.cache: dict[str, Any] = {}

    @property
    def wit(self) -> str:
        """The type as WIT writes it (`list<u8>`, `option<error>`, `error`)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<wit {self.wit}>"


TypeRef = Any  # a `Type`, or the Python class (or union alias) of a described named type


class Prim(Type):
    """A primitive: `bool`, the integers, `f32`, `f64`, `char`, `string`, `error-context`."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    @property
    def wit(self) -> str:
        return self.name


BOOL = Prim("bool")
U8 = Prim("u8")
U16 = Prim("u16")
U32 = Prim("u32")
U64 = Prim("u64")
S8 = Prim("s8")
S16 = Prim("s16")
S32 = Prim("s32")
S64 = Prim("s64")
F32 = Prim("f32")
F64 = Prim("f64")
CHAR = Prim("char")
STRING = Prim("string")
ERROR_CONTEXT = Prim("error-context")

INTEGERS = {"u8": (0, 0xFF), "u16": (0, 0xFFFF), "u32": (0, 0xFFFF_FFFF), "u64": (0, (1 << 64) - 1),
            "s8": (-0x80, 0x7F), "s16": (-0x8000, 0x7FFF), "s32": (-(1 << 31), (1 << 31) - 1),
            "s64": (-(1 << 63), (1 << 63) - 1)}  # fmt: skip


class List(Type):
    """`list<T>`, or `list<T, N>` when `size` is given."""

    __slots__ = ("element", "size")

    def __init__(self, element: TypeRef, size: int | None = None) -> None:
        super().__init__()
        self.element: Type = of(element)
        self.size = size

    @property
    def wit(self) -> str:
        return f"list<{self.element.wit}>" if self.size is None else f"list<{self.element.wit}, {self.size}>"


class Map(Type):
    """`map<K, V>` (a `dict`, encoded like `list<tuple<K, V>>`)."""

    __slots__ = ("key", "value")

    def __init__(self, key: TypeRef, value: TypeRef) -> None:
        super().__init__()
        self.key: Type = of(key)
        self.value: Type = of(value)

    @property
    def wit(self) -> str:
        return f"map<{self.key.wit}, {self.value.wit}>"


class Tuple(Type):
    """`tuple<A, B, ...>` (a Python `tuple`)."""

    __slots__ = ("items",)

    def __init__(self, *items: TypeRef) -> None:
        super().__init__()
        self.items: tuple[Type, ...] = tuple(of(t) for t in items)

    @property
    def wit(self) -> str:
        return f"tuple<{', '.join(t.wit for t in self.items)}>"


class Option(Type):
    """`option<T>`: `T | None`, or `Some[T] | None` when `T` itself can be `None`."""

    __slots__ = ("inner",)

    def __init__(self, inner: TypeRef) -> None:
        super().__init__()
        self.inner: Type = of(inner)

    @property
    def wit(self) -> str:
        return f"option<{self.inner.wit}>"

    @property
    def nested(self) -> bool:
        """True when the payload can be `None`, so a present value is wrapped in `Some`."""
        return isinstance(self.inner, Option)


class Result(Type):
    """`result<T, E>`: `Ok[T] | Err[E]`; a missing side is `None` (`Ok(None)`)."""

    __slots__ = ("ok", "err")

    def __init__(self, ok: TypeRef | None = None, err: TypeRef | None = None) -> None:
        super().__init__()
        self.ok: Type | None = None if ok is None else of(ok)
        self.err: Type | None = None if err is None else of(err)

    @property
    def wit(self) -> str:
        if self.ok is None and self.err is None:
            return "result"
        ok = "_" if self.ok is None else self.ok.wit
        return f"result<{ok}>" if self.err is None else f"result<{ok}, {self.err.wit}>"


class Future(Type):
    """`future<T>` (only ready values travel inline)."""

    __slots__ = ("inner",)
    keyword = "future"

    def __init__(self, inner: TypeRef | None = None) -> None:
        super().__init__()
        self.inner: Type | None = None if inner is None else of(inner)

    @property
    def wit(self) -> str:
        return self.keyword if self.inner is None else f"{self.keyword}<{self.inner.wit}>"


class Stream(Future):
    """`stream<T>` (only complete streams travel inline)."""

    __slots__ = ()
    keyword = "stream"


# --------------------------------------------------------------------------- named types


class Named(Type):
    """A type with a WIT name and a Python class (or union alias) that stands for it."""

    __slots__ = ("name", "py")

    def __init__(self, name: str, py: Any) -> None:
        super().__init__()
        self.name = name
        self.py = py

    @property
    def wit(self) -> str:
        return self.name


@dataclasses.dataclass(frozen=True, slots=True)
class Field:
    """A record field: WIT name, Python attribute, type."""

    wit: str
    attr: str
    type: Type


class Record(Named):
    """`record`: a dataclass whose fields are in WIT order."""

    __slots__ = ("fields",)

    def __init__(self, name: str, cls: type, fields: Mapping[str, TypeRef]) -> None:
        super().__init__(name, cls)
        attrs = [f.name for f in dataclasses.fields(cls)]
        if len(attrs) != len(fields):
            raise TypeError(f"record {name}: {len(fields)} WIT fields but {len(attrs)} dataclass fields")
        self.fields = tuple(Field(w, a, of(t)) for (w, t), a in zip(fields.items(), attrs, strict=True))


@dataclasses.dataclass(frozen=True, slots=True)
class Case:
    """A variant case: WIT name, the case's class, its payload type (or None)."""

    wit: str
    cls: type
    type: Type | None


class Variant(Named):
    """`variant`: one class per case (payload in `.value`) and a union alias of them."""

    __slots__ = ("cases",)

    def __init__(self, name: str, alias: Any, cases: Mapping[str, tuple[type, TypeRef | None]]) -> None:
        super().__init__(name, alias)
        self.cases = tuple(Case(w, cls, None if t is None else of(t)) for w, (cls, t) in cases.items())


class Enum(Named):
    """`enum`: an `enum.Enum` whose members' values are the case indices."""

    __slots__ = ("cases", "members")

    def __init__(self, name: str, cls: type, cases: Iterable[str]) -> None:
        super().__init__(name, cls)
        self.cases = tuple(cases)
        self.members: tuple[Any, ...] = tuple(cls)  # type: ignore[arg-type]
        if len(self.members) != len(self.cases):
            raise TypeError(f"enum {name}: {len(self.cases)} WIT cases but {len(self.members)} members")


class Flags(Named):
    """`flags`: an `enum.Flag` whose bit i is flag i."""

    __slots__ = ("names",)

    def __init__(self, name: str, cls: type, names: Iterable[str]) -> None:
        super().__init__(name, cls)
        self.names = tuple(names)

    @property
    def size(self) -> int:
        """Bytes on the wire."""
        return (len(self.names) + 7) // 8


class Resource(Named):
    """`resource`: a `witgen.runtime.values.Handle` subclass (opaque bytes)."""

    __slots__ = ()


class Own(Type):
    """`own<R>`: a handle whose resource the receiver now owns."""

    __slots__ = ("resource",)
    mode = "own"

    def __init__(self, resource: TypeRef) -> None:
        super().__init__()
        res = of(resource)
        if not isinstance(res, Resource):
            raise TypeError(f"{self.mode}<..> of {res.wit}, which is not a resource")
        self.resource: Resource = res

    @property
    def wit(self) -> str:
        return f"{self.mode}<{self.resource.wit}>"


class Borrow(Own):
    """`borrow<R>`: a handle lent for the duration of one call."""

    __slots__ = ()
    mode = "borrow"


# --------------------------------------------------------------------------- registry

_NAMED: dict[Any, Named] = {}


def of(ref: TypeRef) -> Type:
    """The description of `ref`: a `Type` itself, or a described class or union alias."""
    if isinstance(ref, Type):
        return ref
    try:
        return _NAMED[ref]
    except (KeyError, TypeError):
        raise TypeError(f"{ref!r} is not a WIT type description nor a described class") from None


def _register(desc: Named) -> None:
    _NAMED[desc.py] = desc


def record(name: str, fields: Mapping[str, TypeRef]) -> Callable[[C], C]:
    """Class decorator: the dataclass below is WIT record `name` with `fields` in order."""

    def describe(cls: C) -> C:
        _register(Record(name, cls, fields))
        return cls

    return describe


def enum(name: str, cases: Iterable[str]) -> Callable[[C], C]:
    """Class decorator: the `enum.Enum` below is WIT enum `name` (cases in order)."""

    def describe(cls: C) -> C:
        _register(Enum(name, cls, cases))
        return cls

    return describe


def flags(name: str, names: Iterable[str]) -> Callable[[C], C]:
    """Class decorator: the `enum.Flag` below is WIT flags `name` (bit i is flag i)."""

    def describe(cls: C) -> C:
        _register(Flags(name, cls, names))
        return cls

    return describe


def resource(name: str) -> Callable[[C], C]:
    """Class decorator: the `Handle` subclass below stands for WIT resource `name`."""

    def describe(cls: C) -> C:
        _register(Resource(name, cls))
        return cls

    return describe


def variant(name: str, alias: Any, cases: Mapping[str, tuple[type, TypeRef | None]]) -> Variant:
    """Describe WIT variant `name`: its union `alias` and, per case, (class, payload type)."""
    desc = Variant(name, alias, cases)
    _register(desc)
    return desc


# --------------------------------------------------------------------------- functions


class Func:
    """One function: wire name (wire-format.md section 2), parameters, result, kind.

    `kind` is `freestanding`, `method`, `static` or `constructor`; for the last three
    `resource` is the resource's WIT name (a method's first parameter is `self`).
    """

    __slots__ = ("name", "params", "result", "kind", "resource", "is_async", "cache")

    def __init__(
        self,
        name: str,
        params: Mapping[str, TypeRef] | None = None,
        result: TypeRef | None = None,
        *,
        kind: str = "freestanding",
        is_async: bool = False,
    ) -> None:
        self.name = name
        self.params: tuple[tuple[str, Type], ...] = tuple((n, of(t)) for n, t in (params or {}).items())
        self.result: Type | None = None if result is None else of(result)
        self.kind = kind
        self.resource = name.partition(".")[0] if kind != "freestanding" else ""
        self.is_async = is_async
        self.cache: dict[str, Any] = {}

    @property
    def param_types(self) -> Tuple:
        """The parameters as the one tuple they travel as."""
        built = self.cache.get("params")
        if built is None:
            built = self.cache["params"] = Tuple(*(t for _, t in self.params))
        assert isinstance(built, Tuple)
        return built

    def __repr__(self) -> str:
        args = ", ".join(f"{n}: {t.wit}" for n, t in self.params)
        res = "" if self.result is None else f" -> {self.result.wit}"
        return f"<wit func {self.name}({args}){res}>"


R = TypeVar("R")


def cached(desc: Type | Func, key: str, build: Callable[[], R]) -> R:
    """What `build()` makes from `desc`, made once and kept in the description's cache
    under `key` (codecs, converters: every runtime builder keeps its product there)."""
    try:
        found: R = desc.cache[key]
    except KeyError:
        found = desc.cache[key] = build()
    return found


def functions(*funcs: Func) -> dict[str, Func]:
    """The `FUNCTIONS` registry of a module: its functions by wire name."""
    return {f.name: f for f in funcs}
