"""Per-call cost of hosting a real component with witgen, against its floors, in one run.

    .venv/bin/python benchmarks/wasm.py [--calls N]

Actors written in WebAssembly text (tests/wasm_world.py), whose guest cost is a few
instructions, so that the host's cost shows:

1. export: `wamli:stateful/state.get-data` (-> `result<list<u8>, error>`), called
   a. through the generated host (`ActorHost(...).state.get_data()`, the `host` part),
   b. on the in-process bus without Wasm (a Python actor object behind the generated
      dispatch table, called with the generated client),
   c. by hand on wasmtime-py (the floor): the `Func` called directly, the same `Ok`/`Err`
      and dataclasses built from wasmtime's value by hand.
2. import: `witgen:test/echo.echo-record` (a `point` record) which the guest forwards to
   its import `host-echo.echo-record`, answered by a provider object:
   a. through the generated host (`EchoerHost(..., host_echo=provider).echo.echo_record(p)`),
   b. on the in-process bus without Wasm (the provider behind a dispatch table, called
      with the generated client),
   c. by hand on wasmtime-py: the import defined with `add_func` converting wasmtime's
      `Record` to the same dataclass and back, calling the same provider object.

Target: witgen (a) within 1.2x of the hand-written floor (c). The variants take turns
call by call, N calls each; each figure is the median (and the 10th percentile) of the
single-call times.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import wasm_build  # noqa: E402
import wasm_world as ww  # noqa: E402
import wasmtime  # noqa: E402
from wasmtime.component import Linker, Record, ResourceHost, ResourceType  # noqa: E402

from witgen.codegen import PARTS, render_bindings  # noqa: E402
from witgen.resolver import load as load_wit  # noqa: E402
from witgen.runtime import codec  # noqa: E402
from witgen.runtime.dispatch import DispatchTable, Operation  # noqa: E402
from witgen.runtime.inprocess import InProcessBus  # noqa: E402
from witgen.runtime.values import Err, Ok  # noqa: E402
from witgen.runtime.wasm import engine_for, load  # noqa: E402


class State:
    """The actor's `state` as a Python object (the in-process variant)."""

    def get_data(self) -> Ok[bytes] | Err[ww.Error]:
        return Ok(bytes(range(16)))

    def get_metadata(self) -> Ok[list[str]] | Err[ww.Error]:
        return Ok(["mobilenet", "v2", "imagenet"])


class Model:
    """The actor's `model` (served beside `state`, not measured)."""

    def get_metadata(self) -> Err[ww.Error]:
        return Err(ww.Error(404, "Not Found", "no model"))


class Provider:
    """The `host-echo` provider: the one method measured, and the rest for instantiation."""

    def echo_record(self, v: Any) -> Any:
        return v

    def __getattr__(self, name: str) -> Any:
        return lambda v: v


def table(instance: str, impl: object, funcs: dict[str, Any]) -> DispatchTable:
    ops = []
    for name, func in funcs.items():
        fc = codec.function(func)
        attr = name.replace("-", "_")
        ops.append(Operation(name, lambda call, p, fc=fc: fc.decode_params(p), lambda i, a=attr: getattr(i, a),
                             lambda call, v, fc=fc: fc.encode_result(v)))  # fmt: skip
    t = DispatchTable()
    t.add_interface(instance, impl, ops)
    return t


def hand_export(path: Path) -> Callable[[], Any]:
    """`get-data` written by hand on wasmtime-py."""
    engine = engine_for()
    linker = Linker(engine)
    linker.add_wasip2()
    store = wasmtime.Store(engine)
    store.set_wasi(wasmtime.WasiConfig())
    store.set_epoch_deadline(1000)
    instance = linker.instantiate(store, load(engine, path))
    func = instance.get_func(store, instance.get_export_index(store, "get-data", instance.get_export_index(store, ww.STATE)))
    assert func is not None

    def call() -> Ok[bytes] | Err[ww.Error]:
        store.set_epoch_deadline(1000)
        r = func(store)
        func.post_return(store)
        if type(r) is bytes:
            return Ok(r)
        d = r.__dict__
        return Err(ww.Error(d["status-code"], d["status"], d["error"]))

    return call


def hand_import(path: Path, provider: Provider, point_cls: Any) -> Callable[[Any], Any]:
    """`echo-record` and its import written by hand on wasmtime-py."""
    engine = engine_for()
    linker = Linker(engine)
    linker.add_wasip2()

    def echo_record(store: Any, r: Record) -> Record:
        d = r.__dict__
        p = provider.echo_record(point_cls(d["x"], d["y"]))
        out = Record()
        out.__dict__ = {"x": p.x, "y": p.y}
        return out

    with linker.root() as root:
        with root.add_instance(ww.HOST_ECHO) as echo:
            for name in ww.echo_functions():
                echo.add_func(name, echo_record if name == "echo-record" else (lambda store, v: v))
        with root.add_instance(ww.COUNTERS) as counters:
            counters.add_resource("counter", ResourceType.host(1), lambda store, rep: None)
            counters.add_func("[constructor]counter", lambda store, start: ResourceHost.own(1, 1))
            counters.add_func("[method]counter.incr", lambda store, c: 0)
            counters.add_func("[method]counter.get", lambda store, c: 0)
    store = wasmtime.Store(engine)
    store.set_wasi(wasmtime.WasiConfig())
    store.set_epoch_deadline(1000)
    instance = linker.instantiate(store, load(engine, path))
    func = instance.get_func(store, instance.get_export_index(store, "echo-record", instance.get_export_index(store, ww.ECHO)))
    assert func is not None

    def call(p: Any) -> Any:
        store.set_epoch_deadline(1000)
        arg = Record()
        arg.__dict__ = {"x": p.x, "y": p.y}
        r = func(store, arg)
        func.post_return(store)
        d = r.__dict__
        return point_cls(d["x"], d["y"])

    return call


def measure(variants: dict[str, Callable[[], Any]], calls: int) -> dict[str, list[float]]:
    """Microseconds of each call of each variant, the variants taking turns call by call
    (so that load elsewhere on the machine falls on all of them alike)."""
    times: dict[str, list[float]] = {k: [] for k in variants}
    for fn in variants.values():
        for _ in range(200):
            fn()
    clock = time.perf_counter_ns
    for _ in range(calls):
        for name, fn in variants.items():
            start = clock()
            fn()
            times[name].append((clock() - start) / 1000)
    return times


def report(title: str, results: dict[str, list[float]]) -> None:
    """Median and 10th percentile per variant, as ratios to the hand-written floor's."""
    def stats(us: list[float]) -> tuple[float, float]:
        ordered = sorted(us)
        return statistics.median(ordered), ordered[len(ordered) // 10]

    floor_median, floor_p10 = stats(results["hand-written wasmtime-py"])
    print(title)
    for name, us in results.items():
        median, p10 = stats(us)
        print(
            f"  {name:26s} median {median:7.1f} us ({median / floor_median:4.2f}x)"
            f"   p10 {p10:7.1f} us ({p10 / floor_p10:4.2f}x the hand-written floor)"
        )


def generated(wit_dir: Path, folder: Path, package: str) -> None:
    """The bindings of `wit_dir` with every part (the host included) as package `package`."""
    files = render_bindings(load_wit(wit_dir), parts=PARTS)
    for rel, text in files.items():
        path = folder / package / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="witgen-bench-wasm-"))
    wit_dir = folder / "wit"
    wit_dir.mkdir(parents=True, exist_ok=True)
    (wit_dir / "test.wit").write_text(ww.test_wit())
    stateful_wit = ROOT / "samples" / "stateful" / "wit"
    stateful = wasm_build.wat_component(ww.stateful_wat(ww.SAMPLE_STATE), stateful_wit, "actor", folder)
    echoer = wasm_build.wat_component(ww.echoer_wat(), wit_dir, "echoer", folder)
    generated(stateful_wit, folder, "bench_stateful")
    generated(wit_dir, folder, "bench_echo")
    sys.path.insert(0, str(folder))
    actor = importlib.import_module("bench_stateful.wamli_stateful.actor")
    provider_world = importlib.import_module("bench_stateful.wamli_stateful.provider")
    echo_world = importlib.import_module("bench_echo.witgen_test.echoer")
    point_cls = importlib.import_module("bench_echo.witgen_test.types").Point

    host = actor.ActorHost(stateful)
    lattice = InProcessBus()
    lattice.serve(actor.dispatch_table(state=State(), model=Model()))
    client = provider_world.StateClient(lattice.connect("caller"))
    hand = hand_export(stateful)
    expected = Ok(bytes(range(16)))
    assert host.state.get_data() == client.get_data() == hand() == expected
    report(
        "export: wamli:stateful/state.get-data -> result<list<u8>, error>",
        measure(
            {
                "generated host (wasm)": host.state.get_data,
                "in-process bus (no wasm)": client.get_data,
                "hand-written wasmtime-py": hand,
            },
            args.calls,
        ),
    )

    provider = Provider()
    echo_host = echo_world.EchoerHost(echoer, host_echo=provider, counters=provider)
    fns = ww.echo_functions()
    lattice.serve(table(ww.HOST_ECHO, provider, {"echo-record": fns["echo-record"]}))
    echo_client = echo_world.HostEchoClient(lattice.connect("caller"))
    hand_echo = hand_import(echoer, provider, point_cls)
    point = point_cls(3, -4)
    assert echo_host.echo.echo_record(point) == hand_echo(point) == echo_client.echo_record(point) == point
    report(
        "import: witgen:test/echo.echo-record(point), forwarded by the guest to a provider object",
        measure(
            {
                "generated host (wasm)": lambda: echo_host.echo.echo_record(point),
                "in-process bus (no wasm)": lambda: echo_client.echo_record(point),
                "hand-written wasmtime-py": lambda: hand_echo(point),
            },
            args.calls,
        ),
    )


if __name__ == "__main__":
    main()
