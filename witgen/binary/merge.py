"""Adding a decoded binary package (and the packages it uses) to arenas being built."""

from __future__ import annotations

from msgspec import structs

from witgen import model
from witgen.errors import WitError


def _ty(t: model.Type | None, off: int) -> model.Type | None:
    return t + off if isinstance(t, int) else t


def _kind(kind: model.TypeKind, off: int) -> model.TypeKind:
    def t(x: model.Type) -> model.Type:
        return x + off if isinstance(x, int) else x

    match kind:
        case model.Record(fields):
            return model.Record(tuple(structs.replace(f, type=t(f.type)) for f in fields))
        case model.Handle(mode, resource):
            return model.Handle(mode, resource + off)
        case model.Tuple(types):
            return model.Tuple(tuple(t(x) for x in types))
        case model.Variant(cases):
            return model.Variant(tuple(structs.replace(c, type=_ty(c.type, off)) for c in cases))
        case model.Option(x) | model.List(x) | model.Alias(x):
            return type(kind)(t(x))
        case model.Result(ok, err):
            return model.Result(_ty(ok, off), _ty(err, off))
        case model.FixedList(x, size):
            return model.FixedList(t(x), size)
        case model.Map(k, v):
            return model.Map(t(k), t(v))
        case model.Future(x) | model.Stream(x):
            return type(kind)(_ty(x, off))
    return kind


class Offsets:
    def __init__(self, types: int, interfaces: int, worlds: int, packages: int) -> None:
        self.types = types
        self.interfaces = interfaces
        self.worlds = worlds
        self.packages = packages

    def owner(self, owner: model.Owner) -> model.Owner:
        if isinstance(owner, model.InterfaceOwner):
            return model.InterfaceOwner(owner.id + self.interfaces)
        if isinstance(owner, model.WorldOwner):
            return model.WorldOwner(owner.id + self.worlds)
        return None

    def function(self, f: model.Function) -> model.Function:
        kind = f.kind
        if kind.resource is not None:
            kind = model.FunctionKind(kind.kind, kind.resource + self.types)
        params = tuple(model.Param(p.name, p.type + self.types if isinstance(p.type, int) else p.type) for p in f.params)
        return structs.replace(f, kind=kind, params=params, result=_ty(f.result, self.types))

    def world_items(self, items: dict[model.WorldKey, model.WorldItem]) -> dict[model.WorldKey, model.WorldItem]:
        out: dict[model.WorldKey, model.WorldItem] = {}
        for key, item in items.items():
            if isinstance(key, model.InterfaceKey):
                key = model.InterfaceKey(key.id + self.interfaces)
            if isinstance(item, model.InterfaceItem):
                item = structs.replace(item, id=item.id + self.interfaces)
            elif isinstance(item, model.FunctionItem):
                item = model.FunctionItem(self.function(item.function))
            else:
                item = model.TypeItem(item.id + self.types)
            out[key] = item
        return out


def append_packages(
    types: list[model.TypeDef],
    interfaces: list[model.Interface],
    worlds: list[model.World],
    packages: list[model.Package],
    package_names: dict[model.PackageName, int],
    resolve: model.Resolve,
    source: str,
) -> None:
    """Append every package of `resolve` (the decoded binary `source`) to the arenas."""
    for pkg in resolve.packages:
        if pkg.name in package_names:
            raise WitError(f"package `{pkg.name}` is defined twice: again in {source}")
    off = Offsets(len(types), len(interfaces), len(worlds), len(packages))
    for ty in resolve.types:
        types.append(structs.replace(ty, kind=_kind(ty.kind, off.types), owner=off.owner(ty.owner)))
    for iface in resolve.interfaces:
        interfaces.append(
            structs.replace(
                iface,
                types={n: t + off.types for n, t in iface.types.items()},
                functions={n: off.function(f) for n, f in iface.functions.items()},
                package=None if iface.package is None else iface.package + off.packages,
            )
        )
    for world in resolve.worlds:
        worlds.append(
            structs.replace(
                world,
                imports=off.world_items(world.imports),
                exports=off.world_items(world.exports),
                package=None if world.package is None else world.package + off.packages,
            )
        )
    for pkg in resolve.packages:
        package_names[pkg.name] = len(packages)
        packages.append(
            structs.replace(
                pkg,
                interfaces={n: i + off.interfaces for n, i in pkg.interfaces.items()},
                worlds={n: w + off.worlds for n, w in pkg.worlds.items()},
            )
        )
