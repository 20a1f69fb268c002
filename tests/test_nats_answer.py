"""The usual answer to a call goes out as three messages in one append, as a peer reads them:
the handshake with its header block, the result, the end of results."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import Any
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from nats_server import NatsServer, nats  # noqa: E402,F401
from raw_nats import Frame, RawNats  # noqa: E402

from witgen.runtime.dispatch import DispatchTable, Operation, nonblocking  # noqa: E402
from witgen.runtime.nats import NatsBus  # noqa: E402
from witgen.runtime.nats.client import WitgenClient, header_block, parse_headers  # noqa: E402
from witgen.runtime.nats.subjects import PARAMS_HEADER  # noqa: E402


def test_the_usual_answer_reaches_a_raw_peer_as_three_messages(nats: NatsServer) -> None:
    peer = RawNats(nats.url)
    peer.sub("call.>", 1)
    peer.ping()

    async def main() -> tuple[bool, int, int]:
        nc = WitgenClient()
        await nc.connect(servers=[nats.url])
        before = nc.stats["out_msgs"], nc.stats["out_bytes"]
        block = header_block({PARAMS_HEADER: "none"})
        sent = nc.publish_answer_now("call.7", "_INBOX.x.0", block, "call.7.results", b"\x00result bytes")
        await nc.flush()
        after = nc.stats["out_msgs"], nc.stats["out_bytes"]
        await nc.close()
        return sent, after[0] - before[0], after[1] - before[1]

    sent, messages, size = asyncio.run(main())
    try:
        got = [peer.read() for _ in range(3)]
    finally:
        peer.close()
    assert sent and messages == 3 and size == len(b"\x00result bytes")
    assert [(f.subject, f.reply, f.payload) for f in got] == [
        ("call.7", "_INBOX.x.0", b""),
        ("call.7.results", "", b"\x00result bytes"),
        ("call.7.results", "", b""),
    ]
    assert parse_headers(got[0].headers) == {PARAMS_HEADER: "none"}
    assert got[1].headers == got[2].headers == b""


def test_an_answer_without_a_header_block_is_the_go_servers_handshake(nats: NatsServer) -> None:
    peer = RawNats(nats.url)
    peer.sub("call.>", 1)
    peer.ping()

    async def main() -> bool:
        nc = WitgenClient()
        await nc.connect(servers=[nats.url])
        sent = nc.publish_answer_now("call.8", "_INBOX.y.0", b"", "call.8.results", b"\x01")
        await nc.flush()
        await nc.close()
        return bool(sent)

    assert asyncio.run(main())
    try:
        got = [peer.read() for _ in range(3)]
    finally:
        peer.close()
    assert [(f.subject, f.reply, f.payload, f.headers) for f in got] == [
        ("call.8", "_INBOX.y.0", b"", b""),
        ("call.8.results", "", b"\x01", b""),
        ("call.8.results", "", b"", b""),
    ]


def _echo_table(kind: str) -> DispatchTable:
    def echo(payload: bytes) -> bytes:
        return payload[::-1]

    async def echo_async(payload: bytes) -> bytes:
        await asyncio.sleep(0)
        return payload[::-1]

    class Impl:
        pass

    impl = Impl()
    methods = {"inline": nonblocking(echo), "worker thread": echo, "async": echo_async}
    impl.echo = methods[kind]  # type: ignore[attr-defined]
    table = DispatchTable()
    table.add_interface(
        "test:quiet/ops",
        impl,
        [Operation("echo", lambda call, payload: (payload,), lambda impl: impl.echo, lambda call, value: value)],
    )
    return table


def _tapped(nats: NatsServer, calls: Callable[[], Coroutine[Any, Any, None]]) -> list[Frame]:
    """Every message published under `quiet.` or to an inbox while `calls` runs."""
    tap = RawNats(nats.url)
    tap.sub("quiet.>", 1)
    tap.sub("_INBOX.>", 2)
    tap.pub("quiet.ready", b"")  # comes back once both subscriptions are in place
    assert tap.read().subject == "quiet.ready"
    asyncio.run(calls())
    frames: list[Frame] = []
    try:
        while True:
            frames.append(tap.read(timeout=0.5))
    except (TimeoutError, OSError):
        pass
    finally:
        tap.close()
    return frames


@pytest.mark.parametrize("kind", ["inline", "worker thread", "async"])
@pytest.mark.parametrize("timeout", [10.0, None], ids=["caller with a timeout", "caller without one"])
def test_a_witgen_caller_told_so_by_the_handshake_does_not_close_its_parameters(
    nats: NatsServer, kind: str, timeout: float | None
) -> None:
    async def calls() -> None:
        server = await NatsBus.connect(nats.url, prefix="quiet")
        await server.serve_async(_echo_table(kind))
        caller = await NatsBus.connect(nats.url, prefix="quiet", timeout=timeout)
        for i in range(3):
            assert await caller.invoke_async("test:quiet/ops", "echo", b"call %d" % i) == (b"call %d" % i)[::-1]
        await caller.close_async()
        await server.close_async()

    frames = _tapped(nats, calls)
    invocations = [f for f in frames if f.subject == "quiet.wrpc.0.0.1.test:quiet/ops.echo"]
    assert len(invocations) == 3
    replies = {f.reply for f in invocations}
    handshakes = [f for f in frames if f.subject in replies]
    results = [f for f in frames if f.subject.endswith(".results") and f.subject[: -len(".results")] in replies]
    closes = [f for f in frames if f.subject.endswith(".params")]
    assert len(handshakes) == 3 and all(f.payload == b"" for f in handshakes)
    assert sorted(f.payload for f in results if f.payload) == [b"0 llac", b"1 llac", b"2 llac"]
    assert len(results) == 6  # each result, then the end of results
    if timeout is None:
        # sent without a timeout, the call does not say it is witgen's: the handshake is the
        # Go server's, and the caller closes its parameters as wRPC's callers do
        assert all(f.headers == b"" for f in handshakes)
        assert len(closes) == 3 and all(f.payload == b"" for f in closes)
        assert {f.subject[: -len(".params")] for f in closes} == {f.reply for f in handshakes}
    else:
        assert all(parse_headers(f.headers) == {PARAMS_HEADER: "none"} for f in handshakes)
        assert closes == []  # one message a call fewer


def test_a_raw_caller_gets_the_go_servers_handshake_and_may_still_close(nats: NatsServer) -> None:
    """A wRPC caller that is not witgen's (no headers) sees no new header and closes its
    parameters as before; the server ignores the close and goes on serving."""
    raw = RawNats(nats.url)

    async def calls() -> None:
        server = await NatsBus.connect(nats.url, prefix="quiet")
        await server.serve_async(_echo_table("inline"))
        loop = asyncio.get_running_loop()
        for i in range(2):
            rc = f"_INBOX.raw{i}"
            raw.sub(rc + ".results", 10 + 2 * i)
            raw.sub(rc, 11 + 2 * i)
            raw.pub("quiet.wrpc.0.0.1.test:quiet/ops.echo", b"raw", reply=rc)
            handshake = await loop.run_in_executor(None, raw.read)
            assert (handshake.subject, handshake.payload, handshake.headers) == (rc, b"", b"")
            got = [await loop.run_in_executor(None, raw.read) for _ in range(2)]
            assert [(f.subject, f.payload) for f in got] == [(rc + ".results", b"war"), (rc + ".results", b"")]
            raw.pub(handshake.reply + ".params", b"")  # the close, as the Go client sends it
        await server.close_async()

    try:
        asyncio.run(calls())
    finally:
        raw.close()
