"""witgen against the wRPC project's own Go `streams` peers (../shared/peers/wrpc-go).

`echo(r: req) -> tuple<stream<u64>, stream<u8>>` returns the two streams it receives, so
each item comes back as it arrives. witgen clients call the Go servers, the Go clients
call witgen providers, over framed TCP (wRPC HEAD) and NATS (the last wRPC commit with
NATS). The WIT below is written here with the peers' names and types.

What the Go peers do that the specification does not say (wrpc-async-trace.md): a status
byte before each stream, `00 00` at the end of a `stream<u64>`, chunks split across
frames (messages), and over TCP no half-close while streams run.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from nats_server import NatsServer, nats  # noqa: E402,F401
from tcp_support import HOST, generate  # noqa: E402
from test_wrpc_go_tcp import GoServer  # noqa: E402

from witgen.runtime import values  # noqa: E402
from witgen.runtime.tcp import TcpBus  # noqa: E402

STREAMS = """\
package wrpc-examples:streams;

/// The Go streams peers: two streams in, the same two streams back.
interface handler {
  record req {
    numbers: stream<u64>,
    bytes: stream<u8>,
  }

  echo: func(r: req) -> tuple<stream<u64>, stream<u8>>;
}

world echoer {
  export handler;
}

world echoed {
  import handler;
}
"""
TEXT = b"foo bar baz"


@pytest.fixture(scope="module")
def go_bin(shared: Path) -> Path:
    found = shared / "peers" / "wrpc-go" / "bin"
    if not (found / "streams-server-tcp").exists():
        pytest.skip(f"{found} holds no wRPC Go peers: the Go interoperability tests need them")
    return found


@pytest.fixture(scope="module")
def mods(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("go-streams")
    generate(STREAMS, "gostreams", root)
    sys.path.insert(0, str(root))
    try:
        base = "gostreams.wrpc_examples_streams"
        yield {
            "handler": importlib.import_module(f"{base}.handler"),
            "server": importlib.import_module(f"{base}.echoer"),
            "client": importlib.import_module(f"{base}.echoed"),
        }
    finally:
        sys.path.remove(str(root))


class Echo:
    """What the Go server does: the incoming streams are the result."""

    def __init__(self) -> None:
        self.calls = 0

    def echo(self, r: Any) -> tuple[values.Stream[int], values.Stream[bytes]]:
        self.calls += 1
        return (r.numbers, r.bytes_)


async def lockstep(client: Any, handler: Any) -> tuple[list[int], bytes]:
    """Call echo, sending each item only once the previous one came back: the items
    flow while the call runs (nothing waits for a stream's end)."""
    echoed = asyncio.Queue[object]()

    async def numbers() -> AsyncIterator[int]:
        for n in range(1, 11):
            yield n
            assert await asyncio.wait_for(echoed.get(), 20) == n

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(TEXT), 4):
            yield TEXT[i : i + 4]

    back_numbers, back_bytes = await client.echo(handler.Req(values.Stream(numbers()), values.Stream(chunks())))

    async def read_numbers() -> list[int]:
        got = []
        async for n in back_numbers:
            got.append(n)
            echoed.put_nowait(n)
        return got

    async def read_bytes() -> bytes:
        return b"".join([c async for c in back_bytes])

    got_numbers, got_bytes = await asyncio.wait_for(asyncio.gather(read_numbers(), read_bytes()), 30)
    return got_numbers, got_bytes


def check_go_client_output(out: str, tag: str) -> None:
    """The Go client prints each chunk of the two result streams as it arrives."""
    numbers = [int(n) for n in re.findall(rf"^{re.escape(tag)} numbers: \[([\d ]+)\]$", out, re.M) for n in n.split()]
    chunks = re.findall(rf"^{re.escape(tag)} bytes: (.*)$", out, re.M)
    assert numbers == list(range(1, 11)), out
    assert "".join(chunks).encode() == TEXT, out


# --------------------------------------------------------------------------- TCP


def test_witgen_client_against_go_tcp_server(go_bin: Path, mods: dict[str, Any]) -> None:
    with GoServer(go_bin / "streams-server-tcp") as go:

        async def go_call() -> tuple[list[int], bytes]:
            bus = await TcpBus.connect(go.address)
            try:
                return await lockstep(mods["client"].HandlerAsyncClient(bus), mods["handler"])
            finally:
                await bus.close_async(1)

        assert asyncio.run(go_call()) == (list(range(1, 11)), TEXT)

        # The sync client, lists as sources (sent in chunks of several items).
        bus = TcpBus.connect_sync(go.address)
        try:
            req = mods["handler"].Req(values.Stream(list(range(100))), values.Stream([b"ab", b"cd"]))
            numbers, data = mods["client"].HandlerClient(bus).echo(req)
            assert list(numbers) == list(range(100))
            assert b"".join(data) == b"abcd"
        finally:
            bus.close()
    assert "handling `wrpc-examples:streams/handler.echo`" in "\n".join(go.log)


def test_go_tcp_client_against_witgen_provider(go_bin: Path, mods: dict[str, Any]) -> None:
    echo = Echo()
    bus = TcpBus.connect_sync(f"{HOST}:0")
    try:
        bus.serve(mods["server"].dispatch_table(handler=echo))
        done = subprocess.run(
            [str(go_bin / "streams-client-tcp")],
            env=dict(os.environ, WRPC_ADDR=bus.address),
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        bus.close(2)
    assert done.returncode == 0, done.stderr
    assert "error" not in done.stderr.lower(), done.stderr  # stream errors are only logged there
    check_go_client_output(done.stdout, bus.address)
    assert echo.calls == 1


# --------------------------------------------------------------------------- NATS


def go_nats(binary: Path, url: str, prefix: str, **popen: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(binary)],
        env=dict(os.environ, NATS_URL=url, WRPC_PREFIX=prefix),
        text=True,
        **popen,
    )


def test_witgen_client_against_go_nats_server(go_bin: Path, mods: dict[str, Any], nats: NatsServer) -> None:
    from witgen.runtime.nats import NatsBus

    server = go_nats(go_bin / "streams-server-nats", nats.url, "gostreams", stderr=subprocess.PIPE)
    try:
        assert server.stderr is not None

        async def go_call() -> tuple[list[int], bytes]:
            bus = await NatsBus.connect(nats.url, prefix="gostreams")
            try:
                client = mods["client"].HandlerAsyncClient(bus)
                for _ in range(200):  # until the Go server subscribed
                    try:
                        return await lockstep(client, mods["handler"])
                    except Exception as exc:
                        if "no responders" not in str(exc):
                            raise
                        await asyncio.sleep(0.05)
                raise AssertionError("the Go NATS server never subscribed")
            finally:
                await bus.close_async(1)

        assert asyncio.run(go_call()) == (list(range(1, 11)), TEXT)
    finally:
        server.send_signal(2)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_go_nats_client_against_witgen_provider(go_bin: Path, mods: dict[str, Any], nats: NatsServer) -> None:
    from witgen.runtime.nats import NatsBus

    echo = Echo()
    bus = NatsBus.connect_sync(nats.url, prefix="witgenstreams")
    try:
        bus.serve(mods["server"].dispatch_table(handler=echo))
        done = subprocess.run(
            [str(go_bin / "streams-client-nats"), "witgenstreams"],
            env=dict(os.environ, NATS_URL=nats.url),
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        bus.close(2)
    assert done.returncode == 0, done.stderr
    assert "error" not in done.stderr.lower(), done.stderr
    check_go_client_output(done.stdout, "witgenstreams")
    assert echo.calls == 1
