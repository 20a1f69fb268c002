"""WAVE values (`witgen.wave.reader`) <-> values of the generated Python types.

The generated types follow the rules of the code generator: records are
dataclasses (fields in declaration order), enums `Enum`s whose values are the
case indexes, flags `Flag`s with bit i for flag i, variants one class per case
(payload in `.value`) joined in a union alias, `option<T>` is `T | None` with
`Some` around an outer some whose payload can be None, results are `Ok`/`Err`,
`list<u8>` is `bytes`, maps are dicts, handles are the resource's class.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, Protocol

from witgen import model as m
from witgen.runtime import values as rv
from witgen.wave.reader import CaseValue, Err, Ok, Some


class Bindings(Protocol):
    """What the converter needs of imported bindings (`witgen.wave.wire.Bindings`)."""

    resolve: m.Resolve

    def type_attr(self, tid: int) -> Any:
        """The generated class (or alias) of a named type."""
        ...


class Converter:
    """Converts in both directions for the types of one `Bindings`."""

    def __init__(self, bindings: Bindings) -> None:
        self.bindings = bindings
        self.resolve = bindings.resolve
        self._variant_cases: dict[int, tuple[type, ...]] = {}

    def _class(self, tid: int) -> Any:
        return self.bindings.type_attr(tid)

    def _can_be_none(self, ty: m.Type) -> bool:
        ty = self.resolve.dealias(ty)
        return isinstance(ty, int) and isinstance(self.resolve.types[ty].kind, m.Option)

    def _cases(self, tid: int) -> tuple[type, ...]:
        classes = self._variant_cases.get(tid)
        if classes is None:
            alias = self._class(tid)
            classes = typing.get_args(alias) or (alias,)
            self._variant_cases[tid] = classes
        return classes

    # ------------------------------------------------------------------ WAVE -> Python

    def to_py(self, value: Any, ty: m.Type) -> Any:
        ty = self.resolve.dealias(ty)
        if isinstance(ty, str):
            return value
        kind = self.resolve.types[ty].kind
        match kind:
            case m.Record(fields):
                return self._class(ty)(
                    *(self.to_py(value[f.name], f.type) for f in fields)
                )
            case m.Variant(cases):
                index = next(i for i, c in enumerate(cases) if c.name == value.name)
                cls = self._cases(ty)[index]
                case_ty = cases[index].type
                return (
                    cls()
                    if case_ty is None
                    else cls(self.to_py(value.payload, case_ty))
                )
            case m.Enum(cases):
                index = next(i for i, c in enumerate(cases) if c.name == value.name)
                return list(self._class(ty))[index]
            case m.Flags(flags):
                bits = sum(1 << i for i, f in enumerate(flags) if f.name in value)
                return self._class(ty)(bits)
            case m.Option(t):
                if value is None:
                    return None
                inner = self.to_py(value.value, t)
                return rv.Some(inner) if self._can_be_none(t) else inner
            case m.Result(ok, err):
                if isinstance(value, Ok):
                    return rv.Ok(None if ok is None else self.to_py(value.value, ok))
                return rv.Err(None if err is None else self.to_py(value.value, err))
            case m.List(t) | m.FixedList(t, _):
                if t == "u8":
                    return bytes(value)
                return [self.to_py(v, t) for v in value]
            case m.Map(k, v):
                return {self.to_py(key, k): self.to_py(val, v) for key, val in value}
            case m.Tuple(types):
                return tuple(self.to_py(v, t) for v, t in zip(value, types))
            case m.Handle(_, resource):
                return self._class(resource)(bytes(value))
            case m.Future(t):
                return rv.Future(None if t is None else self.to_py(value, t))
            case m.Stream(t):
                return rv.Stream(
                    [None if t is None else self.to_py(v, t) for v in value]
                )
        raise TypeError(f"{type(kind).__name__} values cannot be converted")

    # ------------------------------------------------------------------ Python -> WAVE

    def from_py(self, py: Any, ty: m.Type) -> Any:
        ty = self.resolve.dealias(ty)
        if isinstance(ty, str):
            return py
        kind = self.resolve.types[ty].kind
        match kind:
            case m.Record(fields):
                attrs = [f.name for f in dataclasses.fields(py)]
                return {
                    f.name: self.from_py(getattr(py, a), f.type)
                    for f, a in zip(fields, attrs)
                }
            case m.Variant(cases):
                index = self._cases(ty).index(type(py))
                case = cases[index]
                payload = (
                    None if case.type is None else self.from_py(py.value, case.type)
                )
                return CaseValue(case.name, payload)
            case m.Enum(cases):
                return CaseValue(cases[py.value].name)
            case m.Flags(flags):
                bits = int(py.value)
                return frozenset(f.name for i, f in enumerate(flags) if bits >> i & 1)
            case m.Option(t):
                if py is None:
                    return None
                inner = py.value if self._can_be_none(t) else py
                return Some(self.from_py(inner, t))
            case m.Result(ok, err):
                if isinstance(py, rv.Ok):
                    return Ok(None if ok is None else self.from_py(py.value, ok))
                return Err(None if err is None else self.from_py(py.value, err))
            case m.List(t) | m.FixedList(t, _):
                if t == "u8":
                    return list(py)
                return [self.from_py(v, t) for v in py]
            case m.Map(k, v):
                return [
                    (self.from_py(key, k), self.from_py(val, v))
                    for key, val in py.items()
                ]
            case m.Tuple(types):
                return tuple(self.from_py(v, t) for v, t in zip(py, types))
            case m.Handle():
                return bytes(py.handle)
            case m.Future(t):  # a pending one (a reader) is waited for
                return None if t is None else self.from_py(py.result(), t)
            case m.Stream(t):
                items = list(py)  # a pending one (a reader) is read to its end
                if items and isinstance(items[0], (bytes, bytearray)):  # stream<u8> chunks
                    items = list(b"".join(items))
                return [None if t is None else self.from_py(v, t) for v in items]
        raise TypeError(f"{type(kind).__name__} values cannot be converted")
