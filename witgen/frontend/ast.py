"""The WIT syntax tree: frozen structs (`msgspec.Struct`), every node with its span.

The parser (`witgen.frontend.parser`) turns one `.wit` file into a `File`; the resolver
(`witgen.resolver`) turns the files of a package group into the `witgen.model`.
Nothing here is resolved: names are plain identifiers (`%` escapes removed) and
paths are as written. A tree holds no cycles, so its nodes are not tracked by the
garbage collector (`gc=False`).
"""

from __future__ import annotations

from typing import Literal, TypeAlias

from msgspec import Struct

from witgen.errors import Span


class Id(Struct, frozen=True, gc=False):
    """An identifier as written, without its `%` escape; `span` covers the token."""

    name: str
    span: Span


class Docs(Struct, frozen=True, gc=False):
    """The comments before an item, joined and normalized as wasm-tools does (None if none)."""

    contents: str | None
    span: Span | None = None


# --------------------------------------------------------------------------- attributes


class Since(Struct, frozen=True, gc=False):
    version: str
    span: Span  # the `since` token


class Unstable(Struct, frozen=True, gc=False):
    feature: str
    span: Span  # the `unstable` token


class Deprecated(Struct, frozen=True, gc=False):
    version: str
    span: Span  # the `deprecated` token


class ExternalId(Struct, frozen=True, gc=False):
    value: str
    span: Span


Attribute: TypeAlias = Since | Unstable | Deprecated | ExternalId


# --------------------------------------------------------------------------- names and paths


class PackageName(Struct, frozen=True, gc=False):
    """`ns:name[@version]`; `span` covers the whole name."""

    namespace: Id
    name: Id
    version: str | None
    span: Span


class LocalPath(Struct, frozen=True, gc=False):
    """A path naming an item of the current package (or a top-level `use` alias)."""

    name: Id


class PackagePath(Struct, frozen=True, gc=False):
    """`ns:pkg/name[@version]`: `package` has the version; `name` is the item."""

    package: PackageName
    name: Id
    span: Span


UsePath: TypeAlias = LocalPath | PackagePath


# --------------------------------------------------------------------------- type expressions


class Primitive(Struct, frozen=True, gc=False):
    """bool, u8..u64, s8..s64, f32, f64, char, string, error-context."""

    name: str
    span: Span


class Named(Struct, frozen=True, gc=False):
    """A reference to a type by name."""

    name: Id


class ListType(Struct, frozen=True, gc=False):
    element: TypeExpr
    span: Span


class FixedListType(Struct, frozen=True, gc=False):
    element: TypeExpr
    size: int
    span: Span


class MapType(Struct, frozen=True, gc=False):
    key: TypeExpr
    value: TypeExpr
    span: Span  # the `map` keyword


class OptionType(Struct, frozen=True, gc=False):
    element: TypeExpr
    span: Span


class ResultType(Struct, frozen=True, gc=False):
    ok: TypeExpr | None
    err: TypeExpr | None
    span: Span


class TupleType(Struct, frozen=True, gc=False):
    types: tuple[TypeExpr, ...]
    span: Span


class HandleType(Struct, frozen=True, gc=False):
    mode: Literal["own", "borrow"]
    resource: Id
    span: Span


class FutureType(Struct, frozen=True, gc=False):
    element: TypeExpr | None
    span: Span


class StreamType(Struct, frozen=True, gc=False):
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


class FieldDecl(Struct, frozen=True, gc=False):
    docs: Docs
    name: Id
    type: TypeExpr


class CaseDecl(Struct, frozen=True, gc=False):
    """A variant case (with an optional payload), an enum case or a flag."""

    docs: Docs
    name: Id
    type: TypeExpr | None = None


class Param(Struct, frozen=True, gc=False):
    name: Id
    type: TypeExpr


class FuncType(Struct, frozen=True, gc=False):
    params: tuple[Param, ...]
    result: TypeExpr | None
    is_async: bool
    span: Span


class RecordDecl(Struct, frozen=True, gc=False):
    docs: Docs
    attributes: tuple[Attribute, ...]
    name: Id
    fields: tuple[FieldDecl, ...]


class VariantDecl(Struct, frozen=True, gc=False):
    docs: Docs
    attributes: tuple[Attribute, ...]
    name: Id
    cases: tuple[CaseDecl, ...]


class EnumDecl(Struct, frozen=True, gc=False):
    docs: Docs
    attributes: tuple[Attribute, ...]
    name: Id
    cases: tuple[CaseDecl, ...]


class FlagsDecl(Struct, frozen=True, gc=False):
    docs: Docs
    attributes: tuple[Attribute, ...]
    name: Id
    flags: tuple[CaseDecl, ...]


class ResourceFunc(Struct, frozen=True, gc=False):
    """A member of a resource; for a constructor `name` is the `constructor` token."""

    docs: Docs
    attributes: tuple[Attribute, ...]
    kind: Literal["method", "static", "constructor"]
    name: Id
    func: FuncType


class ResourceDecl(Struct, frozen=True, gc=False):
    docs: Docs
    attributes: tuple[Attribute, ...]
    name: Id
    funcs: tuple[ResourceFunc, ...]


class TypeAliasDecl(Struct, frozen=True, gc=False):
    docs: Docs
    attributes: tuple[Attribute, ...]
    name: Id
    type: TypeExpr


TypeDecl: TypeAlias = RecordDecl | VariantDecl | EnumDecl | FlagsDecl | ResourceDecl | TypeAliasDecl


class FuncDecl(Struct, frozen=True, gc=False):
    docs: Docs
    attributes: tuple[Attribute, ...]
    name: Id
    func: FuncType


class UseName(Struct, frozen=True, gc=False):
    name: Id
    alias: Id | None  # `as` name


class UseDecl(Struct, frozen=True, gc=False):
    """`use path.{a, b as c};` inside an interface or a world."""

    docs: Docs
    attributes: tuple[Attribute, ...]
    path: UsePath
    names: tuple[UseName, ...]


InterfaceItem: TypeAlias = TypeDecl | FuncDecl | UseDecl


class InterfaceDecl(Struct, frozen=True, gc=False):
    docs: Docs
    attributes: tuple[Attribute, ...]
    name: Id
    items: tuple[InterfaceItem, ...]


# ------------------------------------------------------------------ worlds


class ExternFunc(Struct, frozen=True, gc=False):
    """`import name: func(..);`"""

    name: Id
    func: FuncType


class ExternInterface(Struct, frozen=True, gc=False):
    """`import name: interface { .. }`; `span` covers the `interface` keyword."""

    name: Id
    items: tuple[InterfaceItem, ...]
    span: Span


class ExternPath(Struct, frozen=True, gc=False):
    """`import path;`"""

    path: UsePath


class ExternNamedPath(Struct, frozen=True, gc=False):
    """`import label: path;`"""

    name: Id
    path: UsePath


ExternKind: TypeAlias = ExternFunc | ExternInterface | ExternPath | ExternNamedPath


class ImportDecl(Struct, frozen=True, gc=False):
    docs: Docs
    attributes: tuple[Attribute, ...]
    kind: ExternKind


class ExportDecl(Struct, frozen=True, gc=False):
    docs: Docs
    attributes: tuple[Attribute, ...]
    kind: ExternKind


class IncludeName(Struct, frozen=True, gc=False):
    name: Id
    alias: Id


class IncludeDecl(Struct, frozen=True, gc=False):
    docs: Docs
    attributes: tuple[Attribute, ...]
    path: UsePath
    names: tuple[IncludeName, ...]


WorldItem: TypeAlias = ImportDecl | ExportDecl | IncludeDecl | UseDecl | TypeDecl


class WorldDecl(Struct, frozen=True, gc=False):
    docs: Docs
    attributes: tuple[Attribute, ...]
    name: Id
    items: tuple[WorldItem, ...]


# ------------------------------------------------------------------ files


class TopLevelUse(Struct, frozen=True, gc=False):
    """`use ns:pkg/iface[@v] [as name];` or `use iface as name;` at the top of a file."""

    docs: Docs
    attributes: tuple[Attribute, ...]
    path: UsePath
    alias: Id | None
    span: Span | None = None  # the `use` keyword


class PackageDecl(Struct, frozen=True, gc=False):
    """`package ns:name[@version];` at the top of a file."""

    docs: Docs
    attributes: tuple[Attribute, ...]
    name: PackageName


class NestedPackage(Struct, frozen=True, gc=False):
    """`package ns:name[@version] { .. }`: a separate package inside a file."""

    docs: Docs
    name: PackageName
    items: tuple[TopLevelItem, ...]


TopLevelItem: TypeAlias = InterfaceDecl | WorldDecl | TopLevelUse | NestedPackage


class File(Struct, frozen=True, gc=False):
    """One parsed `.wit` file."""

    source: Span  # covers the whole file; `source.source` is the file
    package: PackageDecl | None
    items: tuple[TopLevelItem, ...]
