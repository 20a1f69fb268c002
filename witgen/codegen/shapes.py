"""Python annotations and type descriptions of WIT types, for one output module.

`Emitter` knows the module it writes into. `annot(ty)` gives the Python type of a WIT type
and `describe(ty)` the `witgen.runtime.wit` expression describing it (`wit.List(wit.U8)`,
`Error`, `llm.ChatRequest`), importing other generated modules as needed. Named types are
referred to by their class (a variant by its union alias); aliases by their target. The
runtime builds codecs and converters from these descriptions.
"""

from __future__ import annotations

from witgen import model as m
from witgen.codegen.layout import Layout, Module
from witgen.naming import snake

PRIM_ANNOT = {
    "bool": "bool",
    "u8": "int",
    "u16": "int",
    "u32": "int",
    "u64": "int",
    "s8": "int",
    "s16": "int",
    "s32": "int",
    "s64": "int",
    "f32": "float",
    "f64": "float",
    "char": "str",
    "string": "str",
    "error-context": "_v.ErrorContext",
}


class Emitter:
    """Annotations and codec statements for one module."""

    def __init__(self, layout: Layout, module: Module) -> None:
        self.layout = layout
        self.resolve = layout.resolve
        self.module = module
        self.imports: set[str] = set()  # dotted modules imported under their alias
        # Annotating what a caller sends (parameters) or a provider returns: an anonymous
        # future is any awaitable and a stream any (async) iterable there.
        self.sending = False

    # ------------------------------------------------------------------ names

    def ref(self, tid: int) -> str:
        """The name of a named type's class or alias, qualified by its module if elsewhere."""
        names = self.layout.names[tid]
        if names.module == self.module.dotted:
            return names.py
        self.imports.add(names.module)
        return f"{module_token(names.module)}.{names.py}"

    # ------------------------------------------------------------------ annotations

    def can_be_none(self, ty: m.Type) -> bool:
        """True if a value of `ty` can be `None` (so an outer option needs `Some`)."""
        ty = self.resolve.dealias(ty)
        return isinstance(ty, int) and isinstance(self.resolve.types[ty].kind, m.Option)

    def annot(self, ty: m.Type | None) -> str:
        if ty is None:
            return "None"
        if isinstance(ty, str):
            return PRIM_ANNOT[ty]
        td = self.resolve.types[ty]
        if td.name is not None and ty in self.layout.names:
            return self.ref(ty)
        return self.annot_kind(td.kind)

    def annot_kind(self, kind: m.TypeKind) -> str:
        """The Python type of a structural type kind."""
        match kind:
            case m.Option(t):
                inner = self.annot(t)
                if self.can_be_none(t):
                    return f"Some[{inner}] | None"
                return f"{inner} | None"
            case m.Result(ok, err):
                return f"Ok[{self.annot(ok)}] | Err[{self.annot(err)}]"
            case m.List(t) | m.FixedList(t, _):
                return "bytes" if t == "u8" else f"list[{self.annot(t)}]"
            case m.Map(k, v):
                return f"dict[{self.annot(k)}, {self.annot(v)}]"
            case m.Tuple(types):
                if not types:
                    return "tuple[()]"
                return f"tuple[{', '.join(self.annot(t) for t in types)}]"
            case m.Future(t):
                if self.sending:
                    value = self.annot(t)
                    return f"{value} | _t.Awaitable[{value}]"
                return f"_v.Future[{self.annot(t)}]"
            case m.Stream(t):
                item = "bytes" if t is not None and self.resolve.dealias(t) == "u8" else self.annot(t)  # chunks
                if self.sending:
                    return f"_t.AsyncIterable[{item}] | _t.Iterable[{item}]"
                return f"_v.Stream[{item}]"
            case m.Handle(_, resource):
                return self.annot(resource)
            case m.Alias(t):
                return self.annot(t)
        raise AssertionError(f"cannot annotate anonymous {kind!r}")

    def what(self, ty: m.Type | None) -> str:
        """A short human name of a type, for error messages."""
        if ty is None:
            return "_"
        if isinstance(ty, str):
            return ty
        td = self.resolve.types[ty]
        if td.name is not None:
            return td.name
        match td.kind:
            case m.Option(t):
                return f"option<{self.what(t)}>"
            case m.Result(ok, err):
                return f"result<{self.what(ok)}, {self.what(err)}>"
            case m.List(t):
                return f"list<{self.what(t)}>"
            case m.FixedList(t, n):
                return f"list<{self.what(t)}, {n}>"
            case m.Map(k, v):
                return f"map<{self.what(k)}, {self.what(v)}>"
            case m.Tuple(types):
                return f"tuple<{', '.join(self.what(t) for t in types)}>"
            case m.Handle(mode, r):
                return f"{mode}<{self.what(r)}>"
            case m.Future(t):
                return f"future<{self.what(t)}>"
            case m.Stream(t):
                return f"stream<{self.what(t)}>"
        return "value"

    # ------------------------------------------------------------------ descriptions

    def describe(self, ty: m.Type) -> str:
        """The `wit` description expression of a type."""
        if isinstance(ty, str):
            return f"wit.{PRIM_DESC[ty]}"
        td = self.resolve.types[ty]
        if isinstance(td.kind, m.Alias):
            return self.describe(td.kind.type)
        if td.name is not None and ty in self.layout.names and isinstance(td.kind, CLASS_KINDS):
            return self.ref(ty)
        return self.describe_kind(td.kind)

    def describe_kind(self, kind: m.TypeKind) -> str:
        """The description of a structural type kind."""
        d = self.describe
        match kind:
            case m.Option(t):
                return f"wit.Option({d(t)})"
            case m.Result(ok, err):
                args = [d(ok) if ok is not None else "None", *([d(err)] if err is not None else [])]
                if ok is None and err is None:
                    args = []
                return f"wit.Result({', '.join(args)})"
            case m.List(t):
                return f"wit.List({d(t)})"
            case m.FixedList(t, n):
                return f"wit.List({d(t)}, {n})"
            case m.Map(k, v):
                return f"wit.Map({d(k)}, {d(v)})"
            case m.Tuple(types):
                return f"wit.Tuple({', '.join(d(t) for t in types)})"
            case m.Future(t):
                return f"wit.Future({d(t) if t is not None else ''})"
            case m.Stream(t):
                return f"wit.Stream({d(t) if t is not None else ''})"
            case m.Handle(mode, resource):
                return f"wit.{'Own' if mode == 'own' else 'Borrow'}({d(resource)})"
            case m.Alias(t):
                return d(t)
        raise AssertionError(f"cannot describe {kind!r}")


# Named types that generated code declares as a class (or, variants, a union alias).
CLASS_KINDS = (m.Record, m.Variant, m.Enum, m.Flags, m.Resource)
PRIM_DESC = {p: p.upper().replace("-", "_") for p in PRIM_ANNOT}

# Module references are written as this token and the module's dotted path; the module
# renderer replaces them with the alias it chooses once it knows every name in the module.
MODULE_TOKEN = "__witgen_module__"


def module_token(dotted: str) -> str:
    """A placeholder for the alias under which `dotted` is imported."""
    return f"{MODULE_TOKEN}{dotted.replace('.', '__dot__')}__end__"
