"""Faults over NATS: a provider killed during load, nats-server restarted, malformed
payloads and truncated exchanges from a raw client, a handler that raises, a slow sync
handler, 5 MB parameters and results (continued beyond max payload); and the plain
request/reply leg served beside wRPC.
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import load_support  # noqa: E402
from nats_server import NatsServer, Served, nats, nats_server_path  # noqa: E402,F401
from raw_nats import RawNats  # noqa: E402

from witgen.runtime.bus import BusError, BusTimeout, ProviderFailure, TransportError, UnknownOperation  # noqa: E402
from witgen.runtime.nats import NatsBus  # noqa: E402

INSTANCE = "test:load/echo"


@pytest.fixture(scope="module")
def loadgen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, Any]]]:
    root = load_support.build(tmp_path_factory.mktemp("faults"))
    sys.path.insert(0, str(root))
    try:
        yield root, load_support.modules()
    finally:
        sys.path.remove(str(root))


def provider_args(url: str, root: Path, prefix: str) -> tuple[str, ...]:
    return ("tests/load_support.py", "--nats", url, "--prefix", prefix, "--bindings", str(root))


@pytest.fixture(scope="module")
def provider(nats: NatsServer, loadgen: tuple[Path, dict[str, Any]]) -> Iterator[Served]:
    root, _ = loadgen
    with Served(*provider_args(nats.url, root, "t.faults")) as served:
        yield served
        assert served.stop() == 0


@pytest.fixture(scope="module")
def client(nats: NatsServer, loadgen: tuple[Path, dict[str, Any]], provider: Served) -> Iterator[Any]:
    bus = NatsBus.connect_sync(nats.url, prefix="t.faults")
    try:
        yield loadgen[1]["client"].EchoClient(bus)
    finally:
        bus.close()


def test_handler_that_raises(client: Any, provider: Served) -> None:
    with pytest.raises(ProviderFailure) as info:
        client.boom(7)
    text = str(info.value)
    assert text.startswith(f"{INSTANCE}.boom: results ended without a value")
    # The exception's text stays in the provider's log; the caller gets its id.
    assert "boom 7" not in text
    error_id = re.search(r"error id ([0-9a-f]{8})", text)
    assert error_id is not None, text
    assert client.echo(1, "still serving").text == "still serving"
    logged = [line for line in provider.log if "boom 7" in line]
    assert len(logged) == 1
    assert f"echo.boom raised (error id {error_id.group(1)}): RuntimeError: boom 7 at " in logged[0]
    assert not any(line.startswith(("Traceback", "  File")) for line in provider.log)


def test_slow_sync_handler_does_not_block_others(nats: NatsServer, loadgen: tuple[Path, dict[str, Any]], provider: Served) -> None:
    mods = loadgen[1]

    async def run() -> tuple[bool, int, list[str]]:
        bus = await NatsBus.connect(nats.url, prefix="t.faults")
        try:
            echo = mods["client"].EchoAsyncClient(bus)
            slow = asyncio.ensure_future(echo.slow(5000))
            answers = await asyncio.gather(*(echo.echo(n, f"quick {n}") for n in range(50)))
            done_early = slow.done()
            return done_early, await slow, [a.text for a in answers]
        finally:
            await bus.close_async()

    done_early, slept, texts = asyncio.run(run())
    assert not done_early  # every quick call was answered while the slow one ran
    assert slept == 5000
    assert texts == [f"quick {n}" for n in range(50)]


def test_five_megabytes_each_way(client: Any) -> None:
    data = bytes(range(256)) * (5 * 1024 * 4)  # 5 MiB, beyond the 1 MiB max payload
    assert len(data) == 5 * 1024 * 1024
    assert client.blob(data) == data


def test_malformed_and_truncated_exchanges(nats: NatsServer, client: Any, provider: Served) -> None:
    subject = f"t.faults.wrpc.0.0.1.{INSTANCE}."
    raw = RawNats(nats.url)
    try:
        raw.sub("_INBOX.raw.>", 1)
        raw.pub(subject + "echo", b"\xff\xff\xff", reply="_INBOX.raw.bad")  # not an (u64, string)
        raw.pub(subject + "nope", b"", reply="_INBOX.raw.unknown")  # unknown function
        raw.pub(subject + "echo", b"\x01\x02hi")  # no reply subject: ignored
        raw.pub(f"t.faults.rr.0.0.1.{INSTANCE}.echo", b"\x80", reply="_INBOX.raw.rr")
        got: dict[str, list[Any]] = {}
        while len(got.get("_INBOX.raw.bad.results", [])) < 1 or len(got.get("_INBOX.raw.unknown.results", [])) < 1 or "_INBOX.raw.rr" not in got:
            frame = raw.read()
            got.setdefault(frame.subject, []).append(frame)
        (bad,) = got["_INBOX.raw.bad.results"]
        assert bad.payload == b"" and b"witgen-error-kind: invalid-payload" in bad.headers
        (unknown,) = got["_INBOX.raw.unknown.results"]
        assert unknown.payload == b"" and b"witgen-error-kind: unknown-operation" in unknown.headers
        assert got["_INBOX.raw.bad"][0].reply and got["_INBOX.raw.unknown"][0].reply  # handshakes
        (rr,) = got["_INBOX.raw.rr"]
        assert rr.payload[:1] == b"\x01" and b"parameters do not decode" in rr.payload
        # truncated: an empty invocation payload whose rest never comes; a caller that
        # disappears during a slow call
        raw.pub(subject + "echo", b"", reply="_INBOX.raw.cut")
        raw.pub(subject + "slow", b"\xc8\x01", reply="_INBOX.raw.gone")  # slow(200)
        assert raw.read().subject in ("_INBOX.raw.cut", "_INBOX.raw.gone")
    finally:
        raw.close()  # gone mid-call
    # the provider goes on serving
    assert [client.echo(n, "after").n for n in range(20)] == list(range(20))
    assert provider.proc.poll() is None
    lines = list(provider.log)
    assert any("echo: parameters do not decode" in line for line in lines), lines
    assert any("nope: no such operation" in line for line in lines), lines
    assert any("without a reply subject" in line for line in lines), lines


def test_request_reply_leg(nats: NatsServer, provider: Served) -> None:
    import nats as nats_py

    async def run() -> tuple[bytes, bytes, bytes]:
        nc = await nats_py.connect(nats.url)
        try:
            base = f"t.faults.rr.0.0.1.{INSTANCE}."
            ok = await nc.request(base + "echo", b"\x05\x02hi", timeout=5)  # echo(5, "hi")
            unknown = await nc.request(base + "nope", b"", timeout=5)
            failed = await nc.request(base + "boom", b"\x07", timeout=5)
            return ok.data, unknown.data, failed.data
        finally:
            await nc.close()

    ok, unknown, failed = asyncio.run(run())
    pid = provider.proc.pid
    leb = bytearray()
    while True:
        byte, pid = pid & 0x7F, pid >> 7
        leb.append(byte | (0x80 if pid else 0))
        if not pid:
            break
    assert ok == b"\x00" + b"\x05\x02hi" + bytes(leb)  # status, then answer {n, text, replica}
    assert unknown[:1] == b"\x01" and b"no such operation" in unknown
    assert failed[:1] == b"\x01" and b"the provider failed with RuntimeError (error id " in failed
    assert b"boom 7" not in failed


def test_provider_killed_during_load(nats: NatsServer, loadgen: tuple[Path, dict[str, Any]]) -> None:
    root, mods = loadgen
    args = provider_args(nats.url, root, "t.killed")
    victim, survivor = Served(*args), Served(*args)

    async def load(calls: int, kill_after: int | None) -> list[Any]:
        bus = await NatsBus.connect(nats.url, prefix="t.killed", timeout=2.0)
        echo = mods["client"].EchoAsyncClient(bus)
        done = 0

        async def one(n: int) -> Any:
            nonlocal done
            try:
                answer = await echo.echo(n, f"r{n}")
                assert (answer.n, answer.text) == (n, f"r{n}")
                return answer.replica
            except (BusTimeout, UnknownOperation, TransportError) as exc:
                return exc
            finally:
                done += 1
                if done == kill_after:
                    victim.kill()

        sem = asyncio.Semaphore(100)

        async def bounded(n: int) -> Any:
            async with sem:
                return await one(n)

        try:
            # none hangs: every call ends within its 2 s timeout, so all end well within 60 s
            return await asyncio.wait_for(asyncio.gather(*(bounded(n) for n in range(calls))), 60)
        finally:
            await bus.close_async()

    try:
        outcomes = asyncio.run(load(3000, kill_after=500))
        errors = [o for o in outcomes if isinstance(o, BusError)]
        assert all(isinstance(e, BusTimeout) and "no result within 2 s" in str(e) for e in errors), errors[:3]
        assert {o for o in outcomes if not isinstance(o, BusError)} <= {victim.proc.pid, survivor.proc.pid}
        # a restarted provider serves again (the survivor stops, so it serves everything)
        with Served(*args) as restarted:
            assert survivor.stop() == 0
            after = asyncio.run(load(200, kill_after=None))
            assert after == [restarted.proc.pid] * 200
            assert restarted.stop() == 0
    finally:
        victim.kill() if victim.proc.poll() is None else None
        survivor.kill() if survivor.proc.poll() is None else None


def test_nats_server_restart(loadgen: tuple[Path, dict[str, Any]]) -> None:
    if nats_server_path() is None:
        pytest.skip("nats-server is not installed")
    root, mods = loadgen
    with NatsServer() as server:
        with Served(*provider_args(server.url, root, "t.restart")) as provider:
            bus = NatsBus.connect_sync(server.url, prefix="t.restart", timeout=1.0)
            try:
                echo = mods["client"].EchoClient(bus)
                assert echo.echo(1, "before").text == "before"
                server.restart()
                answer = None
                for attempt in range(60):  # provider and caller reconnect on their own
                    try:
                        answer = echo.echo(2, "after")
                        break
                    except BusError:
                        time.sleep(0.25)
                assert answer is not None and answer.text == "after"
                assert [echo.echo(n, "again").n for n in range(20)] == list(range(20))
            finally:
                bus.close()
            assert provider.stop() == 0


def test_world_function_subject(nats: NatsServer, loadgen: tuple[Path, dict[str, Any]], provider: Served) -> None:
    """A function the world exports directly: `[<prefix>.]wrpc.0.0.1.<function>`, no instance token."""
    bus = NatsBus.connect_sync(nats.url, prefix="t.faults")
    try:
        assert loadgen[1]["client"].ClientImportsClient(bus).ping(41) == 42
    finally:
        bus.close()
    raw = RawNats(nats.url)
    try:
        raw.sub("_INBOX.world.>", 1)
        raw.pub("t.faults.wrpc.0.0.1.ping", b"\x29", reply="_INBOX.world.1")  # ping(41)
        frames = [raw.read() for _ in range(3)]
    finally:
        raw.close()
    assert [(f.subject, f.payload) for f in frames] == [
        ("_INBOX.world.1", b""),
        ("_INBOX.world.1.results", b"\x2a"),
        ("_INBOX.world.1.results", b""),
    ]


def test_timeout_and_cancellation(nats: NatsServer, loadgen: tuple[Path, dict[str, Any]], provider: Served) -> None:
    mods = loadgen[1]

    async def run() -> tuple[str, int, int]:
        bus = await NatsBus.connect(nats.url, prefix="t.faults", timeout=0.5)
        try:
            echo = mods["client"].EchoAsyncClient(bus)
            with pytest.raises(BusTimeout) as info:
                await echo.slow(3000)
            cancelled = asyncio.ensure_future(echo.slow(3000))
            await asyncio.sleep(0.1)
            cancelled.cancel()
            with pytest.raises(asyncio.CancelledError):
                await cancelled
            answer = await echo.echo(3, "after")
            return str(info.value), answer.n, bus._link.caller.in_flight
        finally:
            await bus.close_async()

    text, n, left = asyncio.run(run())
    assert text == f"{INSTANCE}.slow: no result within 0.5 s"
    assert (n, left) == (3, 0)  # nothing left behind by the timeout or the cancelled call


def test_call_command_timeout(nats: NatsServer, loadgen: tuple[Path, dict[str, Any]], provider: Served, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from witgen.cli import main as witgen

    (tmp_path / "load.wit").write_text(load_support.WIT)
    r = CliRunner().invoke(
        witgen,
        ["call", "--nats", nats.url, "--prefix", "t.faults", "--wit", str(tmp_path / "load.wit"),
         "--timeout", "0.5", "test:load/echo.slow", "3000"],
    )
    assert (r.exit_code, r.output) == (1, "error: timeout: no answer from test:load/echo.slow within 0.5 s\n")
