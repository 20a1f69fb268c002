"""Specialized wire codecs built from type descriptions, as Python source compiled once.

`build(t)` returns the `(encode, decode)` pair of a `witgen.runtime.wit.Type`:

    encode(buf: bytearray, value) -> None      appends the encoding
    decode(data: bytes, pos: int = 0) -> (value, next position)

The source is straight-line code for that one type: anonymous types (`list<..>`,
`option<..>`, tuples, ...) and small records are inlined, other named types call their
own built functions. Decoders index the input directly, so truncation surfaces as
`IndexError` inside them and is turned into `CodecError` by the function's one `try`.
Elements that take no bytes (empty tuples and records, `list<T, 0>`, a stream of
nothing) are the one thing the input does not bound: the decoder of a type that can loop
over them charges every such element, fixed-length lists included, to a budget set from
the payload's size (`primitives.element_budget`), kept in a one-item list `_bg` that its
calls to other types' decoders share (a third argument, created by the outermost call).
Other types' code has no budget at all.
Types that hold a future or a stream (`has_async`) get functions that also carry the
current path and the call's `asyncvalues.Exchange`: `encode(buf, v, P=(), X=None)` and
`decode(b, p=0, _bg=None, P=(), X=None)`. A record field or tuple element `i` is at
`(*P, i)`, a list element at `(*P, index)`; options, results and variant cases keep the
path of the value holding them (as wRPC's own codecs do). The whole-message functions of
such types take the exchange from `asyncvalues.CURRENT` and start at the root path `()`.
Types without async values keep the code above.
Each function's source is registered with `linecache` under a `<witgen codec ...>` file
name, so a traceback through a built codec shows its line. Building happens once per
description (the result is kept in the description's cache).
"""

from __future__ import annotations

import linecache
import threading
from collections.abc import Callable
from typing import Any

from witgen.runtime import asyncvalues, primitives, values
from witgen.runtime import wit as w

Encoder = Callable[[bytearray, Any], None]
Decoder = Callable[..., tuple[Any, int]]

# Records whose inline code stays under this many lines are inlined where they are used.
INLINE_LIMIT = 40
# Anonymous types nested deeper than this call a codec of their own (Python limits how
# deeply blocks nest in one function).
DEPTH_LIMIT = 6
FIXED_SIZE = {"f32": 4, "f64": 8}

_lock = threading.RLock()
_serial = 0


def build(t: w.Type) -> tuple[Encoder, Decoder]:
    """The compiled `(encode, decode)` pair of `t` (built on first use, then cached)."""
    pair = t.cache.get("codec")
    if pair is None:
        with _lock:
            pair = t.cache.get("codec")
            if pair is None:
                builder = _Builder()
                pair = builder.pair(t)
                t.cache["codec-message"] = builder.message_encoder
                t.cache["codec-whole"] = builder.message_decoder
                t.cache["codec"] = pair
    return pair


def message_encoder(t: w.Type) -> Callable[[Any], bytes]:
    """`value -> bytes` for `t`: the encoder's code with its own buffer (one call less)."""
    build(t)
    fn: Callable[[Any], bytes] = t.cache["codec-message"]
    return fn


def message_decoder(t: w.Type) -> Callable[[bytes], Any]:
    """`bytes -> value` for exactly one value of `t` (trailing bytes are a `CodecError`)."""
    build(t)
    fn: Callable[[bytes], Any] = t.cache["codec-whole"]
    return fn


def min_size(t: w.Type | None) -> int:
    """The fewest bytes a value of `t` takes on the wire."""
    match t:
        case None:
            return 0
        case w.Prim(name=name):
            return FIXED_SIZE.get(name, 1)
        case w.Record(fields=fields):
            return sum(min_size(f.type) for f in fields)
        case w.Tuple(items=items):
            return sum(min_size(x) for x in items)
        case w.List(element=e, size=int(n)):
            return n * min_size(e)
        case w.Flags():
            return t.size
    return 1


def charges(t: w.Type | None) -> bool:
    """True when decoding `t` can loop over elements that take no bytes (which count
    against the element budget), here or in a type it holds."""
    if t is None:
        return False
    found = t.cache.get("codec-charges")
    if found is None:
        found = t.cache["codec-charges"] = _charges(t)
    return bool(found)


def has_async(t: w.Type | None) -> bool:
    """True when `t` is or holds a future or a stream."""
    if t is None:
        return False
    found = t.cache.get("codec-async")
    if found is None:
        found = t.cache["codec-async"] = _has_async(t)
    return bool(found)


def _has_async(t: w.Type) -> bool:
    match t:
        case w.Future():
            return True
        case w.List(element=elem):
            return has_async(elem)
        case w.Map(key=key, value=value):
            return has_async(key) or has_async(value)
        case w.Record(fields=fields):
            return any(has_async(f.type) for f in fields)
        case w.Variant(cases=cases):
            return any(has_async(c.type) for c in cases)
        case w.Tuple(items=items):
            return any(has_async(x) for x in items)
        case w.Option(inner=inner):
            return has_async(inner)
        case w.Result(ok=ok, err=err):
            return has_async(ok) or has_async(err)
    return False


def _async_type(t: w.Future) -> asyncvalues.AsyncType:
    """What the exchange needs to send and read the values of `t` on their own path."""
    inner = t.inner
    if isinstance(t, w.Stream):
        items = None if inner is None else w.List(inner)
        pair = None if items is None else build(items)
        whole = None if items is None else message_encoder(items)
    else:
        pair = None if inner is None else build(inner)
        whole = None if inner is None else message_encoder(inner)
    return asyncvalues.AsyncType(
        t.keyword,
        t.wit,
        write=None if pair is None else pair[0],
        read=None if pair is None else pair[1],
        message=whole,
        nested=has_async(inner),
        is_bytes=isinstance(inner, w.Prim) and inner.name == "u8",
        is_text=isinstance(inner, w.Prim) and inner.name in ("string", "char"),
    )


def _charges(t: w.Type) -> bool:
    match t:
        case w.List(element=elem, size=None):
            return min_size(elem) == 0 or charges(elem)
        case w.List(element=elem, size=int(n)):
            return (n > 0 and min_size(elem) == 0) or charges(elem)
        case w.Map(key=key, value=value):
            return min_size(key) + min_size(value) == 0 or charges(key) or charges(value)
        case w.Stream(inner=inner):
            return min_size(inner) == 0 or charges(inner)
        case w.Record(fields=fields):
            return any(charges(f.type) for f in fields)
        case w.Variant(cases=cases):
            return any(charges(c.type) for c in cases)
        case w.Tuple(items=items):
            return any(charges(x) for x in items)
        case w.Option(inner=inner) | w.Future(inner=inner):
            return charges(inner)
        case w.Result(ok=ok, err=err):
            return charges(ok) or charges(err)
    return False


def _text_only(t: w.Type) -> bool:
    """True for types made of strings and byte lists only (through records, tuples,
    lists and options): what `_Builder._parts_body` encodes as parts."""
    match t:
        case w.Prim(name="string"):
            return True
        case w.List(element=w.Prim(name="u8"), size=None):
            return True
        case w.List(element=elem, size=None) | w.Option(inner=elem):
            return _text_only(elem)
        case w.Record(fields=fields):
            return all(_text_only(f.type) for f in fields)
        case w.Tuple(items=items):
            return bool(items) and all(_text_only(x) for x in items)
    return False


def _inlined(t: w.Type) -> bool:
    """True for types coded inline where they are used (records only when small)."""
    return not isinstance(t, w.Named) or isinstance(t, w.Resource)


class _Builder:
    """Writes the source of one type's encode and decode functions."""

    def __init__(self) -> None:
        self.ns: dict[str, Any] = {
            "_c": primitives,
            "_v": values,
            "_a": asyncvalues,
            "_new": primitives.new,
            "_B": primitives.BYTE,
            "Ok": values.Ok,
            "Err": values.Err,
            "Some": values.Some,
        }
        self._names: dict[int, str] = {}
        self._tmp = 0
        self._depth = 0
        self.message_encoder: Callable[[Any], bytes] = bytes
        self.message_decoder: Callable[[bytes], Any] = bytes
        self.parts = False  # emitting for `_parts_body`: `_ap(...)` instead of `buf`
        self.budget = False  # the decoder charges elements that take no bytes to `_bg`
        self.apath = "P"  # the path of the value being coded (types with async values)

    # ------------------------------------------------------------------ names

    def ref(self, obj: Any, stem: str) -> str:
        """A name for `obj` in the namespace of the compiled code."""
        name = self._names.get(id(obj))
        if name is None:
            name = self._names[id(obj)] = f"_{stem}{len(self._names)}"
            self.ns[name] = obj
        return name

    def tmp(self, stem: str = "t") -> str:
        self._tmp += 1
        return f"_{stem}{self._tmp}"

    # ------------------------------------------------------------------ functions

    def pair(self, t: w.Type) -> tuple[Encoder, Decoder]:
        what = t.wit.replace('"', "'")
        self.budget = charges(t)
        if isinstance(t, w.Named) and not _inlined(t):
            enc_body, dec_body = self._named(t)
        else:
            enc_body = self.encode(t, "v")
            dec_body = [*self.decode(t, "_x"), "return _x, p"]
        if has_async(t):
            return self._async_pair(what, enc_body, dec_body)
        encode = self._compile(
            "encode",
            what,
            ["def encode(buf, v):", "    try:", *_ind(enc_body or ["pass"], 2),
             "    except _c.ENCODE_ERRORS as exc:", f'        raise _c.wrap(exc, "{what}") from None'],
        )  # fmt: skip
        parts_body = self._parts_body(t)
        if parts_body is not None:
            message = ["def message(v):", "    parts = []", "    _ap = parts.append", "    try:",
                       *_ind(parts_body, 2), '        return b"".join(parts)']  # fmt: skip
        else:
            message = ["def message(v):", "    buf = bytearray()", "    try:", *_ind(enc_body or ["pass"], 2),
                       "        return bytes(buf)"]  # fmt: skip
        self.message_encoder = self._compile(
            "message",
            what,
            [*message, "    except _c.ENCODE_ERRORS as exc:", f'        raise _c.wrap(exc, "{what}") from None'],
        )
        head = ["def decode(b, p=0):", "    try:", "        _L = len(b)"]
        if self.budget:  # the outermost call sets the budget, the calls it makes share it
            head = ["def decode(b, p=0, _bg=None):", "    try:", "        _L = len(b)", "        if _bg is None:",
                    "            _bg = [_c.element_budget(_L)]"]  # fmt: skip
        decode = self._compile(
            "decode",
            what,
            [*head, *_ind(dec_body, 2), "    except _c.DECODE_ERRORS as exc:",
             f'        raise _c.wrap(exc, "{what}") from None'],
        )  # fmt: skip
        self.message_decoder = self._compile("whole", what, self._whole_decoder(dec_body, decode, what))
        return encode, decode

    def _async_pair(self, what: str, enc_body: list[str], dec_body: list[str]) -> tuple[Encoder, Decoder]:
        """The functions of a type holding async values: they carry the path and exchange."""
        fail = ["    except _c.ENCODE_ERRORS as exc:", f'        raise _c.wrap(exc, "{what}") from None']
        encode = self._compile(
            "encode", what, ["def encode(buf, v, P=(), X=None):", "    try:", *_ind(enc_body or ["pass"], 2), *fail]
        )
        self.message_encoder = self._compile(
            "message",
            what,
            ["def message(v):", "    buf = bytearray()", "    P = ()", "    X = _a.CURRENT.get()", "    try:",
             *_ind(enc_body or ["pass"], 2), "        return bytes(buf)", *fail],
        )  # fmt: skip
        budget = ["        if _bg is None:", "            _bg = [_c.element_budget(_L)]"] if self.budget else []
        decode = self._compile(
            "decode",
            what,
            ["def decode(b, p=0, _bg=None, P=(), X=None):", "    try:", "        _L = len(b)", *budget,
             *_ind(dec_body, 2), "    except _c.DECODE_ERRORS as exc:", f'        raise _c.wrap(exc, "{what}") from None'],
        )  # fmt: skip
        read = self.ref(decode, "dec")
        self.message_decoder = self._compile(
            "whole",
            what,
            ["def whole(b):", "    if type(b) is not bytes:", "        b = bytes(b)",
             f"    _x, p = {read}(b, 0, None, (), _a.CURRENT.get())", "    if p != len(b):",
             "        raise _c.trailing(len(b) - p)", "    return _x"],
        )  # fmt: skip
        return encode, decode

    def _at(self, index: str, t: w.Type, lines: Callable[[], list[str]]) -> list[str]:
        """`lines()` for a value at `(*path, index)` (a new path only when `t` holds async values)."""
        if not has_async(t):
            return lines()
        saved, pv = self.apath, self.tmp("P")
        self.apath = pv
        try:
            return [f"{pv} = (*{saved}, {index})", *lines()]
        finally:
            self.apath = saved

    def _whole_decoder(self, body: list[str], decode: Decoder, what: str) -> list[str]:
        """`bytes -> value` for exactly one value: the decoder's code with the check for
        trailing bytes, returning the value alone (one Python call per message). A body
        that returns from more than one place (a variant's cases) is called instead."""
        head = ["def whole(b):", "    if type(b) is not bytes:", "        b = bytes(b)"]
        last = body[-1]
        returns = sum(1 for line in body if line.lstrip().startswith("return "))
        if returns == 1 and last.startswith("return ") and last.endswith(", p"):
            value = last[len("return ") : -len(", p")]
            budget = ["        _bg = [_c.element_budget(_L)]"] if self.budget else []
            return [*head, "    p = 0", "    try:", "        _L = len(b)", *budget, *_ind(body[:-1], 2),
                    f"        _x = {value}", "    except _c.DECODE_ERRORS as exc:",
                    f'        raise _c.wrap(exc, "{what}") from None', "    if p != _L:",
                    "        raise _c.trailing(_L - p)", "    return _x"]  # fmt: skip
        read = self.ref(decode, "dec")
        return [*head, f"    _x, p = {read}(b, 0)", "    if p != len(b):", "        raise _c.trailing(len(b) - p)",
                "    return _x"]  # fmt: skip

    def _parts_body(self, t: w.Type) -> list[str] | None:
        """The whole-message body of a type made of strings and bytes, as parts to join.

        Appending text to a `bytearray` grows it again and again; a list of the parts
        joined once copies each byte once, which makes such messages (a chat request)
        about a fifth faster to encode. Types holding numbers keep the `bytearray`: many
        one-byte parts are slower to join. None when `t` is not such a type, or its
        body would call another type's encoder (which appends to a `bytearray`).
        """
        if not _text_only(t):
            return None
        self.parts = True
        try:
            if isinstance(t, w.Record):
                lines = [ln for f in t.fields for ln in self.encode(f.type, f"v.{f.attr}")]
            else:
                lines = self.encode(t, "v")
        finally:
            self.parts = False
        return None if any("buf" in line for line in lines) else lines

    def _byte(self, value: str) -> str:
        """A statement appending one byte (`value` is known to be in range(256))."""
        if not self.parts:
            return f"buf.append({value})"
        return f"_ap({bytes((int(value),))!r})" if value.isdigit() else f"_ap(_B[{value}])"

    def _put(self, data: str) -> str:
        """A statement appending a bytes-like value."""
        return f"_ap({data})" if self.parts else f"buf += {data}"

    def _compile(self, kind: str, what: str, lines: list[str]) -> Callable[..., Any]:
        global _serial
        _serial += 1
        filename = f"<witgen codec {kind} {what} #{_serial}>"
        source = "\n".join(lines) + "\n"
        ns = dict(self.ns)
        exec(compile(source, filename, "exec"), ns)  # noqa: S102 - our own generated source
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        fn: Callable[..., Any] = ns[kind]
        fn.__qualname__ = fn.__name__ = f"{kind}_{what}"
        return fn

    # ------------------------------------------------------------------ named types

    def _named(self, t: w.Named) -> tuple[list[str], list[str]]:
        """Bodies of a named type's own encode/decode functions."""
        match t:
            case w.Record():
                enc = [
                    ln
                    for i, f in enumerate(t.fields)
                    for ln in self._at(str(i), f.type, lambda f=f: self.encode(f.type, f"v.{f.attr}"))  # type: ignore[misc]
                ]
                temps = [self.tmp("f") for _ in t.fields]
                dec = [
                    ln
                    for i, (f, x) in enumerate(zip(t.fields, temps, strict=True))
                    for ln in self._at(str(i), f.type, lambda f=f, x=x: self.decode(f.type, x))  # type: ignore[misc]
                ]
                return enc, [*dec, *self._construct("_v0", t, temps), "return _v0, p"]
            case w.Variant():
                enc, dec = [], self._uleb("_i", "_c.read_u32")
                for i, case in enumerate(t.cases):
                    head = "if" if i == 0 else "elif"
                    cls = self.ref(case.cls, "C")
                    body = [_tag(i), *(self.encode(case.type, "v.value") if case.type is not None else [])]
                    enc += [f"{head} v.__class__ is {cls}:", *_ind(body)]
                    if case.type is None:
                        arm = [f"return {cls}(), p"]
                    else:
                        y = self.tmp("y")
                        arm = [*self.decode(case.type, y), f"return {cls}({y}), p"]
                    dec += [f"{head} _i == {i}:", *_ind(arm)]
                enc += ["else:", f'    raise _c.bad_value(v, "a case of variant {t.name}")']
                dec.append(f'raise _c.bad_case(_i, "variant {t.name}")')
                return enc, dec
            case w.Enum():
                cls, members = self.ref(t.py, "E"), self.ref(t.members, "M")
                n = len(t.cases)
                enc = [f"if v.__class__ is not {cls}:", f'    raise _c.bad_value(v, "enum {t.name}")',
                       "buf.append(v.value)" if n <= 0x80 else "_c.write_uleb(buf, v.value)"]  # fmt: skip
                dec = [*self._uleb("_i", "_c.read_u32"), f"if _i >= {n}:",
                       f'    raise _c.bad_case(_i, "enum {t.name}")', f"return {members}[_i], p"]  # fmt: skip
                return enc, dec
            case w.Flags():
                cls = self.ref(t.py, "F")
                mask = (1 << len(t.names)) - 1
                enc = [f"if v.__class__ is not {cls}:", f'    raise _c.bad_value(v, "flags {t.name}")',
                       f'buf += v.value.to_bytes({t.size}, "little")']  # fmt: skip
                dec = [f"_x, p = _c.read_flags(b, p, {t.size}, {mask:#x})", f"return {cls}(_x), p"]
                return enc, dec
        raise AssertionError(f"no codec for {t!r}")

    def _construct(self, x: str, t: w.Record, temps: list[str]) -> list[str]:
        """Build a record from decoded fields without running `__init__` (it only assigns)."""
        cls = self.ref(t.py, "R")
        return [f"{x} = _new({cls})", *(f"{x}.{f.attr} = {v}" for f, v in zip(t.fields, temps, strict=True))]

    def _call_named(self, t: w.Type, which: int) -> str:
        fn = build(t)[which]
        return self.ref(fn, "enc" if which == 0 else "dec")

    def _call_decoder(self, t: w.Type, x: str) -> str:
        """A call of `t`'s own decoder, passing the budget on when it charges one."""
        if has_async(t):
            budget = "_bg" if self.budget else "None"
            return f"{x}, p = {self._call_named(t, 1)}(b, p, {budget}, {self.apath}, X)"
        budget = ", _bg" if charges(t) else ""
        return f"{x}, p = {self._call_named(t, 1)}(b, p{budget})"

    def _call_encoder(self, t: w.Type, e: str) -> str:
        """A call of `t`'s own encoder (with the path and exchange when it holds async values)."""
        if has_async(t):
            return f"{self._call_named(t, 0)}(buf, {e}, {self.apath}, X)"
        return f"{self._call_named(t, 0)}(buf, {e})"

    # ------------------------------------------------------------------ encoding

    def encode(self, t: w.Type, e: str) -> list[str]:
        """Statements appending the encoding of `e` (a name or attribute) to `buf`."""
        if self._depth >= DEPTH_LIMIT and not isinstance(t, w.Prim):
            return [self._call_encoder(t, e)]
        self._depth += 1
        try:
            return self._encode(t, e)
        finally:
            self._depth -= 1

    def _encode(self, t: w.Type, e: str) -> list[str]:
        match t:
            case w.Prim():
                return self._encode_prim(t.name, e)
            case w.Record():
                v = e if e.isidentifier() else self.tmp("r")  # a loop variable needs no copy
                lines = [] if v == e else [f"{v} = {e}"]
                for i, f in enumerate(t.fields):
                    lines += self._at(str(i), f.type, lambda f=f: self.encode(f.type, f"{v}.{f.attr}"))  # type: ignore[misc]
                if len(lines) <= INLINE_LIMIT:
                    return lines
                return [self._call_encoder(t, e)]
            case w.Resource() | w.Own():
                v = self.tmp()
                return [f"{v} = {e}.handle", *self._len(v), f"buf += {v}"]
            case w.Named():
                return [self._call_encoder(t, e)]
            case w.List(element=w.Prim(name="u8"), size=None):
                v = self.tmp()
                return [f"{v} = {e}", *self._len(v), self._put(v)]
            case w.List(element=elem, size=None) if has_async(elem):
                v, x, ix = self.tmp(), self.tmp("x"), self.tmp("i")
                body = self._at(ix, elem, lambda: self.encode(elem, x))
                return [f"{v} = {e}", *self._len(v), f"for {ix}, {x} in enumerate({v}):", *_ind(body)]
            case w.List(element=elem, size=None):
                v, x = self.tmp(), self.tmp("x")
                return [f"{v} = {e}", *self._len(v), f"for {x} in {v}:", *_ind(self.encode(elem, x))]
            case w.List(element=elem, size=int(n)):
                v, x, ix = self.tmp(), self.tmp("x"), self.tmp("i")
                check = f'_c.check_len({v}, {n}, "{elem.wit}")'
                if isinstance(elem, w.Prim) and elem.name == "u8":
                    return [f"{v} = {e}", check, f"buf += {v}"]
                if has_async(elem):
                    body = self._at(ix, elem, lambda: self.encode(elem, x))
                    return [f"{v} = {e}", check, f"for {ix}, {x} in enumerate({v}):", *_ind(body)]
                return [f"{v} = {e}", check, f"for {x} in {v}:", *_ind(self.encode(elem, x))]
            case w.Map() if has_async(t):
                return [f'raise _c.CodecError("async values inside a map are not supported ({t.wit})")']
            case w.Map():
                v, k, x = self.tmp(), self.tmp("k"), self.tmp("x")
                body = [*self.encode(t.key, k), *self.encode(t.value, x)]
                return [f"{v} = {e}", *self._len(v), f"for {k}, {x} in {v}.items():", *_ind(body)]
            case w.Tuple(items=items):
                if not items:
                    return []
                names = [self.tmp("x") for _ in items]
                out = [f"{', '.join(names)}{',' if len(names) == 1 else ''} = {e}"]
                for i, (name, item) in enumerate(zip(names, items, strict=True)):
                    out += self._at(str(i), item, lambda name=name, item=item: self.encode(item, name))  # type: ignore[misc]
                return out
            case w.Option(inner=inner):
                v = self.tmp()
                value = f"{v}.value" if t.nested else v
                return [f"{v} = {e}", f"if {v} is None:", f"    {self._byte('0')}", "else:",
                        f"    {self._byte('1')}", *_ind(self.encode(inner, value))]  # fmt: skip
            case w.Result(ok=ok, err=err):
                v = self.tmp()
                return [
                    f"{v} = {e}",
                    f"if {v}.__class__ is Ok:",
                    *_ind(["buf.append(0)", *(self.encode(ok, f"{v}.value") if ok is not None else [])]),
                    f"elif {v}.__class__ is Err:",
                    *_ind(["buf.append(1)", *(self.encode(err, f"{v}.value") if err is not None else [])]),
                    "else:",
                    f'    raise _c.bad_value({v}, "Ok or Err of {t.wit}")',
                ]
            case w.Stream():
                return [f"_a.put_stream(buf, {e}, {self.apath}, X, {self.ref(_async_type(t), 'A')})"]
            case w.Future():
                return [f"_a.put_future(buf, {e}, {self.apath}, X, {self.ref(_async_type(t), 'A')})"]
        raise AssertionError(f"no encoding for {t!r}")

    def _encode_prim(self, name: str, e: str) -> list[str]:
        match name:
            case "bool":
                return [f"buf.append(1 if {e} else 0)"]
            case "u8":
                return [f"buf.append({e})"]
            case "s8" | "f32" | "char":
                return [f"_c.write_{name}(buf, {e})"]
            case "u32" | "u64":  # inline up to three bytes (values below 2**21)
                t = self.tmp()
                return [f"{t} = {e}", f"if 0 <= {t} < 0x80:", f"    buf.append({t})",
                        f"elif 0x80 <= {t} < 0x4000 and {t}.__class__ is int:",
                        f"    buf.append({t} & 0x7F | 0x80)", f"    buf.append({t} >> 7)",
                        f"elif 0x4000 <= {t} < 0x200000 and {t}.__class__ is int:",
                        f"    buf.append({t} & 0x7F | 0x80)", f"    buf.append({t} >> 7 & 0x7F | 0x80)",
                        f"    buf.append({t} >> 14)", "else:",
                        f"    _c.write_{name}(buf, {t})"]  # fmt: skip
            case "u16" | "s16" | "s32" | "s64":
                t = self.tmp()
                top = "0x80" if name[0] == "u" else "0x40"
                return [f"{t} = {e}", f"if 0 <= {t} < {top}:", f"    buf.append({t})", "else:",
                        f"    _c.write_{name}(buf, {t})"]  # fmt: skip
            case "f64":
                t = self.tmp()
                return [f"{t} = {e}", f"buf += _c.NAN64 if {t} != {t} else _c.F64.pack({t})"]
            case "string":
                t = self.tmp()
                return [f"{t} = {e}.encode()", *self._len(t), self._put(t)]
            case "error-context":
                t = self.tmp()
                return [f"{t} = {e}.handle", *self._len(t), f"buf += {t}"]
        raise AssertionError(name)

    def _len(self, t: str) -> list[str]:
        n = self.tmp("n")
        if self.parts:
            return [f"{n} = len({t})", f"if {n} < 0x80:", f"    _ap(_B[{n}])", f"elif {n} < 0x4000:",
                    f"    _ap(_B[{n} & 0x7F | 0x80])", f"    _ap(_B[{n} >> 7])", "else:",
                    f"    _ap(_c.uleb({n}))"]  # fmt: skip
        return [f"{n} = len({t})", f"if {n} < 0x80:", f"    buf.append({n})", f"elif {n} < 0x4000:",
                f"    buf.append({n} & 0x7F | 0x80)", f"    buf.append({n} >> 7)", "else:",
                f"    _c.write_uleb(buf, {n})"]  # fmt: skip

    # ------------------------------------------------------------------ decoding

    def decode(self, t: w.Type, x: str) -> list[str]:
        """Statements that decode a value of `t` from `b` at `p` into `x`, advancing `p`."""
        if self._depth >= DEPTH_LIMIT and not isinstance(t, w.Prim):
            return [self._call_decoder(t, x)]
        self._depth += 1
        try:
            return self._decode(t, x)
        finally:
            self._depth -= 1

    def _decode(self, t: w.Type, x: str) -> list[str]:
        match t:
            case w.Prim():
                return self._decode_prim(t.name, x)
            case w.Record():
                temps = [self.tmp("f") for _ in t.fields]
                lines: list[str] = []
                for i, (f, v) in enumerate(zip(t.fields, temps, strict=True)):
                    lines += self._at(str(i), f.type, lambda f=f, v=v: self.decode(f.type, v))  # type: ignore[misc]
                if len(lines) < INLINE_LIMIT:
                    return [*lines, *self._construct(x, t, temps)]
                return [self._call_decoder(t, x)]
            case w.Resource() | w.Own():
                res = t if isinstance(t, w.Resource) else t.resource
                v = self.tmp()
                return [*self._bytes(v), f"{x} = {self.ref(res.py, 'H')}({v})"]
            case w.Named():
                return [self._call_decoder(t, x)]
            case w.List(element=w.Prim(name="u8"), size=None):
                return self._bytes(x)
            case w.List(element=elem, size=None):
                n, y, ix = self.tmp("n"), self.tmp("y"), self.tmp("i")
                body = self._at(ix, elem, lambda: [*self.decode(elem, y), f"{x}.append({y})"])
                return [*self._count(n, min_size(elem)), f"{x} = []", f"for {ix} in range({n}):", *_ind(body)]
            case w.List(element=w.Prim(name="u8"), size=int(n)):
                return [f"{x}, p = _c.read_fixed_bytes(b, p, {n})"]
            case w.List(element=elem, size=int(n)):
                y, ix = self.tmp("y"), self.tmp("i")
                spend = self._spend(str(n)) if n and min_size(elem) == 0 else []
                body = self._at(ix, elem, lambda: [*self.decode(elem, y), f"{x}.append({y})"])
                return [*spend, f"{x} = []", f"for {ix} in range({n}):", *_ind(body)]
            case w.Map() if has_async(t):
                return [f'raise _c.CodecError("async values inside a map are not supported ({t.wit})")']
            case w.Map():
                n, k, y = self.tmp("n"), self.tmp("k"), self.tmp("y")
                body = [*self.decode(t.key, k), *self.decode(t.value, y), f"{x}[{k}] = {y}"]
                entry = min_size(t.key) + min_size(t.value)
                return [*self._count(n, entry), f"{x} = {{}}", f"for _ in range({n}):", *_ind(body)]
            case w.Tuple(items=items):
                names = [self.tmp("y") for _ in items]
                out: list[str] = []
                for i, (name, item) in enumerate(zip(names, items, strict=True)):
                    out += self._at(str(i), item, lambda name=name, item=item: self.decode(item, name))  # type: ignore[misc]
                return [*out, f"{x} = ({', '.join(names)}{',' if len(names) == 1 else ''})"]
            case w.Option(inner=inner):
                tag, y = self.tmp(), self.tmp("y")
                some = f"Some({y})" if t.nested else y
                return [f"{tag} = b[p]", "p += 1", f"if {tag} == 0:", f"    {x} = None", f"elif {tag} == 1:",
                        *_ind([*self.decode(inner, y), f"{x} = {some}"]), "else:",
                        f'    raise _c.CodecError(f"invalid option discriminant {{{tag}}}")']  # fmt: skip
            case w.Result(ok=ok, err=err):
                tag = self.tmp()
                return [f"{tag} = b[p]", "p += 1", f"if {tag} == 0:", *_ind(self._arm("Ok", ok, x)),
                        f"elif {tag} == 1:", *_ind(self._arm("Err", err, x)), "else:",
                        f'    raise _c.CodecError(f"invalid result discriminant {{{tag}}}")']  # fmt: skip
            case w.Stream(inner=inner):
                tag, n, y, acc = self.tmp(), self.tmp("n"), self.tmp("y"), self.tmp("i")
                elem_lines = [*self.decode(inner, y), f"{acc}.append({y})"] if inner is not None else [f"{acc}.append(None)"]
                rt = self.ref(_async_type(t), "A")
                if isinstance(inner, w.Prim) and inner.name == "u8":  # items are bytes chunks
                    ready = [*self._bytes(y), f"{x} = _v.Stream([{y}] if {y} else [])"]
                else:
                    ready = [*self._count(n, min_size(inner)), f"{acc} = []", f"for _ in range({n}):",
                             *_ind(elem_lines), f"{x} = _v.Stream({acc})"]  # fmt: skip
                return [f"{tag} = _c.read_tag(b, p, 'stream')", "p += 1", f"if {tag} == 0:",
                        f"    {x} = _a.get_stream({self.apath}, X, {rt})", "else:", *_ind(ready)]  # fmt: skip
            case w.Future(inner=inner):
                tag, y = self.tmp(), self.tmp("y")
                ready = [*self.decode(inner, y), f"{x} = _v.Future({y})"] if inner is not None else [f"{x} = _v.Future(None)"]
                rt = self.ref(_async_type(t), "A")
                return [f"{tag} = _c.read_tag(b, p, 'future')", "p += 1", f"if {tag} == 0:",
                        f"    {x} = _a.get_future({self.apath}, X, {rt})", "else:", *_ind(ready)]  # fmt: skip
        raise AssertionError(f"no decoding for {t!r}")

    def _arm(self, ctor: str, t: w.Type | None, x: str) -> list[str]:
        if t is None:
            return [f"{x} = {ctor}(None)"]
        y = self.tmp("y")
        return [*self.decode(t, y), f"{x} = {ctor}({y})"]

    def _uleb(self, x: str, reader: str, top: str = "0x80") -> list[str]:
        return [f"{x} = b[p]", f"if {x} < {top}:", "    p += 1", "else:", f"    {x}, p = {reader}(b, p)"]

    def _length(self, x: str, tail: str) -> list[str]:
        """A ULEB128 length with inline one- and two-byte paths (lengths below 16384)."""
        hi = self.tmp("h")
        return [f"{x} = b[p]", f"if {x} < 0x80:", "    p += 1", "else:", f"    {hi} = b[p + 1]",
                f"    if {hi} < 0x80:", f"        {x} = {x} & 0x7F | {hi} << 7", "        p += 2",
                "    else:", f"        {x}, p = {tail}"]  # fmt: skip

    def _decode_prim(self, name: str, x: str) -> list[str]:
        match name:
            case "bool":
                t = self.tmp()
                return [f"{t} = b[p]", "p += 1", f"if {t} > 1:",
                        f'    raise _c.CodecError(f"invalid bool byte {{{t}}}")', f"{x} = {t} == 1"]  # fmt: skip
            case "u8":
                return [f"{x} = b[p]", "p += 1"]
            case "s8" | "char":
                return [f"{x}, p = _c.read_{name}(b, p)"]
            case "u16":
                return self._uleb(x, f"_c.read_{name}")
            case "u32" | "u64":  # inline up to three bytes (values below 2**21)
                h, h2 = self.tmp("h"), self.tmp("h")
                return [f"{x} = b[p]", f"if {x} < 0x80:", "    p += 1", "else:", f"    {h} = b[p + 1]",
                        f"    if {h} < 0x80:", f"        {x} = {x} & 0x7F | {h} << 7", "        p += 2",
                        "    else:", f"        {h2} = b[p + 2]", f"        if {h2} < 0x80:",
                        f"            {x} = {x} & 0x7F | ({h} & 0x7F) << 7 | {h2} << 14", "            p += 3",
                        "        else:", f"            {x}, p = _c.read_{name}(b, p)"]  # fmt: skip
            case "s16" | "s32" | "s64":
                return self._uleb(x, f"_c.read_{name}", "0x40")
            case "f32" | "f64":
                return [f"{x} = _c.{name.upper()}.unpack_from(b, p)[0]", f"p += {FIXED_SIZE[name]}"]
            case "string":
                return self._bytes(x, ".decode()")
            case "error-context":
                t = self.tmp()
                return [*self._bytes(t), f"{x} = _v.ErrorContext({t})"]
        raise AssertionError(name)

    def _bytes(self, x: str, suffix: str = "") -> list[str]:
        n, end = self.tmp("n"), self.tmp("e")
        return [*self._length(n, "_c.read_len(b, p)"), f"{end} = p + {n}", f"if {end} > _L:",
                f'    raise _c.Incomplete(f"length {{{n}}} exceeds the remaining input")',
                f"{x} = b[p:{end}]{suffix}", f"p = {end}"]  # fmt: skip

    def _count(self, n: str, size: int) -> list[str]:
        """An element count into `n`: checked against the remaining input for elements
        of at least `size` bytes, charged to the element budget when they take none."""
        count = self._length(n, f"_c.read_len(b, p, {size})")
        return count if size else [*count, *self._spend(n)]

    def _spend(self, n: str) -> list[str]:
        """Charge `n` elements that take no bytes to the budget; refuse past it."""
        return [f"_bg[0] -= {n}", "if _bg[0] < 0:", "    raise _c.too_many_elements(_L, _bg[0])"]


def _tag(i: int) -> str:
    return f"buf.append({i})" if i < 0x80 else f"_c.write_uleb(buf, {i})"


def _ind(lines: list[str], n: int = 1) -> list[str]:
    pad = "    " * n
    return [pad + line for line in lines] or [pad + "pass"]
