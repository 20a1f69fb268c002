"""A Resolve under construction while a binary is decoded (mutable; frozen at the end)."""

from __future__ import annotations

from msgspec import Struct, field

from witgen import model


class IfaceDraft(Struct):
    name: str | None
    types: dict[str, int] = field(default_factory=dict)
    functions: dict[str, model.Function] = field(default_factory=dict)
    package: int | None = None
    docs: str | None = None
    stability: model.Stability = None


class WorldDraft(Struct):
    name: str
    imports: dict[model.WorldKey, model.WorldItem] = field(default_factory=dict)
    exports: dict[model.WorldKey, model.WorldItem] = field(default_factory=dict)
    package: int | None = None
    docs: str | None = None
    stability: model.Stability = None


class PackageDraft(Struct):
    name: model.PackageName
    interfaces: dict[str, int] = field(default_factory=dict)
    worlds: dict[str, int] = field(default_factory=dict)
    docs: str | None = None


class Builder:
    """The four arenas, in the order items are created."""

    def __init__(self) -> None:
        self.types: list[model.TypeDef] = []
        self.interfaces: list[IfaceDraft] = []
        self.worlds: list[WorldDraft] = []
        self.packages: list[PackageDraft] = []
        self.package_names: dict[model.PackageName, int] = {}

    def add_type(self, ty: model.TypeDef) -> int:
        self.types.append(ty)
        return len(self.types) - 1

    def add_interface(self, iface: IfaceDraft) -> int:
        self.interfaces.append(iface)
        return len(self.interfaces) - 1

    def add_world(self, world: WorldDraft) -> int:
        self.worlds.append(world)
        return len(self.worlds) - 1

    def interface_direct_deps(self, iid: int) -> list[int]:
        """The interfaces whose types interface `iid` uses."""
        deps = []
        for tid in self.interfaces[iid].types.values():
            ty = self.types[tid]
            if not isinstance(ty.kind, model.Alias) or not isinstance(ty.kind.type, int):
                continue
            other = self.types[ty.kind.type]
            if other.owner != ty.owner and isinstance(other.owner, model.InterfaceOwner):
                deps.append(other.owner.id)
        return deps

    def insert_package(self, draft: PackageDraft) -> int:
        """Add `draft` (merged into a package of the same name if there is one)."""
        pid = self.package_names.get(draft.name)
        if pid is None:
            self.packages.append(PackageDraft(draft.name, docs=draft.docs))
            pid = len(self.packages) - 1
            self.package_names[draft.name] = pid
        pkg = self.packages[pid]
        for name, iid in draft.interfaces.items():
            pkg.interfaces[name] = iid
            self.interfaces[iid].package = pid
        for name, wid in draft.worlds.items():
            pkg.worlds[name] = wid
            world = self.worlds[wid]
            world.package = pid
            for key, item in (*world.imports.items(), *world.exports.items()):
                if isinstance(key, str) and isinstance(item, model.InterfaceItem):
                    iface = self.interfaces[item.id]
                    if iface.name is None:
                        iface.package = pid
        return pid

    def freeze(self, root: int) -> model.Resolve:
        return model.Resolve(
            worlds=tuple(
                model.World(w.name, w.imports, w.exports, w.package, w.docs, w.stability)
                for w in self.worlds
            ),
            interfaces=tuple(
                model.Interface(i.name, i.types, i.functions, i.package, i.docs, i.stability)
                for i in self.interfaces
            ),
            types=tuple(self.types),
            packages=tuple(
                model.Package(p.name, p.interfaces, p.worlds, p.docs) for p in self.packages
            ),
            root=root,
        )
