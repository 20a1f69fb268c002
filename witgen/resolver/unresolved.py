"""Stage A output: one package resolved with local ids ("unresolved package").

Local arenas start with placeholders for the foreign interfaces, worlds and
types the package uses (in first-mention order), followed by the package's own
items. Stage B (`witgen.resolver.append`) maps the placeholders onto items of
packages already pushed and copies the rest into the global arenas.
"""

from __future__ import annotations

from typing import Literal

from msgspec import Struct, field

from witgen import model
from witgen.errors import Span


class UType(Struct):
    """A local type; `kind` is None for a foreign placeholder (`use ns:p/i.{t}`)."""

    name: str | None
    kind: model.TypeKind | None
    owner: model.Owner  # local interface / world ids
    span: Span
    docs: str | None = None
    stability: model.Stability = None
    external_id: str | None = None
    # Spans of record fields / variant cases, for errors about what they refer to.
    part_spans: tuple[Span, ...] = ()


class UInterface(Struct):
    name: str | None
    span: Span
    foreign: bool = False
    types: dict[str, int] = field(default_factory=dict)
    functions: dict[str, model.Function] = field(default_factory=dict)
    func_spans: list[Span] = field(default_factory=list)
    docs: str | None = None
    stability: model.Stability = None


class UInclude(Struct):
    stability: model.Stability
    world: int
    names: list[tuple[str, str]]
    span: Span


class UWorld(Struct):
    name: str
    span: Span
    foreign: bool = False
    imports: dict[model.WorldKey, model.WorldItem] = field(default_factory=dict)
    exports: dict[model.WorldKey, model.WorldItem] = field(default_factory=dict)
    import_spans: list[Span] = field(default_factory=list)
    export_spans: list[Span] = field(default_factory=list)
    includes: list[UInclude] = field(default_factory=list)
    docs: str | None = None
    stability: model.Stability = None


class ForeignItem(Struct):
    kind: Literal["interface", "world"]
    id: int
    stabilities: list[model.Stability]


class UnresolvedPackage(Struct):
    name: model.PackageName
    name_span: Span
    docs: str | None = None
    types: list[UType] = field(default_factory=list)
    interfaces: list[UInterface] = field(default_factory=list)
    worlds: list[UWorld] = field(default_factory=list)
    # Foreign package name -> item name -> placeholder, in first-mention order.
    foreign_deps: dict[model.PackageName, dict[str, ForeignItem]] = field(default_factory=dict)
    foreign_dep_spans: list[Span] = field(default_factory=list)
    # (type id, span): handles to foreign types that must turn out to be resources.
    required_resource_types: list[tuple[int, Span]] = field(default_factory=list)
