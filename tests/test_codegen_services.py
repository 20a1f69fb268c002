"""Generated provider stubs, dispatch tables and clients, run on the in-process bus."""

from __future__ import annotations

import asyncio
import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from wit_loading import load_wit

from witgen.codegen import render_bindings
from witgen.runtime.bus import InvalidHandle, InvalidPayload, ProviderFailure, UnknownOperation
from witgen.runtime.inprocess import InProcessBus
from witgen.runtime.values import Err, Ok

ROOT = Path(__file__).resolve().parent.parent

SVC_WIT = """\
package test:svc@0.1.0;

/// Counters that live in the provider.
interface counters {
  record error { code: u32, message: string }

  /// A counter.
  resource counter {
    constructor(start: u32);
    /// Add `by`; return the new value.
    incr: func(by: u32) -> u32;
    get: func() -> u32;
    merge: static func(a: borrow<counter>, b: own<counter>) -> counter;
    try-new: static func(start: u32) -> result<counter, error>;
  }

  /// A resource with no functions of its own.
  resource token;
  issue: func(n: u32) -> token;
  redeem: func(t: own<token>) -> u32;

  total: func(cs: list<borrow<counter>>) -> u64;
  check: func(x: u32) -> result<u32, error>;
  boom: func();
  get-data: func() -> result<list<u8>, error>;
}

world server {
  export counters;
  export hello: func(name: string) -> string;
}

world caller {
  import counters;
  import hello: func(name: string) -> string;
}
"""

PROVIDER_IMPL = '''
from __future__ import annotations

import asyncio

from witgen.runtime.values import Err, Ok
from {pkg} import server
from {pkg}.counters import Error


class Counter:
    def __init__(self, value: int) -> None:
        self.value = value
        self.released = False

    def incr(self, by: int) -> int:
        self.value += by
        return self.value

    async def get(self) -> int:
        await asyncio.sleep(0)
        return self.value

    def __exit__(self, *exc: object) -> None:
        self.released = True


class Counters:
    def __init__(self) -> None:
        self.made: list[Counter] = []

    def counter_constructor(self, start: int) -> Counter:
        c = Counter(start)
        self.made.append(c)
        return c

    def counter_merge(self, a: server.CounterResource, b: server.CounterResource) -> Counter:
        assert isinstance(a, Counter) and isinstance(b, Counter)
        return Counter(a.value + b.value)

    def counter_try_new(self, start: int) -> Ok[Counter] | Err[Error]:
        if start > 100:
            return Err(Error(1, "too big"))
        return Ok(Counter(start))

    def issue(self, n: int) -> Counter:
        return Counter(n)

    def redeem(self, t: server.TokenResource) -> int:
        assert isinstance(t, Counter)
        return t.value

    def total(self, cs: list[server.CounterResource]) -> int:
        return sum(c.value for c in cs if isinstance(c, Counter))

    async def check(self, x: int) -> Ok[int] | Err[Error]:
        return Ok(x * 2) if x % 2 == 0 else Err(Error(x, "odd"))

    def boom(self) -> None:
        raise RuntimeError("kaboom")

    def get_data(self) -> Ok[bytes] | Err[Error]:
        return Ok(b"state")


class Hello:
    def hello(self, name: str) -> str:
        return f"hello {{name}}"


def make() -> tuple[server.CountersProvider, server.ServerFunctions]:
    return Counters(), Hello()
'''

WRONG_IMPL = '''
from __future__ import annotations

from svc_impl import Counters
from witgen.runtime.inprocess import InProcessBus
from {pkg} import caller, server


def use_clients(bus: InProcessBus) -> int:
    client = caller.CountersClient(bus)
    with client.counter_constructor(1) as c, client.counter_constructor(2) as d:
        return client.total([c, d]) + c.incr(1)


class BadHello:
    def hello(self, name: int) -> str:
        return str(name)


server.dispatch_table(counters=Counters(), server=BadHello())
'''


@pytest.fixture(scope="module")
def gen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, ModuleType]]]:
    root = tmp_path_factory.mktemp("svc")
    (root / "svc.wit").write_text(SVC_WIT)
    files = render_bindings(load_wit(root / "svc.wit"), inputs=["svc.wit"])
    for rel, text in files.items():
        (root / "svcgen" / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / "svcgen" / rel).write_text(text)
    (root / "svc_impl.py").write_text(PROVIDER_IMPL.format(pkg="svcgen.test_svc_v0_1_0"))
    sys.path.insert(0, str(root))
    try:
        mods = {
            name: importlib.import_module(f"svcgen.test_svc_v0_1_0.{name}")
            for name in ("counters", "server", "caller")
        }
        mods["impl"] = importlib.import_module("svc_impl")
        yield root, mods
    finally:
        sys.path.remove(str(root))


@pytest.fixture()
def wired(gen: tuple[Path, dict[str, ModuleType]]) -> Iterator[tuple[dict[str, ModuleType], Any, InProcessBus]]:
    _, mods = gen
    counters, hello = mods["impl"].make()
    bus = InProcessBus()
    with mods["server"].serve(bus, counters=counters, server=hello):
        yield mods, counters, bus.connect("caller-1")


def test_calls_and_results(wired: tuple[dict[str, ModuleType], Any, InProcessBus]) -> None:
    mods, impl, bus = wired
    client = mods["caller"].CountersClient(bus)
    assert client.get_data() == Ok(b"state")
    assert client.check(4) == Ok(8)
    err = client.check(3)
    assert isinstance(err, Err) and err.value == mods["counters"].Error(3, "odd")
    hello = mods["caller"].CallerImportsClient(bus)
    assert hello.hello("wit") == "hello wit"


def test_resources_per_caller(wired: tuple[dict[str, ModuleType], Any, InProcessBus]) -> None:
    mods, impl, bus = wired
    client = mods["caller"].CountersClient(bus)
    with client.counter_constructor(5) as c:
        assert isinstance(c, mods["caller"].CounterProxy)
        assert c.incr(2) == 7
        assert c.get() == 7  # async method on the provider, sync caller
        d = client.counter_constructor(10)
        assert client.total([c, d]) == 17
        merged = client.counter_merge(c, d)  # d is moved into the provider
        assert merged.get() == 17
        with pytest.raises(InvalidHandle):
            d.incr(1)
        ok = client.counter_try_new(3)
        assert isinstance(ok, Ok) and ok.value.get() == 3
        assert isinstance(client.counter_try_new(1000), Err)
        # another caller cannot use this caller's handle
        other = mods["caller"].CounterProxy(mods["caller"].CountersClient(bus.connect("caller-2")), c.handle)
        with pytest.raises(InvalidHandle):
            other.get()
    first = impl.made[0]
    assert first.released  # dropped by the context manager
    with pytest.raises(InvalidHandle):
        c.get()


def test_resources_without_functions(wired: tuple[dict[str, ModuleType], Any, InProcessBus]) -> None:
    mods, _, bus = wired
    client = mods["caller"].CountersClient(bus)
    token = client.issue(5)
    assert isinstance(token, mods["caller"].TokenProxy)
    assert client.redeem(token) == 5  # moved into the provider
    with pytest.raises(InvalidHandle):
        client.redeem(token)
    other = client.issue(6)
    other.drop()
    with pytest.raises(InvalidHandle):
        client.redeem(other)


def test_failures_keep_the_provider_serving(wired: tuple[dict[str, ModuleType], Any, InProcessBus]) -> None:
    mods, _, bus = wired
    client = mods["caller"].CountersClient(bus)
    with pytest.raises(ProviderFailure, match=r"failed with RuntimeError \(error id "):
        client.boom()
    with pytest.raises(InvalidPayload):
        bus.invoke("test:svc/counters@0.1.0", "check", b"\x80")
    with pytest.raises(UnknownOperation):
        bus.invoke("test:svc/counters@0.1.0", "nope", b"")
    # canonical without version, and the legacy names, reach the same entry
    assert bus.invoke("test:svc/counters", "check", b"\x02") == b"\x00\x04"
    assert bus.invoke("test:svc", "Counters.Check", b"\x02") == b"\x00\x04"
    assert bus.invoke("", "Counters.Check", b"\x02") == b"\x00\x04"
    assert client.check(2) == Ok(4)


def test_async_clients(wired: tuple[dict[str, ModuleType], Any, InProcessBus]) -> None:
    mods, _, bus = wired

    async def run() -> None:
        client = mods["caller"].CountersAsyncClient(bus)
        assert await client.check(6) == Ok(12)
        async with await client.counter_constructor(1) as c:
            assert isinstance(c, mods["caller"].CounterAsyncProxy)
            assert await c.incr(1) == 2
            assert await c.get() == 2

    asyncio.run(run())


def test_generated_services_pass_mypy_and_catch_wrong_signatures(gen: tuple[Path, dict[str, ModuleType]]) -> None:
    root, _ = gen
    (root / "svc_wrong.py").write_text(WRONG_IMPL.format(pkg="svcgen.test_svc_v0_1_0"))
    env = dict(os.environ, MYPYPATH=str(ROOT))
    cmd = [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", os.devnull]
    ok = subprocess.run([*cmd, "svcgen", "svc_impl.py"], cwd=root, env=env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout[-4000:]
    bad = subprocess.run([*cmd, "svc_wrong.py"], cwd=root, env=env, capture_output=True, text=True)
    assert bad.returncode == 1
    assert bad.stdout.count("error:") == 1, bad.stdout
    assert 'Argument "server" to "dispatch_table" has incompatible type "BadHello"' in bad.stdout


def test_async_wit_functions_become_async_defs(tmp_path: Path) -> None:
    import ast

    (tmp_path / "a.wit").write_text(
        "package test:asy;\n"
        "interface i { resource r { constructor(); tick: async func() -> u32; } f: async func(x: u32); g: func(); }\n"
        "world w { export i; import i; }\n"
    )
    text = render_bindings(load_wit(tmp_path / "a.wit"))["test_asy/w.py"]
    classes = {n.name: n for n in ast.parse(text).body if isinstance(n, ast.ClassDef)}

    def kinds(cls: str) -> dict[str, str]:
        return {f.name: type(f).__name__ for f in classes[cls].body if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))}

    assert kinds("IProvider") == {"r_constructor": "FunctionDef", "f": "AsyncFunctionDef", "g": "FunctionDef"}
    assert kinds("RResource") == {"tick": "AsyncFunctionDef"}
    assert kinds("IClient") == {"r_constructor": "FunctionDef", "f": "FunctionDef", "g": "FunctionDef"}
    assert set(kinds("IAsyncClient").values()) == {"AsyncFunctionDef"}
    assert kinds("RAsyncProxy") == {"tick": "AsyncFunctionDef"}
