"""View models of named types and function codecs, read by the templates.

Each view carries everything its template prints (names, annotations, escaped docstrings,
codec bodies as lists of lines); templates only lay it out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from witgen import model as m
from witgen.codegen.codecs import Emitter, _ind
from witgen.codegen.layout import CodegenError
from witgen.naming import NameCollision, Namespace, docstring, pascal, plain_snake, snake, upper

# Names generated code uses inside function bodies; parameters with these names get `_`.
SCOPE_RESERVED = {"buf": "(buffer)", "b": "(input)", "p": "(position)", "self": "(self)"}


@dataclass
class Member:
    """A record field, enum case, flag or variant case."""

    name: str  # Python name
    wit: str
    doc: str  # docstring literal or ""
    annot: str = ""  # fields and variant payloads
    value: int = 0  # enum index or flag bit
    cls: str = ""  # variant case class


@dataclass
class Codec:
    """An `encode_*` / `decode_*` pair."""

    encode: str
    decode: str
    annot: str
    what: str
    encode_body: list[str]
    decode_body: list[str]


@dataclass
class TypeView:
    template: str  # "record", "variant", "enum", "flags", "alias", "resource"
    name: str
    wit: str
    doc: str
    codec: Codec | None
    members: list[Member] = field(default_factory=list)
    annot: str = ""  # alias target
    alias_codec: tuple[str, str] | None = None  # (encode, decode) of a named alias target
    extra: dict[str, object] = field(default_factory=dict)


@dataclass
class Param:
    name: str
    wit: str
    annot: str


@dataclass
class FunctionView:
    """One WIT function: its wire name, Python names and codecs."""

    wit: str  # full WIT name, e.g. `[method]counter.incr`
    wire: str  # wire-format.md section 2 name: `counter.incr`
    py: str  # snake name used for methods and codec functions: `counter_incr`
    member: str  # name inside a resource class: `incr`; `py` for freestanding
    kind: str
    resource: int | None
    is_async: bool
    doc: str
    params: list[Param]
    result: str  # annotation of the result ("None" if none)
    has_result: bool
    encode_params: str
    decode_params: str
    encode_result: str
    decode_result: str
    params_body_enc: list[str]
    params_body_dec: list[str]
    result_body_enc: list[str]
    result_body_dec: list[str]

    @property
    def params_annot(self) -> str:
        if not self.params:
            return "tuple[()]"
        return f"tuple[{', '.join(p.annot for p in self.params)}]"

    @property
    def signature(self) -> str:
        return ", ".join(f"{p.name}: {p.annot}" for p in self.params)

    @property
    def args(self) -> str:
        return ", ".join(p.name for p in self.params)


def _claim(ns: Namespace, py: str, wit: str) -> str:
    try:
        return ns.claim(py, wit)
    except NameCollision as exc:
        raise CodegenError(str(exc)) from None


def type_view(em: Emitter, tid: int) -> TypeView:
    """The view of the named type `tid`, defined in `em.module`."""
    em.reset()
    td = em.resolve.types[tid]
    names = em.layout.names[tid]
    assert td.name is not None
    doc = docstring(td.docs)
    wit = td.name
    kind = td.kind
    ns = em.module.ns

    def codec(enc: list[str], dec: list[str]) -> Codec:
        return Codec(names.encode, names.decode, names.py, wit, enc or ["pass"], dec)

    match kind:
        case m.Record(fields):
            scope = Namespace(f"record {wit}")
            members = [
                Member(_claim(scope, snake(f.name), f.name), f.name, docstring(f.docs), em.annot(f.type))
                for f in fields
            ]
            enc = [line for f, mb in zip(fields, members, strict=True) for line in em.encode(f.type, f"v.{mb.name}")]
            temps = [em.tmp("f") for _ in fields]
            dec = [line for f, t in zip(fields, temps, strict=True) for line in em.decode(f.type, t)]
            dec += [*em.construct("_v0", names.py, kind, temps), "return _v0, p"]
            return TypeView("record", names.py, wit, doc, codec(enc, dec), members)
        case m.Variant(cases):
            members = []
            for c in cases:
                cls = _claim(ns, pascal(f"{td.name}-{c.name}"), f"case {c.name} of variant {wit}")
                annot = em.annot(c.type) if c.type is not None else ""
                members.append(Member(snake(c.name), c.name, docstring(c.docs), annot, cls=cls))
            enc = []
            for i, (c, mb) in enumerate(zip(cases, members, strict=True)):
                head = "if" if i == 0 else "elif"
                body = [_tag(i)] + (em.encode(c.type, "v.value") if c.type is not None else [])
                enc += [f"{head} isinstance(v, {mb.cls}):", *_ind(body)]
            enc += ["else:", f'    raise _c.bad_value(v, "a case of variant {wit}")']
            dec = [*em._uleb("_i", "_c.read_u32")]
            for i, (c, mb) in enumerate(zip(cases, members, strict=True)):
                head = "if" if i == 0 else "elif"
                if c.type is None:
                    body = [f"return {mb.cls}(), p"]
                else:
                    y = em.tmp("y")
                    body = [*em.decode(c.type, y), f"return {mb.cls}({y}), p"]
                dec += [f"{head} _i == {i}:", *_ind(body)]
            dec.append(f'raise _c.bad_case(_i, "variant {wit}")')
            view = TypeView("variant", names.py, wit, doc, codec(enc, dec), members)
            view.annot = " | ".join(mb.cls for mb in members)
            return view
        case m.Enum(cases):
            scope = Namespace(f"enum {wit}")
            members = [
                Member(_claim(scope, upper(c.name), c.name), c.name, docstring(c.docs), value=i)
                for i, c in enumerate(cases)
            ]
            table = _claim(ns, f"_{plain_snake(td.name)}_cases", f"enum {wit}")
            enc = [
                f"if v.__class__ is not {names.py}:",
                f'    raise _c.bad_value(v, "enum {wit}")',
                *(["buf.append(v.value)"] if len(cases) <= 0x80 else ["_c.write_uleb(buf, v.value)"]),
            ]
            dec = [
                *em._uleb("_i", "_c.read_u32"),
                f"if _i >= {len(cases)}:",
                f'    raise _c.bad_case(_i, "enum {wit}")',
                f"return {table}[_i], p",
            ]
            view = TypeView("enum", names.py, wit, doc, codec(enc, dec), members)
            view.extra["table"] = table
            return view
        case m.Flags(flags):
            scope = Namespace(f"flags {wit}")
            members = [
                Member(_claim(scope, upper(f.name), f.name), f.name, docstring(f.docs), value=1 << i)
                for i, f in enumerate(flags)
            ]
            size = (len(flags) + 7) // 8
            mask = (1 << len(flags)) - 1
            enc = [
                f"if v.__class__ is not {names.py}:",
                f'    raise _c.bad_value(v, "flags {wit}")',
                f'buf += v.value.to_bytes({size}, "little")',
            ]
            dec = [f"_x, p = _c.read_flags(b, p, {size}, {mask:#x})", f"return {names.py}(_x), p"]
            return TypeView("flags", names.py, wit, doc, codec(enc, dec), members)
        case m.Alias(target):
            view = TypeView("alias", names.py, wit, doc, None)
            view.annot = em.annot(target)
            if em.is_resource(target):
                pass
            elif isinstance(target, int) and target in em.layout.names:
                view.alias_codec = (em.ref(target, "encode"), em.ref(target, "decode"))
            else:
                enc = em.encode(target, "v")
                dec = [*em.decode(target, "_x"), "return _x, p"]
                view.codec = codec(enc, dec)
                view.codec.annot = view.name
            return view
        case m.Resource():
            return TypeView("resource", names.py, wit, doc, None)
    # `type x = list<u8>` and the like: a named structural type, generated as an alias.
    view = TypeView("alias", names.py, wit, doc, None)
    view.annot = em.annot_kind(kind)
    view.codec = codec(em.encode_kind(kind, "v"), ["_x: " + view.name, *em.decode_kind(kind, "_x"), "return _x, p"])
    view.codec.annot = view.name
    return view


def _tag(i: int) -> str:
    return f"buf.append({i})" if i < 0x80 else f"_c.write_uleb(buf, {i})"


def function_names(f: m.Function, resolve: m.Resolve) -> tuple[str, str, str]:
    """(wire name, Python snake name, member name) of a function."""
    item = f.item_name
    if f.kind.kind == "constructor":
        return item, snake(f"{item}-constructor"), "constructor"
    if "." in item:
        res, _, member = item.partition(".")
        return item, snake(f"{res}-{member}"), snake(member)
    return item, snake(item), snake(item)


def codec_names(f: m.Function) -> tuple[str, str, str, str]:
    """`encode_<fn>_params`, `decode_<fn>_params`, `encode_<fn>_result`, `decode_<fn>_result`."""
    base = plain_snake(f.item_name.replace(".", "-"))
    if f.kind.kind == "constructor":
        base += "_constructor"
    return (f"encode_{base}_params", f"decode_{base}_params", f"encode_{base}_result", f"decode_{base}_result")


def param_names(f: m.Function) -> list[str]:
    """Python names of a function's parameters (`buf`, `b`, `p`, `self` and codec names avoided)."""
    scope = Namespace(f"function {f.name}", dict(SCOPE_RESERVED))
    out = []
    for prm in f.params:
        py_name = snake(prm.name)
        if py_name.startswith(("encode_", "decode_")):
            py_name += "_"
        while py_name in scope:
            py_name += "_"
        out.append(_claim(scope, py_name, prm.name))
    return out


def function_view(em: Emitter, f: m.Function, ns: Namespace) -> FunctionView:
    """The view of one function; its codec names are claimed in `ns` (the module's)."""
    em.reset()
    wire, py, member = function_names(f, em.resolve)
    for name in codec_names(f):
        _claim(ns, name, f"function {f.name}")
    enc_p, dec_p, enc_r, dec_r = codec_names(f)
    params = [Param(n, prm.name, em.annot(prm.type)) for n, prm in zip(param_names(f), f.params, strict=True)]
    p_enc = [line for prm, pv in zip(f.params, params, strict=True) for line in em.encode(prm.type, pv.name)]
    temps = [em.tmp("a") for _ in f.params]
    p_dec = [line for prm, t in zip(f.params, temps, strict=True) for line in em.decode(prm.type, t)]
    p_dec.append(f"return ({', '.join(temps)}{',' if len(temps) == 1 else ''}), p")
    if f.result is not None:
        r_enc = em.encode(f.result, "v")
        r_dec = [*em.decode(f.result, "_r"), "return _r, p"]
    else:
        r_enc, r_dec = [], ["return None, p"]
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
        has_result=f.result is not None,
        encode_params=enc_p,
        decode_params=dec_p,
        encode_result=enc_r,
        decode_result=dec_r,
        params_body_enc=p_enc or ["pass"],
        params_body_dec=p_dec,
        result_body_enc=r_enc or ["pass"],
        result_body_dec=r_dec,
    )
