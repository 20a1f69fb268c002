"""Stage A: resolve one package's files into an `UnresolvedPackage` with local ids.

Order of work (it fixes every local id, see wit-resolution.md §2):
1. foreign dependencies get placeholder interfaces/worlds in first-mention order;
2. local interfaces and worlds are toposorted together (edges: an interface's
   `use`, a world's `include`) and get ids in that order;
3. foreign types named by `use ns:p/i.{..}` get placeholder types;
4. interface bodies, then world bodies, are resolved in toposort order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from witgen import ast, model
from witgen.errors import Span, WitError
from witgen.resolver.gates import stability
from witgen.resolver.toposort import toposort
from witgen.resolver.unresolved import (
    ForeignItem,
    UInclude,
    UInterface,
    UnresolvedPackage,
    UType,
    UWorld,
)

MAP_KEYS = frozenset(
    ("bool", "u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64", "char", "string")
)

# An item of the package namespace: ("interface" | "world", local id).
Item = tuple[Literal["interface", "world"], int]
PathKind = Literal["interface", "world", "unknown"]


def package_name(name: ast.PackageName) -> model.PackageName:
    return model.PackageName(name.namespace.name, name.name.name, name.version)


def type_span(ty: ast.TypeExpr) -> Span:
    return ty.name.span if isinstance(ty, ast.Named) else ty.span


def path_span(path: ast.UsePath) -> Span:
    return path.name.span if isinstance(path, ast.LocalPath) else path.span


def path_name(path: ast.UsePath) -> ast.Id:
    return path.name


@dataclass(frozen=True, slots=True)
class _Path:
    """One path mention (for_each_path in wit-parser)."""

    owner: ast.Id | None  # the named interface/world the path is in (None: no toposort edge)
    attributes: tuple[ast.Attribute, ...]
    path: ast.UsePath
    names: tuple[ast.UseName, ...] | None  # the names of a `use`
    kind: PathKind


def _paths(items: Sequence[ast.TopLevelItem]) -> Iterator[_Path]:
    for item in items:
        if isinstance(item, ast.WorldDecl):
            imports: list[tuple[ast.ExternKind, tuple[ast.Attribute, ...]]] = []
            exports: list[tuple[ast.ExternKind, tuple[ast.Attribute, ...]]] = []
            for w in item.items:
                if isinstance(w, ast.UseDecl):
                    yield _Path(None, w.attributes, w.path, w.names, "interface")
                elif isinstance(w, ast.IncludeDecl):
                    yield _Path(item.name, w.attributes, w.path, None, "world")
                elif isinstance(w, ast.ImportDecl):
                    imports.append((w.kind, w.attributes))
                elif isinstance(w, ast.ExportDecl):
                    exports.append((w.kind, w.attributes))
            for kind, attrs in imports + exports:
                if isinstance(kind, ast.ExternInterface):
                    for i in kind.items:
                        if isinstance(i, ast.UseDecl):
                            yield _Path(None, i.attributes, i.path, i.names, "interface")
                elif isinstance(kind, (ast.ExternPath, ast.ExternNamedPath)):
                    yield _Path(None, attrs, kind.path, None, "interface")
        elif isinstance(item, ast.InterfaceDecl):
            for i in item.items:
                if isinstance(i, ast.UseDecl):
                    yield _Path(item.name, i.attributes, i.path, i.names, "interface")
        elif isinstance(item, ast.TopLevelUse):
            yield _Path(None, item.attributes, item.path, None, "unknown")


def _collect_deps(ty: ast.TypeExpr | None, out: list[ast.Id]) -> None:
    match ty:
        case ast.Named(name):
            out.append(name)
        case ast.HandleType(_, resource, _):
            out.append(resource)
        case ast.ListType(e) | ast.FixedListType(e) | ast.OptionType(e):
            _collect_deps(e, out)
        case ast.FutureType(e) | ast.StreamType(e):
            _collect_deps(e, out)
        case ast.MapType(k, v):
            _collect_deps(k, out)
            _collect_deps(v, out)
        case ast.ResultType(ok, err):
            _collect_deps(ok, out)
            _collect_deps(err, out)
        case ast.TupleType(types):
            for t in types:
                _collect_deps(t, out)


def _decl_deps(decl: ast.TypeDecl) -> list[ast.Id]:
    out: list[ast.Id] = []
    match decl:
        case ast.RecordDecl():
            for f in decl.fields:
                _collect_deps(f.type, out)
        case ast.VariantDecl():
            for c in decl.cases:
                _collect_deps(c.type, out)
        case ast.TypeAliasDecl():
            _collect_deps(decl.type, out)
    return out


_TYPE_DECLS = (
    ast.RecordDecl,
    ast.VariantDecl,
    ast.EnumDecl,
    ast.FlagsDecl,
    ast.ResourceDecl,
    ast.TypeAliasDecl,
)


class PackageResolver:
    """Collects the files of one package, then resolves them (`resolve()`)."""

    def __init__(self) -> None:
        self.name: tuple[model.PackageName, Span] | None = None
        self.docs: str | None = None
        self.decl_lists: list[tuple[ast.TopLevelItem, ...]] = []
        self.pkg = UnresolvedPackage(model.PackageName("", ""), None)  # type: ignore[arg-type]
        self.anon: dict[model.TypeKind, int] = {}
        self.package_items: dict[str, Item] = {}
        self.ast_items: list[dict[str, Item]] = []
        self.cur = 0
        # name -> (what, id, span); what is "type" or "function"
        self.lookup: dict[str, tuple[str, int, Span]] = {}
        self.interface_lookups: dict[int, dict[str, tuple[str, int, Span]]] = {}

    # ------------------------------------------------------------------ files

    def push(self, header: ast.PackageDecl | None, items: tuple[ast.TopLevelItem, ...]) -> None:
        """Add one file's top-level items (nested packages already removed)."""
        if header is not None:
            name = package_name(header.name)
            if self.name is not None and name != self.name[0]:
                raise WitError(
                    f"package identifier `{name}` does not match previous package name "
                    f"of `{self.name[0]}`",
                    header.name.span,
                )
            self.name = (name, header.name.span)
            if header.docs.contents is not None:
                if self.docs is not None:
                    raise WitError(
                        "found doc comments on multiple 'package' items",
                        header.docs.span or header.name.span,
                    )
                self.docs = header.docs.contents
        for item in items:
            if isinstance(item, ast.NestedPackage):
                raise WitError("nested packages must be placed at the top-level", item.name.span)
        self.decl_lists.append(items)

    def resolve(self) -> UnresolvedPackage | None:
        """Resolve everything pushed; None if no file had a `package` header."""
        if self.name is None:
            return None
        self.pkg = UnresolvedPackage(self.name[0], self.name[1], self.docs)
        self._foreign_deps()
        iface_order, world_order = self._ast_items()
        self._foreign_types()
        iface_ast: dict[int, tuple[ast.InterfaceDecl, int]] = {}
        world_ast: dict[int, tuple[ast.WorldDecl, int]] = {}
        for i, items in enumerate(self.decl_lists):
            for item in items:
                if isinstance(item, ast.InterfaceDecl):
                    iface_ast[self.ast_items[i][item.name.name][1]] = (item, i)
                elif isinstance(item, ast.WorldDecl):
                    world_ast[self.ast_items[i][item.name.name][1]] = (item, i)
        for iid in iface_order:
            decl, self.cur = iface_ast[iid]
            self._interface(iid, decl.items, decl.docs, decl.attributes)
        for wid in world_order:
            wdecl, self.cur = world_ast[wid]
            self._world(wid, wdecl)
        return self.pkg

    # ------------------------------------------------------------------ package items

    def _alloc_interface(self, name: str | None, span: Span, foreign: bool = False) -> int:
        self.pkg.interfaces.append(UInterface(name, span, foreign))
        return len(self.pkg.interfaces) - 1

    def _alloc_world(self, name: str, span: Span, foreign: bool = False) -> int:
        self.pkg.worlds.append(UWorld(name, span, foreign))
        return len(self.pkg.worlds) - 1

    def _foreign_deps(self) -> None:
        deps = self.pkg.foreign_deps
        for items in self.decl_lists:
            for p in _paths(items):
                if not isinstance(p.path, ast.PackagePath):
                    continue
                pname = package_name(p.path.package)
                if pname not in deps:
                    deps[pname] = {}
                    self.pkg.foreign_dep_spans.append(p.path.package.span)
                by_name = deps[pname]
                item = by_name.get(p.path.name.name)
                if item is None:
                    if p.kind == "world":
                        wid = self._alloc_world(p.path.name.name, p.path.name.span, True)
                        item = ForeignItem("world", wid, [])
                    else:
                        iid = self._alloc_interface(p.path.name.name, p.path.name.span, True)
                        item = ForeignItem("interface", iid, [])
                    by_name[p.path.name.name] = item
                item.stabilities.append(stability(p.attributes)[0])

    def _ast_items(self) -> tuple[list[int], list[int]]:
        names: dict[str, ast.InterfaceDecl | ast.WorldDecl] = {}
        order: dict[str, list[ast.Id]] = {}
        for items in self.decl_lists:
            for item in items:
                if isinstance(item, (ast.InterfaceDecl, ast.WorldDecl)):
                    if item.name.name in names:
                        raise WitError(f"duplicate item named `{item.name.name}`", item.name.span)
                    names[item.name.name] = item
                    order[item.name.name] = []
        for items in self.decl_lists:
            # this file's namespace: name -> declaring Id (local) or None (foreign)
            ns: dict[str, ast.Id | None] = {}
            for item in items:
                if isinstance(item, (ast.InterfaceDecl, ast.WorldDecl)):
                    key, target = item.name, item.name
                elif isinstance(item, ast.TopLevelUse):
                    key = item.alias or item.path.name
                    if isinstance(item.path, ast.LocalPath):
                        decl = names.get(item.path.name.name)
                        if decl is None:
                            raise WitError(
                                f"interface or world `{item.path.name.name}` does not exist",
                                item.path.name.span,
                            )
                        target = decl.name
                    else:
                        target = None
                else:
                    continue
                if key.name in ns:
                    raise WitError(f"duplicate name `{key.name}` in this file", key.span)
                ns[key.name] = target
            for p in _paths(items):
                if p.owner is None or not isinstance(p.path, ast.LocalPath):
                    continue
                ident = p.path.name
                if ident.name in ns:
                    dep = ns[ident.name]
                    if dep is None:
                        continue
                elif ident.name in names:
                    dep = ident
                else:
                    raise WitError(
                        f"interface or world `{ident.name}` does not exist", ident.span
                    )
                order[p.owner.name].append(dep)
        ids: dict[str, Item] = {}
        iface_order: list[int] = []
        world_order: list[int] = []
        for name in toposort("interface or world", order):
            decl = names[name]
            if isinstance(decl, ast.InterfaceDecl):
                iid = self._alloc_interface(name, decl.name.span)
                ids[name] = ("interface", iid)
                iface_order.append(iid)
            else:
                wid = self._alloc_world(name, decl.name.span)
                ids[name] = ("world", wid)
                world_order.append(wid)
        for items in self.decl_lists:
            file_items: dict[str, Item] = {}
            for item in items:
                if isinstance(item, ast.TopLevelUse):
                    if item.attributes:
                        raise WitError(
                            "attributes not allowed on top-level use",
                            item.attributes[0].span,
                        )
                    key = item.alias or item.path.name
                    if isinstance(item.path, ast.LocalPath):
                        file_items[key.name] = ids[item.path.name.name]
                    else:
                        fi = self.pkg.foreign_deps[package_name(item.path.package)][
                            item.path.name.name
                        ]
                        file_items[key.name] = (fi.kind, fi.id)
                elif isinstance(item, (ast.InterfaceDecl, ast.WorldDecl)):
                    file_items[item.name.name] = ids[item.name.name]
                    self.package_items[item.name.name] = ids[item.name.name]
            self.ast_items.append(file_items)
        return iface_order, world_order

    def _foreign_types(self) -> None:
        for i, items in enumerate(self.decl_lists):
            self.cur = i
            for p in _paths(items):
                if p.names is None:
                    continue
                stab = stability(p.attributes)[0]
                iid = self._iface_from_path(p.path)
                iface = self.pkg.interfaces[iid]
                if not iface.foreign:
                    continue
                for n in p.names:
                    if n.name.name in iface.types:
                        continue
                    self.pkg.types.append(
                        UType(
                            n.name.name,
                            None,
                            model.InterfaceOwner(iid),
                            n.name.span,
                            stability=stab,
                        )
                    )
                    iface.types[n.name.name] = len(self.pkg.types) - 1

    # ------------------------------------------------------------------ paths

    def _item_path(self, path: ast.UsePath) -> Item:
        if isinstance(path, ast.LocalPath):
            name = path.name.name
            item = self.ast_items[self.cur].get(name) or self.package_items.get(name)
            if item is None:
                raise WitError(f"interface or world `{name}` does not exist", path.name.span)
            return item
        fi = self.pkg.foreign_deps[package_name(path.package)][path.name.name]
        return (fi.kind, fi.id)

    def _iface_from_path(self, path: ast.UsePath) -> int:
        kind, iid = self._item_path(path)
        if kind != "interface":
            raise WitError(
                f"name `{path.name.name}` is defined as a world, not an interface",
                path.name.span,
            )
        return iid

    def _world_from_path(self, path: ast.UsePath) -> int:
        kind, wid = self._item_path(path)
        if kind != "world":
            raise WitError(
                f"name `{path.name.name}` is defined as an interface, not a world",
                path.name.span,
            )
        return wid

    # ------------------------------------------------------------------ names

    def _define(self, name: ast.Id, what: str, ident: int) -> None:
        if name.name in self.lookup:
            raise WitError(f"name `{name.name}` is defined more than once", name.span)
        self.lookup[name.name] = (what, ident, name.span)

    def _type_name(self, name: ast.Id) -> int:
        entry = self.lookup.get(name.name)
        if entry is None:
            raise WitError(f"name `{name.name}` does not exist", name.span)
        if entry[0] != "type":
            raise WitError(f"cannot use {entry[0]} `{name.name}` as a type", name.span)
        return entry[1]

    # ------------------------------------------------------------------ bodies

    def _use(self, owner: model.Owner, u: ast.UseDecl) -> None:
        iid = self._iface_from_path(u.path)
        stab = stability(u.attributes)[0]
        src = self.interface_lookups.get(iid)
        iface = self.pkg.interfaces[iid]
        for n in u.names:
            if src is not None:
                entry = src.get(n.name.name)
                if entry is None:
                    raise WitError(f"name `{n.name.name}` does not exist", n.name.span)
                if entry[0] != "type":
                    raise WitError(f"cannot import {entry[0]} `{n.name.name}`", n.name.span)
                target = entry[1]
            else:
                # a foreign interface: its placeholder types were made in _foreign_types
                target = iface.types[n.name.name]
            local = n.alias or n.name
            self.pkg.types.append(
                UType(local.name, model.Alias(target), owner, local.span, stability=stab)
            )
            self._define(local, "type", len(self.pkg.types) - 1)

    def _types(
        self, owner: model.Owner, uses: list[ast.UseDecl], defs_and_uses: list[ast.InterfaceItem]
    ) -> None:
        self.lookup = {}
        for u in uses:
            self._use(owner, u)
        deps: dict[str, list[ast.Id]] = {}
        defs: dict[str, ast.TypeDecl | None] = {}
        for item in defs_and_uses:
            if isinstance(item, ast.UseDecl):
                for n in item.names:
                    local = n.alias or n.name
                    deps[local.name] = []
                    defs[local.name] = None
            elif not isinstance(item, ast.FuncDecl):
                if item.name.name in defs:
                    raise WitError(
                        f"name `{item.name.name}` is defined more than once", item.name.span
                    )
                defs[item.name.name] = item
                deps[item.name.name] = _decl_deps(item)
        for name in toposort("type", deps, old_float_hint=True):
            decl = defs[name]
            if decl is None:
                continue
            stab, ext = stability(decl.attributes)
            kind, parts = self._type_decl(decl, stab)
            self.pkg.types.append(
                UType(
                    name, kind, owner, decl.name.span, decl.docs.contents, stab, ext, parts
                )
            )
            self._define(decl.name, "type", len(self.pkg.types) - 1)

    def _type_decl(
        self, decl: ast.TypeDecl, stab: model.Stability
    ) -> tuple[model.TypeKind, tuple[Span, ...]]:
        match decl:
            case ast.RecordDecl():
                if not decl.fields:
                    raise WitError("empty record", decl.name.span)
                fields = tuple(
                    model.Field(f.name.name, self._anon(f.type, stab), f.docs.contents)
                    for f in decl.fields
                )
                return model.Record(fields), tuple(f.name.span for f in decl.fields)
            case ast.VariantDecl():
                if not decl.cases:
                    raise WitError("empty variant", decl.name.span)
                cases = tuple(
                    model.Case(
                        c.name.name,
                        None if c.type is None else self._anon(c.type, stab),
                        c.docs.contents,
                    )
                    for c in decl.cases
                )
                return model.Variant(cases), tuple(c.name.span for c in decl.cases)
            case ast.EnumDecl():
                if not decl.cases:
                    raise WitError("empty enum", decl.name.span)
                return model.Enum(
                    tuple(model.EnumCase(c.name.name, c.docs.contents) for c in decl.cases)
                ), ()
            case ast.FlagsDecl():
                if not decl.flags:
                    raise WitError("empty flags", decl.name.span)
                return model.Flags(
                    tuple(model.Flag(c.name.name, c.docs.contents) for c in decl.flags)
                ), ()
            case ast.ResourceDecl():
                seen: set[str] = set()
                ctors = 0
                for f in decl.funcs:
                    if f.kind == "constructor":
                        ctors += 1
                        if ctors > 1:
                            raise WitError("duplicate constructors", f.name.span)
                    elif f.name.name in seen:
                        raise WitError(f"duplicate function name `{f.name.name}`", f.name.span)
                    else:
                        seen.add(f.name.name)
                return model.Resource(), ()
            case _:
                return self._kind(decl.type, stab), ()

    def _kind(self, ty: ast.TypeExpr, stab: model.Stability) -> model.TypeKind:
        match ty:
            case ast.Primitive(name):
                return model.Alias(name)
            case ast.Named(name):
                return model.Alias(self._type_name(name))
            case ast.ListType(e):
                return model.List(self._anon(e, stab))
            case ast.FixedListType(e, size):
                return model.FixedList(self._anon(e, stab), size)
            case ast.MapType(k, v, span):
                key = self._anon(k, stab)
                value = self._anon(v, stab)
                if not (isinstance(key, str) and key in MAP_KEYS):
                    raise WitError(
                        "invalid map key type: map keys must be bool, u8, u16, u32, u64, "
                        "s8, s16, s32, s64, char, or string",
                        span,
                    )
                return model.Map(key, value)
            case ast.OptionType(e):
                return model.Option(self._anon(e, stab))
            case ast.ResultType(ok, err):
                return model.Result(
                    None if ok is None else self._anon(ok, stab),
                    None if err is None else self._anon(err, stab),
                )
            case ast.TupleType(types, span):
                if not types:
                    raise WitError("empty tuple", span)
                return model.Tuple(tuple(self._anon(t, stab) for t in types))
            case ast.HandleType(mode, resource):
                return model.Handle(mode, self._resource(resource))
            case ast.FutureType(e):
                return model.Future(None if e is None else self._anon(e, stab))
            case ast.StreamType(e):
                return model.Stream(None if e is None else self._anon(e, stab))
        raise TypeError(ty)

    def _resource(self, name: ast.Id) -> int:
        rid = self._type_name(name)
        cur = rid
        while True:
            t = self.pkg.types[cur]
            if isinstance(t.kind, model.Resource):
                return rid
            if isinstance(t.kind, model.Alias) and isinstance(t.kind.type, int):
                cur = t.kind.type
                continue
            if t.kind is None:
                self.pkg.required_resource_types.append((cur, name.span))
                return rid
            raise WitError(f"type `{name.name}` used in a handle must be a resource", name.span)

    def _find_stability(self, kind: model.TypeKind) -> model.Stability:
        inner: tuple[model.Type | None, ...]
        match kind:
            case model.Handle(_, r):
                inner = (r,)
            case model.List(t) | model.Option(t) | model.FixedList(t):
                inner = (t,)
            case model.Future(t) | model.Stream(t):
                inner = (t,)
            case model.Tuple(types):
                inner = types
            case model.Result(ok, err):
                inner = (ok, err)
            case model.Map(k, v):
                inner = (k, v)
            case _:
                inner = ()
        for t in inner:
            if isinstance(t, int):
                s = self.pkg.types[t].stability
                if s is not None:
                    return s
        return None

    def _anon_kind(self, kind: model.TypeKind, stab: model.Stability, span: Span) -> model.Type:
        if isinstance(kind, model.Alias):
            return kind.type
        if isinstance(kind, model.Handle) and kind.mode == "own":
            return kind.resource
        tid = self.anon.get(kind)
        if tid is None:
            if stab is None:
                stab = self._find_stability(kind)
            self.pkg.types.append(UType(None, kind, None, span, stability=stab))
            tid = len(self.pkg.types) - 1
            self.anon[kind] = tid
        return tid

    def _anon(self, ty: ast.TypeExpr, stab: model.Stability) -> model.Type:
        if isinstance(ty, ast.Primitive):
            return ty.name
        if isinstance(ty, ast.Named):
            return self._type_name(ty.name)
        return self._anon_kind(self._kind(ty, stab), stab, type_span(ty))

    # ------------------------------------------------------------------ functions

    def _function(
        self,
        docs: ast.Docs,
        attrs: tuple[ast.Attribute, ...],
        name: str,
        func: ast.FuncType,
        kind: model.FunctionKind,
    ) -> model.Function:
        stab, ext = stability(attrs)
        params: dict[str, model.Type] = {}
        if kind.kind in ("method", "async-method"):
            assert kind.resource is not None
            params["self"] = self._anon_kind(model.Handle("borrow", kind.resource), None, func.span)
        for p in func.params:
            ty = self._anon(p.type, None)
            if p.name.name in params:
                raise WitError(f"param `{p.name.name}` is defined more than once", p.name.span)
            params[p.name.name] = ty
        result: model.Type | None = None
        if kind.kind == "constructor":
            assert kind.resource is not None
            if func.result is None:
                result = kind.resource
            else:
                result = self._anon(func.result, None)
                rkind = self.pkg.types[result].kind if isinstance(result, int) else None
                if not isinstance(rkind, model.Result):
                    raise WitError(
                        "if a constructor return type is declared it must be a `result`",
                        type_span(func.result),
                    )
                if rkind.ok != kind.resource:
                    r = func.result
                    assert isinstance(r, ast.ResultType)
                    raise WitError(
                        "the `ok` type must be the resource being constructed",
                        r.span if r.ok is None else type_span(r.ok),
                    )
        elif func.result is not None:
            result = self._anon(func.result, None)
        return model.Function(
            name,
            kind,
            tuple(model.Param(n, t) for n, t in params.items()),
            result,
            docs.contents,
            stab,
            ext,
        )

    def _resource_func(self, f: ast.ResourceFunc, resource: ast.Id) -> model.Function:
        entry = self.lookup[resource.name]
        rid = entry[1]
        prefix = "async-" if f.func.is_async else ""
        if f.kind == "method":
            name = f"[method]{resource.name}.{f.name.name}"
            kind = model.FunctionKind(prefix + "method", rid)  # type: ignore[arg-type]
        elif f.kind == "static":
            name = f"[static]{resource.name}.{f.name.name}"
            kind = model.FunctionKind(prefix + "static", rid)  # type: ignore[arg-type]
        else:
            name = f"[constructor]{resource.name}"
            kind = model.FunctionKind("constructor", rid)
        return self._function(f.docs, f.attributes, name, f.func, kind)

    # ------------------------------------------------------------------ interfaces

    def _interface(
        self,
        iid: int,
        items: tuple[ast.InterfaceItem, ...],
        docs: ast.Docs,
        attrs: tuple[ast.Attribute, ...],
    ) -> None:
        iface = self.pkg.interfaces[iid]
        iface.docs = docs.contents
        iface.stability = stability(attrs)[0]
        self._types(
            model.InterfaceOwner(iid),
            [i for i in items if isinstance(i, ast.UseDecl)],
            [i for i in items if not isinstance(i, ast.FuncDecl)],
        )
        for name, (_, tid, _) in self.lookup.items():
            iface.types[name] = tid
        funcs: list[model.Function] = []
        for item in items:
            if isinstance(item, ast.FuncDecl):
                self._define(item.name, "function", -1)
                fkind = model.FunctionKind(
                    "async-freestanding" if item.func.is_async else "freestanding"
                )
                funcs.append(
                    self._function(item.docs, item.attributes, item.name.name, item.func, fkind)
                )
                iface.func_spans.append(item.name.span)
            elif isinstance(item, ast.ResourceDecl):
                for rf in item.funcs:
                    funcs.append(self._resource_func(rf, item.name))
                    iface.func_spans.append(rf.name.span)
        for f in funcs:
            iface.functions[f.name] = f
        self.interface_lookups[iid] = self.lookup
        self.lookup = {}

    # ------------------------------------------------------------------ worlds

    def _world(self, wid: int, decl: ast.WorldDecl) -> None:
        world = self.pkg.worlds[wid]
        world.docs = decl.docs.contents
        world.stability = stability(decl.attributes)[0]
        owner = model.WorldOwner(wid)
        type_items: list[ast.InterfaceItem] = [
            i for i in decl.items if isinstance(i, (ast.UseDecl, *_TYPE_DECLS))
        ]
        self._types(owner, [i for i in type_items if isinstance(i, ast.UseDecl)], type_items)
        for item in decl.items:
            if isinstance(item, ast.IncludeDecl):
                stab = stability(item.attributes)[0]
                src = self._world_from_path(item.path)
                names = [(n.name.name, n.alias.name) for n in item.names]
                world.includes.append(UInclude(stab, src, names, path_span(item.path)))
        import_names: dict[str, str] = {}
        export_names: dict[str, str] = {}
        for name, (_, tid, span) in self.lookup.items():
            import_names[name] = "type"
            world.imports[name] = model.TypeItem(tid)
            world.import_spans.append(span)
        seen_imports: set[int] = set()
        seen_exports: set[int] = set()
        for item in decl.items:
            if isinstance(item, ast.ResourceDecl):
                for rf in item.funcs:
                    world.import_spans.append(rf.name.span)
                    f = self._resource_func(rf, item.name)
                    world.imports[f.name] = model.FunctionItem(f)
                continue
            if isinstance(item, ast.ImportDecl):
                desc, names_, seen = "import", import_names, seen_imports
                dst, spans = world.imports, world.import_spans
            elif isinstance(item, ast.ExportDecl):
                desc, names_, seen = "export", export_names, seen_exports
                dst, spans = world.exports, world.export_spans
            else:
                continue
            kind = item.kind
            witem = self._world_item(item.docs, item.attributes, kind)
            key: model.WorldKey
            if isinstance(kind, ast.ExternPath):
                assert isinstance(witem, model.InterfaceItem)
                span = path_span(kind.path)
                if witem.id in seen:
                    raise WitError(f"interface cannot be {desc}ed more than once", span)
                seen.add(witem.id)
                key = model.InterfaceKey(witem.id)
            else:
                span = kind.name.span
                what = (
                    "interface"
                    if isinstance(witem, model.InterfaceItem)
                    else "func"
                    if isinstance(witem, model.FunctionItem)
                    else "type"
                )
                prev = names_.get(kind.name.name)
                if prev is not None:
                    raise WitError(
                        f"{desc} `{kind.name.name}` conflicts with prior {prev} of same name",
                        span,
                    )
                names_[kind.name.name] = what
                key = kind.name.name
            dst[key] = witem
            spans.append(span)
        self.lookup = {}

    def _world_item(
        self, docs: ast.Docs, attrs: tuple[ast.Attribute, ...], kind: ast.ExternKind
    ) -> model.WorldItem:
        if isinstance(kind, ast.ExternInterface):
            saved = self.lookup
            iid = self._alloc_interface(None, kind.name.span)
            self._interface(iid, kind.items, docs, attrs)
            self.lookup = saved
            return model.InterfaceItem(iid, self.pkg.interfaces[iid].stability)
        if isinstance(kind, ast.ExternFunc):
            fkind = model.FunctionKind(
                "async-freestanding" if kind.func.is_async else "freestanding"
            )
            return model.FunctionItem(
                self._function(docs, attrs, kind.name.name, kind.func, fkind)
            )
        stab, ext = stability(attrs)
        iid = self._iface_from_path(kind.path)
        return model.InterfaceItem(iid, stab, ext, docs.contents)
