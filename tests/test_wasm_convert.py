"""Converters round-trip every kind wasmtime-py converts, through a real component.

`echo-<kind>` of the WebAssembly-text echoer forwards to the host's `host-echo`, so each
value is lowered (witgen -> wasmtime) for the export, lifted for the import, lowered as
the import's result and lifted as the export's result. Values come from hypothesis.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import wasm_world as ww
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wasm_fixtures import build_dir, echoer_wasm, test_wit_dir  # noqa: F401

from witgen.runtime import wit
from witgen.runtime.bus import BusError
from witgen.runtime.inprocess import InProcessBus
from witgen.runtime.values import Err, Ok, Some
from witgen.runtime.wasm import ComponentHost, ConversionError
from witgen.runtime.wasm.convert import lower

from test_wasm_host import Counters, Echo, _counters_table, _echo_table, echoer_host  # noqa: E402

INTS = {"u8": (0, 2**8 - 1), "u16": (0, 2**16 - 1), "u32": (0, 2**32 - 1), "u64": (0, 2**64 - 1),
        "s8": (-(2**7), 2**7 - 1), "s16": (-(2**15), 2**15 - 1), "s32": (-(2**31), 2**31 - 1),
        "s64": (-(2**63), 2**63 - 1)}  # fmt: skip


def values(t: wit.Type) -> st.SearchStrategy[Any]:
    """witgen values of `t` (finite floats: NaN is not equal to itself)."""
    match t:
        case wit.Prim(name="bool"):
            return st.booleans()
        case wit.Prim(name="f32"):
            return st.floats(width=32, allow_nan=False)
        case wit.Prim(name="f64"):
            return st.floats(allow_nan=False)
        case wit.Prim(name="char"):
            return st.characters(exclude_categories=("Cs",))
        case wit.Prim(name="string"):
            return st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
        case wit.Prim(name=name):
            lo, hi = INTS[name]
            return st.integers(lo, hi)
        case wit.List(element=wit.Prim(name="u8")):
            return st.binary(max_size=24)
        case wit.List(element=e):
            return st.lists(values(e), max_size=4)
        case wit.Tuple(items=items):
            return st.tuples(*(values(i) for i in items))
        case wit.Option(inner=i):
            inner = values(i).map(Some) if t.nested else values(i)
            return st.none() | inner
        case wit.Result(ok=ok, err=err):
            oks = st.just(Ok(None)) if ok is None else values(ok).map(Ok)
            errs = st.just(Err(None)) if err is None else values(err).map(Err)
            if isinstance(ok, wit.Option) and err is not None:
                return oks  # wasmtime-py cannot lower the err case: see the test below
            return oks | errs
        case wit.Record(py=cls, fields=fields):
            return st.builds(cls, *(values(f.type) for f in fields))
        case wit.Enum(members=members):
            return st.sampled_from(members)
        case wit.Flags(py=cls, names=names):
            return st.integers(0, 2 ** len(names) - 1).map(cls)
        case wit.Variant(cases=cases):
            return st.one_of(*(st.just(c.cls()) if c.type is None else values(c.type).map(c.cls) for c in cases))
    raise AssertionError(t)


@pytest.fixture(scope="module")
def hosts(echoer_wasm: Path) -> dict[str, ComponentHost]:
    lattice = InProcessBus()
    lattice.serve(_echo_table())
    lattice.serve(_counters_table())
    return {
        "provider": echoer_host(echoer_wasm, providers={ww.HOST_ECHO: Echo(), ww.COUNTERS: Counters()}),
        "bus": echoer_host(echoer_wasm, providers={}, bus=lattice.connect("actor")),
    }


@pytest.mark.parametrize("kind", list(ww.KINDS))
@pytest.mark.parametrize("route", ["provider", "bus"])
def test_every_kind_round_trips_through_a_component(hosts: dict[str, ComponentHost], route: str, kind: str) -> None:
    host = hosts[route]
    t = ww.KINDS[kind][1]

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(values(t))
    def round_trip(value: Any) -> None:
        assert host.call(ww.ECHO, f"echo-{kind}", value) == value

    round_trip()


def test_wasmtime_lowering_ambiguities_are_refused_with_a_clear_error(hosts: dict[str, ComponentHost]) -> None:
    # wasmtime-py 50 lowers an untagged result by the first case whose Python classes
    # match: `option<s64>` matches every object, so it would take an `err` point.
    t = ww.KINDS["result-option"][1]
    convert = lower(t)
    assert convert is not None
    with pytest.raises(ConversionError, match=r"as case 'ok' instead of 'err'"):
        convert(Err(ww.Point(1, 2)))
    with pytest.raises(BusError, match="echo-result-option: argument does not fit the WIT type: wasmtime-py 50 would lower"):
        hosts["provider"].call(ww.ECHO, "echo-result-option", Err(ww.Point(1, 2)))
    # `bool` is an `int` in Python: an earlier `s32` case would take it.
    mixed = wit.Variant("mixed", object, {"n": (ww.TwinLeft, wit.S32), "b": (ww.TwinRight, wit.BOOL)})
    convert = lower(mixed)
    assert convert is not None
    assert convert(ww.TwinLeft(3)) == 3
    with pytest.raises(ConversionError, match="as case 'n' instead of 'b'"):
        convert(ww.TwinRight(True))


def test_a_value_of_the_wrong_shape_fails_the_call_clearly(hosts: dict[str, ComponentHost]) -> None:
    with pytest.raises(BusError, match=r"echo-enum: argument does not fit the WIT type: 'red' is not a case of enum color"):
        hosts["provider"].call(ww.ECHO, "echo-enum", "red")
    assert hosts["provider"].call(ww.ECHO, "echo-enum", ww.Color.RED) == ww.Color.RED
