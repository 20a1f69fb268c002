"""The runtime on its own: dispatch tables, the in-process bus, resource handles.

The tables here are written by hand over the codec primitives, the way generated
tables are, for a small interface `test:calc/calc@1.2.0`:

    divide: func(a: s32, b: s32) -> result<s32, string>;
    echo: func(s: string) -> string;
    boom: func();
    nap: func(ms: u32) -> u32;            // async implementation
    resource counter {
      constructor(start: u32);
      incr: func(by: u32) -> u32;
      merge: static func(a: own<counter>, b: borrow<counter>) -> counter;
    }

plus a world-level function `ping: func() -> string`. Expected bytes come from
wire-format.md, section 1, not from the code under test.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from witgen.runtime import primitives as codec
from witgen.runtime import wit
from witgen.runtime.bus import (
    Bus,
    BusError,
    BusTimeout,
    Client,
    InvalidHandle,
    InvalidPayload,
    ProviderFailure,
    UnknownOperation,
)
from witgen.runtime.dispatch import Call, DispatchTable, Operation, legacy_names, pascal
from witgen.runtime.inprocess import InProcessBus
from witgen.runtime.resources import ResourceProxy, decode_handle, encode_handle
from witgen.runtime.values import Err, Handle, Ok

CALC = "test:calc/calc@1.2.0"


# --------------------------------------------------------------------------- the provider


class Counter:
    live = 0
    closed: list[int] = []

    def __init__(self, start: int) -> None:
        self.value = start
        Counter.live += 1

    def incr(self, by: int) -> int:
        self.value += by
        return self.value

    def __enter__(self) -> Counter:
        return self

    def __exit__(self, *exc: object) -> None:
        Counter.live -= 1
        Counter.closed.append(self.value)


class Calc:
    def __init__(self) -> None:
        self.calls = 0

    def divide(self, a: int, b: int) -> Ok[int] | Err[str]:
        self.calls += 1
        if b == 0:
            return Err("division by zero")
        return Ok(a // b)

    def echo(self, s: str) -> str:
        return s

    def boom(self) -> None:
        raise RuntimeError("the provider broke")

    async def nap(self, ms: int) -> int:
        await asyncio.sleep(ms / 1000)
        return ms

    def counter(self, start: int) -> Counter:
        return Counter(start)

    @staticmethod
    def merge(a: Counter, b: Counter) -> Counter:
        return Counter(a.value + b.value)


class Handles(Handle):
    """The generated handle class of `counter` (values.Handle subclass)."""


def _params(data: bytes, *readers: Any) -> tuple[Any, ...]:
    out = []
    pos = 0
    for read in readers:
        value, pos = read(data, pos)
        out.append(value)
    if pos != len(data):
        raise codec.CodecError("trailing bytes")
    return tuple(out)


def _enc_result_s32_string(call: Call, v: Ok[int] | Err[str]) -> bytes:
    buf = bytearray()
    if isinstance(v, Ok):
        buf.append(0)
        codec.write_s32(buf, v.value)
    else:
        buf.append(1)
        codec.write_string(buf, v.value)
    return bytes(buf)


def _enc_u32(call: Call, v: int) -> bytes:
    buf = bytearray()
    codec.write_u32(buf, v)
    return bytes(buf)


def _enc_string(call: Call, v: str) -> bytes:
    buf = bytearray()
    codec.write_string(buf, v)
    return bytes(buf)


def _enc_none(call: Call, v: None) -> bytes:
    return b""


def _enc_own_counter(call: Call, v: Counter) -> bytes:
    buf = bytearray()
    codec.write_bytes(buf, call.own("counter", v))
    return bytes(buf)


def _incr(self: Counter, by: int) -> int:
    return self.incr(by)


OPS = [
    Operation(
        "divide",
        lambda call, p: _params(p, codec.read_s32, codec.read_s32),
        lambda impl: impl.divide,
        _enc_result_s32_string,
    ),
    Operation("echo", lambda call, p: _params(p, codec.read_string), lambda impl: impl.echo, _enc_string),
    Operation("boom", lambda call, p: _params(p), lambda impl: impl.boom, _enc_none),
    Operation("nap", lambda call, p: _params(p, codec.read_u32), lambda impl: impl.nap, _enc_u32),
    Operation(
        "counter",
        lambda call, p: _params(p, codec.read_u32),
        lambda impl: impl.counter,
        _enc_own_counter,
    ),
    Operation(
        "counter.incr",
        lambda call, p: (
            lambda h, by: (call.borrow("counter", Handles(h)), by)
        )(*_params(p, codec.read_bytes, codec.read_u32)),
        lambda impl: _incr,
        _enc_u32,
    ),
    Operation(
        "counter.merge",
        lambda call, p: (
            lambda a, b: (call.take("counter", a), call.borrow("counter", b))
        )(*_params(p, codec.read_bytes, codec.read_bytes)),
        lambda impl: impl.merge,
        _enc_own_counter,
    ),
]

PING = Operation("ping", lambda call, p: _params(p), lambda impl: impl.ping, _enc_string)


class World:
    def ping(self) -> str:
        return "pong"


def make_table(calc: Calc | None = None) -> DispatchTable:
    table = DispatchTable()
    table.add_interface(CALC, calc or Calc(), OPS, resources=["counter"])
    table.add_functions(World(), [PING])
    return table


def s32s(*values: int) -> bytes:
    buf = bytearray()
    for v in values:
        codec.write_s32(buf, v)
    return bytes(buf)


def u32(v: int) -> bytes:
    buf = bytearray()
    codec.write_u32(buf, v)
    return bytes(buf)


@pytest.fixture
def bus() -> InProcessBus:
    lattice = InProcessBus()
    lattice.serve(make_table())
    return lattice


@pytest.fixture(autouse=True)
def _reset_counters() -> None:
    Counter.live = 0
    Counter.closed = []


# --------------------------------------------------------------------------- names


def test_legacy_names_follow_the_0x_convention() -> None:
    assert pascal("get-data") == "GetData"
    assert legacy_names("ollama:llm/llm", "chat") == ("ollama:llm/Llm.Chat", "Llm.Chat")
    assert legacy_names("wamli:stateful/state@0.1.0", "get-data") == (
        "wamli:stateful/State.GetData",
        "State.GetData",
    )
    # resource members and world-level functions have no legacy name
    assert legacy_names(CALC, "counter.incr") == ()
    assert legacy_names("", "ping") == ()


# --------------------------------------------------------------------------- addressing


@pytest.mark.parametrize(
    ("instance", "function"),
    [
        (CALC, "divide"),
        ("test:calc/calc", "divide"),
        ("", "test:calc/Calc.Divide"),
        ("test:calc", "Calc.Divide"),
        ("", "Calc.Divide"),
    ],
)
def test_one_table_answers_canonical_and_legacy_names(
    bus: InProcessBus, instance: str, function: str
) -> None:
    # 7 / 2 -> ok(3): `00 03`; the parameters are the tuple (s32 7, s32 2) = `07 02`
    assert bus.invoke(instance, function, b"\x07\x02") == b"\x00\x03"
    table = make_table()
    assert table.dispatch(instance, function, b"\x07\x02") == b"\x00\x03"


def test_another_version_is_unknown(bus: InProcessBus) -> None:
    with pytest.raises(UnknownOperation, match=r"test:calc/calc@2\.0\.0"):
        bus.invoke("test:calc/calc@2.0.0", "divide", b"\x07\x02")


def test_world_level_functions_use_the_empty_instance(bus: InProcessBus) -> None:
    assert bus.invoke("", "ping", b"") == b"\x04pong"


def test_application_errors_travel_as_the_result_error(bus: InProcessBus) -> None:
    assert bus.invoke(CALC, "divide", s32s(-9, 2)) == b"\x00" + s32s(-5)
    assert bus.invoke(CALC, "divide", s32s(1, 0)) == b"\x01\x10division by zero"


# --------------------------------------------------------------------------- failures keep the provider serving


def test_unknown_operation_then_still_serving(bus: InProcessBus) -> None:
    with pytest.raises(UnknownOperation) as info:
        bus.invoke(CALC, "multiply", b"")
    assert info.value.instance == CALC and info.value.function == "multiply"
    assert "multiply" in str(info.value)
    with pytest.raises(UnknownOperation):
        bus.invoke("nobody:home/iface", "divide", b"\x07\x02")
    assert bus.invoke(CALC, "divide", b"\x07\x02") == b"\x00\x03"


@pytest.mark.parametrize(
    "payload",
    [b"", b"\x07", b"\x07\x02\x00", b"\xff\xff\xff\xff\xff\xff\x02", b"\x80"],
    ids=["empty", "truncated", "trailing", "overlong-leb", "unterminated-leb"],
)
def test_garbage_parameters_then_still_serving(bus: InProcessBus, payload: bytes) -> None:
    with pytest.raises(InvalidPayload, match="parameters do not decode"):
        bus.invoke(CALC, "divide", payload)
    assert bus.invoke(CALC, "divide", b"\x07\x02") == b"\x00\x03"


def test_invalid_utf8_is_garbage(bus: InProcessBus) -> None:
    with pytest.raises(InvalidPayload):
        bus.invoke(CALC, "echo", b"\x02\xc3\x28")
    assert bus.invoke(CALC, "echo", b"\x02hi") == b"\x02hi"


def test_raising_implementation_then_still_serving(bus: InProcessBus, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(ProviderFailure, match=r"the provider failed with RuntimeError \(error id [0-9a-f]{8};") as info:
        bus.invoke(CALC, "boom", b"")
    # The exception's text goes to the provider's log under the id the caller got.
    assert "the provider broke" not in str(info.value)
    error_id = str(info.value).split("error id ")[1][:8]
    logged = [r for r in caplog.records if error_id in r.getMessage()]
    assert len(logged) == 1 and logged[0].exc_info and "the provider broke" in str(logged[0].exc_info[1])
    assert bus.invoke(CALC, "echo", b"\x02hi") == b"\x02hi"


def test_unencodable_return_value_is_a_provider_failure() -> None:
    class Wrong(Calc):
        def echo(self, s: str) -> str:
            return 42  # type: ignore[return-value]

    table = DispatchTable()
    table.add_interface(CALC, Wrong(), OPS, resources=["counter"])
    with pytest.raises(ProviderFailure, match="does not encode"):
        table.dispatch(CALC, "echo", b"\x00")
    assert table.dispatch(CALC, "divide", b"\x07\x02") == b"\x00\x03"


def test_errors_are_bus_errors_with_a_message(bus: InProcessBus) -> None:
    for args in [(CALC, "nope", b""), (CALC, "divide", b""), (CALC, "boom", b"")]:
        with pytest.raises(BusError) as info:
            bus.invoke(*args)
        assert info.value.message and info.value.function == args[1]


def test_duplicate_registrations_are_refused() -> None:
    table = make_table()
    with pytest.raises(ValueError, match="already"):
        table.add_interface(CALC, Calc(), OPS)
    lattice = InProcessBus()
    lattice.serve(table)
    with pytest.raises(ValueError, match="already"):
        lattice.serve(make_table())
    with pytest.raises(ValueError, match="already"):
        lattice.serve(table)


# --------------------------------------------------------------------------- sync and async


def test_async_implementation_called_synchronously(bus: InProcessBus) -> None:
    assert bus.invoke(CALC, "nap", u32(1)) == u32(1)


def test_sync_and_async_implementations_from_asyncio(bus: InProcessBus) -> None:
    async def main() -> list[bytes]:
        return list(
            await asyncio.gather(
                bus.invoke_async(CALC, "nap", u32(2)),
                bus.invoke_async(CALC, "divide", b"\x07\x02"),
                bus.invoke_async("", "Calc.Echo", b"\x01x"),
            )
        )

    assert asyncio.run(main()) == [u32(2), b"\x00\x03", b"\x01x"]


def test_async_failures_are_reported_from_asyncio(bus: InProcessBus) -> None:
    async def main() -> None:
        with pytest.raises(ProviderFailure):
            await bus.invoke_async(CALC, "boom", b"")
        with pytest.raises(InvalidPayload):
            await bus.invoke_async(CALC, "nap", b"")
        with pytest.raises(UnknownOperation):
            await bus.invoke_async(CALC, "nope", b"")

    asyncio.run(main())


def test_async_provider_raising_is_a_provider_failure() -> None:
    class Broken(Calc):
        async def nap(self, ms: int) -> int:
            raise KeyError("no nap")

    table = DispatchTable()
    table.add_interface(CALC, Broken(), OPS)
    with pytest.raises(ProviderFailure, match="KeyError"):
        table.dispatch(CALC, "nap", u32(1))
    with pytest.raises(ProviderFailure, match="KeyError"):
        asyncio.run(table.dispatch_async(CALC, "nap", u32(1)))


def test_timeouts_end_with_bus_timeout(bus: InProcessBus) -> None:
    with pytest.raises(BusTimeout):
        bus.invoke(CALC, "nap", u32(60_000), timeout=0.05)

    async def main() -> None:
        with pytest.raises(BusTimeout):
            await bus.invoke_async(CALC, "nap", u32(60_000), timeout=0.05)

    asyncio.run(main())
    assert bus.invoke(CALC, "nap", u32(0)) == u32(0)


def test_threads_share_one_bus(bus: InProcessBus) -> None:
    results: list[bytes] = []

    def worker(n: int) -> None:
        for i in range(200):
            results.append(bus.invoke(CALC, "divide", s32s(n * i, 1)))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == sorted(b"\x00" + s32s(n * i) for n in range(4) for i in range(200))


# --------------------------------------------------------------------------- resources


def _handle(result: bytes) -> bytes:
    return decode_handle(result)


def test_resources_live_per_caller_until_dropped() -> None:
    lattice = InProcessBus()
    table = make_table()
    lattice.serve(table)
    alice, bob = lattice.connect("alice"), lattice.connect("bob")

    h = _handle(alice.invoke(CALC, "counter", u32(10)))
    assert alice.invoke(CALC, "counter.incr", encode_handle(h) + u32(5)) == u32(15)
    assert table.handles.count("alice") == 1 and Counter.live == 1

    # bob cannot reach alice's counter, even with the same bytes
    with pytest.raises(InvalidHandle, match="bob"):
        bob.invoke(CALC, "counter.incr", encode_handle(h) + u32(1))
    with pytest.raises(InvalidHandle):
        bob.invoke(CALC, "[drop]counter", encode_handle(h))

    assert alice.invoke(CALC, "[drop]counter", encode_handle(h)) == b""
    assert Counter.live == 0 and Counter.closed == [15]
    with pytest.raises(InvalidHandle):
        alice.invoke(CALC, "counter.incr", encode_handle(h) + u32(1))
    with pytest.raises(InvalidHandle):
        alice.invoke(CALC, "[drop]counter", encode_handle(h))
    assert alice.invoke(CALC, "divide", b"\x07\x02") == b"\x00\x03"


def test_own_parameters_move_and_borrow_parameters_stay() -> None:
    lattice = InProcessBus()
    table = make_table()
    lattice.serve(table)
    a = _handle(lattice.invoke(CALC, "counter", u32(1)))
    b = _handle(lattice.invoke(CALC, "counter", u32(2)))
    c = _handle(lattice.invoke(CALC, "counter.merge", encode_handle(a) + encode_handle(b)))
    assert table.handles.count("") == 2  # a moved into the provider's code; b and c remain
    assert lattice.invoke(CALC, "counter.incr", encode_handle(c) + u32(0)) == u32(3)
    with pytest.raises(InvalidHandle):
        lattice.invoke(CALC, "counter.incr", encode_handle(a) + u32(0))


def test_garbage_handles_are_errors_not_crashes(bus: InProcessBus) -> None:
    for payload in [b"", b"\x08", b"\x02ab\x00", b"\x80\x80\x80\x80\x80\x80"]:
        with pytest.raises(BusError):
            bus.invoke(CALC, "[drop]counter", payload)
    with pytest.raises(InvalidHandle):
        bus.invoke(CALC, "counter.incr", encode_handle(b"\x00" * 8) + u32(1))


def test_a_caller_going_away_releases_its_resources() -> None:
    lattice = InProcessBus()
    table = make_table()
    serving = lattice.serve(table)
    alice = lattice.connect("alice")
    for start in (1, 2, 3):
        alice.invoke(CALC, "counter", u32(start))
    lattice.invoke(CALC, "counter", u32(4))
    assert alice.release() == 3
    assert Counter.live == 1 and sorted(Counter.closed) == [1, 2, 3]
    serving.close()
    assert Counter.live == 0
    with pytest.raises(UnknownOperation):
        lattice.invoke(CALC, "divide", b"\x07\x02")


# --------------------------------------------------------------------------- client side


@wit.resource("counter")
class CounterHandle(Handle):
    __slots__ = ()


CALC_FUNCTIONS = wit.functions(
    wit.Func("divide", {"a": wit.S32, "b": wit.S32}, wit.Result(wit.S32, wit.STRING)),
    wit.Func("counter", {"start": wit.U32}, wit.Own(CounterHandle), kind="constructor"),
    wit.Func("counter.incr", {"self": wit.Borrow(CounterHandle), "by": wit.U32}, wit.U32, kind="method"),
    wit.Func("ping", {}, wit.U32),
)


class CounterProxy(ResourceProxy):
    RESOURCE = "counter"

    def incr(self, by: int) -> int:
        return int(self._call("counter.incr", by))


class CalcClient(Client):
    """What a generated client looks like."""

    INSTANCE = CALC
    FUNCTIONS = CALC_FUNCTIONS
    PROXIES = {CounterHandle: CounterProxy}

    def divide(self, a: int, b: int) -> Ok[int] | Err[str]:
        result: Ok[int] | Err[str] = self._call("divide", a, b)
        return result

    def counter(self, start: int) -> CounterProxy:
        result: CounterProxy = self._call("counter", start)
        return result

    async def divide_async(self, a: int, b: int) -> Ok[int] | Err[str]:
        result: Ok[int] | Err[str] = await self._call_async("divide", a, b)
        return result


def test_the_in_process_bus_is_a_bus() -> None:
    assert isinstance(InProcessBus(), Bus)
    assert InProcessBus("me").connect("you").source == "you"


def test_client_and_proxy_round_trip() -> None:
    lattice = InProcessBus()
    table = make_table()
    lattice.serve(table)
    client = CalcClient(lattice.connect("actor"))
    assert client.divide(7, 2) == Ok(3)
    assert client.divide(7, 0) == Err("division by zero")
    assert asyncio.run(client.divide_async(9, 3)) == Ok(3)
    with client.counter(5) as counter:
        assert counter.incr(2) == 7
        assert table.handles.count("actor") == 1
    assert counter.dropped and table.handles.count("actor") == 0 and Counter.closed == [7]
    with pytest.raises(InvalidHandle):
        counter.incr(1)
    counter.drop()  # idempotent

    async def use_async() -> None:
        async with client.counter(1) as c2:
            assert c2.incr(1) == 2

    asyncio.run(use_async())
    assert table.handles.count("actor") == 0


def test_client_reports_undecodable_results() -> None:
    lattice = InProcessBus()
    lattice.serve(make_table())
    client = CalcClient(lattice, instance="")
    with pytest.raises(InvalidPayload, match="undecodable result"):
        client._call("ping")


def test_buffers_are_copied_into_bytes(bus: InProcessBus) -> None:
    assert bus.invoke(CALC, "echo", memoryview(b"\x02hi")) == b"\x02hi"  # type: ignore[arg-type]
    assert asyncio.run(bus.invoke_async(CALC, "echo", bytearray(b"\x02hi"))) == b"\x02hi"


def test_a_sync_call_inside_an_async_provider_is_refused_not_deadlocked() -> None:
    lattice = InProcessBus()

    class Nested(Calc):
        async def nap(self, ms: int) -> int:
            # a sync call to another async operation, from the dispatch loop thread
            return int.from_bytes(lattice.invoke(CALC, "nap", u32(0)), "little") + 1

    table = DispatchTable()
    table.add_interface(CALC, Nested(), OPS)
    lattice.serve(table)
    with pytest.raises(ProviderFailure, match="invoke_async"):
        lattice.invoke(CALC, "nap", u32(5))
    assert lattice.invoke(CALC, "echo", b"\x01a") == b"\x01a"


def test_a_plain_function_returning_an_awaitable_is_awaited() -> None:
    impl = Calc()
    ops = [Operation("nap", OPS[3].decode, lambda i: (lambda ms: i.nap(ms)), _enc_u32)]
    table = DispatchTable()
    table.add_interface(CALC, impl, ops)
    assert table.dispatch(CALC, "nap", u32(3)) == u32(3)
    assert asyncio.run(table.dispatch_async(CALC, "nap", u32(4))) == u32(4)
