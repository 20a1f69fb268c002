"""`witgen wire` on real WIT: every type and function of the corpus's root packages.

For each package root of ../shared/corpus/real, the bindings of its root package
are generated once; then for every named type (resources aside) and for every
function's parameters and result, hypothesis-drawn values go WAVE -> generated
encoder -> bytes -> generated decoder -> WAVE and must come back unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_codec_properties import strategy

from witgen import model as m
from witgen.wave.printer import to_wave
from witgen.wave.wire import Bindings, Target, Wire, load_wit

FOLDERS = [
    "wasi-http-0.2.8",
    "wasi-keyvalue-0.2.0-draft2",
    "wasmcloud-bus-1.0.0",
    "wasmcloud-bus-2.0.1",
    "wasmcloud-bus-host-2024-02",
]
SETTINGS = settings(
    max_examples=8, deadline=None, suppress_health_check=list(HealthCheck)
)


def _is_resource(resolve: m.Resolve, tid: int) -> bool:
    ty = resolve.dealias(tid)
    return isinstance(ty, int) and isinstance(resolve.types[ty].kind, m.Resource)


def _round_trip(wire: Wire, strat: st.SearchStrategy[Any], show: Any) -> None:
    @SETTINGS
    @given(strat)
    def check(value: Any) -> None:
        text = show(value)
        data = wire.encode(text)
        assert wire.decode(data) == text
        assert wire.encode(text) == data

    check()


@pytest.mark.parametrize("folder", FOLDERS)
def test_real_packages_round_trip(shared: Path, folder: str) -> None:
    resolve = load_wit(shared / "corpus" / "real" / folder)
    root = resolve.root if resolve.root is not None else len(resolve.packages) - 1
    checked = 0
    bindings: Bindings | None = None
    for iid in resolve.packages[root].interfaces.values():
        iface = resolve.interfaces[iid]
        for name, tid in iface.types.items():
            if _is_resource(resolve, tid):
                continue
            wire = Wire(
                resolve, Target("type", f"{iface.name}.{name}", iid, type=tid), bindings
            )
            bindings = wire.bindings
            _round_trip(
                wire, strategy(resolve, tid), lambda v, t=tid: to_wave(v, t, resolve)
            )
            checked += 1
        for func in iface.functions.values():
            params = Wire(
                resolve, Target("params", func.name, iid, function=func), bindings
            )
            _round_trip(
                params,
                st.tuples(*(strategy(resolve, p.type) for p in func.params)),
                lambda vs, f=func: ", ".join(
                    to_wave(v, p.type, resolve) for v, p in zip(vs, f.params)
                ),
            )
            if func.result is not None:
                result = Wire(
                    resolve, Target("result", func.name, iid, function=func), bindings
                )
                _round_trip(
                    result,
                    strategy(resolve, func.result),
                    lambda v, t=func.result: to_wave(v, t, resolve),
                )
            checked += 1
    assert checked > 0
