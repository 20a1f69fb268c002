"""Canonical WAVE text of a WAVE value (see `witgen.wave.reader` for the value forms).

The output is what the reference implementation (wasm-wave) prints: floats in
their shortest round-trip digits without an exponent, `none` record fields left
out (`{:}` when nothing remains), flags in declaration order, `%` before enum
and variant cases that are WAVE keywords, options and results in their explicit
`some(..)`/`ok(..)` form.
"""

from __future__ import annotations

import math
import unicodedata
from decimal import Decimal
from typing import Any

from witgen.model import (
    Enum,
    FixedList,
    Flags,
    Future,
    Handle,
    List,
    Map,
    Option,
    Param,
    Record,
    Resolve,
    Result,
    Stream,
    Tuple,
    Type,
    Variant,
)
from witgen.wave.reader import KEYWORDS, CaseValue, Err, Ok, Some, WaveError, f32

_ESCAPES = {"\\": "\\\\", "'": "\\'", '"': '\\"', "\t": "\\t", "\n": "\\n", "\r": "\\r"}


def to_wave(value: Any, ty: Type, resolve: Resolve) -> str:
    """The canonical WAVE text of `value`, a WAVE value of type `ty`."""
    return _Printer(resolve).value(value, ty)


def format_args(values: list[Any], params: tuple[Param, ...], resolve: Resolve) -> str:
    """Arguments separated by `, ` (the form `witgen wire --params` reads back)."""
    printer = _Printer(resolve)
    return ", ".join(printer.value(v, p.type) for v, p in zip(values, params))


def format_call(
    name: str, values: list[Any], params: tuple[Param, ...], resolve: Resolve
) -> str:
    """`name(param: value, ...)`, as wasm-wave's tests print a call."""
    printer = _Printer(resolve)
    args = ", ".join(
        f"{p.name}: {printer.value(v, p.type)}" for v, p in zip(values, params)
    )
    return f"{name}({args})"


def quote_char(ch: str) -> str:
    return "'" + _escape(ch) + "'"


def quote_string(text: str) -> str:
    return '"' + "".join(_escape(ch) for ch in text) + '"'


def _escape(ch: str) -> str:
    special = _ESCAPES.get(ch)
    if special is not None:
        return special
    if unicodedata.category(ch) == "Cc":
        return f"\\u{{{ord(ch):x}}}"
    return ch


def format_float(value: float, width: int) -> str:
    """Shortest digits that read back as the same f32/f64, in plain decimal notation."""
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if width == 64:
        digits = repr(value)
    else:
        for precision in range(9):
            digits = f"{value:.{precision}e}"
            if f32(float(digits)) == value:
                break
        else:  # pragma: no cover - nine digits always round-trip an f32
            digits = f"{value:.8e}"
    sign, digit_tuple, exponent = Decimal(digits).as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digit_tuple)).lstrip("0")
    if not text:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    while text.endswith("0"):
        text = text[:-1]
        exponent += 1
    if exponent >= 0:
        body = text + "0" * exponent
    elif len(text) > -exponent:
        body = text[:exponent] + "." + text[exponent:]
    else:
        body = "0." + "0" * (-exponent - len(text)) + text
    return ("-" if sign else "") + body


def _case(name: str) -> str:
    return "%" + name if name in KEYWORDS else name


class _Printer:
    def __init__(self, resolve: Resolve) -> None:
        self.resolve = resolve

    def value(self, value: Any, ty: Type) -> str:
        ty = self.resolve.dealias(ty)
        if isinstance(ty, str):
            return self.primitive(value, ty)
        kind = self.resolve.types[ty].kind
        if isinstance(kind, List | FixedList):
            return "[" + ", ".join(self.value(v, kind.type) for v in value) + "]"
        if isinstance(kind, Map):
            return (
                "["
                + ", ".join(
                    f"({self.value(k, kind.key)}, {self.value(v, kind.value)})"
                    for k, v in value
                )
                + "]"
            )
        if isinstance(kind, Tuple):
            return (
                "("
                + ", ".join(self.value(v, t) for v, t in zip(value, kind.types))
                + ")"
            )
        if isinstance(kind, Record):
            fields = [
                f"{f.name}: {self.value(value[f.name], f.type)}"
                for f in kind.fields
                if value[f.name] is not None or not self.is_option(f.type)
            ]
            return "{" + ", ".join(fields) + "}" if fields else "{:}"
        if isinstance(kind, Flags):
            return "{" + ", ".join(f.name for f in kind.flags if f.name in value) + "}"
        if isinstance(kind, Enum):
            assert isinstance(value, CaseValue)
            return _case(value.name)
        if isinstance(kind, Variant):
            assert isinstance(value, CaseValue)
            case = next(c for c in kind.cases if c.name == value.name)
            if case.type is None:
                return _case(case.name)
            return f"{_case(case.name)}({self.value(value.payload, case.type)})"
        if isinstance(kind, Option):
            if value is None:
                return "none"
            assert isinstance(value, Some)
            return f"some({self.value(value.value, kind.type)})"
        if isinstance(kind, Result):
            assert isinstance(value, Ok | Err)
            word, payload_ty = (
                ("ok", kind.ok) if isinstance(value, Ok) else ("err", kind.err)
            )
            if payload_ty is None:
                return word
            return f"{word}({self.value(value.value, payload_ty)})"
        if isinstance(kind, Handle):
            return "[" + ", ".join(str(b) for b in value) + "]"
        if isinstance(kind, Future):
            return "()" if kind.type is None else self.value(value, kind.type)
        if isinstance(kind, Stream):
            if kind.type is None:
                return "[" + ", ".join("()" for _ in value) + "]"
            return "[" + ", ".join(self.value(v, kind.type) for v in value) + "]"
        raise WaveError(f"{type(kind).__name__.lower()} values have no WAVE form")

    def is_option(self, ty: Type) -> bool:
        ty = self.resolve.dealias(ty)
        return isinstance(ty, int) and isinstance(self.resolve.types[ty].kind, Option)

    def primitive(self, value: Any, name: str) -> str:
        if name == "bool":
            return "true" if value else "false"
        if name in ("f32", "f64"):
            return format_float(value, 32 if name == "f32" else 64)
        if name == "char":
            return quote_char(value)
        if name == "string":
            return quote_string(value)
        if name == "error-context":
            raise WaveError("error-context values have no WAVE form")
        return str(int(value))
