"""Worlds in stage B: `include` (with cloning) and import/export elaboration.

See wit-resolution.md §3. Elaboration adds the interfaces that imported or
exported items depend on (through `use`), and sorts imports by class:
interfaces, `use` aliases, other types, freestanding functions, resource
functions.
"""

from __future__ import annotations

from msgspec.structs import replace

from witgen import model
from witgen.errors import Span, WitError
from witgen.resolver.arenas import Arenas
from witgen.resolver.bodies import name_key
from witgen.resolver.gates import stability_debug



# ------------------------------------------------------------------ cloning


class Cloner:
    """Deep-copies world-owned (or interface-owned) types for an `include`."""

    def __init__(self, g: Arenas, prev: model.Owner, new: model.Owner) -> None:
        self.g = g
        self.prev = prev
        self.new = new
        self.map: dict[int, int] = {}

    def type_id(self, tid: int) -> int:
        new = self.map.get(tid)
        if new is None:
            t = self.g.types[tid]
            kind = self.kind(t.kind)
            owner = t.owner if t.owner is None else self.new
            self.g.types.append(replace(t, kind=kind, owner=owner))
            new = len(self.g.types) - 1
            self.map[tid] = new
        return new

    def ty(self, ty: model.Type) -> model.Type:
        return self.type_id(ty) if isinstance(ty, int) else ty

    def opt(self, ty: model.Type | None) -> model.Type | None:
        return None if ty is None else self.ty(ty)

    def kind(self, kind: model.TypeKind) -> model.TypeKind:
        match kind:
            case model.Alias(t):
                if isinstance(t, int) and self.g.types[t].owner == self.prev:
                    return model.Alias(self.type_id(t))
                return kind
            case model.Handle(mode, r):
                return model.Handle(mode, self.type_id(r))
            case model.Option(t):
                return model.Option(self.ty(t))
            case model.List(t):
                return model.List(self.ty(t))
            case model.FixedList(t, n):
                return model.FixedList(self.ty(t), n)
            case model.Tuple(types):
                return model.Tuple(tuple(self.ty(t) for t in types))
            case model.Record(fields):
                return model.Record(tuple(replace(f, type=self.ty(f.type)) for f in fields))
            case model.Variant(cases):
                return model.Variant(tuple(replace(c, type=self.opt(c.type)) for c in cases))
            case model.Result(ok, err):
                return model.Result(self.opt(ok), self.opt(err))
            case model.Future(t):
                return model.Future(self.opt(t))
            case model.Stream(t):
                return model.Stream(self.opt(t))
            case model.Map(k, v):
                return model.Map(self.ty(k), self.ty(v))
        return kind

    def function(self, f: model.Function) -> model.Function:
        kind = f.kind
        if kind.resource is not None:
            kind = model.FunctionKind(kind.kind, self.type_id(kind.resource))
        params = tuple(model.Param(p.name, self.ty(p.type)) for p in f.params)
        return replace(f, kind=kind, params=params, result=self.opt(f.result))

    def interface(self, iid: int) -> int:
        g = self.g
        old = g.interfaces[iid]
        next_id = len(g.interfaces)
        inner = Cloner(g, model.InterfaceOwner(iid), model.InterfaceOwner(next_id))
        types = {n: inner.type_id(t) for n, t in old.types.items()}
        funcs = {n: inner.function(f) for n, f in old.functions.items()}
        assert isinstance(self.new, model.WorldOwner)
        package = g.worlds[self.new.id].package
        g.interfaces.append(
            replace(old, types=types, functions=funcs, package=package, clone_of=iid)
        )
        return next_id


# ------------------------------------------------------------------ include


def _rename(original: str, name: str, alias: str) -> str | None:
    if original == name:
        return alias
    if "]" not in original:
        return None
    kind, rest = original.split("]", 1)
    head, dot, tail = rest.partition(".")
    if dot and head == name:
        return f"{kind}]{alias}.{tail}"
    if rest == name:
        return f"{kind}]{alias}"
    return None


def _merge_stability(
    incoming: model.Stability, into: model.Stability, external: bool, span: Span | None
) -> model.Stability:
    if external and isinstance(incoming, model.Stable):
        return None
    if incoming == into or incoming is None:
        return into
    if into is None:
        return incoming
    raise WitError(
        f"mismatch in stability from '{stability_debug(incoming)}' to '{stability_debug(into)}'",
        span,
    )


def include_world(g: Arenas, wid: int, src: int, names: list[tuple[str, str]], span: Span) -> None:
    """Apply `include src with { .. }` to world `wid` (both already in the arenas)."""
    world = g.worlds[wid]
    inc = g.worlds[src]
    external = world.package != inc.package
    cloner = Cloner(g, model.WorldOwner(src), model.WorldOwner(wid))
    for desc, items, dst in (
        ("import", inc.imports, world.imports),
        ("export", inc.exports, world.exports),
    ):
        is_export = desc == "export"
        for key, item in list(items.items()):
            item_span = g.item_spans.get((src, is_export, key))
            if isinstance(key, model.InterfaceKey):
                assert isinstance(item, model.InterfaceItem)
                prev = dst.get(key)
                if prev is None:
                    dst[key] = item
                    prev = item
                    if item_span is not None:
                        g.item_spans[(wid, is_export, key)] = item_span
                assert isinstance(prev, model.InterfaceItem)
                # 1.262 points at the included item for exports only
                where = item_span if is_export else None
                merged = _merge_stability(item.stability, prev.stability, external, where)
                if merged != prev.stability:
                    dst[key] = replace(prev, stability=merged)
                continue
            new_name = key
            for n, alias in names:
                renamed = _rename(key, n, alias)
                if renamed is not None:
                    new_name = renamed
                    break
            new_item: model.WorldItem
            if isinstance(item, model.TypeItem):
                tid = cloner.type_id(item.id)
                g.types[tid] = replace(g.types[tid], name=new_name)
                new_item = model.TypeItem(tid)
            elif isinstance(item, model.FunctionItem):
                new_item = model.FunctionItem(
                    replace(cloner.function(item.function), name=new_name)
                )
            elif g.interfaces[item.id].name is None:
                new_item = replace(item, id=cloner.interface(item.id))
            else:
                new_item = item  # a labelled named interface is shared, not cloned
            if new_name in dst:
                raise WitError(f"{desc} of `{new_name}` shadows previously {desc}ed items", span)
            dst[new_name] = new_item
            if item_span is not None:
                g.item_spans[(wid, is_export, new_name)] = item_span
    keys = [k for k in (*inc.imports, *inc.exports) if isinstance(k, str)]
    for n, alias in names:
        if not any(_rename(k, n, alias) is not None for k in keys):
            raise WitError(
                f"no import or export kebab-name `{n}`. Note that an ID does not support renaming",
                span,
            )


def check_case_insensitive(world: model.World) -> None:
    """Names of one world's imports (and of its exports) must be strongly unique."""
    for desc, items in (("import", world.imports), ("export", world.exports)):
        seen: dict[tuple[str, str], str] = {}
        for key in items:
            if not isinstance(key, str):
                continue
            ukey = name_key(key)
            prev = seen.get(ukey)
            if prev is not None:
                raise WitError(
                    f"{desc} `{key}` in world `{world.name}` conflicts with {desc} `{prev}` "
                    "(names must be strongly unique)"
                )
            seen[ukey] = key


# ------------------------------------------------------------------ elaboration


def _type_dep(g: Arenas, tid: int) -> int | None:
    t = g.types[tid]
    if not (isinstance(t.kind, model.Alias) and isinstance(t.kind.type, int)):
        return None
    other = g.types[t.kind.type]
    if other.owner == t.owner:
        return None
    return other.owner.id if isinstance(other.owner, model.InterfaceOwner) else None


def _deps(g: Arenas, iid: int) -> list[int]:
    """The interfaces whose types interface `iid` uses, once per type (an interface pushed
    is never changed, so they are worked out once per Resolve)."""
    out = g.interface_deps.get(iid)
    if out is None:
        out = g.interface_deps[iid] = []
        for tid in g.interfaces[iid].types.values():
            dep = _type_dep(g, tid)
            if dep is not None:
                out.append(dep)
    return out


def _class(g: Arenas, item: model.WorldItem) -> int:
    if isinstance(item, model.InterfaceItem):
        return 0
    if isinstance(item, model.TypeItem):
        t = g.types[item.id]
        if isinstance(t.kind, model.Alias) and isinstance(t.kind.type, int):
            if g.types[t.kind.type].owner != t.owner:
                return 1
        return 2
    return 3 if item.function.kind.resource is None else 4


def _key_name(g: Arenas, key: model.WorldKey) -> str:
    if isinstance(key, str):
        return key
    return _interface_id(g, key.id)


def _interface_id(g: Arenas, iid: int) -> str:
    iface = g.interfaces[iid]
    assert iface.package is not None and iface.name is not None
    pkg = g.packages[iface.package].name
    base = f"{pkg.namespace}:{pkg.name}/{iface.name}"
    return f"{base}@{pkg.version}" if pkg.version else base


def elaborate_world(g: Arenas, wid: int, span: Span) -> None:
    """Add implied interface imports, check exports, and sort imports by class."""
    world = g.worlds[wid]
    new_imports: dict[model.WorldKey, model.WorldItem] = {}

    def add_import(key: model.WorldKey, iid: int, item: model.InterfaceItem) -> None:
        if key in new_imports:
            return
        for dep in _deps(g, iid):
            add_import(model.InterfaceKey(dep), dep, model.InterfaceItem(dep, item.stability))
        new_imports[key] = item

    imports = sorted(world.imports.items(), key=lambda kv: _class(g, kv[1]))
    for key, item in imports:
        if isinstance(item, model.InterfaceItem):
            add_import(key, item.id, item)
        elif isinstance(item, model.FunctionItem):
            new_imports[key] = item
        else:
            dep = _type_dep(g, item.id)
            if dep is not None:
                stab = g.types[item.id].stability
                add_import(model.InterfaceKey(dep), dep, model.InterfaceItem(dep, stab))
            new_imports[key] = item

    new_exports: dict[model.WorldKey, model.WorldItem] = {}
    # every exported interface, labelled or not, in map order; a dependency is
    # exported (rather than imported) when it is itself exported by path
    export_ifaces: list[tuple[model.WorldKey, model.InterfaceItem]] = []
    for key, item in world.exports.items():
        if isinstance(item, model.InterfaceItem):
            export_ifaces.append((key, item))
        else:
            new_exports[key] = item
    required: set[int] = set()

    def add_export(
        key: model.WorldKey, iid: int, as_export: bool, root: model.InterfaceItem
    ) -> bool:
        # Items added for a dependency copy the root export's gate and external id.
        if key in new_exports:
            return as_export
        if not as_export and iid in required:
            return True
        for dep in _deps(g, iid):
            if not add_export(
                model.InterfaceKey(dep),
                dep,
                as_export and model.InterfaceKey(dep) in world.exports,
                root,
            ):
                return False
        item = (
            root if iid == root.id else model.InterfaceItem(iid, root.stability, root.external_id)
        )
        if as_export:
            if iid in required:
                return False
            new_exports[key] = item
        else:
            required.add(iid)
            if key not in new_imports:
                new_imports[key] = item
        return True

    for key, item in export_ifaces:
        if not add_export(key, item.id, True, item):
            raise WitError(
                f"interface `{_key_name(g, key)}` transitively depends on an interface in "
                "incompatible ways",
                span,
            )

    ordered = sorted(new_imports.items(), key=lambda kv: _class(g, kv[1]))
    world.imports.clear()
    world.imports.update(ordered)
    world.exports.clear()
    world.exports.update(new_exports)
