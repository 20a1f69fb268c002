"""Stage A, bodies: names, types and functions of one interface or world body.

`BodyResolver` holds the state of the package being resolved and the current
body's scope; `witgen.resolver.package.PackageResolver` extends it with the
package-level work (files, items, toposort, interfaces, worlds).
"""

from __future__ import annotations

from typing import Any, Literal

from witgen import model
from witgen.frontend import ast
from witgen.errors import Span, WitError
from witgen.resolver.gates import stability
from witgen.resolver.toposort import toposort
from witgen.resolver.unresolved import UnresolvedPackage, UType

MAP_KEYS = frozenset(
    ("bool", "u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64", "char", "string")
)

# An item of the package namespace: ("interface" | "world", local id).
Item = tuple[Literal["interface", "world"], int]


def name_key(name: str) -> tuple[str, str]:
    """The uniqueness key of a name: kebab names are case-insensitive, `[method]r.m`
    and `[static]r.m` are the same name, and `[method]r.r` is the same as `r`."""
    low = name.lower()
    if not low.startswith("["):
        return ("label", low)
    if low.startswith("[constructor]"):
        return ("constructor", low[13:])
    for prefix in ("[method]", "[static]"):
        if low.startswith(prefix):
            res, _, member = low[len(prefix) :].partition(".")
            return ("label", res) if member == res else ("member", f"{res}.{member}")
    return ("label", low)


def check_unique(seen: dict[str, str], name: ast.Id, what: str) -> None:
    """Fields, cases, flags: `duplicate field `a`` / `field `A` conflicts with ..`."""
    prev = seen.get(name.name.lower())
    if prev is not None:
        if prev == name.name:
            raise WitError(f"duplicate {what} `{name.name}`", name.span)
        raise WitError(f"{what} `{name.name}` conflicts with previous {what} `{prev}`", name.span)
    seen[name.name.lower()] = name.name


def package_name(name: ast.PackageName) -> model.PackageName:
    return model.PackageName(name.namespace.name, name.name.name, name.version)


def type_span(ty: ast.TypeExpr) -> Span:
    return ty.name.span if isinstance(ty, ast.Named) else ty.span


def path_span(path: ast.UsePath) -> Span:
    """Where errors about a path point: its item name (`i` in `ns:pkg/i@1.0.0`)."""
    return path.name.span


def _collect_deps(ty: ast.TypeExpr | None, out: list[ast.Id]) -> None:
    t: Any = ty  # (told apart by class: faster than `match`)
    cls = t.__class__
    if cls is ast.Named:
        out.append(t.name)
    elif cls is ast.Primitive or t is None:
        pass
    elif cls in _ONE_ELEMENT:
        _collect_deps(t.element, out)
    elif cls is ast.ResultType:
        _collect_deps(t.ok, out)
        _collect_deps(t.err, out)
    elif cls is ast.HandleType:
        out.append(t.resource)
    elif cls is ast.TupleType:
        for e in t.types:
            _collect_deps(e, out)
    elif cls is ast.MapType:
        _collect_deps(t.key, out)
        _collect_deps(t.value, out)


# kinds of one `type` (as `_find_stability` reads them)
_ONE_TYPE = frozenset({model.List, model.Option, model.FixedList, model.Future, model.Stream})
# type expressions of one `element`
_ONE_ELEMENT = frozenset(
    {ast.ListType, ast.FixedListType, ast.OptionType, ast.FutureType, ast.StreamType}
)


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


class BodyResolver:
    """Package state shared by stage A, and the scope of the body being resolved."""

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
        # uniqueness keys (name_key) of the names defined in the current body
        self.names: dict[tuple[str, str], str] = {}
        self.interface_lookups: dict[int, dict[str, tuple[str, int, Span]]] = {}

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
        """Define a type (or `use` name) in the current body."""
        key = name_key(name.name)
        prev = self.names.get(key)
        if prev is not None:
            if prev == name.name:
                raise WitError(f"name `{name.name}` is defined more than once", name.span)
            raise WitError(f"name `{name.name}` conflicts with previous name `{prev}`", name.span)
        self.names[key] = name.name
        self.lookup[name.name] = (what, ident, name.span)

    def _define_func(self, name: str, span: Span) -> None:
        """Check a function's (or world item's) name against the current body's names."""
        key = name_key(name)
        prev = self.names.get(key)
        if prev is not None:
            if prev == name:
                raise WitError(f"duplicate name `{name}`", span)
            raise WitError(f"name `{name}` conflicts with previous name `{prev}`", span)
        self.names[key] = name

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
            # the reference gives the type the span of the name used, not of its alias
            self.pkg.types.append(
                UType(local.name, model.Alias(target), owner, n.name.span, stability=stab)
            )
            self._define(local, "type", len(self.pkg.types) - 1)

    def _types(
        self, owner: model.Owner, uses: list[ast.UseDecl], defs_and_uses: list[ast.InterfaceItem]
    ) -> None:
        self.lookup = {}
        self.names = {}
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
                UType(name, kind, owner, decl.name.span, decl.docs.contents, stab, ext, parts)
            )
            self._define(decl.name, "type", len(self.pkg.types) - 1)

    def _type_decl(
        self, decl: ast.TypeDecl, stab: model.Stability
    ) -> tuple[model.TypeKind, tuple[Span, ...]]:
        match decl:
            case ast.RecordDecl():
                if not decl.fields:
                    raise WitError("empty record", decl.name.span)
                seen: dict[str, str] = {}
                for f in decl.fields:
                    check_unique(seen, f.name, "field")
                fields = tuple(
                    model.Field(f.name.name, self._anon(f.type, stab), f.docs.contents)
                    for f in decl.fields
                )
                return model.Record(fields), tuple(f.name.span for f in decl.fields)
            case ast.VariantDecl():
                if not decl.cases:
                    raise WitError("empty variant", decl.name.span)
                seen = {}
                for c in decl.cases:
                    check_unique(seen, c.name, "case")
                cases = tuple(
                    model.Case(
                        c.name.name,
                        None if c.type is None else self._anon(c.type, stab),
                        c.docs.contents,
                    )
                    for c in decl.cases
                )
                return model.Variant(cases), ()  # errors point at the variant's name
            case ast.EnumDecl():
                if not decl.cases:
                    raise WitError("empty enum", decl.name.span)
                seen = {}
                for c in decl.cases:
                    check_unique(seen, c.name, "case")
                return (
                    model.Enum(
                        tuple(model.EnumCase(c.name.name, c.docs.contents) for c in decl.cases)
                    ),
                    (),
                )
            case ast.FlagsDecl():
                if not decl.flags:
                    raise WitError("empty flags", decl.name.span)
                if len(decl.flags) > 32:
                    raise WitError("cannot have more than 32 flags", decl.flags[32].name.span)
                seen = {}
                for c in decl.flags:
                    check_unique(seen, c.name, "flag")
                return (
                    model.Flags(
                        tuple(model.Flag(c.name.name, c.docs.contents) for c in decl.flags)
                    ),
                    (),
                )
            case ast.ResourceDecl():
                # member names are checked with the functions (_define_func)
                return model.Resource(), ()
            case _:
                return self._kind(decl.type, stab), ()

    def _kind(self, ty: ast.TypeExpr, stab: model.Stability) -> model.TypeKind:
        t: Any = ty  # (told apart by class, most used first: faster than `match`)
        cls = t.__class__
        anon = self._anon
        if cls is ast.ResultType:
            return model.Result(
                None if t.ok is None else anon(t.ok, stab),
                None if t.err is None else anon(t.err, stab),
            )
        if cls is ast.ListType:
            return model.List(anon(t.element, stab))
        if cls is ast.OptionType:
            return model.Option(anon(t.element, stab))
        if cls is ast.Named:
            return model.Alias(self._type_name(t.name))
        if cls is ast.Primitive:
            return model.Alias(t.name)
        if cls is ast.HandleType:
            return model.Handle(t.mode, self._resource(t.resource))
        if cls is ast.TupleType:
            if not t.types:
                raise WitError("empty tuple", t.span)
            return model.Tuple(tuple([anon(e, stab) for e in t.types]))
        if cls is ast.FixedListType:
            return model.FixedList(anon(t.element, stab), t.size)
        if cls is ast.MapType:
            key = anon(t.key, stab)
            value = anon(t.value, stab)
            if not (isinstance(key, str) and key in MAP_KEYS):
                raise WitError(
                    "invalid map key type: map keys must be bool, u8, u16, u32, u64, "
                    "s8, s16, s32, s64, char, or string",
                    t.span,
                )
            return model.Map(key, value)
        if cls is ast.FutureType:
            return model.Future(None if t.element is None else anon(t.element, stab))
        if cls is ast.StreamType:
            return model.Stream(None if t.element is None else anon(t.element, stab))
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
        """The stability of the first type `kind` refers to that has one (an anonymous
        type takes it when it has none of its own)."""
        k: Any = kind  # (told apart by class: faster than `match`)
        cls = k.__class__
        inner: tuple[model.Type | None, ...]
        if cls is model.Result:
            inner = (k.ok, k.err)
        elif cls in _ONE_TYPE:
            inner = (k.type,)
        elif cls is model.Handle:
            inner = (k.resource,)
        elif cls is model.Tuple:
            inner = k.types
        elif cls is model.Map:
            inner = (k.key, k.value)
        else:
            inner = ()
        for t in inner:
            if isinstance(t, int):
                s = self.pkg.types[t].stability
                if s is not None:
                    return s
        return None

    def _anon_kind(self, kind: model.TypeKind, stab: model.Stability, span: Span) -> model.Type:
        k: Any = kind  # (told apart by class: faster than isinstance)
        cls = k.__class__
        if cls is model.Alias:
            return k.type  # type: ignore[no-any-return]
        if cls is model.Handle and k.mode == "own":
            return k.resource  # type: ignore[no-any-return]
        tid = self.anon.get(kind)
        if tid is None:
            if stab is None:
                stab = self._find_stability(kind)
            self.pkg.types.append(UType(None, kind, None, span, stability=stab))
            tid = len(self.pkg.types) - 1
            self.anon[kind] = tid
        return tid

    def _anon(self, ty: ast.TypeExpr, stab: model.Stability) -> model.Type:
        t: Any = ty  # (told apart by class: faster than isinstance)
        cls = t.__class__
        if cls is ast.Primitive:
            return t.name  # type: ignore[no-any-return]
        if cls is ast.Named:
            return self._type_name(t.name)
        return self._anon_kind(self._kind(t, stab), stab, t.span)

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
        lowered: set[str] = set()
        if kind.kind in ("method", "async-method"):
            assert kind.resource is not None
            params["self"] = self._anon_kind(model.Handle("borrow", kind.resource), None, func.span)
            lowered.add("self")
        anon = self._anon
        for p in func.params:
            ty = anon(p.type, None)
            pname, low = p.name.name, p.name.name.lower()
            if low in lowered:
                raise WitError(f"param `{pname}` is defined more than once", p.name.span)
            lowered.add(low)
            params[pname] = ty
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
            tuple([model.Param(n, t) for n, t in params.items()]),
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
