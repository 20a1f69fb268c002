"""The resolved model as WIT text, exactly as `wasm-tools component wit` prints it.

The root package comes first (`package ns:name;` then its interfaces and worlds),
then every other package of the `Resolve`, in arena order, as a nested
`package ns:name@ver { .. }` block. Layout rules of the reference printer:
two-space indentation, a blank line between the items of a block but not
between a world's imports, `use` statements rebuilt from aliases of types owned
elsewhere (consecutive ones from one interface grouped), record fields and cases
each followed by `,`, doc comments as `/// ` lines and gates on their own lines
before the item, keyword names escaped with `%`.
"""

from __future__ import annotations

from witgen import model

# Names the reference printer escapes with `%`.
KEYWORDS = frozenset(
    "use type func u8 u16 u32 u64 s8 s16 s32 s64 f32 f64 float32 float64 char resource "
    "record flags variant enum bool string option result future stream list own borrow _ "
    "as from static interface tuple world import export package with include constructor "
    "error-context async map".split()
)


def escape(name: str) -> str:
    """`name`, with a `%` in front when it is a keyword."""
    return f"%{name}" if name in KEYWORDS else name


class _Out:
    """Text with the reference's indentation rules: a line is indented when its first text comes."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.indent = 0
        self.needs_indent = False

    def text(self, s: str) -> None:
        if self.needs_indent:
            self.parts.append("  " * self.indent)
            self.needs_indent = False
        self.parts.append(s)

    def newline(self) -> None:
        self.parts.append("\n")
        self.needs_indent = True

    def semicolon(self) -> None:
        self.parts.append(";")
        self.newline()

    def open(self) -> None:
        self.parts.append(" {")
        self.indent += 1
        self.newline()

    def close(self) -> None:
        self.indent = max(self.indent - 1, 0)
        self.text("}")
        self.newline()

    def doc(self, docs: str | None) -> None:
        if docs is None:
            return
        for line in _lines(docs):
            self.text("///" + (" " + line if line else ""))
            self.newline()


def _lines(text: str) -> list[str]:
    """Rust's `str::lines`: split at `\\n`, drop one trailing `\\r` per line, no final empty line."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [ln[:-1] if ln.endswith("\r") else ln for ln in lines]


def print_wit(resolve: model.Resolve, root: int | None = None) -> str:
    """Every package of `resolve` as WIT text, the package `root` (default: the root) first."""
    main = resolve.root if root is None else root
    if main is None:
        main = len(resolve.packages) - 1
    return _Printer(resolve).print(main) if resolve.packages else ""


def type_text(resolve: model.Resolve, ty: model.Type) -> str:
    """How WIT spells `ty` where it is used: `u32`, `list<u8>`, a named type's name."""
    return _Printer(resolve).type_name(ty)


class _Printer:
    def __init__(self, resolve: model.Resolve) -> None:
        self.r = resolve
        self.out = _Out()
        self.any_items = False

    # ------------------------------------------------------------------ packages

    def print(self, main: int) -> str:
        self.package(main, True)
        nested = [i for i in range(len(self.r.packages)) if i != main]
        for n, pid in enumerate(nested):
            if n > 0:
                self.out.newline()
                self.out.newline()
            self.package(pid, False)
        return "".join(self.out.parts)

    def package(self, pid: int, is_main: bool) -> None:
        out = self.out
        pkg = self.r.packages[pid]
        out.doc(pkg.docs)
        name = pkg.name
        out.text(f"package {escape(name.namespace)}:{escape(name.name)}")
        if name.version is not None:
            out.text(f"@{name.version}")
        if is_main:
            out.semicolon()
            out.newline()
        else:
            out.open()
        for iname, iid in pkg.interfaces.items():
            iface = self.r.interfaces[iid]
            out.doc(iface.docs)
            self.stability(iface.stability)
            out.text(f"interface {escape(iname)}")
            out.open()
            self.interface(iid)
            out.close()
            if is_main:
                out.newline()
        for wname, wid in pkg.worlds.items():
            world = self.r.worlds[wid]
            out.doc(world.docs)
            self.stability(world.stability)
            out.text(f"world {escape(wname)}")
            out.open()
            self.world(wid)
            out.close()
        if not is_main:
            out.close()

    def new_item(self) -> None:
        if self.any_items:
            self.out.newline()
        self.any_items = True

    # ------------------------------------------------------------------ interfaces

    def interface(self, iid: int) -> None:
        prev = self.any_items
        self.any_items = False
        iface = self.r.interfaces[iid]
        resource_funcs: dict[int, list[model.Function]] = {}
        freestanding: list[model.Function] = []
        for func in iface.functions.values():
            if func.kind.resource is not None:
                resource_funcs.setdefault(func.kind.resource, []).append(func)
            else:
                freestanding.append(func)
        self.types(model.InterfaceOwner(iid), list(iface.types.items()), resource_funcs)
        for func in freestanding:
            self.new_item()
            self.out.doc(func.docs)
            self.stability(func.stability)
            self.external_id(func.external_id)
            self.out.text(f"{escape(func.item_name)}: ")
            self.function(func)
            self.out.semicolon()
        self.any_items = prev

    def types(
        self,
        owner: model.Owner,
        types: list[tuple[str, int]],
        resource_funcs: dict[int, list[model.Function]],
    ) -> None:
        r = self.r
        declare: list[int] = []
        # (interface owning the used types, the first alias, [(local name, their name)])
        uses: list[tuple[model.Owner, model.TypeDef, list[tuple[str, str]]]] = []
        for name, tid in types:
            ty = r.types[tid]
            if isinstance(ty.kind, model.Alias) and isinstance(ty.kind.type, int):
                other = r.types[ty.kind.type]
                if other.owner is not None and other.owner != owner:
                    if other.name is None:
                        raise ValueError("cannot import unnamed type")
                    if uses:
                        prev_owner, prev_ty, names = uses[-1]
                        if (
                            prev_owner == other.owner
                            and ty.stability == prev_ty.stability
                            and ty.external_id == prev_ty.external_id
                        ):
                            names.append((name, other.name))
                            continue
                    uses.append((other.owner, ty, [(name, other.name)]))
                    continue
            declare.append(tid)
        if isinstance(owner, model.InterfaceOwner):
            my_pkg = r.interfaces[owner.id].package
        else:
            assert isinstance(owner, model.WorldOwner)
            my_pkg = r.worlds[owner.id].package
        out = self.out
        for use_owner, ty, names in uses:
            self.any_items = True
            self.stability(ty.stability)
            self.external_id(ty.external_id)
            assert isinstance(use_owner, model.InterfaceOwner)
            out.text(f"use {self.path_to(use_owner.id, my_pkg)}.{{")
            out.text(
                ", ".join(
                    escape(mine) if mine == theirs else f"{escape(theirs)} as {escape(mine)}"
                    for mine, theirs in names
                )
            )
            out.text("}")
            out.semicolon()
        for tid in declare:
            self.new_item()
            ty = r.types[tid]
            out.doc(ty.docs)
            self.stability(ty.stability)
            self.external_id(ty.external_id)
            if isinstance(ty.kind, model.Resource):
                self.resource(tid, resource_funcs.get(tid, []))
            else:
                self.declare(ty)

    def resource(self, tid: int, funcs: list[model.Function]) -> None:
        out = self.out
        name = self.r.types[tid].name
        assert name is not None, "resources must be named"
        out.text(f"resource {escape(name)}")
        if not funcs:
            out.semicolon()
            return
        out.open()
        for func in funcs:
            out.doc(func.docs)
            self.stability(func.stability)
            self.external_id(func.external_id)
            kind = func.kind.kind
            member = func.item_name.split(".", 1)[-1]
            if kind in ("method", "async-method"):
                out.text(f"{escape(member)}: ")
            elif kind in ("static", "async-static"):
                out.text(f"{escape(member)}: static ")
            self.function(func)
            out.semicolon()
        out.close()

    def function(self, func: model.Function) -> None:
        out = self.out
        kind = func.kind.kind
        if func.kind.is_async:
            out.text("async ")
        out.text("constructor(" if kind == "constructor" else "func(")
        params = func.params[1:] if kind in ("method", "async-method") else func.params
        out.text(", ".join(f"{escape(p.name)}: {self.type_name(p.type)}" for p in params))
        out.text(")")
        if kind == "constructor" and self.is_constructor_shorthand(func):
            return
        if func.result is not None:
            out.text(f" -> {self.type_name(func.result)}")

    def is_constructor_shorthand(self, func: model.Function) -> bool:
        if not isinstance(func.result, int):
            return False
        kind = self.r.types[func.result].kind
        return (
            isinstance(kind, model.Handle)
            and kind.mode == "own"
            and kind.resource == func.kind.resource
        )

    # ------------------------------------------------------------------ worlds

    def world(self, wid: int) -> None:
        prev = self.any_items
        self.any_items = False
        world = self.r.worlds[wid]
        pkg = world.package
        types: list[tuple[str, int]] = []
        resource_funcs: dict[int, list[model.Function]] = {}
        functions: list[tuple[model.WorldKey, model.WorldItem]] = []
        for key, item in world.imports.items():
            if isinstance(item, model.TypeItem):
                assert isinstance(key, str)
                types.append((key, item.id))
                continue
            if isinstance(item, model.FunctionItem):
                if item.function.kind.resource is not None:
                    resource_funcs.setdefault(item.function.kind.resource, []).append(item.function)
                else:
                    functions.append((key, item))
                continue
            self.world_item(key, item, pkg, "import")
            self.any_items = True
        self.types(model.WorldOwner(wid), types, resource_funcs)
        for key, item in functions:
            self.world_item(key, item, pkg, "import")
            self.any_items = True
        if world.exports:
            self.new_item()
        for key, item in world.exports.items():
            self.world_item(key, item, pkg, "export")
        self.any_items = prev

    def world_item(
        self, key: model.WorldKey, item: model.WorldItem, pkg: int | None, keyword: str
    ) -> None:
        out = self.out
        r = self.r
        if isinstance(item, model.InterfaceItem):
            if item.docs is not None:
                out.doc(item.docs)
            elif isinstance(key, str):
                out.doc(r.interfaces[item.id].docs)
            self.stability(item.stability)
            self.external_id(item.external_id)
        else:
            assert isinstance(item, model.FunctionItem)
            out.doc(item.function.docs)
            self.stability(item.function.stability)
            self.external_id(item.function.external_id)
        out.text(f"{keyword} ")
        if isinstance(key, str):
            if isinstance(item, model.InterfaceItem):
                out.text(f"{escape(key)}: ")
                if r.interfaces[item.id].name is None:
                    out.text("interface")
                    out.open()
                    self.interface(item.id)
                    out.close()
                else:
                    out.text(self.path_to(item.id, pkg))
                    out.semicolon()
            else:
                assert isinstance(item, model.FunctionItem)
                out.text(f"{escape(item.function.name)}: ")
                self.function(item.function)
                out.semicolon()
        else:
            assert isinstance(item, model.InterfaceItem) and item.id == key.id
            out.text(self.path_to(key.id, pkg))
            out.semicolon()

    def path_to(self, iid: int, cur_pkg: int | None) -> str:
        iface = self.r.interfaces[iid]
        assert iface.name is not None and iface.package is not None
        if iface.package == cur_pkg:
            return escape(iface.name)
        pkg = self.r.packages[iface.package].name
        path = f"{escape(pkg.namespace)}:{escape(pkg.name)}/{escape(iface.name)}"
        return f"{path}@{pkg.version}" if pkg.version is not None else path

    # ------------------------------------------------------------------ types

    def type_name(self, ty: model.Type) -> str:
        if isinstance(ty, str):
            return ty
        td = self.r.types[ty]
        if td.name is not None:
            return escape(td.name)
        text = self.anonymous(td.kind, own=False)
        if text is None:
            raise ValueError(f"resolve has an unnamed {type(td.kind).__name__.lower()} type")
        return text

    def anonymous(self, k: model.TypeKind, *, own: bool) -> str | None:
        """The text of a kind that needs no declaration (`list<u8>`, `option<t>`, a handle;
        `own` spells `own<r>` out), or None for a record, flags, enum or variant."""
        match k:
            case model.Handle(mode, resource):
                return self.handle(mode, resource, force=own)
            case model.Tuple(types):
                return f"tuple<{', '.join(self.type_name(t) for t in types)}>"
            case model.Option(inner):
                return f"option<{self.type_name(inner)}>"
            case model.Result():
                return self.result(k)
            case model.List(inner):
                return f"list<{self.type_name(inner)}>"
            case model.Map(key, value):
                return f"map<{self.type_name(key)}, {self.type_name(value)}>"
            case model.FixedList(inner, size):
                return f"list<{self.type_name(inner)}, {size}>"
            case model.Alias(inner):
                return self.type_name(inner)
            case model.Future(inner):
                return "future" if inner is None else f"future<{self.type_name(inner)}>"
            case model.Stream(inner):
                return "stream" if inner is None else f"stream<{self.type_name(inner)}>"
        return None

    def handle(self, mode: str, resource: int, *, force: bool) -> str:
        name = self.r.types[resource].name
        if name is None:
            raise ValueError("unnamed resource type")
        if mode == "borrow":
            return f"borrow<{escape(name)}>"
        return f"own<{escape(name)}>" if force else escape(name)

    def result(self, k: model.Result) -> str:
        if k.ok is not None and k.err is not None:
            return f"result<{self.type_name(k.ok)}, {self.type_name(k.err)}>"
        if k.err is not None:
            return f"result<_, {self.type_name(k.err)}>"
        if k.ok is not None:
            return f"result<{self.type_name(k.ok)}>"
        return "result"

    def declare(self, ty: model.TypeDef) -> None:
        out = self.out
        assert ty.name is not None, "unnamed type in document"
        name = escape(ty.name)
        k = ty.kind
        match k:
            case model.Record(fields):
                out.text(f"record {name}")
                out.open()
                for f in fields:
                    out.doc(f.docs)
                    out.text(f"{escape(f.name)}: {self.type_name(f.type)},")
                    out.newline()
                out.close()
                return
            case model.Flags(flags):
                self.cases("flags", name, [(f.name, f.docs, None) for f in flags])
                return
            case model.Enum(cases):
                self.cases("enum", name, [(c.name, c.docs, None) for c in cases])
                return
            case model.Variant(vcases):
                self.cases("variant", name, [(c.name, c.docs, c.type) for c in vcases])
                return
        rhs = self.anonymous(k, own=True)
        if rhs is None:
            raise ValueError(f"cannot declare {k!r}")
        out.text(f"type {name} = {rhs}")
        out.semicolon()

    def cases(
        self, keyword: str, name: str, cases: list[tuple[str, str | None, model.Type | None]]
    ) -> None:
        out = self.out
        out.text(f"{keyword} {name}")
        out.open()
        for cname, docs, ty in cases:
            out.doc(docs)
            payload = "" if ty is None else f"({self.type_name(ty)})"
            out.text(f"{escape(cname)}{payload},")
            out.newline()
        out.close()

    # ------------------------------------------------------------------ gates

    def stability(self, stability: model.Stability) -> None:
        out = self.out
        if stability is None:
            return
        if isinstance(stability, model.Stable):
            out.text(f"@since(version = {stability.since})")
        else:
            out.text(f"@unstable(feature = {stability.feature})")
        out.newline()
        if stability.deprecated is not None:
            out.text(f"@deprecated(version = {stability.deprecated})")
            out.newline()

    def external_id(self, ext: str | None) -> None:
        if ext is None:
            return
        chars: list[str] = []
        simple = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
        for c in ext:
            if (c.isascii() and c.isalnum()) or c in "-_./: ":
                chars.append(c)
            elif c in simple:
                chars.append(simple[c])
            else:
                chars.append("\\u{%x}" % ord(c))
        self.out.text(f'@external-id("{"".join(chars)}")')
        self.out.newline()
