"""Transports that cannot carry a `future` or a `stream` refuse it up front, naming the
function: the Wasm host (wasmtime-py 50 converts neither, in exports or imports, in
parameters or results, nested or not) and the wasmCloud 2.x bridge (a NATS message is one
plain value), before any call is made.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import wasm_world as ww
from wasm_fixtures import build_dir, stateful_wat_wasm  # noqa: F401

from witgen.bridge import BridgeError
from witgen.bridge.plan import plan
from witgen.resolver import load
from witgen.runtime import wit
from witgen.runtime.wasm import ComponentHost, UnsupportedType

CANNOT = "values cannot cross into or out of a component (wasmtime-py 50 has no conversion for them)"


@pytest.mark.parametrize(
    ("side", "func", "said"),
    [
        ("exports", wit.Func("later", {}, wit.Future(wit.STRING)), "extra.later, result: `future<string>`"),
        ("exports", wit.Func("rows", {"n": wit.U32}, wit.Tuple(wit.U8, wit.Stream(wit.U64))), "extra.rows, result: `stream<u64>`"),
        ("imports", wit.Func("feed", {"data": wit.Stream(wit.U8)}), "extra.feed, parameter data: `stream<u8>`"),
        ("imports", wit.Func("soon", {}, wit.Option(wit.Future(wit.U32))), "extra.soon, result: `future<u32>`"),
    ],
)  # fmt: skip
def test_wasm_host_refuses_async_values_naming_the_function(
    stateful_wat_wasm: Path, side: str, func: wit.Func, said: str
) -> None:
    extra = {"wamli:stateful/extra": wit.functions(func)}
    exports = {ww.STATE: ww.STATE_FUNCTIONS, **(extra if side == "exports" else {})}
    imports = extra if side == "imports" else {}
    with pytest.raises(UnsupportedType) as refused:
        ComponentHost(stateful_wat_wasm, exports=exports, imports=imports, providers={"wamli:stateful/extra": object()})
    assert str(refused.value) == f"wamli:stateful/{said} {CANNOT}"


ASYNC = """\
package test:flows;

interface flows {
  record batch { name: string, items: stream<u32> }
  bundle: func(n: u32) -> batch;
  total: func(values: list<future<u32>>) -> u64;
  plain: func(n: u32) -> u32;
}
"""


@pytest.mark.parametrize("direction", ["provide", "expose"])
@pytest.mark.parametrize(
    ("func", "what"),
    [
        ("bundle", "test:flows/flows.bundle: result holds a stream"),
        ("total", "test:flows/flows.total: parameter 'values' holds a future"),
    ],
)
def test_bridge_refuses_nested_async_values_naming_the_function(
    tmp_path: Path, direction: str, func: str, what: str
) -> None:
    other = {"bundle": "total", "total": "bundle"}[func]
    text = "\n".join(line for line in ASYNC.splitlines() if not line.strip().startswith(f"{other}:"))
    (tmp_path / "flows.wit").write_text(text)
    provide, expose = (["test:flows/flows"], []) if direction == "provide" else ([], ["test:flows/flows"])
    with pytest.raises(BridgeError) as refused:
        plan(load(tmp_path), provide, expose)
    assert str(refused.value) == f"cannot bridge {what}, which cannot cross a NATS message"
