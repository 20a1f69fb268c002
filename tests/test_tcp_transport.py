"""wRPC over framed TCP between witgen peers: generated clients and providers on `TcpBus`,
the serve entry point and `witgen call` with `--tcp`, the bytes on the wire, error kinds
as over NATS, malformed frames and callers that vanish, resource handles of anonymous
callers, addresses.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))
import load_support  # noqa: E402
from tcp_support import (  # noqa: E402
    HOST,
    RawCall,
    ServedTcp,
    frame,
    generate,
    ipv6_loopback,
    preamble,
    wait_until,
)

from witgen.cli import main as witgen  # noqa: E402
from witgen.runtime.bus import (  # noqa: E402
    Bus,
    BusError,
    BusTimeout,
    InvalidHandle,
    InvalidPayload,
    ProviderFailure,
    TransportError,
    UnknownOperation,
)
from witgen.runtime.tcp import TcpBus, format_address, parse_address  # noqa: E402
from witgen.runtime.tcp.frames import ERROR_PATH, FrameError, FrameParser, decode_error  # noqa: E402

INSTANCE = "test:load/echo"

COUNTERS = """\
package test:tcp;

interface counters {
  resource counter {
    constructor(start: u32);
    incr: func() -> u32;
  }
  peek: func(c: borrow<counter>) -> u32;
}

world provider {
  export counters;
}

world caller {
  import counters;
}
"""


class Counter:
    def __init__(self, start: int) -> None:
        self.value = start

    def incr(self) -> int:
        self.value += 1
        return self.value


class Counters:
    def counter_constructor(self, start: int) -> Counter:
        return Counter(start)

    def peek(self, c: Counter) -> int:
        return c.value


@pytest.fixture(scope="module")
def mods(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = load_support.build(tmp_path_factory.mktemp("tcp-load"))
    generate(COUNTERS, "tcpcounters", root)
    sys.path.insert(0, str(root))
    try:
        found: dict[str, Any] = dict(load_support.modules())
        import importlib

        found["counters-provider"] = importlib.import_module("tcpcounters.test_tcp.provider")
        found["counters-caller"] = importlib.import_module("tcpcounters.test_tcp.caller")
        yield found
    finally:
        sys.path.remove(str(root))


@pytest.fixture(scope="module")
def server(mods: dict[str, Any]) -> Iterator[TcpBus]:
    """A provider in this process, on its own loop thread, on a free port of 127.0.0.1."""
    bus = TcpBus.connect_sync(f"{HOST}:0")
    bus.serve(mods["server"].dispatch_table(echo=load_support.Echo(mods), server=load_support.Ping()))
    bus.serve(mods["counters-provider"].dispatch_table(counters=Counters()))
    try:
        yield bus
    finally:
        bus.close()


@pytest.fixture(scope="module")
def caller(server: TcpBus) -> Iterator[TcpBus]:
    bus = TcpBus.connect_sync(server.address)
    try:
        yield bus
    finally:
        bus.close()


def still_serving(caller: TcpBus, mods: dict[str, Any]) -> None:
    assert mods["client"].EchoClient(caller).echo(7, "still serving").text == "still serving"


# --------------------------------------------------------------------------- generated bindings


def test_generated_client_and_provider(mods: dict[str, Any], caller: TcpBus) -> None:
    assert isinstance(caller, Bus) and caller.source == ""  # TCP sends no caller identity
    echo = mods["client"].EchoClient(caller)
    answer = echo.echo(2**63, "héllo")
    assert (answer.n, answer.text) == (2**63, "héllo")
    assert echo.echo_async(3, "async provider").text == "async provider"
    assert mods["client"].ClientImportsClient(caller).ping(41) == 42  # a function of the world itself
    data = bytes(range(256)) * 4096 * 5  # 5 MiB each way: one frame
    assert echo.blob(data) == data


def test_async_client_many_calls_at_once(mods: dict[str, Any], server: TcpBus) -> None:
    async def run() -> list[str]:
        bus = await TcpBus.connect(server.address)
        echo = mods["client"].EchoAsyncClient(bus)
        answers = await asyncio.gather(*(echo.echo(n, f"call {n}") for n in range(100)))
        await bus.close_async()
        return [a.text for a in answers]

    assert asyncio.run(run()) == [f"call {n}" for n in range(100)]


def test_the_bytes_on_the_wire(server: TcpBus) -> None:
    """As the wRPC Go peers: version byte and header, one root frame, a half-close; the
    answer is frames alone, the root frame, then a half-close."""
    with RawCall(HOST, server.port) as raw:
        raw.send(b"\x00\x00\x04ping" + b"\x00\x01\x29")  # world function ping(41)
        raw.shut()
        assert raw.received() == b"\x00\x01\x2a"  # the root frame [] 42, then EOF
    with RawCall(HOST, server.port) as raw:
        # a function without parameters and result would answer the empty root frame:
        # here an empty parameter frame for echo is invalid, and says so in an error frame
        raw.send(preamble(INSTANCE, "echo") + frame((), b""))
        raw.shut()
        ((path, data),) = raw.frames()
        assert path == ERROR_PATH and decode_error(data)[0] == "invalid-payload"


# --------------------------------------------------------------------------- errors


@pytest.fixture(scope="module")
def process(mods: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedTcp]:
    root = Path(mods["echo"].__file__).parents[2]
    with ServedTcp("tests/load_support.py", "--bindings", str(root)) as served:
        yield served
        assert served.stop() == 0


def test_error_kinds_as_over_nats(mods: dict[str, Any], process: ServedTcp) -> None:
    bus = TcpBus.connect_sync(process.address, timeout=10)
    try:
        echo = mods["client"].EchoClient(bus)
        with pytest.raises(ProviderFailure) as failed:
            echo.boom(7)
        text = str(failed.value)
        assert text.startswith(f"{INSTANCE}.boom: results ended without a value")
        assert "boom 7" not in text  # the exception's text stays in the provider's log
        error_id = re.search(r"error id ([0-9a-f]{8})", text)
        assert error_id is not None, text
        with pytest.raises(UnknownOperation, match="no such operation in this provider"):
            bus.invoke(INSTANCE, "nope", b"")
        with pytest.raises(InvalidPayload, match="parameters do not decode"):
            bus.invoke(INSTANCE, "echo", b"\xff\xff\xff")
        with pytest.raises(BusTimeout, match="no result within 0.2 s"):
            bus.invoke(INSTANCE, "slow", b"\xe8\x07", timeout=0.2)  # 1000 ms
        assert echo.echo(1, "after the errors").text == "after the errors"
    finally:
        bus.close()
    wait_until(lambda: any("boom 7" in line for line in process.log), "the provider logs the failure")
    logged = [line for line in process.log if "boom 7" in line]
    assert len(logged) == 1 and f"(error id {error_id.group(1)})" in logged[0]
    assert not any(line.startswith(("Traceback", "  File")) for line in process.log)


def test_witgen_call_over_tcp(mods: dict[str, Any], process: ServedTcp) -> None:
    wit = str(Path(mods["echo"].__file__).parents[2] / "load.wit")
    runner = CliRunner()
    done = runner.invoke(witgen, ["call", "--tcp", process.address, "--wit", wit, f"{INSTANCE}.echo", "5", '"hi"'])
    assert done.exit_code == 0, done.output
    assert done.output.startswith('{n: 5, text: "hi", replica: ')
    failed = runner.invoke(witgen, ["call", "--tcp", process.address, "--wit", wit, f"{INSTANCE}.boom", "1"])
    assert failed.exit_code == 1
    assert f"error: {INSTANCE}.boom: results ended without a value" in failed.output
    for args, message in [
        (["--tcp", "::1:7761"], "an IPv6 host goes in brackets"),
        (["--tcp", "127.0.0.1"], "expected HOST:PORT"),
        (["--tcp", "127.0.0.1:0"], "the port should be a number from 1 to 65535"),
        (["--tcp", process.address, "--nats", "nats://127.0.0.1:4222"], "pass one"),
        (["--tcp", process.address, "--prefix", "p"], "--prefix: for --nats only"),
    ]:
        usage = runner.invoke(witgen, ["call", *args, "--wit", wit, f"{INSTANCE}.echo", "5", '"hi"'])
        assert usage.exit_code == 2 and message in usage.output, (args, usage.output)


def test_serve_entry_point_rejects_bad_addresses(mods: dict[str, Any]) -> None:
    import subprocess

    root = str(Path(mods["echo"].__file__).parents[2])
    for args, message in [
        (["--tcp", "::1:80"], "argument --tcp: '::1:80': an IPv6 host goes in brackets"),
        (["--tcp", "127.0.0.1:x"], "the port should be a number from 0 to 65535"),
        (["--tcp", "127.0.0.1:0", "--nats", "nats://127.0.0.1:4222"], "not allowed with argument"),
        (["--tcp", "127.0.0.1:0", "--prefix", "p"], "error: --prefix is for --nats only"),
    ]:
        done = subprocess.run(
            [sys.executable, "tests/load_support.py", *args, "--bindings", root],
            cwd=Path(__file__).parent.parent,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2 and message in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr


def test_nothing_listening_and_nobody_answering() -> None:
    with socket.socket() as silent:  # accepts connections, never answers (as a Go server
        silent.bind((HOST, 0))  # does for an operation it does not serve)
        silent.listen()
        port = silent.getsockname()[1]
        bus = TcpBus.connect_sync(f"{HOST}:{port}")
        try:
            with pytest.raises(BusTimeout, match="no result within 0.3 s"):
                bus.invoke(INSTANCE, "echo", b"", timeout=0.3)
        finally:
            bus.close()
    bus = TcpBus.connect_sync(f"{HOST}:{port}")  # closed now: nothing listens
    try:
        with pytest.raises(TransportError, match=rf"cannot connect to {HOST}:{port}: Connection refused"):
            bus.invoke(INSTANCE, "echo", b"")
    finally:
        bus.close()
    with pytest.raises(TransportError, match="the bus is closed"):
        bus.invoke(INSTANCE, "echo", b"")


def test_sync_call_on_the_bus_loop_is_refused(server: TcpBus) -> None:
    async def on_loop() -> str:
        try:
            server.invoke("", "ping", b"\x01")
        except BusError as exc:
            return str(exc)
        return "answered"

    assert "would wait for itself" in asyncio.run_coroutine_threadsafe(on_loop(), server.loop).result()


# --------------------------------------------------------------------------- hostile peers


def bad_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize(
    ("sent", "logged"),
    [
        (b"\x01\x00\x00", "not a wRPC invocation: unsupported version byte 0x01"),
        (b"\x00\x0etest:load/ec", "not a wRPC invocation: the connection ended inside the invocation header"),
        (b"\x00\x80\x80\x80\x80\x10", "the instance name: 4294967296 does not fit in 32 bits"),
        (b"\x00\x80\x80\x80\x80\x80\x01", "the instance name: a LEB128 integer longer than 5 bytes"),
        (b"\x00\xff\xff\x03", "the instance name is 65535 bytes long (at most 4096)"),
        (b"\x00\x02\xff\xfe\x00", "the instance name is not UTF-8"),
    ],
)
def test_malformed_preamble(
    sent: bytes, logged: str, server: TcpBus, caller: TcpBus, mods: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "witgen.runtime")
    with RawCall(HOST, server.port) as raw:
        raw.send(sent)
        raw.shut()
        assert raw.received() == b""  # closed without an answer
    wait_until(lambda: any(logged in line for line in bad_lines(caplog)), f"a log line saying {logged!r}")
    (line,) = [line for line in bad_lines(caplog) if logged in line]
    assert re.match(rf"{HOST}:\d+: not a wRPC invocation: .*; connection closed$", line), line
    still_serving(caller, mods)


@pytest.mark.parametrize(
    ("frames", "said"),
    [
        (b"\x41" + b"\x00" * 65, "a path of 65 indices (at most 64)"),
        (b"\x00\xff\xff\xff\xff\xff\x01", "its data length: a LEB128 integer longer than 5 bytes"),
        (b"\x00\xff\xff\xff\xff\x0f", "4294967295 bytes of data (at most 67108864)"),
        (b"\x01\x03\x01\x00", "a frame for path 3, which this call does not use"),
        (b"\x02\x00\x01\x01\x00", "a frame for path 0.1, which this call does not use"),
        (b"\x00\x05\x01", "the connection ended inside a frame (3 bytes of it arrived)"),
    ],
)
def test_malformed_frames_fail_the_call(
    frames: bytes,
    said: str,
    server: TcpBus,
    caller: TcpBus,
    mods: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Malformed frames while the parameters are read: the caller gets invalid-payload,
    the provider logs the call's failure once, and serves on."""
    caplog.set_level(logging.WARNING, "witgen.runtime")
    with RawCall(HOST, server.port) as raw:
        raw.send(preamble(INSTANCE, "echo") + frames)
        raw.shut()
        answer = raw.frames()
    ((path, data),) = answer
    kind, message = decode_error(data)
    assert (path, kind) == (ERROR_PATH, "invalid-payload")
    assert message.startswith(f"malformed frames from {HOST}:") and message.endswith(said)
    wait_until(lambda: any(said in line for line in bad_lines(caplog)), "the failure is logged")
    (line,) = [line for line in bad_lines(caplog) if said in line]
    assert line.startswith(f"{INSTANCE}.echo: malformed frames from {HOST}:")
    still_serving(caller, mods)


def test_garbage_after_complete_parameters_is_logged_and_the_call_answered(
    server: TcpBus, caller: TcpBus, mods: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "witgen.runtime")
    with RawCall(HOST, server.port) as raw:
        # ping(41) in a root frame, the empty frame ending the root, then a frame on it again
        raw.send(preamble("", "ping") + frame((), b"\x29") + frame((), b"") + frame((), b"\x01"))
        raw.shut()
        assert raw.frames() == [((), b"\x2a")]
    said = "a frame for path root after it ended; the rest of the connection is ignored"
    wait_until(lambda: any(said in line for line in bad_lines(caplog)), "the garbage is logged")
    still_serving(caller, mods)


def test_callers_that_vanish_mid_call(
    server: TcpBus, caller: TcpBus, mods: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """A caller resetting its connection while a slow method runs, one closing before its
    parameters are whole, one whose own timeout ends the call: the provider finishes or
    fails those calls alone and serves on; nothing is left in flight."""
    caplog.set_level(logging.WARNING, "witgen.runtime")
    with RawCall(HOST, server.port) as raw:
        raw.send(preamble(INSTANCE, "slow") + frame((), b"\xc8\x01"))  # slow(200)
        raw.reset()
    with RawCall(HOST, server.port) as raw:
        raw.send(preamble(INSTANCE, "echo") + b"\x00\x10\x01\x02")  # 16 bytes announced, 2 sent
        raw.close()
    with pytest.raises(BusTimeout):
        caller.invoke(INSTANCE, "slow", b"\xac\x02", timeout=0.05)  # slow(300)
    wait_until(lambda: server.in_flight == 0, "every call ends")
    wait_until(
        lambda: any("the connection ended inside a frame" in line for line in bad_lines(caplog)),
        "the cut parameters are logged",
    )
    assert not [r for r in caplog.records if r.exc_info]  # one line each, no traceback
    still_serving(caller, mods)


def test_header_alone_then_silence_is_closed(mods: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    from witgen.runtime.tcp.server import TcpListener
    from witgen.runtime.wrpc import engine
    from witgen.runtime.wrpc.routes import Routes
    from witgen.runtime.wrpc.workers import Workers

    caplog.set_level(logging.WARNING, "witgen.runtime")

    async def run() -> bytes:
        listener = TcpListener(engine.Server(Routes(), Workers(1, 0)), header_timeout=0.2)
        await listener.start(HOST, 0)
        reader, writer = await asyncio.open_connection(HOST, listener.port)
        writer.write(b"\x00")  # the version byte, then nothing
        got = await reader.read()
        writer.close()
        await listener.stop(1.0)
        return got

    assert asyncio.run(run()) == b""
    assert any(re.match(rf"{HOST}:\d+: no invocation header within 0.2 s; connection closed$", line) for line in bad_lines(caplog))


# --------------------------------------------------------------------------- resources


def test_anonymous_handles_live_across_connections_and_cannot_be_guessed(
    mods: dict[str, Any], caller: TcpBus
) -> None:
    counters = mods["counters-caller"].CountersClient(caller)
    first = counters.counter_constructor(10)
    second = counters.counter_constructor(20)
    assert first.incr() == 11 and counters.peek(first) == 11  # each call its own connection
    assert counters.peek(second) == 20
    a, b = first.handle, second.handle
    assert a[:8] == b[:8] and len(a) == len(b) >= 16  # the provider replica, then the serial
    assert abs(int.from_bytes(a[8:], "little") - int.from_bytes(b[8:], "little")) > 1 << 20
    for guess in (a[:8] + (n).to_bytes(len(a) - 8, "little") for n in range(1, 5)):
        payload = bytes([len(guess)]) + guess
        with pytest.raises(InvalidHandle, match="no counter with handle"):
            caller.invoke("test:tcp/counters", "peek", payload)
    first.drop()
    with pytest.raises(InvalidHandle):
        caller.invoke("test:tcp/counters", "peek", bytes([len(a)]) + a)
    assert counters.peek(second) == 20


# --------------------------------------------------------------------------- addresses and IPv6


@pytest.mark.parametrize(
    ("text", "listen", "parsed"),
    [
        ("127.0.0.1:7761", False, ("127.0.0.1", 7761)),
        ("[::1]:7761", False, ("::1", 7761)),
        ("tcp://localhost:0", True, ("localhost", 0)),
        ("[fe80::1%lo]:1", False, ("fe80::1%lo", 1)),
    ],
)
def test_addresses(text: str, listen: bool, parsed: tuple[str, int]) -> None:
    assert parse_address(text, listen=listen) == parsed
    assert parse_address(format_address(*parsed), listen=listen) == parsed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("7761", "expected HOST:PORT"),
        (":7761", "expected HOST:PORT"),
        ("::1:7761", "an IPv6 host goes in brackets"),
        ("[::1:7761", "an IPv6 host goes in brackets"),
        ("[nope]:7761", "'nope' is not an IPv6 address"),
        ("host name:1", "'host name' is not a host name"),
        ("h:0", "the port should be a number from 1 to 65535"),
        ("h:65536", "the port should be a number from 1 to 65535"),
        ("h:-1", "the port should be a number from 1 to 65535"),
    ],
)
def test_bad_addresses(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_address(text)


def test_a_bus_on_a_bad_address() -> None:
    with pytest.raises(TransportError, match=re.escape("'::1:7761': an IPv6 host goes in brackets")):
        TcpBus("::1:7761")


def test_ipv6_loopback(mods: dict[str, Any]) -> None:
    if not ipv6_loopback():
        pytest.skip("::1 cannot be bound on this machine (no IPv6 loopback)")
    server = TcpBus.connect_sync("[::1]:0")
    try:
        server.serve(mods["server"].dispatch_table(echo=load_support.Echo(mods), server=load_support.Ping()))
        assert server.address.startswith("[::1]:")
        client = TcpBus.connect_sync(server.address)
        try:
            assert mods["client"].EchoClient(client).echo(1, "over ::1").text == "over ::1"
        finally:
            client.close()
    finally:
        server.close()


# --------------------------------------------------------------------------- the frame parser


def test_frames_split_anywhere_parse_the_same() -> None:
    stream = preamble("wrpc-examples:streams/handler", "echo") + b"".join(
        frame(path, data) for path, data in [((), b"\x00\x00"), ((0, 1), b"\x01"), ((0, 1), b"f"), ((0, 0), b"\x01" * 300)]
    )
    whole = FrameParser(header=True, max_data=1024)
    assert whole.feed(stream) == []  # the header; the frames come with the next feed
    expected = whole.feed(b"")
    for size in (1, 2, 3, 7):
        parser = FrameParser(header=True, max_data=1024)
        got = []
        for at in range(0, len(stream), size):
            got += parser.feed(stream[at : at + size])
        parser.finish()
        assert got == expected and parser.header == ("wrpc-examples:streams/handler", "echo")
    assert [p for p, _ in expected] == [(), (0, 1), (0, 1), (0, 0)]
    with pytest.raises(FrameError, match="the connection ended before the invocation header"):
        FrameParser(header=True, max_data=1).finish()
