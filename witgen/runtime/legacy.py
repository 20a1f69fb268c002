"""The wasmCloud 0.x payload encoding: MessagePack, built from type descriptions.

0.x actors call `wasmcloud:bus/host.call-sync(target, "ollama:llm/Llm.Chat", payload)`
with MessagePack payloads as Rust's `rmp_serde::to_vec_named` writes them
(wire-format.md, section 4):

| WIT | MessagePack |
| --- | --- |
| record | map, camelCase field names (`status-code` -> `statusCode`) |
| tuple | array |
| `option<T>` | nil or the value (`Some(None)` of a nested option is nil, as serde writes it) |
| `result<T, E>` | one-key map `{"Ok": v}` / `{"Err": e}` (a missing side: nil) |
| variant | `"Case"` without payload, `{"Case": v}` with one (serde's PascalCase case names) |
| enum | `"Case"` (PascalCase) |
| flags | array of flag names |
| `list<u8>` | bin (an array of integers is accepted when decoding) |
| other lists | array |
| numbers, bool, string, char | themselves |

A function's parameters travel bare when there is one, as a map of camelCase names when
there are several, as nil when there are none. `LegacyCodec(t)` and
`legacy_function(func)` build and cache the converters; decoding raises `CodecError`
naming the type and the problem.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgpack  # type: ignore[import-untyped]

from witgen.runtime import wit as w
from witgen.runtime.primitives import CodecError
from witgen.runtime.values import Err, Ok, Some

__all__ = ["LegacyCodec", "LegacyFunction", "camel", "legacy_function", "of"]

Convert = Callable[[Any], Any]


def camel(kebab: str) -> str:
    """`status-code` -> `statusCode` (serde's `rename_all = "camelCase"`)."""
    first, *rest = kebab.removeprefix("%").split("-")
    return first + "".join(p[:1].upper() + p[1:] for p in rest)


def pascal(kebab: str) -> str:
    """`execution-target` -> `ExecutionTarget`, `U8` -> `U8` (Rust enum case names)."""
    return "".join(p[:1].upper() + p[1:].lower() if not p.isupper() else p for p in kebab.split("-"))


class LegacyCodec:
    """Encode and decode values of one type as 0.x MessagePack."""

    __slots__ = ("type", "to_plain", "from_plain")

    def __init__(self, t: w.Type) -> None:
        self.type = t
        self.to_plain = _to_plain(t)
        self.from_plain = _from_plain(t)

    def encode(self, value: Any) -> bytes:
        return msgpack.packb(self.to_plain(value), use_bin_type=True)  # type: ignore[no-any-return]

    def decode(self, data: bytes) -> Any:
        return self.from_plain(_unpack(data))


def _unpack(data: bytes) -> Any:
    try:
        return msgpack.unpackb(data, raw=False, strict_map_key=False)
    except Exception as exc:
        raise CodecError(f"not one MessagePack value: {exc}") from None


def of(t: w.Type) -> LegacyCodec:
    return w.cached(t, "legacy", lambda: LegacyCodec(t))


class LegacyFunction:
    """A function's parameters and result as 0.x payloads."""

    __slots__ = ("func", "params", "result", "names")

    def __init__(self, func: w.Func) -> None:
        self.func = func
        self.params = [of(t) for _, t in func.params]
        self.names = [camel(n) for n, _ in func.params]
        self.result = None if func.result is None else of(func.result)

    def decode_params(self, data: bytes) -> tuple[Any, ...]:
        if not self.params:
            return ()
        if len(self.params) == 1:
            return (self.params[0].decode(data),)
        plain = _unpack(data)
        if not isinstance(plain, dict):
            raise CodecError(f"{self.func.name}: parameters must be a map, not {type(plain).__name__}")
        try:
            return tuple(c.from_plain(plain[n]) for c, n in zip(self.params, self.names, strict=True))
        except KeyError as exc:
            raise CodecError(f"{self.func.name}: parameter {exc.args[0]!r} is missing") from None

    def encode_params(self, *args: Any) -> bytes:
        if not self.params:
            return msgpack.packb(None)  # type: ignore[no-any-return]
        if len(self.params) == 1:
            return self.params[0].encode(args[0])
        plain = {n: c.to_plain(a) for n, c, a in zip(self.names, self.params, args, strict=True)}
        return msgpack.packb(plain, use_bin_type=True)  # type: ignore[no-any-return]

    def encode_result(self, value: Any) -> bytes:
        return msgpack.packb(None) if self.result is None else self.result.encode(value)

    def decode_result(self, data: bytes) -> Any:
        return None if self.result is None else self.result.decode(data)


def legacy_function(func: w.Func) -> LegacyFunction:
    return w.cached(func, "legacy", lambda: LegacyFunction(func))


# --------------------------------------------------------------------------- converters


def _same(v: Any) -> Any:
    return v


def _to_plain(t: w.Type) -> Convert:
    match t:
        case w.Prim():
            return _same
        case w.List(element=w.Prim(name="u8")):
            return bytes
        case w.List(element=e):
            f = _to_plain(e)
            return lambda v: [f(x) for x in v]
        case w.Map(key=k, value=v_):
            fk, fv = _to_plain(k), _to_plain(v_)
            return lambda v: {fk(a): fv(b) for a, b in v.items()}
        case w.Tuple(items=items):
            fs = [_to_plain(i) for i in items]
            return lambda v: [f(x) for f, x in zip(fs, v, strict=True)]
        case w.Option(inner=i):
            f = _to_plain(i)
            if t.nested:
                return lambda v: None if v is None else f(v.value)
            return lambda v: None if v is None else f(v)
        case w.Result(ok=ok, err=err):
            fo = _same if ok is None else _to_plain(ok)
            fe = _same if err is None else _to_plain(err)
            return lambda v: {"Ok": fo(v.value)} if isinstance(v, Ok) else {"Err": fe(v.value)}
        case w.Record(fields=fields):
            rfs = [(camel(f.wit), f.attr, _to_plain(f.type)) for f in fields]
            return lambda v: {n: f(getattr(v, a)) for n, a, f in rfs}
        case w.Enum(cases=cases):
            names = [pascal(c) for c in cases]
            return lambda v: names[v.value]
        case w.Flags(names=flag_names):
            return lambda v: [n for i, n in enumerate(flag_names) if v.value >> i & 1]
        case w.Variant(cases=vcases):
            table = {c.cls: (pascal(c.wit), None if c.type is None else _to_plain(c.type)) for c in vcases}

            def variant(v: Any) -> Any:
                name, f = table[v.__class__]
                return name if f is None else {name: f(v.value)}

            return variant
        case w.Own():
            return lambda v: v.handle
    raise CodecError(f"{t.wit} has no 0.x MessagePack form")


def _bad(t: w.Type, v: Any) -> CodecError:
    return CodecError(f"{t.wit}: unexpected MessagePack value {v!r}")


def _from_plain(t: w.Type) -> Convert:
    match t:
        case w.Prim(name="bool"):
            return lambda v: v if type(v) is bool else _raise(_bad(t, v))
        case w.Prim(name="string" | "char"):
            return lambda v: v if type(v) is str else _raise(_bad(t, v))
        case w.Prim(name="f32" | "f64"):
            return lambda v: float(v) if type(v) in (int, float) else _raise(_bad(t, v))
        case w.Prim(name=name) if name in w.INTEGERS:
            lo, hi = w.INTEGERS[name]
            return lambda v: v if type(v) is int and lo <= v <= hi else _raise(_bad(t, v))
        case w.List(element=w.Prim(name="u8")):
            return lambda v: v if type(v) is bytes else bytes(v) if type(v) is list else _raise(_bad(t, v))
        case w.List(element=e):
            f = _from_plain(e)
            return lambda v: [f(x) for x in v] if type(v) is list else _raise(_bad(t, v))
        case w.Map(key=k, value=val):
            fk, fv = _from_plain(k), _from_plain(val)
            return lambda v: {fk(a): fv(b) for a, b in v.items()} if type(v) is dict else _raise(_bad(t, v))
        case w.Tuple(items=items):
            fs = [_from_plain(i) for i in items]

            def tuple_(v: Any) -> Any:
                if type(v) is not list or len(v) != len(fs):
                    raise _bad(t, v)
                return tuple(f(x) for f, x in zip(fs, v, strict=True))

            return tuple_
        case w.Option(inner=i):
            f = _from_plain(i)
            if t.nested:
                return lambda v: None if v is None else Some(f(v))
            return lambda v: None if v is None else f(v)
        case w.Result(ok=ok, err=err):
            fo = _same if ok is None else _from_plain(ok)
            fe = _same if err is None else _from_plain(err)

            def result(v: Any) -> Any:
                if type(v) is dict and len(v) == 1:
                    if "Ok" in v:
                        return Ok(fo(v["Ok"]))
                    if "Err" in v:
                        return Err(fe(v["Err"]))
                raise _bad(t, v)

            return result
        case w.Record(py=cls, fields=fields):
            rfs = [(camel(f.wit), _from_plain(f.type), isinstance(f.type, w.Option)) for f in fields]

            def record(v: Any) -> Any:
                if type(v) is not dict:
                    raise _bad(t, v)
                try:
                    return cls(*[f(v[n] if not optional else v.get(n)) for n, f, optional in rfs])
                except KeyError as exc:
                    raise CodecError(f"{t.wit}: field {exc.args[0]!r} is missing") from None

            return record
        case w.Enum(cases=cases, members=members):
            by_name = {pascal(c): m for c, m in zip(cases, members, strict=True)}
            return lambda v: by_name[v] if v in by_name else _raise(_bad(t, v))
        case w.Flags(py=cls, names=flag_names):
            bits = {n: 1 << i for i, n in enumerate(flag_names)}
            return lambda v: cls(sum(bits[n] for n in v)) if type(v) is list and all(n in bits for n in v) else _raise(_bad(t, v))
        case w.Variant(cases=vcases):
            table = {pascal(c.wit): (c.cls, None if c.type is None else _from_plain(c.type)) for c in vcases}

            def variant(v: Any) -> Any:
                if type(v) is str and v in table and table[v][1] is None:
                    return table[v][0]()
                if type(v) is dict and len(v) == 1:
                    ((name, payload),) = v.items()
                    entry = table.get(name)
                    if entry is not None and entry[1] is not None:
                        return entry[0](entry[1](payload))
                raise _bad(t, v)

            return variant
    raise CodecError(f"{t.wit} has no 0.x MessagePack form")


def _raise(exc: Exception) -> Any:
    raise exc
