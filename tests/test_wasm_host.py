"""Real components hosted with wasmtime: exports, imports, resources, failures, deadlines.

The components are written in WebAssembly text (`wasm_world`) and built with the real
`wasm-tools`; nothing about wasmtime is mocked.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import wasm_world as ww
from wasm_fixtures import build_dir, echoer_wasm, stateful_wat_wasm, stateless_wat_wasm, talker_wasm, test_wit_dir  # noqa: F401

from witgen.runtime import codec, wit
from witgen.runtime.bus import BusError, BusTimeout, ProviderFailure, UnknownOperation
from witgen.runtime.dispatch import Call, DispatchTable, Operation
from witgen.runtime.inprocess import InProcessBus
from witgen.runtime.values import Err, Ok
from witgen.runtime.wasm import ComponentHost, UnsupportedType

EXPECTED_METADATA = ww.Metadata(
    model_name="mobilenet-v2",
    graph_encoding="onnx",
    execution_target=ww.ExecutionTarget.CPU,
    tensor_type=ww.TensorType.F32,
    tensor_dimensions_in=[1, 3, 224, 224],
    tensor_dimensions_out=[1, 1000],
)
NO_STATE = ww.Error(404, "Not Found", "this actor holds no state")


def stateful_host(path: Path, **options: Any) -> ComponentHost:
    return ComponentHost(path, exports={ww.STATE: ww.STATE_FUNCTIONS, ww.MODEL: ww.MODEL_FUNCTIONS}, **options)


class Echo:
    """The `host-echo` provider: every `echo_<kind>` returns its argument."""

    def __init__(self) -> None:
        self.seen: list[Any] = []

    def __getattr__(self, name: str) -> Any:
        if not name.startswith("echo_"):
            raise AttributeError(name)

        def echo(v: Any) -> Any:
            self.seen.append(v)
            return v

        return echo


class Counter:
    released: list[int] = []

    def __init__(self, start: int) -> None:
        self.value = start

    def incr(self) -> int:
        self.value += 1
        return self.value

    def get(self) -> int:
        return self.value

    def __exit__(self, *exc: object) -> None:
        Counter.released.append(self.value)


class Counters:
    def counter_constructor(self, start: int) -> Counter:
        return Counter(start)


def echoer_host(path: Path, **options: Any) -> ComponentHost:
    fns = ww.echo_functions()
    options.setdefault("providers", {ww.HOST_ECHO: Echo(), ww.COUNTERS: Counters()})
    return ComponentHost(
        path,
        imports={ww.HOST_ECHO: fns, ww.COUNTERS: ww.COUNTER_FUNCTIONS},
        exports={ww.ECHO: fns, "": ww.WORLD_FUNCTIONS},
        **options,
    )


# --------------------------------------------------------------------------- exports


def test_stateful_actor_in_wat_answers_every_function(stateful_wat_wasm: Path) -> None:
    host = stateful_host(stateful_wat_wasm)
    assert host.call(ww.STATE, "get-data") == Ok(bytes(range(16)))
    assert host.call(ww.STATE, "get-metadata") == Ok(["mobilenet", "v2", "imagenet"])
    assert host.call(ww.MODEL, "get-metadata") == Ok(EXPECTED_METADATA)


def test_stateless_actor_returns_the_wit_error_value(stateless_wat_wasm: Path) -> None:
    host = stateful_host(stateless_wat_wasm)
    for instance, function in [(ww.STATE, "get-data"), (ww.STATE, "get-metadata"), (ww.MODEL, "get-metadata")]:
        assert host.call(instance, function) == Err(NO_STATE)


def test_exports_served_on_a_bus_answer_encoded_calls(stateful_wat_wasm: Path, stateless_wat_wasm: Path) -> None:
    lattice = InProcessBus()
    serving = stateful_host(stateful_wat_wasm).serve(lattice)
    provider = lattice.connect("provider")
    get_data = codec.function(ww.STATE_FUNCTIONS["get-data"])
    assert get_data.decode_result(provider.invoke(ww.STATE, "get-data", b"")) == Ok(bytes(range(16)))
    metadata = codec.function(ww.MODEL_FUNCTIONS["get-metadata"])
    assert metadata.decode_result(provider.invoke(ww.MODEL, "get-metadata", b"")) == Ok(EXPECTED_METADATA)
    # The 0.x name of the same operation reaches the component too.
    assert get_data.decode_result(provider.invoke("", "wamli:stateful/State.GetData", b"")) == Ok(bytes(range(16)))
    serving.close()
    serving = stateful_host(stateless_wat_wasm).serve(lattice)
    assert get_data.decode_result(provider.invoke(ww.STATE, "get-data", b"")) == Err(NO_STATE)
    serving.close()


def test_an_unknown_export_is_an_unknown_operation(stateful_wat_wasm: Path) -> None:
    host = stateful_host(stateful_wat_wasm)
    with pytest.raises(UnknownOperation, match="get-weights"):
        host.call(ww.STATE, "get-weights")


def test_a_world_the_component_does_not_export_fails_clearly(stateful_wat_wasm: Path) -> None:
    with pytest.raises(BusError, match="does not export function wamli:stateful/state.get-weights"):
        ComponentHost(stateful_wat_wasm, exports={ww.STATE: wit.functions(wit.Func("get-weights"))})


# --------------------------------------------------------------------------- imports and resources


def test_imports_answered_by_a_provider_object(echoer_wasm: Path) -> None:
    echo = Echo()
    host = echoer_host(echoer_wasm, providers={ww.HOST_ECHO: echo, ww.COUNTERS: Counters()})
    person = ww.Person("ada", 36, ["x"], ww.Point(1, -2), ww.Color.GREEN, ww.Perms.READ | ww.Perms.EXEC, ww.ShapeCircle(1.5))
    assert host.call(ww.ECHO, "echo-nested-record", person) == person
    assert echo.seen == [person]  # the provider received witgen's dataclass


def test_host_resources_constructor_methods_and_drop(echoer_wasm: Path) -> None:
    Counter.released.clear()
    host = echoer_host(echoer_wasm)
    assert host.call("", "count-up", 10, 3) == 13
    assert host.call("", "count-up", 0, 0) == 0
    assert Counter.released == [13, 0]  # the component dropped both counters


def _counters_table() -> DispatchTable:
    """A provider of `counters` on a bus: handles kept per caller by the table."""
    fns = ww.COUNTER_FUNCTIONS
    ctor, incr, get = (codec.function(fns[n]) for n in ("counter", "counter.incr", "counter.get"))

    def borrowed(call: Call, payload: bytes, fc: codec.FunctionCodec) -> tuple[Any, ...]:
        (handle,) = fc.decode_params(payload)
        return (call.borrow("counter", handle),)

    ops = [
        Operation("counter", lambda call, p: ctor.decode_params(p), lambda impl: Counter,
                  lambda call, obj: ctor.encode_result(ww.Counter(call.own("counter", obj)))),
        Operation("counter.incr", lambda call, p: borrowed(call, p, incr), lambda impl: Counter.incr,
                  lambda call, v: incr.encode_result(v)),
        Operation("counter.get", lambda call, p: borrowed(call, p, get), lambda impl: Counter.get,
                  lambda call, v: get.encode_result(v)),
    ]  # fmt: skip
    table = DispatchTable()
    table.add_interface(ww.COUNTERS, None, ops, resources=["counter"])
    return table


def _echo_table() -> DispatchTable:
    table = DispatchTable()
    ops = []
    for name, func in ww.echo_functions().items():
        fc = codec.function(func)
        ops.append(Operation(name, lambda call, p, fc=fc: fc.decode_params(p), lambda impl: lambda v: v,
                             lambda call, v, fc=fc: fc.encode_result(v)))  # fmt: skip
    table.add_interface(ww.HOST_ECHO, None, ops)
    return table


def test_imports_routed_through_a_bus_with_resources(echoer_wasm: Path) -> None:
    lattice = InProcessBus()
    counters = _counters_table()
    lattice.serve(counters)
    lattice.serve(_echo_table())
    actor_bus = lattice.connect("actor")
    Counter.released.clear()
    host = echoer_host(echoer_wasm, providers={}, bus=actor_bus)
    assert host.call("", "count-up", 5, 4) == 9
    assert counters.handles.count("actor") == 0  # the component's drop reached the provider
    assert Counter.released == [9]
    assert host.call(ww.ECHO, "echo-list-result", [Ok(ww.Color.BLUE), Err("no")]) == [Ok(ww.Color.BLUE), Err("no")]


def test_an_import_without_route_fails_naming_it(echoer_wasm: Path) -> None:
    host = echoer_host(echoer_wasm, providers={ww.COUNTERS: Counters()})
    with pytest.raises(UnknownOperation, match="witgen:test/host-echo.echo-u32: no route"):
        host.call(ww.ECHO, "echo-u32", 1)
    assert host.call("", "count-up", 1, 1) == 2  # instantiated again, working


# --------------------------------------------------------------------------- failures


def test_a_trap_fails_that_call_and_the_next_works(echoer_wasm: Path, caplog: pytest.LogCaptureFixture) -> None:
    host = echoer_host(echoer_wasm)
    with caplog.at_level(logging.WARNING, "witgen.runtime"):
        with pytest.raises(BusError, match=r"^trap: the component trapped: wasm `unreachable` instruction executed$"):
            host.call("", "trap")
    assert "state is lost" in caplog.text
    assert host.call("", "count-up", 1, 2) == 3


def test_a_looping_component_is_stopped_at_its_deadline(echoer_wasm: Path) -> None:
    host = echoer_host(echoer_wasm, deadline=0.2)
    with pytest.raises(BusTimeout, match="spin: the component ran past its 0.2 s deadline"):
        host.call("", "spin")
    assert host.call(ww.ECHO, "echo-string", "after") == "after"


def test_a_provider_failure_names_the_import(echoer_wasm: Path) -> None:
    class Broken(Echo):
        def echo_string(self, v: str) -> str:
            raise RuntimeError("disk on fire")

    host = echoer_host(echoer_wasm, providers={ww.HOST_ECHO: Broken(), ww.COUNTERS: Counters()})
    with pytest.raises(ProviderFailure) as failure:
        host.call(ww.ECHO, "echo-string", "x")
    assert str(failure.value) == (
        "witgen:test/echo.echo-string: import witgen:test/host-echo.echo-string: "
        "the provider raised RuntimeError: disk on fire"
    )
    assert host.call(ww.ECHO, "echo-u8", 7) == 7


def test_a_reentrant_call_is_rejected_at_once(echoer_wasm: Path) -> None:
    errors: list[BusError] = []

    class CallsBack(Echo):
        def echo_u32(self, v: int) -> int:
            try:
                host.call(ww.ECHO, "echo-u8", 1)
            except BusError as exc:
                errors.append(exc)
            return v

        def echo_u16(self, v: int) -> int:
            return int(host.call(ww.ECHO, "echo-u8", v))

    host = echoer_host(echoer_wasm, providers={ww.HOST_ECHO: CallsBack(), ww.COUNTERS: Counters()})
    assert host.call(ww.ECHO, "echo-u32", 5) == 5
    assert [str(e) for e in errors] == [
        f"{ww.ECHO}.echo-u8: re-entrant call: {echoer_wasm} is in the middle of a call and waits on one of its imports"
    ]
    with pytest.raises(BusError, match="echo-u16: .*re-entrant call"):
        host.call(ww.ECHO, "echo-u16", 5)
    assert host.call(ww.ECHO, "echo-u32", 6) == 6  # instantiated again, working


@pytest.mark.parametrize(
    ("t", "named"),
    [(wit.Future(wit.U32), "`future<u32>`"), (wit.Stream(wit.U8), "`stream<u8>`"),
     (wit.ERROR_CONTEXT, "`error-context`"), (wit.Map(wit.STRING, wit.U32), "`map<string, u32>`"),
     (wit.List(wit.Option(wit.Stream())), "`stream`")],
)  # fmt: skip
def test_kinds_wasmtime_cannot_convert_are_refused_clearly(stateful_wat_wasm: Path, t: wit.Type, named: str) -> None:
    exports = {ww.STATE: ww.STATE_FUNCTIONS, "wamli:stateful/extra": wit.functions(wit.Func("pull", {"x": t}))}
    with pytest.raises(UnsupportedType) as refused:
        ComponentHost(stateful_wat_wasm, exports=exports)
    assert str(refused.value) == (
        f"wamli:stateful/extra.pull, parameter x: {named} values cannot cross into or out of a component "
        "(wasmtime-py 50 has no conversion for them)"
    )


# --------------------------------------------------------------------------- WASI


def test_wasi_stdout_is_the_hosts_and_nothing_else_is_granted(talker_wasm: Path, capfd: pytest.CaptureFixture[str]) -> None:
    from witgen.runtime.wasm import WasiOptions

    host = ComponentHost(talker_wasm, exports={"": ww.TALKER_FUNCTIONS})
    host.call("", "say", "hello from a component\n")
    assert capfd.readouterr().out == "hello from a component\n"
    assert host.call("", "env-count") == 0  # the host's environment is not the component's
    granted = ComponentHost(talker_wasm, exports={"": ww.TALKER_FUNCTIONS}, wasi=WasiOptions(env={"A": "1", "B": "2"}))
    assert granted.call("", "env-count") == 2
