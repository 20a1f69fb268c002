"""Converters between wasmtime-py component values and witgen values, built from descriptions.

    to_py = lift(desc)      # wasmtime value -> witgen value (None: the same object)
    to_wasm = lower(desc)   # witgen value -> wasmtime value, checked

`desc` is a `witgen.runtime.wit` description. Converters are closures built once per
description (kept in its cache). A lifted type whose two representations coincide (numbers,
strings, `list<u8>` as `bytes`, lists and tuples of those) gets None, and its parents skip it.

Lowering checks what the host hands to wasmtime with the wire codec's rules (integer
ranges, `f32` range, chars and strings that are Unicode scalar values, the classes of
enums, flags, variants, `Ok`/`Err`, `Some`, resource handles): wasmtime-py would otherwise
truncate an out-of-range integer or fail inside the guest's call. A value that does not fit
raises `ConversionError`, whose `path` says where in the value (`.field`, `[2]`, `.ok`).

wasmtime-py 50 represents a record as `wasmtime.component.Record` with kebab-case
attributes, an enum as its case name, flags as a `set` of names, and a variant, option or
result as the bare payload unless two of its cases would look alike, then as
`Variant(tag, payload)`; resources are `ResourceAny` / `ResourceHost` and pass through
unchanged. It converts no `future`, `stream`, `error-context`, `map` or fixed-size list:
`check` and the builders raise `UnsupportedType` naming the kind.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Sequence
from typing import Any

from wasmtime.component import Record, ResourceAny, ResourceHost, Variant

from witgen.runtime import wit as w
from witgen.runtime.values import Err, Ok, Some

__all__ = ["ConversionError", "UnsupportedType", "check", "lift", "lower", "lift_or_same", "lower_or_same"]

Convert = Callable[[Any], Any]
_NONE = type(None)


class UnsupportedType(TypeError):
    """A WIT type wasmtime-py 50 cannot convert (future, stream, error-context, map, ...)."""


class ConversionError(ValueError):
    """A value that does not fit its WIT type, or that wasmtime-py would mistake for another case.

    `reason` says what is wrong, `path` where inside the value (empty: the value itself).
    """

    def __init__(self, reason: str, path: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.path = path

    def inside(self, step: str) -> ConversionError:
        """This error, one level further out (`step`: `.field`, `[3]`, `.ok`)."""
        self.path = step + self.path
        return self

    def located(self, root: str) -> str:
        """`reason at root.path`, e.g. `u32 out of range: 4294967296 at result.count`."""
        return f"{self.reason} at {root}{self.path}"

    def __str__(self) -> str:
        return self.located("value") if self.path else self.reason


def check(t: w.Type, where: str = "") -> None:
    """Raise `UnsupportedType` when `t` holds a kind wasmtime-py 50 does not convert."""
    what = _unsupported(t, set())
    if what is not None:
        at = f"{where}: " if where else ""
        raise UnsupportedType(f"{at}{what} values cannot cross into or out of a component (wasmtime-py 50 has no conversion for them)")


def _unsupported(t: w.Type, seen: set[int]) -> str | None:
    if id(t) in seen:
        return None
    seen.add(id(t))
    match t:
        case w.Future() | w.Stream():
            return f"`{t.wit}`"
        case w.Prim(name="error-context"):
            return "`error-context`"
        case w.Map():
            return f"`{t.wit}`"
        case w.List(size=int()):
            return f"fixed-size list `{t.wit}`"
    for child in _children(t):
        found = _unsupported(child, seen)
        if found is not None:
            return found
    return None


def _children(t: w.Type) -> list[w.Type]:
    match t:
        case w.List(element=e):
            return [e]
        case w.Tuple(items=items):
            return list(items)
        case w.Option(inner=i):
            return [i]
        case w.Result(ok=ok, err=err):
            return [x for x in (ok, err) if x is not None]
        case w.Record(fields=fields):
            return [f.type for f in fields]
        case w.Variant(cases=cases):
            return [c.type for c in cases if c.type is not None]
    return []


# --------------------------------------------------------------------------- wasmtime's case test


def classes(t: w.Type) -> frozenset[type]:
    """The Python classes wasmtime-py uses for values of `t` (its `add_classes`)."""
    match t:
        case w.Prim(name="bool"):
            return frozenset({bool})
        case w.Prim(name="f32" | "f64"):
            return frozenset({float})
        case w.Prim(name="char" | "string"):
            return frozenset({str})
        case w.Prim():
            return frozenset({int})
        case w.List(element=w.Prim(name="u8")):
            return frozenset({bytes})
        case w.List():
            return frozenset({list})
        case w.Record():
            return frozenset({Record})
        case w.Tuple():
            return frozenset({tuple})
        case w.Enum():
            return frozenset({str})
        case w.Flags():
            return frozenset({set})
        case w.Own():
            return frozenset({ResourceAny, ResourceHost})
    cases = _cases(t)
    if _tagged(cases):
        return frozenset({Variant})
    out: set[type] = set()
    for _, payload in cases:
        out |= {object} if payload is None else classes(payload)
    return frozenset(out)


def _cases(t: w.Type) -> list[tuple[str, w.Type | None]]:
    match t:
        case w.Option(inner=i):
            return [("none", None), ("some", i)]
        case w.Result(ok=ok, err=err):
            return [("ok", ok), ("err", err)]
        case w.Variant(cases=cases):
            return [(c.wit, c.type) for c in cases]
    raise AssertionError(f"not variant-like: {t!r}")


def _tagged(cases: list[tuple[str, w.Type | None]]) -> bool:
    """True when wasmtime-py wraps values in `Variant` (two cases share a class)."""
    seen: set[type] = set()
    for _, payload in cases:
        case = {object} if payload is None else set(classes(payload))
        if case & seen:
            return True
        seen |= case
    return False


# --------------------------------------------------------------------------- builders


def lift(t: w.Type) -> Convert | None:
    """wasmtime value -> witgen value for `t`; None when they are the same object."""
    def build() -> Convert | None:
        check(t)
        return _lift(t)

    return w.cached(t, "wasm-lift", build)


def lower(t: w.Type) -> Convert:
    """witgen value -> wasmtime value for `t`, raising `ConversionError` for one that does not fit."""
    def build() -> Convert:
        check(t)
        return _lower(t)

    convert: Convert = w.cached(t, "wasm-lower", build)
    return convert


def _same(v: Any) -> Any:
    return v


def lift_or_same(t: w.Type | None) -> Convert:
    """`lift(t)`, with the identity function instead of None (None type: the identity)."""
    return (lift(t) if t is not None else None) or _same


def lower_or_same(t: w.Type | None) -> Convert:
    """`lower(t)`; the identity function for no type."""
    return lower(t) if t is not None else _same


def _lift(t: w.Type) -> Convert | None:
    match t:
        case w.Prim() | w.Own():
            return None
        case w.List(element=e):
            if isinstance(e, w.Prim) and e.name == "u8":
                return None
            f = lift(e)
            return None if f is None else (lambda v: [f(x) for x in v])
        case w.Tuple(items=items):
            fs = [lift(x) or _same for x in items]
            if all(f is _same for f in fs):
                return None
            return lambda v: tuple([f(x) for f, x in zip(fs, v, strict=True)])
        case w.Record():
            return _lift_record(t)
        case w.Enum():
            by_name = dict(zip(t.cases, t.members, strict=True))
            return by_name.__getitem__
        case w.Flags():
            return _lift_flags(t)
    return _lift_variant(t)


def _lift_record(t: w.Record) -> Convert:
    cls = t.py
    fields = [(f.wit, lift(f.type)) for f in t.fields]
    if all(f is None for _, f in fields):
        names = [n for n, _ in fields]
        return lambda v: cls(*[v.__dict__[n] for n in names])
    conv = [(n, f or _same) for n, f in fields]
    return lambda v: cls(*[f(v.__dict__[n]) for n, f in conv])


def _lift_flags(t: w.Flags) -> Convert:
    cls = t.py
    bits = {name: 1 << i for i, name in enumerate(t.names)}

    def convert(v: set[str]) -> Any:
        value = 0
        for name in v:
            value |= bits[name]
        return cls(value)

    return convert


def _lift_variant(t: w.Type) -> Convert:
    cases = _cases(t)
    make = _case_makers(t)
    payloads = [lift_or_same(p) for _, p in cases]
    if _tagged(cases):
        index = {name: i for i, (name, _) in enumerate(cases)}

        def tagged(v: Variant) -> Any:
            i = index[v.tag]
            return make[i](payloads[i](v.payload))

        return tagged
    by_type: dict[type, int] = {}
    for i, (_, payload) in enumerate(cases):
        for cls in {object} if payload is None else classes(payload):
            by_type.setdefault(_NONE if cls is object else cls, i)

    def untagged(v: Any) -> Any:
        i = by_type[type(v)]
        return make[i](payloads[i](v))

    return untagged


def _case_makers(t: w.Type) -> list[Convert]:
    """Per case: payload (already lifted) -> the witgen value."""
    match t:
        case w.Option():
            some = Some if t.nested else _same
            return [lambda v: None, some]
        case w.Result():
            return [Ok, Err]
        case w.Variant(cases=cases):
            return [_empty_case(c.cls) if c.type is None else c.cls for c in cases]
    raise AssertionError(t)


def _empty_case(cls: type) -> Convert:
    return lambda v: cls()


def _lower(t: w.Type) -> Convert:
    match t:
        case w.Prim(name=name):
            return _lower_prim(name)
        case w.Own():
            return _lower_handle(t)
        case w.List(element=w.Prim(name="u8")):
            return _lower_bytes
        case w.List(element=e):
            return _lower_list(t, lower(e))
        case w.Tuple(items=items):
            return _lower_tuple(t, [lower(x) for x in items])
        case w.Record():
            return _lower_record(t)
        case w.Enum():
            names = list(t.cases)
            cls = t.py
            name = t.name

            def enum_name(v: Any) -> str:
                if v.__class__ is not cls:
                    raise ConversionError(f"{v!r} is not a case of enum {name}")
                name_: str = names[v.value]
                return name_

            return enum_name
        case w.Flags():
            return _lower_flags(t)
    return _lower_variant(t)


def _mismatch(v: object, what: str) -> ConversionError:
    """The error for a value of the wrong class (worded as the wire codec's)."""
    return ConversionError(f"expected {what}, got {type(v).__name__}: {v!r}"[:300])


def _lower_prim(name: str) -> Convert:
    if name in w.INTEGERS:
        return _lower_int(name, *w.INTEGERS[name])
    return {"bool": _lower_bool, "f32": _lower_f32, "f64": _lower_f64, "char": _lower_char,
            "string": _lower_string}[name]  # fmt: skip


def _lower_int(name: str, lo: int, hi: int) -> Convert:
    def integer(v: Any) -> Any:
        if v.__class__ is int or isinstance(v, int):  # bool and IntEnum too, as the codec
            if lo <= v <= hi:
                return v
            raise ConversionError(f"{name} out of range: {v}")
        raise _mismatch(v, name)

    return integer


def _lower_bool(v: Any) -> bool:
    if v is True or v is False:
        return v
    raise _mismatch(v, "bool")


def _lower_f64(v: Any) -> float:
    return v if v.__class__ is float else _as_float(v, "f64")


def _as_float(v: Any, name: str) -> float:
    """An int or float subclass as a `float` (wasmtime-py takes only floats), as the codec does."""
    if isinstance(v, (int, float)):
        try:
            return float(v)
        except OverflowError:
            raise ConversionError(f"{name} out of range: {v}") from None
    raise _mismatch(v, name)


_F32 = struct.Struct("<f")
_F32_MAX = 3.4028234663852886e38


def _lower_f32(v: Any) -> float:
    x = v if v.__class__ is float else _as_float(v, "f32")
    if -_F32_MAX <= x <= _F32_MAX or math.isnan(x) or math.isinf(x):
        return x
    try:
        _F32.pack(x)  # rounds to the largest f32 when close enough, as the codec does
    except OverflowError:
        raise ConversionError(f"f32 out of range: {v}") from None
    return x


def _lower_char(v: Any) -> str:
    if isinstance(v, str):
        if len(v) == 1 and not 0xD800 <= ord(v) <= 0xDFFF:
            return v
        raise ConversionError(f"a char must be one Unicode scalar value, not {v!r}"[:300])
    raise _mismatch(v, "char")


def _lower_string(v: Any) -> str:
    if v.__class__ is str or isinstance(v, str):
        if not v.isascii():
            try:
                v.encode()
            except UnicodeEncodeError:
                raise ConversionError("string is not valid Unicode (lone surrogate)") from None
        return v
    raise _mismatch(v, "string")


_U8 = _lower_int("u8", 0, 0xFF)


def _lower_bytes(v: Any) -> bytes:
    if v.__class__ is bytes:
        return v
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v)
    if isinstance(v, (list, tuple)):
        try:
            return bytes(v)
        except (TypeError, ValueError):
            raise _failure_in(v, _U8) from None
    raise _mismatch(v, "list<u8>")


def _failure_in(items: Sequence[Any], convert: Convert) -> ConversionError:
    """The error of the first element `convert` refuses, located at its index."""
    for i, x in enumerate(items):
        try:
            convert(x)
        except ConversionError as exc:
            return exc.inside(f"[{i}]")
    raise AssertionError("no element fails")


def _lower_list(t: w.List, element: Convert) -> Convert:
    what = t.wit

    def convert(v: Any) -> list[Any]:
        if v.__class__ is not list and not isinstance(v, (list, tuple)):
            raise _mismatch(v, what)
        try:
            return [element(x) for x in v]
        except ConversionError:
            raise _failure_in(v, element) from None

    return convert


def _lower_tuple(t: w.Tuple, items: list[Convert]) -> Convert:
    what, count = t.wit, len(items)

    def convert(v: Any) -> tuple[Any, ...]:
        if not isinstance(v, (tuple, list)):
            raise _mismatch(v, what)
        if len(v) != count:
            raise ConversionError(f"expected {count} item(s) for {what}, got {len(v)}")
        out = []
        for i, (f, x) in enumerate(zip(items, v, strict=True)):
            try:
                out.append(f(x))
            except ConversionError as exc:
                raise exc.inside(f".{i}") from None
        return tuple(out)

    return convert


def _lower_handle(t: w.Own) -> Convert:
    what = f"a handle of {t.wit}"

    def handle(v: Any) -> Any:
        if isinstance(v, (ResourceAny, ResourceHost)):
            return v
        raise _mismatch(v, what)

    return handle


def _lower_flags(t: w.Flags) -> Convert:
    flags = list(enumerate(t.names))
    cls, what = t.py, f"flags {t.name}"

    def convert(v: Any) -> set[str]:
        if v.__class__ is not cls:
            raise _mismatch(v, what)
        return {n for i, n in flags if v.value >> i & 1}

    return convert


def _lower_record(t: w.Record) -> Convert:
    fields = [(f.wit, f.attr, lower(f.type)) for f in t.fields]
    new = Record.__new__
    what = f"record {t.name}"

    def convert(v: Any) -> Record:
        try:
            values = {n: f(getattr(v, a)) for n, a, f in fields}
        except (ConversionError, AttributeError):
            raise failure(v) from None
        r = new(Record)
        r.__dict__ = values
        return r

    def failure(v: Any) -> ConversionError:
        for n, a, f in fields:
            if not hasattr(v, a):
                return _mismatch(v, what)
            try:
                f(getattr(v, a))
            except ConversionError as exc:
                return exc.inside(f".{n}")
        raise AssertionError("no field fails")

    return convert


def _lower_variant(t: w.Type) -> Convert:
    cases = _cases(t)
    names = [n for n, _ in cases]
    payloads = [lower_or_same(p) for _, p in cases]
    split = _case_splitter(t)

    def payload_of(i: int, payload: Any) -> Any:
        try:
            return payloads[i](payload)
        except ConversionError as exc:
            raise exc.inside(f".{names[i]}") from None

    if _tagged(cases):
        def tagged(v: Any) -> Variant:
            i, payload = split(v)
            return Variant(names[i], payload_of(i, payload))

        return tagged
    sets = [None if p is None else tuple(classes(p)) for _, p in cases]
    # wasmtime-py picks the first case whose classes match the payload: an earlier case
    # matching every object (a payload that is itself an option) or `int` for a `bool`
    # would take the value, so such lowerings are checked.
    risky = any(s is not None and (object in s or int in s) for s in sets)

    def untagged(v: Any) -> Any:
        i, payload = split(v)
        out = payload_of(i, payload)
        if risky:
            for j in range(i):
                s = sets[j]
                if s is not None and out is not None and isinstance(out, s):
                    raise ConversionError(
                        f"wasmtime-py 50 would lower this value of {t.wit} as case "
                        f"{cases[j][0]!r} instead of {cases[i][0]!r}"
                    )
        return out

    return untagged


def _case_splitter(t: w.Type) -> Callable[[Any], tuple[int, Any]]:
    """witgen value -> (case index, payload still in witgen form)."""
    match t:
        case w.Option():
            if t.nested:
                def nested(v: Any) -> tuple[int, Any]:
                    if v is None:
                        return 0, None
                    if not isinstance(v, Some):
                        raise ConversionError(f"{v!r} is neither None nor Some(..) for {t.wit}")
                    return 1, v.value

                return nested
            return lambda v: (0, None) if v is None else (1, v)
        case w.Result():
            def result(v: Any) -> tuple[int, Any]:
                cls = v.__class__
                if cls is Ok:
                    return 0, v.value
                if cls is Err:
                    return 1, v.value
                raise ConversionError(f"{v!r} is neither Ok(..) nor Err(..) for {t.wit}")

            return result
        case w.Variant(cases=cases):
            index = {c.cls: i for i, c in enumerate(cases)}
            empty = [c.type is None for c in cases]
            name = t.name

            def variant(v: Any) -> tuple[int, Any]:
                i = index.get(v.__class__)
                if i is None:
                    raise ConversionError(f"{v!r} is not a case of variant {name}")
                return i, None if empty[i] else v.value

            return variant
    raise AssertionError(t)
