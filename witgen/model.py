"""The resolved WIT model: four arenas referenced by index.

A `Resolve` holds every package that was loaded (the root package and its
dependencies) as four lists, `types`, `interfaces`, `worlds` and `packages`.
Items refer to each other by their index in those lists, never by name, so code
generators walk ids and never look a name up.

Invariants (established by the resolver, relied on by everything after it):
- every arena is sorted so that dependencies come first: a type only refers to
  types with a smaller index, an interface only uses earlier interfaces, and
  packages are ordered so that a package's dependencies precede it;
- names are stored without their `%` escape;
- the model is immutable once built (frozen `msgspec.Struct`s: cheap to define, so
  that a short run does not spend its time creating classes).

`Resolve.to_json()` prints exactly what `wasm-tools component wit --json`
prints for the same input; `Resolve.from_json()` reads that format back.
"""

from __future__ import annotations

import msgspec.json
from typing import Any, Literal, TypeAlias

from msgspec import Struct

PRIMITIVES = (
    "bool",
    "u8",
    "u16",
    "u32",
    "u64",
    "s8",
    "s16",
    "s32",
    "s64",
    "f32",
    "f64",
    "char",
    "string",
    "error-context",
)

# A type reference: a primitive's name (one of PRIMITIVES) or a type id.
Type: TypeAlias = str | int


# --------------------------------------------------------------------------- gates


class Stable(Struct, frozen=True):
    """`@since(version = ..)`, optionally `@deprecated(version = ..)`."""

    since: str
    deprecated: str | None = None


class Unstable(Struct, frozen=True):
    """`@unstable(feature = ..)`, optionally `@deprecated(version = ..)`."""

    feature: str
    deprecated: str | None = None


# None means "unknown": no gate was written.
Stability: TypeAlias = Stable | Unstable | None


# --------------------------------------------------------------------------- type kinds


class Field(Struct, frozen=True):
    name: str
    type: Type
    docs: str | None = None


class Record(Struct, frozen=True):
    fields: tuple[Field, ...]


class Resource(Struct, frozen=True):
    pass


class Handle(Struct, frozen=True):
    """`own<R>` or `borrow<R>`; `resource` is the id of the resource type."""

    mode: Literal["own", "borrow"]
    resource: int


class Flag(Struct, frozen=True):
    name: str
    docs: str | None = None


class Flags(Struct, frozen=True):
    flags: tuple[Flag, ...]


class Tuple(Struct, frozen=True):
    types: tuple[Type, ...]


class Case(Struct, frozen=True):
    name: str
    type: Type | None = None
    docs: str | None = None


class Variant(Struct, frozen=True):
    cases: tuple[Case, ...]


class EnumCase(Struct, frozen=True):
    name: str
    docs: str | None = None


class Enum(Struct, frozen=True):
    cases: tuple[EnumCase, ...]


class Option(Struct, frozen=True):
    type: Type


class Result(Struct, frozen=True):
    ok: Type | None
    err: Type | None


class List(Struct, frozen=True):
    type: Type


class FixedList(Struct, frozen=True):
    type: Type
    size: int


class Map(Struct, frozen=True):
    key: Type
    value: Type


class Future(Struct, frozen=True):
    type: Type | None


class Stream(Struct, frozen=True):
    type: Type | None


class Alias(Struct, frozen=True):
    """`type a = b;` (also the types a `use` brings into scope)."""

    type: Type


TypeKind: TypeAlias = (
    Record
    | Resource
    | Handle
    | Flags
    | Tuple
    | Variant
    | Enum
    | Option
    | Result
    | List
    | FixedList
    | Map
    | Future
    | Stream
    | Alias
)


class InterfaceOwner(Struct, frozen=True):
    id: int


class WorldOwner(Struct, frozen=True):
    id: int


Owner: TypeAlias = InterfaceOwner | WorldOwner | None


class TypeDef(Struct, frozen=True):
    name: str | None  # None for anonymous types (list<u8>, option<T>, ...)
    kind: TypeKind
    owner: Owner
    docs: str | None = None
    stability: Stability = None
    external_id: str | None = None


# --------------------------------------------------------------------------- functions

FunctionKindName: TypeAlias = Literal[
    "freestanding",
    "async-freestanding",
    "method",
    "async-method",
    "static",
    "async-static",
    "constructor",
]


class FunctionKind(Struct, frozen=True):
    kind: FunctionKindName
    resource: int | None = None  # the resource type id, for all but freestanding

    @property
    def is_async(self) -> bool:
        return self.kind.startswith("async-")


class Param(Struct, frozen=True):
    name: str
    type: Type


class Function(Struct, frozen=True):
    """A function; resource members are named `[method]r.m`, `[static]r.s`, `[constructor]r`."""

    name: str
    kind: FunctionKind
    params: tuple[Param, ...]
    result: Type | None = None
    docs: str | None = None
    stability: Stability = None
    external_id: str | None = None

    @property
    def item_name(self) -> str:
        """The name without the `[kind]` prefix: `r.m`, `r.s`, `r`, or the plain name."""
        return self.name.split("]", 1)[1] if self.name.startswith("[") else self.name


# --------------------------------------------------------------------------- interfaces, worlds, packages


class Interface(Struct, frozen=True):
    name: str | None  # None for an inline `import x: interface { .. }`
    types: dict[str, int]
    functions: dict[str, Function]
    package: int | None
    docs: str | None = None
    stability: Stability = None
    clone_of: int | None = None


class InterfaceKey(Struct, frozen=True):
    """A world key naming an interface by id (printed as `interface-N`)."""

    id: int


# A world key: a plain kebab name, or an interface imported/exported by path.
WorldKey: TypeAlias = str | InterfaceKey


class InterfaceItem(Struct, frozen=True):
    id: int
    stability: Stability = None
    external_id: str | None = None
    docs: str | None = None


class FunctionItem(Struct, frozen=True):
    function: Function


class TypeItem(Struct, frozen=True):
    id: int


WorldItem: TypeAlias = InterfaceItem | FunctionItem | TypeItem


class World(Struct, frozen=True):
    name: str
    imports: dict[WorldKey, WorldItem]
    exports: dict[WorldKey, WorldItem]
    package: int | None
    docs: str | None = None
    stability: Stability = None


class PackageName(Struct, frozen=True, order=True):
    namespace: str
    name: str
    version: str | None = None

    def __str__(self) -> str:
        base = f"{self.namespace}:{self.name}"
        return f"{base}@{self.version}" if self.version else base

    @classmethod
    def parse(cls, text: str) -> PackageName:
        base, _, version = text.partition("@")
        namespace, _, name = base.partition(":")
        return cls(namespace, name, version or None)


class Package(Struct, frozen=True):
    name: PackageName
    interfaces: dict[str, int]
    worlds: dict[str, int]
    docs: str | None = None


class Resolve(Struct, frozen=True):
    """Everything that was loaded; arenas sorted so that dependencies come first."""

    worlds: tuple[World, ...] = ()
    interfaces: tuple[Interface, ...] = ()
    types: tuple[TypeDef, ...] = ()
    packages: tuple[Package, ...] = ()
    # Index of the root package (the one named on the command line), if any.
    root: int | None = None

    # ------------------------------------------------------------------ queries

    def dealias(self, ty: Type) -> Type:
        """Follow `type a = b` chains to the first non-alias type."""
        while isinstance(ty, int):
            kind = self.types[ty].kind
            if not isinstance(kind, Alias):
                return ty
            ty = kind.type
        return ty

    def interface_id(self, iface: int) -> str:
        """`ns:pkg/iface[@ver]`, the instance name used on the wire."""
        interface = self.interfaces[iface]
        if interface.package is None or interface.name is None:
            raise ValueError(f"interface {iface} has no package-qualified name")
        pkg = self.packages[interface.package].name
        base = f"{pkg.namespace}:{pkg.name}/{interface.name}"
        return f"{base}@{pkg.version}" if pkg.version else base

    # ------------------------------------------------------------------ JSON

    def to_json(self) -> str:
        """The resolved graph exactly as `wasm-tools component wit --json` prints it."""
        # msgspec's encoder and formatter write what `json.dumps(..., indent=2,
        # ensure_ascii=False)` writes, byte for byte, several times faster.
        return msgspec.json.format(msgspec.json.encode(self.to_json_value()), indent=2).decode()

    def to_json_value(self) -> dict[str, Any]:
        return {
            "worlds": [_world_json(w) for w in self.worlds],
            "interfaces": [_interface_json(i) for i in self.interfaces],
            "types": [_typedef_json(t) for t in self.types],
            "packages": [_package_json(p) for p in self.packages],
        }

    @classmethod
    def from_json(cls, text: str | dict[str, Any]) -> Resolve:
        """Read the `wasm-tools component wit --json` format."""
        data = msgspec.json.decode(text) if isinstance(text, str) else text
        return cls(
            worlds=tuple(_world_from(w) for w in data["worlds"]),
            interfaces=tuple(_interface_from(i) for i in data["interfaces"]),
            types=tuple(_typedef_from(t) for t in data["types"]),
            packages=tuple(_package_from(p) for p in data["packages"]),
        )


# --------------------------------------------------------------------------- to JSON


def _docs(out: dict[str, Any], docs: str | None) -> None:
    if docs is not None:
        out["docs"] = {"contents": docs}


def _stability_json(stability: Stability) -> dict[str, Any]:
    if isinstance(stability, Stable):
        inner: dict[str, Any] = {"since": stability.since}
        key = "stable"
    else:
        assert stability is not None
        inner = {"feature": stability.feature}
        key = "unstable"
    if stability.deprecated is not None:
        inner["deprecated"] = stability.deprecated
    return {key: inner}


def _gates(out: dict[str, Any], stability: Stability, external_id: str | None) -> None:
    if stability is not None:
        out["stability"] = _stability_json(stability)
    if external_id is not None:
        out["external_id"] = external_id


def _kind_json(kind: TypeKind) -> Any:
    match kind:
        case Record(fields):
            return {"record": {"fields": [_named(f.name, f.docs, type=f.type) for f in fields]}}
        case Resource():
            return "resource"
        case Handle(mode, resource):
            return {"handle": {mode: resource}}
        case Flags(flags):
            return {"flags": {"flags": [_named(f.name, f.docs) for f in flags]}}
        case Tuple(types):
            return {"tuple": {"types": list(types)}}
        case Variant(cases):
            return {"variant": {"cases": [_named(c.name, c.docs, type=c.type) for c in cases]}}
        case Enum(cases):
            return {"enum": {"cases": [_named(c.name, c.docs) for c in cases]}}
        case Option(ty):
            return {"option": ty}
        case Result(ok, err):
            return {"result": {"ok": ok, "err": err}}
        case List(ty):
            return {"list": ty}
        case FixedList(ty, size):
            return {"fixed-length-list": [ty, size]}
        case Map(key, value):
            return {"map": [key, value]}
        case Future(ty):
            return {"future": ty}
        case Stream(ty):
            return {"stream": ty}
        case Alias(ty):
            return {"type": ty}
    raise TypeError(kind)


def _named(name: str, docs: str | None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, **extra}
    _docs(out, docs)
    return out


def _owner_json(owner: Owner) -> Any:
    if isinstance(owner, InterfaceOwner):
        return {"interface": owner.id}
    if isinstance(owner, WorldOwner):
        return {"world": owner.id}
    return None


def _typedef_json(t: TypeDef) -> dict[str, Any]:
    out: dict[str, Any] = {"name": t.name, "kind": _kind_json(t.kind), "owner": _owner_json(t.owner)}
    _docs(out, t.docs)
    _gates(out, t.stability, t.external_id)
    return out


def _function_kind_json(kind: FunctionKind) -> Any:
    if kind.resource is None:
        return kind.kind
    return {kind.kind: kind.resource}


def _function_json(f: Function) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": f.name,
        "kind": _function_kind_json(f.kind),
        "params": [{"name": p.name, "type": p.type} for p in f.params],
    }
    if f.result is not None:
        out["result"] = f.result
    _docs(out, f.docs)
    _gates(out, f.stability, f.external_id)
    return out


def _interface_json(i: Interface) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": i.name,
        "types": dict(i.types),
        "functions": {k: _function_json(f) for k, f in i.functions.items()},
    }
    _docs(out, i.docs)
    if i.stability is not None:
        out["stability"] = _stability_json(i.stability)
    out["package"] = i.package
    if i.clone_of is not None:
        out["clone_of"] = i.clone_of
    return out


def world_key_str(key: WorldKey) -> str:
    return f"interface-{key.id}" if isinstance(key, InterfaceKey) else key


def _world_item_json(item: WorldItem) -> dict[str, Any]:
    if isinstance(item, InterfaceItem):
        inner: dict[str, Any] = {"id": item.id}
        _gates(inner, item.stability, item.external_id)
        _docs(inner, item.docs)
        return {"interface": inner}
    if isinstance(item, FunctionItem):
        return {"function": _function_json(item.function)}
    return {"type": item.id}


def _world_json(w: World) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": w.name,
        "imports": {world_key_str(k): _world_item_json(v) for k, v in w.imports.items()},
        "exports": {world_key_str(k): _world_item_json(v) for k, v in w.exports.items()},
        "package": w.package,
    }
    _docs(out, w.docs)
    if w.stability is not None:
        out["stability"] = _stability_json(w.stability)
    return out


def _package_json(p: Package) -> dict[str, Any]:
    out: dict[str, Any] = {"name": str(p.name)}
    _docs(out, p.docs)
    out["interfaces"] = dict(p.interfaces)
    out["worlds"] = dict(p.worlds)
    return out


# --------------------------------------------------------------------------- from JSON


def _docs_from(data: dict[str, Any]) -> str | None:
    docs = data.get("docs")
    return None if docs is None else docs.get("contents")


def _stability_from(data: dict[str, Any]) -> Stability:
    st = data.get("stability")
    if not st:
        return None
    if "stable" in st:
        return Stable(st["stable"]["since"], st["stable"].get("deprecated"))
    return Unstable(st["unstable"]["feature"], st["unstable"].get("deprecated"))


def _kind_from(data: Any) -> TypeKind:
    if data == "resource":
        return Resource()
    ((key, v),) = data.items()
    if key == "record":
        return Record(tuple(Field(f["name"], f["type"], _docs_from(f)) for f in v["fields"]))
    if key == "handle":
        ((mode, rid),) = v.items()
        return Handle(mode, rid)
    if key == "flags":
        return Flags(tuple(Flag(f["name"], _docs_from(f)) for f in v["flags"]))
    if key == "tuple":
        return Tuple(tuple(v["types"]))
    if key == "variant":
        return Variant(tuple(Case(c["name"], c.get("type"), _docs_from(c)) for c in v["cases"]))
    if key == "enum":
        return Enum(tuple(EnumCase(c["name"], _docs_from(c)) for c in v["cases"]))
    simple: dict[str, Any] = {
        "option": Option,
        "list": List,
        "future": Future,
        "stream": Stream,
        "type": Alias,
    }
    if key in simple:
        return simple[key](v)  # type: ignore[no-any-return]
    if key == "result":
        return Result(v["ok"], v["err"])
    if key == "fixed-length-list":
        return FixedList(v[0], v[1])
    if key == "map":
        return Map(v[0], v[1])
    raise ValueError(f"unknown type kind {key!r}")


def _owner_from(data: Any) -> Owner:
    if data is None:
        return None
    if "interface" in data:
        return InterfaceOwner(data["interface"])
    return WorldOwner(data["world"])


def _typedef_from(d: dict[str, Any]) -> TypeDef:
    return TypeDef(
        d["name"],
        _kind_from(d["kind"]),
        _owner_from(d["owner"]),
        _docs_from(d),
        _stability_from(d),
        d.get("external_id"),
    )


def _function_from(d: dict[str, Any]) -> Function:
    kind = d["kind"]
    fkind = FunctionKind(kind) if isinstance(kind, str) else FunctionKind(*next(iter(kind.items())))  # type: ignore[arg-type]
    return Function(
        d["name"],
        fkind,
        tuple(Param(p["name"], p["type"]) for p in d["params"]),
        d.get("result"),
        _docs_from(d),
        _stability_from(d),
        d.get("external_id"),
    )


def _interface_from(d: dict[str, Any]) -> Interface:
    return Interface(
        d["name"],
        dict(d["types"]),
        {k: _function_from(f) for k, f in d["functions"].items()},
        d["package"],
        _docs_from(d),
        _stability_from(d),
        d.get("clone_of"),
    )


def _world_key_from(key: str) -> WorldKey:
    if key.startswith("interface-") and key[len("interface-") :].isdigit():
        return InterfaceKey(int(key[len("interface-") :]))
    return key


def _world_item_from(d: dict[str, Any]) -> WorldItem:
    if "interface" in d:
        i = d["interface"]
        return InterfaceItem(i["id"], _stability_from(i), i.get("external_id"), _docs_from(i))
    if "function" in d:
        return FunctionItem(_function_from(d["function"]))
    return TypeItem(d["type"])


def _world_from(d: dict[str, Any]) -> World:
    return World(
        d["name"],
        {_world_key_from(k): _world_item_from(v) for k, v in d["imports"].items()},
        {_world_key_from(k): _world_item_from(v) for k, v in d["exports"].items()},
        d["package"],
        _docs_from(d),
        _stability_from(d),
    )


def _package_from(d: dict[str, Any]) -> Package:
    return Package(PackageName.parse(d["name"]), dict(d["interfaces"]), dict(d["worlds"]), _docs_from(d))
