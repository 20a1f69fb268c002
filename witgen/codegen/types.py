"""View models of named types and functions, read by the templates.

Each view carries everything its template prints (names, annotations, escaped docstrings,
the `witgen.runtime.wit` description of its shape); templates only lay it out.
"""

from __future__ import annotations

from msgspec import Struct, field

from witgen import model as m
from witgen.codegen.layout import CodegenError
from witgen.codegen.render import LINE_LENGTH
from witgen.codegen.shapes import Emitter
from witgen.naming import NameCollision, Namespace, docstring, pascal, snake, upper

# Names generated code uses inside function bodies; parameters with these names get `_`.
SCOPE_RESERVED = {"self": "(self)", "result": "(result)"}


class Member(Struct):
    """A record field, enum case, flag or variant case."""

    name: str  # Python name
    wit: str
    doc: str  # docstring literal or ""
    annot: str = ""  # fields and variant payloads
    value: int = 0  # enum index or flag bit
    cls: str = ""  # variant case class
    describe: str = ""  # description of a field's or case's type


class TypeView(Struct):
    template: str  # "record", "variant", "enum", "flags", "alias", "resource"
    name: str
    wit: str
    doc: str
    describe: str  # the type's description (`wit.U32`, `Error`, ...), for TYPES
    members: list[Member] = field(default_factory=list)
    annot: str = ""  # alias target

    @property
    def description(self) -> str:
        """The statement describing the type: a decorator (`@wit.record(...)`) or, for a
        variant, a `wit.variant(...)` call; one line, or black's exploded layout."""
        name = f'"{self.wit}"'
        match self.template:
            case "record":
                items = [f'"{mb.wit}": {mb.describe}' for mb in self.members]
                return "@" + call("wit.record", [name, Arg("{", items, "}")], 0, lead=1)
            case "variant":
                items = [_case_item(f'"{mb.wit}"', mb.cls, mb.describe or "None") for mb in self.members]
                return call("wit.variant", [name, self.name, Arg("{", items, "}")], 0)
            case "enum" | "flags":
                names = [f'"{mb.wit}"' for mb in self.members]
                return "@" + call(f"wit.{self.template}", [name, Arg("[", names, "]")], 0, lead=1)
            case "resource":
                return f"@wit.resource({name})"
        return ""


class Param(Struct):
    name: str
    wit: str
    annot: str
    describe: str


class FunctionView(Struct):
    """One WIT function: its wire name, Python names and description."""

    wit: str  # full WIT name, e.g. `[method]counter.incr`
    wire: str  # wire-format.md section 2 name: `counter.incr`
    py: str  # snake name used for provider and client methods: `counter_incr`
    member: str  # name inside a resource class: `incr`; `py` for freestanding
    kind: str
    resource: int | None
    is_async: bool
    doc: str
    params: list[Param]
    result: str  # annotation of the result ("None" if none)
    result_describe: str  # description of the result ("None" if none)

    @property
    def describe(self) -> str:
        """The `wit.Func(...)` expression of this function (an item of `FUNCTIONS`)."""
        args: list[str | Arg] = [f'"{self.wire}"']
        if self.params or self.result_describe != "None":
            args.append(Arg("{", [f'"{p.wit}": {p.describe}' for p in self.params], "}"))
        if self.result_describe != "None":
            args.append(self.result_describe)
        kind = self.kind.removeprefix("async-")
        if kind != "freestanding":
            args.append(f'kind="{kind}"')
        if self.is_async:
            args.append("is_async=True")
        return call("wit.Func", args, 4, trailing=",")


class Arg(Struct, frozen=True):
    """A bracketed argument: `{a, b}` or `[a, b]`, exploded one item a line when long."""

    open: str
    items: list[str]
    close: str

    def flat(self) -> str:
        return self.open + ", ".join(self.items) + self.close


def call(callee: str, args: list[str | Arg], indent: int, trailing: str = "", lead: int = 0) -> str:
    """`callee(args)` on one line when it fits at `indent`, else as black lays out a call
    that does not fit: one argument a line, a bracketed argument one item a line, each
    level ending with a comma (black keeps such a layout as it is)."""
    flat = f"{callee}({', '.join(a.flat() if isinstance(a, Arg) else a for a in args)}){trailing}"
    if indent + lead + len(flat) <= LINE_LENGTH:  # `lead`: what precedes it on its line
        return flat
    pad, inner = " " * (indent + 4), " " * (indent + 8)
    lines = [f"{callee}("]
    for a in args:
        if isinstance(a, Arg) and indent + 4 + len(a.flat()) + 1 > LINE_LENGTH and a.items:
            items = (item.replace("\n", "\n" + inner) for item in a.items)  # exploded items go deeper
            lines += [pad + a.open, *(f"{inner}{item}," for item in items), f"{pad}{a.close},"]
        else:
            lines.append(f"{pad}{a.flat() if isinstance(a, Arg) else a},")
    lines.append(" " * indent + ")" + trailing)
    return "\n".join(lines)


def _case_item(key: str, cls: str, describe: str) -> str:
    """A variant case's `key: (class, description)` entry of an exploded `wit.variant(...)`
    (its items sit 8 columns in): the pair exploded too when the line would not fit."""
    flat = f"{key}: ({cls}, {describe})"
    if 8 + len(flat) + 1 <= LINE_LENGTH:
        return flat
    return f"{key}: (\n    {cls},\n    {describe},\n)"


def union_alias(name: str, classes: list[str], limit: int = LINE_LENGTH) -> str:
    """The right-hand side of `name: TypeAlias = ...` laid out as black lays it out."""
    flat = " | ".join(classes)
    if len(f"{name}: TypeAlias = {flat}") <= limit:
        return flat
    if len(flat) + 4 <= limit:
        return f"(\n    {flat}\n)"
    return "(\n    " + "\n    | ".join(classes) + "\n)"


def _claim(ns: Namespace, py: str, wit: str) -> str:
    try:
        return ns.claim(py, wit)
    except NameCollision as exc:
        raise CodegenError(str(exc)) from None


def type_view(em: Emitter, tid: int) -> TypeView:
    """The view of the named type `tid`, defined in `em.module`."""
    td = em.resolve.types[tid]
    names = em.layout.names[tid]
    assert td.name is not None
    doc = docstring(td.docs)
    wit = td.name
    kind = td.kind
    ns = em.module.ns
    describe = f"wit.of({names.py})"
    match kind:
        case m.Record(fields):
            scope = Namespace(f"record {wit}")
            members = [
                Member(_claim(scope, snake(f.name), f.name), f.name, docstring(f.docs), em.annot(f.type),
                       describe=em.describe(f.type))
                for f in fields
            ]  # fmt: skip
            return TypeView("record", names.py, wit, doc, describe, members)
        case m.Variant(cases):
            members = []
            for c in cases:
                cls = _claim(ns, pascal(f"{td.name}-{c.name}"), f"case {c.name} of variant {wit}")
                annot = em.annot(c.type) if c.type is not None else ""
                desc = em.describe(c.type) if c.type is not None else ""
                members.append(Member(snake(c.name), c.name, docstring(c.docs), annot, cls=cls, describe=desc))
            view = TypeView("variant", names.py, wit, doc, describe, members)
            view.annot = union_alias(names.py, [mb.cls for mb in members])
            return view
        case m.Enum(cases):
            scope = Namespace(f"enum {wit}")
            members = [
                Member(_claim(scope, upper(c.name), c.name), c.name, docstring(c.docs), value=i)
                for i, c in enumerate(cases)
            ]
            return TypeView("enum", names.py, wit, doc, describe, members)
        case m.Flags(flags):
            scope = Namespace(f"flags {wit}")
            members = [
                Member(_claim(scope, upper(f.name), f.name), f.name, docstring(f.docs), value=1 << i)
                for i, f in enumerate(flags)
            ]
            return TypeView("flags", names.py, wit, doc, describe, members)
        case m.Resource():
            return TypeView("resource", names.py, wit, doc, describe)
    # `type x = y` and `type x = list<u8>` and the like: an alias, described by its target.
    target = em.describe(tid)
    view = TypeView("alias", names.py, wit, doc, target if target.startswith("wit.") else f"wit.of({target})")
    view.annot = em.annot(kind.type) if isinstance(kind, m.Alias) else em.annot_kind(kind)
    return view


def function_names(f: m.Function, resolve: m.Resolve) -> tuple[str, str, str]:
    """(wire name, Python snake name, member name) of a function."""
    item = f.item_name
    if f.kind.kind == "constructor":
        return item, snake(f"{item}-constructor"), "constructor"
    if "." in item:
        res, _, member = item.partition(".")
        return item, snake(f"{res}-{member}"), snake(member)
    return item, snake(item), snake(item)


def param_names(f: m.Function) -> list[str]:
    """Python names of a function's parameters (`self` and `result` avoided)."""
    scope = Namespace(f"function {f.name}", dict(SCOPE_RESERVED))
    out = []
    for prm in f.params:
        py_name = snake(prm.name)
        while py_name in scope:
            py_name += "_"
        out.append(_claim(scope, py_name, prm.name))
    return out


def function_view(em: Emitter, f: m.Function) -> FunctionView:
    """The view of one function."""
    wire, py, member = function_names(f, em.resolve)
    params = [
        Param(n, prm.name, em.annot(prm.type), em.describe(prm.type))
        for n, prm in zip(param_names(f), f.params, strict=True)
    ]
    return FunctionView(
        wit=f.name,
        wire=wire,
        py=py,
        member=member,
        kind=f.kind.kind,
        resource=f.kind.resource,
        is_async=f.kind.is_async,
        doc=docstring(f.docs),
        params=params,
        result=em.annot(f.result),
        result_describe=em.describe(f.result) if f.result is not None else "None",
    )
