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
from typing import Literal

from msgspec import Struct

from witgen import model
from witgen.frontend import ast
from witgen.errors import Span, WitError
from witgen.resolver.gates import stability
from witgen.resolver.toposort import toposort
from witgen.resolver.bodies import BodyResolver, Item, package_name, path_span
from witgen.resolver.unresolved import (
    ForeignItem,
    UInclude,
    UInterface,
    UnresolvedPackage,
    UType,
    UWorld,
)

PathKind = Literal["interface", "world", "unknown"]


class _Path(Struct, frozen=True):
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


_TYPE_DECLS = (
    ast.RecordDecl,
    ast.VariantDecl,
    ast.EnumDecl,
    ast.FlagsDecl,
    ast.ResourceDecl,
    ast.TypeAliasDecl,
)


class PackageResolver(BodyResolver):
    """Collects the files of one package, then resolves them (`resolve()`)."""

    path_lists: list[list[_Path]]  # by file, its path mentions (set by `resolve`)

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
        # each file's path mentions, read by three of the passes below
        self.path_lists = [list(_paths(items)) for items in self.decl_lists]
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
        for paths in self.path_lists:
            for p in paths:
                if not isinstance(p.path, ast.PackagePath):
                    continue
                pname = package_name(p.path.package)
                if pname not in deps:
                    deps[pname] = {}
                    pkg = p.path.package  # the span is `ns:name`, without the version
                    self.pkg.foreign_dep_spans.append(
                        Span(pkg.span.source, pkg.namespace.span.start, pkg.name.span.end)
                    )
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
        for file_index, items in enumerate(self.decl_lists):
            # this file's namespace: name -> declaring Id (local) or None (foreign)
            ns: dict[str, ast.Id | None] = {}
            for item in items:
                target: ast.Id | None
                if isinstance(item, (ast.InterfaceDecl, ast.WorldDecl)):
                    key, target = item.name, item.name
                elif isinstance(item, ast.TopLevelUse):
                    key = item.alias or item.path.name
                    # a missing local target is reported by the toposort (if an
                    # interface or world uses it) or once ids are known
                    target = item.path.name if isinstance(item.path, ast.LocalPath) else None
                else:
                    continue
                if key.name in ns:
                    raise WitError(f"duplicate name `{key.name}` in this file", key.span)
                ns[key.name] = target
            for p in self.path_lists[file_index]:
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
                    raise WitError(f"interface or world `{ident.name}` does not exist", ident.span)
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
                            item.span or item.attributes[0].span,
                        )
                    key = item.alias or item.path.name
                    if isinstance(item.path, ast.LocalPath):
                        target_id = ids.get(item.path.name.name)
                        if target_id is None:
                            raise WitError(
                                f"interface or world `{item.path.name.name}` does not exist",
                                item.path.name.span,
                            )
                        file_items[key.name] = target_id
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
        for i, paths in enumerate(self.path_lists):
            self.cur = i
            for p in paths:
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
                fkind = model.FunctionKind(
                    "async-freestanding" if item.func.is_async else "freestanding"
                )
                # The name is visible (as a function) to its own signature; whether it
                # is unique is checked once the signature is resolved.
                self.lookup.setdefault(item.name.name, ("function", -1, item.name.span))
                funcs.append(
                    self._function(item.docs, item.attributes, item.name.name, item.func, fkind)
                )
                self._define_func(item.name.name, item.name.span)
                iface.func_spans.append(item.name.span)
            elif isinstance(item, ast.ResourceDecl):
                for rf in item.funcs:
                    funcs.append(self._resource_func(rf, item.name))
                    self._define_func(funcs[-1].name, rf.name.span)
                    iface.func_spans.append(rf.name.span)
        for f in funcs:
            iface.functions[f.name] = f
        self.interface_lookups[iid] = self.lookup
        self.lookup = {}
        self.names = {}

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
        # case-insensitive names: imports share theirs with the world's types
        import_keys = self.names
        export_keys: dict[tuple[str, str], str] = {}
        for item in decl.items:
            if isinstance(item, ast.ResourceDecl):
                for rf in item.funcs:
                    world.import_spans.append(rf.name.span)
                    f = self._resource_func(rf, item.name)
                    self.names = import_keys
                    self._define_func(f.name, rf.name.span)
                    world.imports[f.name] = model.FunctionItem(f)
                continue
            if isinstance(item, ast.ImportDecl):
                desc, names_, seen, keys = "import", import_names, seen_imports, import_keys
                dst, spans = world.imports, world.import_spans
            elif isinstance(item, ast.ExportDecl):
                desc, names_, seen, keys = "export", export_names, seen_exports, export_keys
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
                    else "func" if isinstance(witem, model.FunctionItem) else "type"
                )
                prev = names_.get(kind.name.name)
                if prev is not None:
                    raise WitError(
                        f"{desc} `{kind.name.name}` conflicts with prior {prev} of same name",
                        span,
                    )
                self.names = keys
                self._define_func(kind.name.name, span)
                names_[kind.name.name] = what
                key = kind.name.name
            dst[key] = witem
            spans.append(span)
        self.lookup = {}
        self.names = {}

    def _world_item(
        self, docs: ast.Docs, attrs: tuple[ast.Attribute, ...], kind: ast.ExternKind
    ) -> model.WorldItem:
        if isinstance(kind, ast.ExternInterface):
            saved, saved_names = self.lookup, self.names
            iid = self._alloc_interface(None, kind.name.span)
            self._interface(iid, kind.items, docs, attrs)
            self.lookup, self.names = saved, saved_names
            # the docs stay on the interface; the external id goes on the item
            ext = stability(attrs)[1]
            return model.InterfaceItem(iid, self.pkg.interfaces[iid].stability, ext)
        if isinstance(kind, ast.ExternFunc):
            fkind = model.FunctionKind(
                "async-freestanding" if kind.func.is_async else "freestanding"
            )
            return model.FunctionItem(self._function(docs, attrs, kind.name.name, kind.func, fkind))
        stab, ext = stability(attrs)
        iid = self._iface_from_path(kind.path)
        return model.InterfaceItem(iid, stab, ext, docs.contents)
