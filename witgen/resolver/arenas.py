"""The global Resolve under construction: the arenas stage B appends packages into."""

from __future__ import annotations

from msgspec import Struct, field

from witgen import model
from witgen.errors import Span
from witgen.resolver.gates import Gates


class Arenas(Struct):
    """The global Resolve under construction (mutable; frozen into `model.Resolve`)."""

    gates: Gates
    types: list[model.TypeDef] = field(default_factory=list)
    interfaces: list[model.Interface] = field(default_factory=list)
    worlds: list[model.World] = field(default_factory=list)
    packages: list[model.Package] = field(default_factory=list)
    package_names: dict[model.PackageName, int] = field(default_factory=dict)
    # (world id, is export, key) -> where the item was written (for include errors)
    item_spans: dict[tuple[int, bool, model.WorldKey], Span] = field(default_factory=dict)
    # interface id -> the interfaces its types use (`witgen.resolver.worlds`)
    interface_deps: dict[int, list[int]] = field(default_factory=dict)

    def freeze(self, root: int | None) -> model.Resolve:
        return model.Resolve(
            tuple(self.worlds),
            tuple(self.interfaces),
            tuple(self.types),
            tuple(self.packages),
            root,
        )
