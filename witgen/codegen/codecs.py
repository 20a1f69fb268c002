"""Python annotations and straight-line codec code for WIT types, for one output module.

`Emitter` knows the module it writes into. `annot(ty)` gives the Python type of a WIT type
(importing other generated modules as needed); `encode(ty, expr)` and `decode(ty, target)`
give the statements that encode a value into `buf` or decode one from `b` at position `p`.
Named types are encoded by calling their own `encode_*` / `decode_*` functions; anonymous
types (`list<..>`, `option<..>`, tuples, ...) are inlined, so no type description is walked
at run time. Decoders index `b` directly: truncation surfaces as `IndexError`, which the
public function wrapping the code turns into `CodecError` (see `witgen.runtime.codec`).
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
FIXED_SIZE = {"f32": 4, "f64": 8}
# Records whose inline code stays under this many lines are inlined where they are used.
INLINE_LIMIT = 40


class Emitter:
    """Annotations and codec statements for one module."""

    def __init__(self, layout: Layout, module: Module) -> None:
        self.layout = layout
        self.resolve = layout.resolve
        self.module = module
        self.imports: set[str] = set()  # dotted modules imported under their alias
        self._tmp = 0

    # ------------------------------------------------------------------ names

    def ref(self, tid: int, which: str = "py") -> str:
        """The name of a named type's class (`py`), `encode` or `decode` function."""
        names = self.layout.names[tid]
        name: str = getattr(names, which)
        if names.module == self.module.dotted:
            return name
        self.imports.add(names.module)
        return f"{self.layout.modules[names.module].alias}.{name}"

    def tmp(self, stem: str = "t") -> str:
        self._tmp += 1
        return f"_{stem}{self._tmp}"

    def reset(self) -> None:
        self._tmp = 0

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
                return f"_v.Future[{self.annot(t)}]"
            case m.Stream(t):
                return f"_v.Stream[{self.annot(t)}]"
            case m.Handle(_, resource):
                return self.annot(resource)
            case m.Alias(t):
                return self.annot(t)
        raise AssertionError(f"cannot annotate anonymous {kind!r}")

    def min_size(self, ty: m.Type | None) -> int:
        """The fewest bytes a value of `ty` takes on the wire."""
        if ty is None:
            return 0
        if isinstance(ty, str):
            return FIXED_SIZE.get(ty, 1)
        match self.resolve.types[ty].kind:
            case m.Record(fields):
                return sum(self.min_size(f.type) for f in fields)
            case m.Tuple(types):
                return sum(self.min_size(t) for t in types)
            case m.FixedList(t, n):
                return n * self.min_size(t)
            case m.Flags(flags):
                return (len(flags) + 7) // 8
            case m.Alias(t):
                return self.min_size(t)
        return 1

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

    # ------------------------------------------------------------------ encoding

    def encode(self, ty: m.Type, expr: str) -> list[str]:
        """Statements appending the encoding of `expr` (a name or attribute) to `buf`."""
        if isinstance(ty, str):
            return self._encode_prim(ty, expr)
        td = self.resolve.types[ty]
        if td.name is not None and ty in self.layout.names:
            if isinstance(td.kind, m.Alias) and not self.is_resource(td.kind.type):
                return self.encode(td.kind.type, expr)
            if isinstance(td.kind, m.Record):
                v = self.tmp("r")
                lines = [f"{v} = {expr}"]
                for f in td.kind.fields:
                    lines += self.encode(f.type, f"{v}.{snake(f.name)}")
                if len(lines) <= INLINE_LIMIT:
                    return lines
            return [f"{self.ref(ty, 'encode')}(buf, {expr})"]
        return self.encode_kind(td.kind, expr)

    def construct(self, x: str, cls: str, kind: m.Record, temps: list[str]) -> list[str]:
        """Build a record from decoded fields without running `__init__` (it only assigns)."""
        return [f"{x} = _new({cls})", *(f"{x}.{snake(f.name)} = {t}" for f, t in zip(kind.fields, temps, strict=True))]

    def is_resource(self, ty: m.Type) -> bool:
        """True if `ty` is (an alias of) a resource type."""
        ty = self.resolve.dealias(ty)
        return isinstance(ty, int) and isinstance(self.resolve.types[ty].kind, m.Resource)

    def _encode_prim(self, ty: str, e: str) -> list[str]:
        match ty:
            case "bool":
                return [f"buf.append(1 if {e} else 0)"]
            case "u8":
                return [f"buf.append({e})"]
            case "s8" | "f32" | "char":
                return [f"_c.write_{ty}(buf, {e})"]
            case "u16" | "u32" | "u64" | "s16" | "s32" | "s64":
                t = self.tmp()
                top = "0x80" if ty[0] == "u" else "0x40"
                return [
                    f"{t} = {e}",
                    f"if 0 <= {t} < {top}:",
                    f"    buf.append({t})",
                    "else:",
                    f"    _c.write_{ty}(buf, {t})",
                ]
            case "f64":
                t = self.tmp()
                return [f"{t} = {e}", f"buf += _c.NAN64 if {t} != {t} else _c.F64.pack({t})"]
            case "string":
                t = self.tmp()
                return [f"{t} = {e}.encode()", *self._len(t), f"buf += {t}"]
            case "error-context":
                t = self.tmp()
                return [f"{t} = {e}.handle", *self._len(t), f"buf += {t}"]
        raise AssertionError(ty)

    def _len(self, t: str) -> list[str]:
        n = self.tmp("n")
        return [
            f"{n} = len({t})",
            f"if {n} < 0x80:",
            f"    buf.append({n})",
            f"elif {n} < 0x4000:",
            f"    buf.append({n} & 0x7F | 0x80)",
            f"    buf.append({n} >> 7)",
            "else:",
            f"    _c.write_uleb(buf, {n})",
        ]

    def encode_kind(self, kind: m.TypeKind, e: str) -> list[str]:
        match kind:
            case m.Alias(t):
                return self.encode(t, e)
            case m.List("u8"):
                t = self.tmp()
                return [f"{t} = {e}", *self._len(t), f"buf += {t}"]
            case m.List(t):
                v, x = self.tmp(), self.tmp("x")
                return [f"{v} = {e}", *self._len(v), f"for {x} in {v}:", *_ind(self.encode(t, x))]
            case m.FixedList(t, n):
                v, x = self.tmp(), self.tmp("x")
                check = f'_c.check_len({v}, {n}, "{self.what(t)}")'
                if t == "u8":
                    return [f"{v} = {e}", check, f"buf += {v}"]
                return [f"{v} = {e}", check, f"for {x} in {v}:", *_ind(self.encode(t, x))]
            case m.Map(kt, vt):
                v, k, x = self.tmp(), self.tmp("k"), self.tmp("x")
                body = [*self.encode(kt, k), *self.encode(vt, x)]
                return [f"{v} = {e}", *self._len(v), f"for {k}, {x} in {v}.items():", *_ind(body)]
            case m.Tuple(types):
                if not types:
                    return []
                names = [self.tmp("x") for _ in types]
                out = [f"{', '.join(names)}{',' if len(names) == 1 else ''} = {e}"]
                for name, t in zip(names, types, strict=True):
                    out += self.encode(t, name)
                return out
            case m.Option(t):
                v = self.tmp()
                inner = f"{v}.value" if self.can_be_none(t) else v
                return [
                    f"{v} = {e}",
                    f"if {v} is None:",
                    "    buf.append(0)",
                    "else:",
                    "    buf.append(1)",
                    *_ind(self.encode(t, inner)),
                ]
            case m.Result(ok, err):
                v = self.tmp()
                what = f"result<{self.what(ok)}, {self.what(err)}>"
                return [
                    f"{v} = {e}",
                    f"if isinstance({v}, Ok):",
                    *_ind(["buf.append(0)", *(self.encode(ok, f"{v}.value") if ok is not None else [])]),
                    f"elif isinstance({v}, Err):",
                    *_ind(["buf.append(1)", *(self.encode(err, f"{v}.value") if err is not None else [])]),
                    "else:",
                    f'    raise _c.bad_value({v}, "Ok or Err of {what}")',
                ]
            case m.Handle():
                v = self.tmp()
                return [f"{v} = {e}.handle", *self._len(v), f"buf += {v}"]
            case m.Future(t):
                v = self.tmp()
                return [f"{v} = {e}", "buf.append(1)", *(self.encode(t, f"{v}.value") if t is not None else [])]
            case m.Stream(t):
                v, x = self.tmp(), self.tmp("x")
                items = f"{v}.items"
                out = [f"{v} = {e}", "buf.append(1)", *self._len(items)]
                if t is not None:
                    out += [f"for {x} in {items}:", *_ind(self.encode(t, x))]
                return out
        raise AssertionError(f"no inline encoding for {kind!r}")

    # ------------------------------------------------------------------ decoding

    def decode(self, ty: m.Type, target: str) -> list[str]:
        """Statements that decode a value of `ty` from `b` at `p` into `target`, advancing `p`.

        `target` is declared here (with its annotation) so every branch agrees on its type.
        """
        decl = f"{target}: {self.annot(ty)}"
        return [decl, *self._decode_into(ty, target)]

    def _decode_into(self, ty: m.Type, x: str) -> list[str]:
        if isinstance(ty, str):
            return self._decode_prim(ty, x)
        td = self.resolve.types[ty]
        if td.name is not None and ty in self.layout.names:
            if isinstance(td.kind, m.Alias) and not self.is_resource(td.kind.type):
                return self._decode_into(td.kind.type, x)
            if isinstance(td.kind, m.Record):
                temps = [self.tmp("f") for _ in td.kind.fields]
                lines: list[str] = []
                for f, t in zip(td.kind.fields, temps, strict=True):
                    lines += self.decode(f.type, t)
                if len(lines) < INLINE_LIMIT:
                    return [*lines, *self.construct(x, self.ref(ty), td.kind, temps)]
            return [f"{x}, p = {self.ref(ty, 'decode')}(b, p)"]
        return self.decode_kind(td.kind, x)

    def _uleb(self, x: str, reader: str, top: str = "0x80") -> list[str]:
        return [f"{x} = b[p]", f"if {x} < {top}:", "    p += 1", "else:", f"    {x}, p = {reader}(b, p)"]

    def _length(self, x: str, reader: str) -> list[str]:
        """A ULEB128 length with inline one- and two-byte paths (lengths below 16384)."""
        hi = self.tmp("h")
        return [
            f"{x} = b[p]",
            f"if {x} < 0x80:",
            "    p += 1",
            "else:",
            f"    {hi} = b[p + 1]",
            f"    if {hi} < 0x80:",
            f"        {x} = {x} & 0x7F | {hi} << 7",
            "        p += 2",
            "    else:",
            f"        {x}, p = {reader}(b, p)",
        ]

    def _decode_prim(self, ty: str, x: str) -> list[str]:
        match ty:
            case "bool":
                t = self.tmp()
                return [
                    f"{t} = b[p]",
                    "p += 1",
                    f"if {t} > 1:",
                    f'    raise _c.CodecError(f"invalid bool byte {{{t}}}")',
                    f"{x} = {t} == 1",
                ]
            case "u8":
                return [f"{x} = b[p]", "p += 1"]
            case "s8" | "char":
                return [f"{x}, p = _c.read_{ty}(b, p)"]
            case "u16" | "u32" | "u64":
                return self._uleb(x, f"_c.read_{ty}")
            case "s16" | "s32" | "s64":
                return self._uleb(x, f"_c.read_{ty}", "0x40")
            case "f32" | "f64":
                size = FIXED_SIZE[ty]
                return [f"{x} = _c.{ty.upper()}.unpack_from(b, p)[0]", f"p += {size}"]
            case "string":
                return self._bytes(x, ".decode()")
            case "error-context":
                t = self.tmp()
                return [*self._bytes(t), f"{x} = _v.ErrorContext({t})"]
        raise AssertionError(ty)

    def _bytes(self, x: str, suffix: str = "") -> list[str]:
        n, end = self.tmp("n"), self.tmp("e")
        return [
            *self._length(n, "_c.read_len"),
            f"{end} = p + {n}",
            f"if {end} > _L:",
            f'    raise _c.CodecError(f"length {{{n}}} exceeds the remaining input")',
            f"{x} = b[p:{end}]{suffix}",
            f"p = {end}",
        ]

    def _count(self, n: str, elem: m.Type | None) -> list[str]:
        size = self.min_size(elem)
        return [*self._length(n, "_c.read_len")[:-1], f"        {n}, p = _c.read_len(b, p, {size})"]

    def decode_kind(self, kind: m.TypeKind, x: str) -> list[str]:
        match kind:
            case m.Alias(t):
                return self._decode_into(t, x)
            case m.List("u8"):
                return self._bytes(x)
            case m.List(t):
                n, y = self.tmp("n"), self.tmp("y")
                return [
                    *self._count(n, t),
                    f"{x} = []",
                    f"for _ in range({n}):",
                    *_ind([*self.decode(t, y), f"{x}.append({y})"]),
                ]
            case m.FixedList("u8", n):
                return [f"{x}, p = _c.read_fixed_bytes(b, p, {n})"]
            case m.FixedList(t, n):
                y = self.tmp("y")
                return [
                    f"{x} = []",
                    f"for _ in range({n}):",
                    *_ind([*self.decode(t, y), f"{x}.append({y})"]),
                ]
            case m.Map(kt, vt):
                n, k, y = self.tmp("n"), self.tmp("k"), self.tmp("y")
                return [
                    *self._count(n, None),
                    f"{x} = {{}}",
                    f"for _ in range({n}):",
                    *_ind([*self.decode(kt, k), *self.decode(vt, y), f"{x}[{k}] = {y}"]),
                ]
            case m.Tuple(types):
                names = [self.tmp("y") for _ in types]
                out: list[str] = []
                for name, t in zip(names, types, strict=True):
                    out += self.decode(t, name)
                tup = f"({', '.join(names)}{',' if len(names) == 1 else ''})"
                return [*out, f"{x} = {tup}"]
            case m.Option(t):
                tag, y = self.tmp(), self.tmp("y")
                some = f"Some({y})" if self.can_be_none(t) else y
                return [
                    f"{tag} = b[p]",
                    "p += 1",
                    f"if {tag} == 0:",
                    f"    {x} = None",
                    f"elif {tag} == 1:",
                    *_ind([*self.decode(t, y), f"{x} = {some}"]),
                    "else:",
                    f'    raise _c.CodecError(f"invalid option discriminant {{{tag}}}")',
                ]
            case m.Result(ok, err):
                tag = self.tmp()
                return [
                    f"{tag} = b[p]",
                    "p += 1",
                    f"if {tag} == 0:",
                    *_ind(self._result_arm("Ok", ok, x)),
                    f"elif {tag} == 1:",
                    *_ind(self._result_arm("Err", err, x)),
                    "else:",
                    f'    raise _c.CodecError(f"invalid result discriminant {{{tag}}}")',
                ]
            case m.Handle(_, resource):
                t = self.tmp()
                return [*self._bytes(t), f"{x} = {self.annot(resource)}({t})"]
            case m.Future(t):
                tag, y = self.tmp(), self.tmp("y")
                inner = [*self.decode(t, y), f"{x} = _v.Future({y})"] if t is not None else [f"{x} = _v.Future(None)"]
                return [
                    f"{tag} = _c.read_tag(b, p, 'future')",
                    "p += 1",
                    f"if {tag} == 0:",
                    "    raise _c.pending('future')",
                    *inner,
                ]
            case m.Stream(t):
                tag, n, y, items = self.tmp(), self.tmp("n"), self.tmp("y"), self.tmp("i")
                elem = [*self.decode(t, y), f"{items}.append({y})"] if t is not None else [f"{items}.append(None)"]
                return [
                    f"{tag} = _c.read_tag(b, p, 'stream')",
                    "p += 1",
                    f"if {tag} == 0:",
                    "    raise _c.pending('stream')",
                    *self._count(n, t),
                    f"{items}: list[{self.annot(t)}] = []",
                    f"for _ in range({n}):",
                    *_ind(elem),
                    f"{x} = _v.Stream({items})",
                ]
        raise AssertionError(f"no inline decoding for {kind!r}")

    def _result_arm(self, ctor: str, ty: m.Type | None, x: str) -> list[str]:
        if ty is None:
            return [f"{x} = {ctor}(None)"]
        y = self.tmp("y")
        return [*self.decode(ty, y), f"{x} = {ctor}({y})"]


def _ind(lines: list[str], n: int = 1) -> list[str]:
    pad = "    " * n
    return [pad + line for line in lines] or [pad + "pass"]
