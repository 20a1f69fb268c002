"""The WIT syntax tree: frozen dataclasses, every node with its span.

The parser (`witgen.frontend.parser`) turns one `.wit` file into a `File`; the resolver
(`witgen.resolver`) turns the files of a package group into the `witgen.model`.
Nothing here is resolved: names are plain identifiers (`%` escapes removed) and
paths are as written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

from witgen.errors import Span


@dataclass(frozen=True, slots=True)
class Id:
    """An identifier as written, without its `%` escape; `span` covers the token."""

    name: str
    span: Span


@dataclass(frozen=True, slots=True)
class Docs:
    """The comments before an item, joined and normalized as wasm-tools does (None if none)."""

    contents: str | None
    span: Span | None = None


# --------------------------------------------------------------------------- attributes


@dataclass(frozen=True, slots=True)
class Since:
    version: str
    span: Span  # the `since` token


@dataclass(frozen=True, slots=True)
class Unstable:
    feature: str
    span: Span  # the `unstable` token


@dataclass(frozen=True, slots=True)
class Deprecated:
    version: str
    span: Span  # the `deprecated` token


@dataclass(frozen=True, slots=True)
class ExternalId:
    value: str
    span: Span


Attribute: TypeAlias = Since | Unstable | Deprecated | ExternalId


# --------------------------------------------------------------------------- names and paths


@dataclass(frozen=True, slots=True)
class PackageName:
    """`ns:name[@version]`; `span` covers the whole name."""

    namespace: Id
    name: Id
    version: str | None
    span: Span


@dataclass(frozen=True, slots=True)
class LocalPath:
    """A path naming an item of the current package (or a top-level `use` alias)."""

    name: Id


@dataclass(frozen=True, slots=True)
class PackagePath:
    """`ns:pkg/name[@version]`: `package` has the version; `name` is the item."""

    package: PackageName
    name: Id
    span: Span


UsePath: TypeAlias = LocalPath | PackagePath


# --------------------------------------------------------------------------- type expressions


@dataclass(frozen=True, slots=True)
class Primitive:
    """bool, u8..u64, s8..s64, f32, f64, char, string, error-context."""

    name: str
    span: Span


@dataclass(frozen=True, slots=True)
class Named:
    """A reference to a type by name."""

    name: Id


@dataclass(frozen=True, slots=True)
class ListType:
    element: TypeExpr
    span: Span


@dataclass(frozen=True, slots=True)
class FixedListType:
    element: TypeExpr
    size: int
    span: Span


@dataclass(frozen=True, slots=True)
class MapType:
    key: TypeExpr
    value: TypeExpr
    span: Span  # the `map` keyword


@dataclass(frozen=True, slots=True)
class OptionType:
    element: TypeExpr
    span: Span


@dataclass(frozen=True, slots=True)
class ResultType:
    ok: TypeExpr | None
    err: TypeExpr | None
    span: Span


@dataclass(frozen=True, slots=True)
class TupleType:
    types: tuple[TypeExpr, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class HandleType:
    mode: Literal["own", "borrow"]
    resource: Id
    span: Span


@dataclass(frozen=True, slots=True)
class FutureType:
    element: TypeExpr | None
    span: Span


@dataclass(frozen=True, slots=True)
class StreamType:
    element: TypeExpr | None
    span: Span


TypeExpr: TypeAlias = (
    Primitive
    | Named
    | ListType
    | FixedListType
    | MapType
    | OptionType
    | ResultType
    | TupleType
    | HandleType
    | FutureType
    | StreamType
)


# --------------------------------------------------------------------------- declarations


@dataclass(frozen=True, slots=True)
class FieldDecl:
    docs: Docs
    name: Id
    type: TypeExpr


@dataclass(frozen=True, slots=True)
class CaseDecl:
    """A variant case (with an optional payload), an enum case or a flag."""

    docs: Docs
    name: Id
    type: TypeExpr | None = None


@dataclass(frozen=True, slots=True)
class Param:
    name: Id
    type: TypeExpr


@dataclass(frozen=True, slots=True)
class FuncType:
    params: tuple[Param, ...]
    result: TypeExpr | None
    is_async: bool
    span: Span


@dataclass(frozen=True, slots=True)
class RecordDecl:
    docs: Docs
    attributes: tuple[Attribute, ...]
    name: Id
    fields: tuple[FieldDecl, ...]


@dataclass(frozen=True, slots=True)
class VariantDecl:
    docs: Docs
    attributes: tuple[Attribute, ...]
    name: Id
    cases: tuple[CaseDecl, ...]


@dataclass(frozen=True, slots=True)
class EnumDecl:
    docs: Docs
    attributes: tuple[Attribute, ...]
    name: Id
    cases: tuple[CaseDecl, ...]


@dataclass(frozen=True, slots=True)
class FlagsDecl:
    docs: Docs
    attributes: tuple[Attribute, ...]
    name: Id
    flags: tuple[CaseDecl, ...]


@dataclass(frozen=True, slots=True)
class ResourceFunc:
    """A member of a resource; for a constructor `name` is the `constructor` token."""

    docs: Docs
    attributes: tuple[Attribute, ...]
    kind: Literal["method", "static", "constructor"]
    name: Id
    func: FuncType


@dataclass(frozen=True, slots=True)
class ResourceDecl:
    docs: Docs
    attributes: tuple[Attribute, ...]
    name: Id
    funcs: tuple[ResourceFunc, ...]


@dataclass(frozen=True, slots=True)
class TypeAliasDecl:
    docs: Docs
    attributes: tuple[Attribute, ...]
    name: Id
    type: TypeExpr


TypeDecl: TypeAlias = RecordDecl | VariantDecl | EnumDecl | FlagsDecl | ResourceDecl | TypeAliasDecl


@dataclass(frozen=True, slots=True)
class FuncDecl:
    docs: Docs
    attributes: tuple[Attribute, ...]
    name: Id
    func: FuncType


@dataclass(frozen=True, slots=True)
class UseName:
    name: Id
    alias: Id | None  # `as` name


@dataclass(frozen=True, slots=True)
class UseDecl:
    """`use path.{a, b as c};` inside an interface or a world."""

    docs: Docs
    attributes: tuple[Attribute, ...]
    path: UsePath
    names: tuple[UseName, ...]


InterfaceItem: TypeAlias = TypeDecl | FuncDecl | UseDecl


@dataclass(frozen=True, slots=True)
class InterfaceDecl:
    docs: Docs
    attributes: tuple[Attribute, ...]
    name: Id
    items: tuple[InterfaceItem, ...]


# ------------------------------------------------------------------ worlds


@dataclass(frozen=True, slots=True)
class ExternFunc:
    """`import name: func(..);`"""

    name: Id
    func: FuncType


@dataclass(frozen=True, slots=True)
class ExternInterface:
    """`import name: interface { .. }`; `span` covers the `interface` keyword."""

    name: Id
    items: tuple[InterfaceItem, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class ExternPath:
    """`import path;`"""

    path: UsePath


@dataclass(frozen=True, slots=True)
class ExternNamedPath:
    """`import label: path;`"""

    name: Id
    path: UsePath


ExternKind: TypeAlias = ExternFunc | ExternInterface | ExternPath | ExternNamedPath


@dataclass(frozen=True, slots=True)
class ImportDecl:
    docs: Docs
    attributes: tuple[Attribute, ...]
    kind: ExternKind


@dataclass(frozen=True, slots=True)
class ExportDecl:
    docs: Docs
    attributes: tuple[Attribute, ...]
    kind: ExternKind


@dataclass(frozen=True, slots=True)
class IncludeName:
    name: Id
    alias: Id


@dataclass(frozen=True, slots=True)
class IncludeDecl:
    docs: Docs
    attributes: tuple[Attribute, ...]
    path: UsePath
    names: tuple[IncludeName, ...]


WorldItem: TypeAlias = ImportDecl | ExportDecl | IncludeDecl | UseDecl | TypeDecl


@dataclass(frozen=True, slots=True)
class WorldDecl:
    docs: Docs
    attributes: tuple[Attribute, ...]
    name: Id
    items: tuple[WorldItem, ...]


# ------------------------------------------------------------------ files


@dataclass(frozen=True, slots=True)
class TopLevelUse:
    """`use ns:pkg/iface[@v] [as name];` or `use iface as name;` at the top of a file."""

    docs: Docs
    attributes: tuple[Attribute, ...]
    path: UsePath
    alias: Id | None
    span: Span | None = None  # the `use` keyword


@dataclass(frozen=True, slots=True)
class PackageDecl:
    """`package ns:name[@version];` at the top of a file."""

    docs: Docs
    attributes: tuple[Attribute, ...]
    name: PackageName


@dataclass(frozen=True, slots=True)
class NestedPackage:
    """`package ns:name[@version] { .. }`: a separate package inside a file."""

    docs: Docs
    name: PackageName
    items: tuple[TopLevelItem, ...]


TopLevelItem: TypeAlias = InterfaceDecl | WorldDecl | TopLevelUse | NestedPackage


@dataclass(frozen=True, slots=True)
class File:
    """One parsed `.wit` file."""

    source: Span  # covers the whole file; `source.source` is the file
    package: PackageDecl | None
    items: tuple[TopLevelItem, ...]
