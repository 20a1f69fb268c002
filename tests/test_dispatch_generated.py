"""Generated dispatch tables and clients on the runtime: addressing, failures, resources.

The WIT below is generated with witgen's own front end and generator into a
temporary package; a provider implements the generated stubs (resources
included) and the generated clients call it over the in-process bus.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from witgen.runtime.bus import InvalidHandle, InvalidPayload, ProviderFailure, UnknownOperation
from witgen.runtime.dispatch import DispatchTable
from witgen.runtime.inprocess import InProcessBus
from witgen.runtime.values import Err, Ok

WIT = """
package test:gen@1.2.0;

interface calc {
  /// A counter that lives in the provider.
  resource counter {
    constructor(start: u32);
    incr: func(by: u32) -> u32;
    merge: static func(a: own<counter>, b: borrow<counter>) -> counter;
  }
  divide: func(a: s32, b: s32) -> result<s32, string>;
  boom: func();
  peek: func(c: borrow<counter>) -> u32;
}

world server {
  export calc;
  export ping: func() -> string;
}

world client {
  import calc;
  import ping: func() -> string;
}
"""

INSTANCE = "test:gen/calc@1.2.0"


@pytest.fixture(scope="module")
def gen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The generated package `gen_rt` (its `test_gen_v1_2_0` sub-package)."""
    from witgen.codegen import render_bindings
    from witgen.resolver import load

    root = tmp_path_factory.mktemp("gen")
    (root / "wit").mkdir()
    (root / "wit" / "calc.wit").write_text(WIT)
    files = render_bindings(load(root / "wit"), inputs=("wit/calc.wit",))
    for rel, text in files.items():
        path = root / "gen_rt" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    sys.path.insert(0, str(root))
    try:
        importlib.import_module("gen_rt.test_gen_v1_2_0.server")
        importlib.import_module("gen_rt.test_gen_v1_2_0.client")
        yield importlib.import_module("gen_rt.test_gen_v1_2_0")
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m == "gen_rt" or m.startswith("gen_rt.")]:
            del sys.modules[name]


class Counter:
    released: list[int] = []

    def __init__(self, value: int) -> None:
        self.value = value

    def incr(self, by: int) -> int:
        self.value += by
        return self.value

    def __enter__(self) -> Counter:
        return self

    def __exit__(self, *exc: object) -> None:
        Counter.released.append(self.value)


class AsyncCounter(Counter):
    async def incr(self, by: int) -> int:  # type: ignore[override]
        await asyncio.sleep(0)
        return super().incr(by)


class Calc:
    counter_class: type[Counter] = Counter

    def counter_constructor(self, start: int) -> Counter:
        return self.counter_class(start)

    def counter_merge(self, a: Counter, b: Counter) -> Counter:
        return self.counter_class(a.value + b.value)

    def divide(self, a: int, b: int) -> Ok[int] | Err[str]:
        return Err("division by zero") if b == 0 else Ok(a // b)

    def boom(self) -> None:
        raise ZeroDivisionError("boom")

    def peek(self, c: Counter) -> int:
        return c.value


class AsyncCalc(Calc):
    counter_class = AsyncCounter

    async def divide(self, a: int, b: int) -> Ok[int] | Err[str]:  # type: ignore[override]
        await asyncio.sleep(0)
        return super().divide(a, b)


class World:
    def ping(self) -> str:
        return "pong"


@pytest.fixture(params=[Calc, AsyncCalc], ids=["sync-provider", "async-provider"])
def table(request: pytest.FixtureRequest, gen: ModuleType) -> DispatchTable:
    Counter.released = []
    result: DispatchTable = gen.server.dispatch_table(calc=request.param(), server=World())
    return result


@pytest.fixture
def lattice(table: DispatchTable) -> InProcessBus:
    bus = InProcessBus()
    bus.serve(table)
    return bus


def test_clients_reach_every_function(gen: ModuleType, lattice: InProcessBus) -> None:
    calc = gen.client.CalcClient(lattice.connect("a"))
    assert calc.divide(9, 2) == Ok(4)
    assert calc.divide(9, 0) == Err("division by zero")
    assert gen.client.ClientImportsClient(lattice).ping() == "pong"
    with pytest.raises(ProviderFailure, match=r"failed with ZeroDivisionError \(error id "):
        calc.boom()
    assert calc.divide(8, 2) == Ok(4)  # still serving


def test_async_clients(gen: ModuleType, lattice: InProcessBus) -> None:
    async def main() -> list[Any]:
        calc = gen.client.CalcAsyncClient(lattice.connect("a"))
        out: list[Any] = [await calc.divide(9, 3), await calc.divide(1, 0)]
        async with await calc.counter_constructor(5) as c:
            out.append(await c.incr(2))
            out.append(await calc.peek(c))
        with pytest.raises(ProviderFailure):
            await calc.boom()
        return out

    assert asyncio.run(main()) == [Ok(3), Err("division by zero"), 7, 7]
    assert Counter.released == [7]


def test_one_generated_table_answers_canonical_and_legacy_names(
    gen: ModuleType, lattice: InProcessBus
) -> None:
    # divide(7, 2): the parameter tuple is `07 02`; ok(3) is `00 03`
    for instance, function in [
        (INSTANCE, "divide"),
        ("test:gen/calc", "divide"),
        ("", "test:gen/Calc.Divide"),
        ("test:gen", "Calc.Divide"),
        ("", "Calc.Divide"),
    ]:
        assert lattice.invoke(instance, function, b"\x07\x02") == b"\x00\x03", (instance, function)
    with pytest.raises(UnknownOperation):
        lattice.invoke("test:gen/calc@1.3.0", "divide", b"\x07\x02")
    with pytest.raises(InvalidPayload):
        lattice.invoke(INSTANCE, "divide", b"\x07")
    with pytest.raises(InvalidPayload):
        lattice.invoke(INSTANCE, "divide", b"\x07\x02\x02")
    assert lattice.invoke(INSTANCE, "divide", b"\x07\x02") == b"\x00\x03"


def test_resources_through_generated_proxies(
    gen: ModuleType, table: DispatchTable, lattice: InProcessBus
) -> None:
    alice = gen.client.CalcClient(lattice.connect("alice"))
    bob = gen.client.CalcClient(lattice.connect("bob"))
    with alice.counter_constructor(10) as c:
        assert c.incr(5) == 15
        assert alice.peek(c) == 15
        # bob holds no handle with these bytes
        with pytest.raises(InvalidHandle):
            bob.peek(c)
        assert table.handles.count("alice") == 1 and table.handles.count("bob") == 0
    assert Counter.released == [15] and table.handles.count("alice") == 0
    with pytest.raises(InvalidHandle):
        c.incr(1)

    a, b = alice.counter_constructor(1), alice.counter_constructor(2)
    merged = alice.counter_merge(a, b)  # `a` is own: it moves into the provider's code
    assert alice.peek(merged) == 3 and alice.peek(b) == 2
    with pytest.raises(InvalidHandle):
        alice.peek(a)
    assert table.handles.count("alice") == 2
    assert lattice.connect("alice").release() == 2
    assert sorted(Counter.released) == [2, 3, 15]


def test_drop_of_an_unknown_handle_is_an_error(gen: ModuleType, lattice: InProcessBus) -> None:
    with pytest.raises(InvalidHandle):
        lattice.invoke(INSTANCE, "[drop]counter", b"\x08" + bytes(8))
    with pytest.raises(InvalidPayload):
        lattice.invoke(INSTANCE, "[drop]counter", b"\x08\x01")
    assert lattice.invoke(INSTANCE, "divide", b"\x07\x02") == b"\x00\x03"
