"""Hypothesis properties of the generated codec, for every type kind.

Values are drawn from the WIT type itself (a strategy per model type), so every
named type of `tests/wire/vectors.wit` is covered, nested ones and aliases
included. Properties:
- value -> bytes -> value gives the value back (compared as canonical WAVE and
  by re-encoding: NaN has one encoding);
- WAVE text -> value -> WAVE text is stable (the printer and parser agree);
- random, truncated and extended bytes only ever raise the codec's own error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from witgen import model as m
from witgen.model import Resolve
from witgen.runtime.codec import CodecError
from witgen.wave.reader import INT_RANGES, CaseValue, Err, Ok, Some, parse_value
from witgen.wave.printer import to_wave
from witgen.wave.wire import Bindings, Wire, load_wit, select

WIT = Path(__file__).parent / "wire" / "vectors.wit"
PREFIX = "test:vectors/kinds@1.0.0."
SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@pytest.fixture(scope="module")
def resolve() -> Resolve:
    try:
        from wit_loading import load_wit as load_for_tests
    except ImportError:
        return load_wit(WIT)
    return load_for_tests(WIT)


@pytest.fixture(scope="module")
def bindings(resolve: Resolve) -> Bindings:
    return Bindings(resolve, select(resolve, "type", PREFIX + "point").interface)


def strategy(resolve: Resolve, ty: m.Type | None) -> st.SearchStrategy[Any]:
    """WAVE values of `ty` (see witgen.wave.reader for their form)."""
    if ty is None:
        return st.none()
    ty = resolve.dealias(ty)
    if isinstance(ty, str):
        if ty == "bool":
            return st.booleans()
        if ty in INT_RANGES:
            lo, hi = INT_RANGES[ty]
            return st.integers(lo, hi)
        if ty == "f32":
            return st.floats(width=32)
        if ty == "f64":
            return st.floats()
        if ty == "char":
            return st.characters(exclude_categories=("Cs",))
        if ty == "string":
            return st.text(max_size=20)
        raise AssertionError(ty)
    kind = resolve.types[ty].kind

    def rec(t: m.Type | None) -> st.SearchStrategy[Any]:
        return strategy(resolve, t)

    match kind:
        case m.Record(fields):
            return st.fixed_dictionaries({f.name: rec(f.type) for f in fields})
        case m.Variant(cases):
            return st.one_of(
                [rec(c.type).map(lambda v, n=c.name: CaseValue(n, v)) for c in cases]
            )
        case m.Enum(cases):
            return st.sampled_from([CaseValue(c.name) for c in cases])
        case m.Flags(flags):
            return st.frozensets(st.sampled_from([f.name for f in flags]))
        case m.Option(t):
            return st.none() | rec(t).map(Some)
        case m.Result(ok, err):
            return rec(ok).map(Ok) | rec(err).map(Err)
        case m.List(t):
            return st.lists(rec(t), max_size=4)
        case m.FixedList(t, n):
            return st.lists(rec(t), min_size=n, max_size=n)
        case m.Map(k, v):
            return st.dictionaries(rec(k), rec(v), max_size=3).map(
                lambda d: list(d.items())
            )
        case m.Tuple(types):
            return st.tuples(*(rec(t) for t in types))
        case m.Handle():
            return st.binary(max_size=4)
        case m.Future(t):
            return rec(t)
        case m.Stream(t):
            return st.lists(rec(t), max_size=4)
    raise AssertionError(kind)


def named_types(resolve: Resolve) -> list[str]:
    iface = next(i for i in resolve.interfaces if i.name == "kinds")
    return sorted(
        name
        for name, tid in iface.types.items()
        if not isinstance(resolve.types[tid].kind, m.Resource)
    )


TYPES = named_types(load_wit(WIT))


def codecs(
    resolve: Resolve, bindings: Bindings, name: str
) -> tuple[Wire, Any, Any, m.Type]:
    wire = Wire(resolve, select(resolve, "type", PREFIX + name), bindings)
    ty = wire.target.type
    assert isinstance(ty, int)
    codec = bindings.type_codec(ty)
    return wire, codec.encode, codec.decode, ty


@pytest.mark.parametrize("name", TYPES)
def test_round_trip(resolve: Resolve, bindings: Bindings, name: str) -> None:
    wire, encode, decode, ty = codecs(resolve, bindings, name)

    @SETTINGS
    @given(strategy(resolve, ty))
    def check(value: Any) -> None:
        py = wire.convert.to_py(value, ty)
        data = encode(py)
        back = decode(data)
        assert encode(back) == data
        assert to_wave(wire.convert.from_py(back, ty), ty, resolve) == to_wave(
            value, ty, resolve
        )

    check()


@pytest.mark.parametrize("name", TYPES)
def test_wave_text_round_trip(resolve: Resolve, name: str) -> None:
    iface = next(i for i in resolve.interfaces if i.name == "kinds")
    ty = iface.types[name]

    @SETTINGS
    @given(strategy(resolve, ty))
    def check(value: Any) -> None:
        text = to_wave(value, ty, resolve)
        assert to_wave(parse_value(text, ty, resolve), ty, resolve) == text

    check()


@pytest.mark.parametrize("name", TYPES)
def test_decoder_fuzz(resolve: Resolve, bindings: Bindings, name: str) -> None:
    wire, encode, decode, ty = codecs(resolve, bindings, name)

    @SETTINGS
    @given(st.binary(max_size=24))
    def random_bytes(data: bytes) -> None:
        try:
            decode(data)
        except CodecError:
            pass

    @SETTINGS
    @given(strategy(resolve, ty), st.data())
    def truncated_and_extended(value: Any, data: st.DataObject) -> None:
        good = encode(wire.convert.to_py(value, ty))
        if good:
            cut = data.draw(st.integers(0, len(good) - 1))
            with pytest.raises(CodecError):
                decode(good[:cut])
        extra = data.draw(st.binary(min_size=1, max_size=4))
        with pytest.raises(CodecError):
            decode(good + extra)

    random_bytes()
    truncated_and_extended()


def _function_names(resolve: Resolve) -> list[str]:
    iface = next(i for i in resolve.interfaces if i.name == "kinds")
    return sorted(f.item_name for f in iface.functions.values())


FUNCTIONS = _function_names(load_wit(WIT))


@pytest.mark.parametrize("mode", ["params", "result"])
@pytest.mark.parametrize("func_name", FUNCTIONS)
def test_call_round_trip(
    resolve: Resolve, bindings: Bindings, func_name: str, mode: str
) -> None:
    """Parameter tuples and results through the generated call codecs, as WAVE text."""
    wire = Wire(resolve, select(resolve, mode, PREFIX + func_name), bindings)  # type: ignore[arg-type]
    func = wire.target.function
    assert func is not None
    if mode == "params":
        strat = st.tuples(*(strategy(resolve, p.type) for p in func.params))
    else:
        strat = strategy(resolve, func.result)

    @SETTINGS
    @given(strat)
    def check(value: Any) -> None:
        if mode == "params":
            text = ", ".join(
                to_wave(v, p.type, resolve) for v, p in zip(value, func.params)
            )
        elif func.result is None:
            text = "()"
        else:
            text = to_wave(value, func.result, resolve)
        data = wire.encode(text)
        assert wire.decode(data) == text or mode == "params"
        assert wire.encode(wire.decode(data)) == data

    check()
