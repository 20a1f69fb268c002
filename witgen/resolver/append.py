"""Stage B: copy unresolved packages, one at a time, into the global arenas.

Placeholders for foreign items map onto items of packages pushed earlier; local
items are copied in local order, skipping any whose feature gate is off (they
take no id). References to resources by value become `own<R>` handles here.
Then each world's includes are applied and the world is elaborated
(`witgen.resolver.worlds`). See wit-resolution.md §2.6.
"""

from __future__ import annotations

from typing import Any

from msgspec.structs import replace

from witgen import model
from witgen.errors import Span, WitError
from witgen.resolver.unresolved import UInterface, UnresolvedPackage, UWorld
from witgen.resolver.arenas import Arenas
from witgen.resolver.worlds import check_case_insensitive, elaborate_world, include_world

_EXCLUDED = "found a reference to a {} which is excluded due to its feature not being activated"


# kinds that refer to no other type: copied as they are
_LEAF_KINDS = frozenset({model.Enum, model.Flags, model.Resource})
# kinds that refer to one other type, as `type`, and hold a borrow when it does
_WRAPPING_KINDS = frozenset({model.Alias, model.List, model.FixedList, model.Option})


def _err(kind: str, span: Span | None, extra: str = "") -> WitError:
    return WitError(_EXCLUDED.format(kind) + extra, span)


class Remap:
    """Local ids of one unresolved package -> global ids (None: gated out)."""

    def __init__(self, g: Arenas, u: UnresolvedPackage) -> None:
        self.g = g
        self.u = u
        self.types: list[int | None] = []
        self.interfaces: list[int | None] = []
        self.worlds: list[int | None] = []
        self.own_handles: dict[int, int] = {}
        self.borrow_cache: dict[model.Type | None, bool] = {}
        self.by_value: dict[int, int] = {}  # local type id -> global id of its use by value

    # ------------------------------------------------------------------ id maps

    def map_type(self, tid: int, span: Span | None) -> int:
        new = self.types[tid]
        if new is None:
            raise _err("type", span)
        return new

    def map_interface(self, iid: int, span: Span | None, extra: str = "") -> int:
        new = self.interfaces[iid]
        if new is None:
            raise _err("interface", span, extra)
        return new

    def map_world(self, wid: int, span: Span | None, extra: str = "") -> int:
        new = self.worlds[wid]
        if new is None:
            raise _err("world", span, extra)
        return new

    def ty(self, ty: model.Type, span: Span | None) -> model.Type:
        """Map a type used by value: a resource becomes an `own` handle."""
        if isinstance(ty, str):
            return ty
        known = self.by_value.get(ty)
        if known is not None:
            return known
        tid = self.map_type(ty, span)
        self.by_value[ty] = mapped = self._by_value(tid)
        return mapped

    def _by_value(self, tid: int) -> int:
        types = self.g.types
        cur = tid
        while True:
            kind = types[cur].kind
            if isinstance(kind, model.Resource):
                break
            if isinstance(kind, model.Alias) and isinstance(kind.type, int):
                cur = kind.type
                continue
            return tid
        own = self.own_handles.get(tid)
        if own is None:
            types.append(model.TypeDef(None, model.Handle("own", tid), None))
            own = len(types) - 1
            self.own_handles[tid] = own
        return own

    def opt(self, ty: model.Type | None, span: Span | None) -> model.Type | None:
        return None if ty is None else self.ty(ty, span)

    def kind(self, kind: model.TypeKind, span: Span, parts: tuple[Span, ...]) -> model.TypeKind:
        """A type's kind with its type ids mapped (`parts`: the spans of a record's fields or a
        variant's cases, where their errors point)."""
        cls = kind.__class__
        if cls in _LEAF_KINDS:
            return kind
        k: Any = kind  # (told apart by class: faster than `match`)
        ty, opt = self.ty, self.opt
        if cls is model.Alias:
            return model.Alias(self.map_type(k.type, span)) if isinstance(k.type, int) else kind
        if cls is model.Record:
            n = len(parts)
            return model.Record(
                tuple(replace(f, type=ty(f.type, parts[i] if i < n else span)) for i, f in enumerate(k.fields))
            )
        if cls is model.Variant:
            n = len(parts)
            return model.Variant(
                tuple(replace(c, type=opt(c.type, parts[i] if i < n else span)) for i, c in enumerate(k.cases))
            )
        if cls is model.Result:
            return model.Result(opt(k.ok, span), opt(k.err, span))
        if cls is model.List or cls is model.Option:
            return cls(ty(k.type, span))
        if cls is model.Tuple:
            return model.Tuple(tuple([ty(t, span) for t in k.types]))
        if cls is model.Handle:
            return model.Handle(k.mode, self.map_type(k.resource, span))
        if cls is model.FixedList:
            return model.FixedList(ty(k.type, span), k.size)
        if cls is model.Map:
            return model.Map(ty(k.key, span), ty(k.value, span))
        if cls is model.Future or cls is model.Stream:
            return cls(opt(k.type, span))
        return kind

    def has_borrow(self, ty: model.Type | None) -> bool:
        """Whether a type holds a `borrow<T>` handle (a function may not return one)."""
        if ty.__class__ is not int:
            return False
        cached = self.borrow_cache.get(ty)
        if cached is not None:
            return cached
        kind: Any = self.g.types[ty].kind  # (told apart by class: faster than `match`)
        cls = kind.__class__
        if cls in _WRAPPING_KINDS:
            result = self.has_borrow(kind.type)
        elif cls is model.Handle:
            result = kind.mode == "borrow"
        elif cls is model.Result:
            result = self.has_borrow(kind.ok) or self.has_borrow(kind.err)
        elif cls is model.Variant:
            result = any(self.has_borrow(c.type) for c in kind.cases)
        elif cls is model.Record:
            result = any(self.has_borrow(f.type) for f in kind.fields)
        elif cls is model.Tuple:
            result = any(self.has_borrow(t) for t in kind.types)
        elif cls is model.Map:
            result = self.has_borrow(kind.key) or self.has_borrow(kind.value)
        else:  # resources, enums, flags, futures and streams hold no borrow
            result = False
        self.borrow_cache[ty] = result
        return result

    def function(self, f: model.Function, span: Span | None) -> model.Function:
        kind = f.kind
        if kind.resource is not None:
            kind = model.FunctionKind(kind.kind, self.map_type(kind.resource, span))
        ty = self.ty
        params = tuple(
            [p if p.type.__class__ is str else model.Param(p.name, ty(p.type, span)) for p in f.params]
        )
        result = None if f.result is None else ty(f.result, span)
        if self.has_borrow(result):
            raise WitError(
                f"function `{f.name}` returns a type which contains a `borrow<T>` "
                "which is not supported",
                span,
            )
        return replace(f, kind=kind, params=params, result=result)

    # ------------------------------------------------------------------ foreign items

    def _foreign(self, pkgid: int) -> None:
        g, u = self.g, self.u
        where: dict[tuple[str, int], tuple[model.PackageName, str, Span, list[model.Stability]]]
        where = {}
        for i, (pname, items) in enumerate(u.foreign_deps.items()):
            for name, item in items.items():
                where[(item.kind, item.id)] = (
                    pname,
                    name,
                    u.foreign_dep_spans[i],
                    item.stabilities,
                )
        me = g.packages[pkgid].name
        for kind in ("interface", "world"):
            out = self.interfaces if kind == "interface" else self.worlds
            arena: list[UInterface | UWorld] = [
                *(u.interfaces if kind == "interface" else u.worlds)
            ]
            for lid, local in enumerate(arena):
                if not local.foreign:
                    break
                pname, name, pspan, stabs = where[(kind, lid)]
                dep = g.package_names.get(pname)
                if dep is None:
                    msg = f"package '{pname}' not found"
                    if g.package_names:
                        msg += ". known packages:" + "".join(f"\n    {n}" for n in g.package_names)
                    raise WitError(msg, pspan)
                if not any(g.gates.include(s, me, local.span) for s in stabs):
                    out.append(None)
                    continue
                pkg = g.packages[dep]
                found = (pkg.interfaces if kind == "interface" else pkg.worlds).get(name)
                if found is None:
                    raise WitError(f"{kind} '{name}' not found in package '{pname}'", local.span)
                out.append(found)
        for t in u.types:
            if t.kind is not None:
                break
            if not g.gates.include(t.stability, me, t.span):
                self.types.append(None)
                continue
            assert isinstance(t.owner, model.InterfaceOwner) and t.name is not None
            iid = self.map_interface(t.owner.id, None)
            tid = g.interfaces[iid].types.get(t.name)
            if tid is None:
                raise WitError(f"type `{t.name}` not defined in interface", t.span)
            self.types.append(tid)
        for rid, span in u.required_resource_types:
            mapped = self.types[rid]
            if mapped is None:
                continue
            cur = mapped
            while True:
                kind_ = g.types[cur].kind
                if isinstance(kind_, model.Alias) and isinstance(kind_.type, int):
                    cur = kind_.type
                elif isinstance(kind_, model.Resource):
                    break
                else:
                    raise WitError("type used in a handle must be a resource", span)

    # ------------------------------------------------------------------ append

    def append(self) -> int:
        g, u = self.g, self.u
        pkgid = len(g.packages)
        g.packages.append(model.Package(u.name, {}, {}, u.docs))
        g.package_names[u.name] = pkgid
        me = u.name
        self._foreign(pkgid)
        first_type = len(self.types)
        include, kind_of, arena, mapped = g.gates.include, self.kind, g.types, self.types
        for t in u.types[first_type:]:
            stab = t.stability
            if stab is not None and not include(stab, me, t.span):
                mapped.append(None)
                continue
            assert t.kind is not None
            kind = kind_of(t.kind, t.span, t.part_spans)
            arena.append(model.TypeDef(t.name, kind, t.owner, t.docs, stab, t.external_id))
            mapped.append(len(arena) - 1)
        first_iface = len(self.interfaces)
        for iface in u.interfaces[first_iface:]:
            if not g.gates.include(iface.stability, me, iface.span):
                self.interfaces.append(None)
                continue
            types = {n: m for n, tid in iface.types.items() if (m := self.types[tid]) is not None}
            funcs: dict[str, model.Function] = {}
            for (fname, f), span in zip(iface.functions.items(), iface.func_spans):
                if g.gates.include(f.stability, me, span):
                    funcs[fname] = self.function(f, span)
            g.interfaces.append(
                model.Interface(iface.name, types, funcs, pkgid, iface.docs, iface.stability)
            )
            self.interfaces.append(len(g.interfaces) - 1)
        for lid in range(first_type, len(u.types)):
            gid = self.types[lid]
            if gid is None:
                continue
            owner = g.types[gid].owner
            if isinstance(owner, model.InterfaceOwner):
                new = self.map_interface(
                    owner.id,
                    u.types[lid].span,
                    "; this type is not gated by a feature but its interface is",
                )
                g.types[gid] = replace(g.types[gid], owner=model.InterfaceOwner(new))
        first_world = len(self.worlds)
        pending: list[tuple[int, int]] = []
        for lid, world in enumerate(u.worlds[first_world:], first_world):
            if not g.gates.include(world.stability, me, world.span):
                self.worlds.append(None)
                continue
            wid = len(g.worlds)
            imports = self._world_items(world.imports, world.import_spans, me, (wid, False))
            exports = self._world_items(world.exports, world.export_spans, me, (wid, True))
            g.worlds.append(
                model.World(world.name, imports, exports, pkgid, world.docs, world.stability)
            )
            self.worlds.append(wid)
            pending.append((lid, len(g.worlds) - 1))
        for lid in range(first_type, len(u.types)):
            gid = self.types[lid]
            if gid is None:
                continue
            owner = g.types[gid].owner
            if isinstance(owner, model.WorldOwner):
                new = self.map_world(
                    owner.id,
                    u.types[lid].span,
                    "; this type is not gated by a feature but its world is",
                )
                g.types[gid] = replace(g.types[gid], owner=model.WorldOwner(new))
        pkg = g.packages[pkgid]
        for iid in self.interfaces[first_iface:]:
            if iid is not None:
                name = g.interfaces[iid].name
                if name is not None:
                    pkg.interfaces[name] = iid
        for kept in self.worlds[first_world:]:
            if kept is not None:
                pkg.worlds[g.worlds[kept].name] = kept
        for lid, wid in pending:
            for inc in u.worlds[lid].includes:
                if not g.gates.include(inc.stability, me, inc.span):
                    continue
                src = self.map_world(inc.world, inc.span)
                include_world(g, wid, src, inc.names, inc.span)
            check_case_insensitive(g.worlds[wid])
            elaborate_world(g, wid, u.worlds[lid].span)
        return pkgid

    def _world_items(
        self,
        items: dict[model.WorldKey, model.WorldItem],
        spans: list[Span],
        me: model.PackageName,
        where: tuple[int, bool],
    ) -> dict[model.WorldKey, model.WorldItem]:
        g = self.g
        out: dict[model.WorldKey, model.WorldItem] = {}
        for (key, item), span in zip(items.items(), spans):
            if isinstance(item, model.TypeItem):
                item = model.TypeItem(self.map_type(item.id, span))
                stab = g.types[item.id].stability
            elif isinstance(item, model.FunctionItem):
                stab = item.function.stability
            else:
                stab = item.stability
            if not g.gates.include(stab, me, span):
                continue
            if isinstance(key, model.InterfaceKey):
                key = model.InterfaceKey(self.map_interface(key.id, span))
            if isinstance(item, model.InterfaceItem):
                item = replace(item, id=self.map_interface(item.id, span))
            elif isinstance(item, model.FunctionItem):
                item = model.FunctionItem(self.function(item.function, span))
            out[key] = item
            g.item_spans[(*where, key)] = span
        return out
