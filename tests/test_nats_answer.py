"""How a server answers a call, as peers read it: to a witgen caller, a call served at once
in one message (`witgen-answer: whole`); otherwise the handshake with its header block, the
result and the end of results, appended at once."""

from __future__ import annotations

import asyncio
import contextlib
import operator
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from nats_server import NatsServer, nats  # noqa: E402,F401
from raw_nats import Frame, RawNats  # noqa: E402

from witgen.runtime.dispatch import DispatchTable, Operation, nonblocking  # noqa: E402
from witgen.runtime.nats import NatsBus  # noqa: E402
from witgen.runtime.nats.client import WitgenClient, header_block, parse_headers  # noqa: E402
from witgen.runtime.errors import ProviderFailure  # noqa: E402
from witgen.runtime.nats.subjects import ANSWER_HEADER, ERROR_HEADER, PARAMS_HEADER, TIMEOUT_HEADER  # noqa: E402


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


BIG = 1536 * 1024  # beyond the test server's max payload (1 MiB)


def _echo_table(kind: str) -> DispatchTable:
    """`echo` (the payload reversed), `fail` (raises) and `grow` (a result of `BIG` bytes),
    served inline, in a worker thread or by a task (async)."""

    def echo(payload: bytes) -> bytes:
        return payload[::-1]

    def fail(payload: bytes) -> bytes:
        raise ValueError(f"no echo for {payload.decode()}")

    def grow(payload: bytes) -> bytes:
        return (payload * (BIG // len(payload) + 1))[:BIG]

    def served(method: Callable[[bytes], bytes]) -> Callable[[bytes], Any]:
        if kind == "inline":
            return nonblocking(method)
        if kind == "worker thread":
            return method

        async def run(payload: bytes) -> bytes:
            await asyncio.sleep(0)
            return method(payload)

        return run

    class Impl:
        pass

    impl = Impl()
    table = DispatchTable()
    operations = []
    for name, method in (("echo", echo), ("fail", fail), ("grow", grow)):
        setattr(impl, name, served(method))
        operations.append(
            Operation(name, lambda call, payload: (payload,), operator.attrgetter(name), lambda call, value: value)
        )
    table.add_interface("test:quiet/ops", impl, operations)
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


class _Exchanges:
    """The tapped messages of the calls to `quiet`'s `op`, by leg."""

    def __init__(self, frames: list[Frame], op: str) -> None:
        self.invocations = [f for f in frames if f.subject == f"quiet.wrpc.0.0.1.test:quiet/ops.{op}"]
        replies = {f.reply for f in self.invocations}
        self.answers = [f for f in frames if f.subject in replies]  # handshakes or whole answers
        self.results = [f for f in frames if f.subject.endswith(".results") and f.subject[: -len(".results")] in replies]
        self.closes = [f for f in frames if f.subject.endswith(".params")]


KINDS = ["inline", "worker thread", "async"]


@contextlib.asynccontextmanager
async def _calling(nats: NatsServer, kind: str, **options: Any) -> AsyncIterator[NatsBus]:
    """A witgen caller (NatsBus `options`) of `_echo_table(kind)` served under `quiet`; both
    closed at the end."""
    server = await NatsBus.connect(nats.url, prefix="quiet")
    await server.serve_async(_echo_table(kind))
    caller = await NatsBus.connect(nats.url, prefix="quiet", **options)
    try:
        yield caller
    finally:
        await caller.close_async()
        await server.close_async()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("timeout", [10.0, None], ids=["caller with a timeout", "caller without one"])
def test_a_witgen_caller_gets_the_whole_answer_in_one_message(
    nats: NatsServer, kind: str, timeout: float | None
) -> None:
    async def calls() -> None:
        async with _calling(nats, kind, timeout=timeout) as caller:
            for i in range(3):
                assert await caller.invoke_async("test:quiet/ops", "echo", b"call %d" % i) == (b"call %d" % i)[::-1]

    got = _Exchanges(_tapped(nats, calls), "echo")
    assert len(got.invocations) == 3
    assert all((parse_headers(f.headers) or {}).get(ANSWER_HEADER) == "whole" for f in got.invocations)
    assert (TIMEOUT_HEADER in (parse_headers(got.invocations[0].headers) or {})) == (timeout is not None)
    # one message a call, however the method runs: the result is the payload of the
    # handshake, which has no reply subject; no results follow, no parameters are closed
    assert sorted(f.payload for f in got.answers) == [b"0 llac", b"1 llac", b"2 llac"]
    assert all(parse_headers(f.headers) == {ANSWER_HEADER: "whole"} and f.reply == "" for f in got.answers)
    assert got.results == [] and got.closes == []


@pytest.mark.parametrize("kind", KINDS)
def test_a_failure_reaches_the_caller_with_its_reason_and_the_server_serves_on(nats: NatsServer, kind: str) -> None:
    async def calls() -> None:
        async with _calling(nats, kind) as caller:
            # the reason, not the provider's own message (that stays in its log)
            with pytest.raises(ProviderFailure, match=r"the provider failed with ValueError \(error id") as failed:
                await caller.invoke_async("test:quiet/ops", "fail", b"bad")
            assert (failed.value.instance, failed.value.function) == ("test:quiet/ops", "fail")
            assert await caller.invoke_async("test:quiet/ops", "echo", b"after") == b"retfa"

    got = _Exchanges(_tapped(nats, calls), "fail")
    assert len(got.invocations) == 1 and got.closes == []
    # one message: no value, the reason in its headers
    assert [(f.payload, f.reply) for f in got.answers] == [(b"", "")] and got.results == []
    reason = parse_headers(got.answers[0].headers) or {}
    assert reason[ANSWER_HEADER] == "whole"
    assert reason[ERROR_HEADER].startswith("the provider failed with ValueError (error id")


@pytest.mark.parametrize("kind", KINDS)
def test_a_result_beyond_the_max_payload_comes_in_chunks_after_the_handshake(nats: NatsServer, kind: str) -> None:
    async def calls() -> None:
        async with _calling(nats, kind) as caller:
            assert await caller.invoke_async("test:quiet/ops", "grow", b"0123456789") == (b"0123456789" * BIG)[:BIG]

    got = _Exchanges(_tapped(nats, calls), "grow")
    assert [(f.payload, parse_headers(f.headers)) for f in got.answers] == [(b"", {PARAMS_HEADER: "none"})]
    chunks = [f.payload for f in got.results]
    assert len(chunks) == 3 and chunks[-1] == b"" and len(b"".join(chunks)) == BIG
    assert got.closes == []


def test_a_caller_that_does_not_offer_the_whole_answer_gets_the_handshake_and_results(nats: NatsServer) -> None:
    """A witgen caller of an earlier version sends its timeout but no `witgen-answer`: the
    handshake says that no parameters are read, the result and its end follow."""
    raw = RawNats(nats.url)

    async def calls() -> None:
        server = await NatsBus.connect(nats.url, prefix="quiet")
        await server.serve_async(_echo_table("inline"))
        loop = asyncio.get_running_loop()
        rc = "_INBOX.earlier"
        raw.sub(rc + ".>", 10)
        raw.sub(rc, 11)
        raw.hpub("quiet.wrpc.0.0.1.test:quiet/ops.echo", header_block({TIMEOUT_HEADER: "5000"}), b"old", reply=rc)
        got = [await loop.run_in_executor(None, raw.read) for _ in range(3)]
        assert [(f.subject, f.payload) for f in got] == [(rc, b""), (rc + ".results", b"dlo"), (rc + ".results", b"")]
        assert parse_headers(got[0].headers) == {PARAMS_HEADER: "none"} and got[0].reply
        await server.close_async()

    try:
        asyncio.run(calls())
    finally:
        raw.close()


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
