"""witgen against the wRPC project's own Go example peers over framed TCP (../shared/peers/wrpc-go).

witgen clients call the Go hello, wasi-keyvalue and resources servers; the Go hello and
wasi-keyvalue clients call witgen providers serving the same contracts. The WIT below is
written here with the peers' names and types (the resources one without the static
function `foo.foo`, which witgen rejects as WIT; it is called by its wire name).
"""

from __future__ import annotations

import asyncio
import importlib
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))
import kv_support  # noqa: E402
from tcp_support import HOST, free_port, generate, ipv6_loopback, listening, wait_until  # noqa: E402

from witgen.cli import main as witgen  # noqa: E402
from witgen.runtime.bus import BusTimeout, TransportError  # noqa: E402
from witgen.runtime.tcp import TcpBus, format_address  # noqa: E402
from witgen.runtime.values import Err, Ok  # noqa: E402

HELLO = """\
package wrpc-examples:hello;

/// The Go hello peers: one function, one string back.
interface handler {
  hello: func() -> string;
}

world greeter {
  export handler;
}

world greeted {
  import handler;
}
"""

KEYVALUE = """\
package wasi:keyvalue@0.2.0-draft2;

/// The part of the key-value store the Go wasi-keyvalue peers use.
interface store {
  variant error {
    no-such-store,
    access-denied,
    other(string),
  }

  record key-response {
    keys: list<string>,
    cursor: option<string>,
  }

  resource bucket {
    get: func(key: string) -> result<option<list<u8>>, error>;
    set: func(key: string, value: list<u8>) -> result<_, error>;
    delete: func(key: string) -> result<_, error>;
    exists: func(key: string) -> result<bool, error>;
    list-keys: func(cursor: option<string>) -> result<key-response, error>;
  }

  open: func(identifier: string) -> result<bucket, error>;
}

world kv-provider {
  export store;
}

world kv-caller {
  import store;
}
"""

RESOURCES = """\
package wrpc-examples:resources;

/// The Go resources server, less its static function `foo.foo` (called by wire name).
interface resources {
  resource foo {
    constructor();
    bar: func() -> string;
  }

  bar: func(v: borrow<foo>) -> string;
}

world res-caller {
  import resources;
}
"""

HELLO_INSTANCE = "wrpc-examples:hello/handler"
KV_INSTANCE = "wasi:keyvalue/store@0.2.0-draft2"
RES_INSTANCE = "wrpc-examples:resources/resources"


@pytest.fixture(scope="module")
def go_bin(shared: Path) -> Path:
    found = shared / "peers" / "wrpc-go" / "bin"
    if not (found / "hello-server-tcp").exists():
        pytest.skip(f"{found} holds no wRPC Go peers: the Go interoperability tests need them")
    return found


@pytest.fixture(scope="module")
def mods(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("go-tcp")
    generate(HELLO, "gohello", root)
    generate(KEYVALUE, "gokv", root)
    generate(RESOURCES, "gores", root)
    sys.path.insert(0, str(root))
    try:
        kv = "gokv.wasi_keyvalue_v0_2_0_draft2"
        yield {
            "root": root,
            "hello-server": importlib.import_module("gohello.wrpc_examples_hello.greeter"),
            "hello-client": importlib.import_module("gohello.wrpc_examples_hello.greeted"),
            "kv": {
                "store": importlib.import_module(f"{kv}.store"),
                "server": importlib.import_module(f"{kv}.kv_provider"),
                "client": importlib.import_module(f"{kv}.kv_caller"),
            },
            "res-client": importlib.import_module("gores.wrpc_examples_resources.res_caller"),
        }
    finally:
        sys.path.remove(str(root))


class GoServer:
    """One Go server binary listening on `address` (its own `WRPC_ADDR`)."""

    def __init__(self, binary: Path, host: str = HOST) -> None:
        self.port = free_port(host)
        self.address = format_address(host, self.port)
        self.proc = subprocess.Popen(
            [str(binary)],
            env=dict(os.environ, WRPC_ADDR=self.address),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.log: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        wait_until(lambda: listening(self.port) or self.proc.poll() is not None, f"{binary.name} listens")
        if self.proc.poll() is not None:
            raise RuntimeError(f"{binary.name} exited with {self.proc.returncode}: {self.log}")

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.log.append(line.rstrip("\n"))

    def __enter__(self) -> GoServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.send_signal(signal.SIGINT)  # the Go servers stop on SIGINT
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(2)


def run_go_client(binary: Path, address: str) -> subprocess.CompletedProcess[str]:
    """A Go client against `address`; they have no timeout of their own."""
    return subprocess.run(
        [str(binary)], env=dict(os.environ, WRPC_ADDR=address), capture_output=True, text=True, timeout=60
    )


# --------------------------------------------------------------------------- witgen calls Go


def test_go_hello_server(go_bin: Path, mods: dict[str, Any]) -> None:
    with GoServer(go_bin / "hello-server-tcp") as go:
        bus = TcpBus.connect_sync(go.address)
        try:
            assert mods["hello-client"].HandlerClient(bus).hello() == "hello from Go"
        finally:
            bus.close()

        async def asynchronously() -> str:
            bus = await TcpBus.connect(go.address)
            answers = await asyncio.gather(*(mods["hello-client"].HandlerAsyncClient(bus).hello() for _ in range(20)))
            return answers[0] if set(answers) == {answers[0]} else repr(answers)

        assert asyncio.run(asynchronously()) == "hello from Go"
        wit = str(mods["root"] / "gohello.wit")
        done = CliRunner().invoke(witgen, ["call", "--tcp", go.address, "--wit", wit, f"{HELLO_INSTANCE}.hello"])
        assert (done.exit_code, done.output) == (0, '"hello from Go"\n')
        wait_until(lambda: len(go.log) >= 22, "the Go server logs every call")
        assert go.log.count('level=INFO msg="handling `wrpc-examples:hello/handler.hello`"') == 22


def test_go_hello_server_over_ipv6(go_bin: Path, mods: dict[str, Any]) -> None:
    if not ipv6_loopback():
        pytest.skip("::1 cannot be bound on this machine (no IPv6 loopback)")
    with GoServer(go_bin / "hello-server-tcp", host="::1") as go:
        assert go.address.startswith("[::1]:")
        bus = TcpBus.connect_sync(go.address)
        try:
            assert mods["hello-client"].HandlerClient(bus).hello() == "hello from Go"
        finally:
            bus.close()


def test_go_keyvalue_server(go_bin: Path, mods: dict[str, Any]) -> None:
    kv = mods["kv"]
    with GoServer(go_bin / "wasi-keyvalue-tcp-server") as go:
        bus = TcpBus.connect_sync(go.address, timeout=10)
        try:
            store = kv["client"].StoreClient(bus)
            opened = store.open_("example")
            assert isinstance(opened, Ok)
            bucket = opened.value
            assert bucket.handle == b"example"  # the Go server's handle: the bucket's name
            assert bucket.set_("foo", b"bar") == Ok(None)
            assert bucket.exists("foo") == Ok(True)
            assert bucket.get("foo") == Ok(b"bar")
            assert bucket.get("nothing") == Ok(None)
            assert bucket.list_keys(None) == Ok(kv["store"].KeyResponse(["foo"], None))
            assert bucket.list_keys("next") == Err(kv["store"].ErrorOther("cursors are not supported"))
            assert bucket.delete("foo") == Ok(None)
            assert bucket.exists("foo") == Ok(False)
            # The Go server serves no `[drop]bucket`: it answers nothing and keeps the
            # connection open, so a drop ends at the caller's timeout.
            short = TcpBus.connect_sync(go.address, timeout=0.5)
            try:
                with pytest.raises(BusTimeout, match=r"\[drop\]bucket: no result within 0.5 s"):
                    kv["client"].StoreClient(short).open_("other").value.drop()
            finally:
                short.close()
        finally:
            bus.close()
        wait_until(lambda: any("[drop]bucket" in line for line in go.log), "the Go server logs the drop")
        assert any("failed to accept invocation" in line and "unknown function" in line for line in go.log)


def test_go_resources_server(go_bin: Path, mods: dict[str, Any]) -> None:
    with GoServer(go_bin / "resources-server-tcp") as go:
        bus = TcpBus.connect_sync(go.address)
        try:
            client = mods["res-client"].ResourcesClient(bus)
            foo = client.foo_constructor()
            # The Go server's handles: a UUIDv7 as text.
            assert re.fullmatch(rb"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", foo.handle)
            assert foo.bar() == "bar"
            assert client.bar(foo) == "bar"
            # The static function takes own<foo>: a handle is a list<u8> on the wire.
            handle = foo.handle
            assert bus.invoke(RES_INSTANCE, "foo.foo", bytes([len(handle)]) + handle) == b"\x03foo"
        finally:
            bus.close()


def test_go_server_never_answers_an_unknown_operation(go_bin: Path) -> None:
    with GoServer(go_bin / "hello-server-tcp") as go:
        bus = TcpBus.connect_sync(go.address, timeout=0.5)
        try:
            with pytest.raises(BusTimeout, match="no result within 0.5 s"):
                bus.invoke(HELLO_INSTANCE, "goodbye", b"")
        finally:
            bus.close()
        wait_until(lambda: any("failed to accept invocation" in line for line in go.log), "the Go server logs it")


def test_go_server_failing_a_call_closes_without_a_result(go_bin: Path) -> None:
    with GoServer(go_bin / "wasi-keyvalue-tcp-server") as go:
        bus = TcpBus.connect_sync(go.address, timeout=10)
        try:
            # a handle of 255 bytes announced, none sent: the Go handler fails reading it
            with pytest.raises(TransportError, match="closed the connection without a result"):
                bus.invoke(KV_INSTANCE, "bucket.get", b"\xff")
        finally:
            bus.close()
        wait_until(lambda: any("failed to read parameter" in line for line in go.log), "the Go server logs it")


# --------------------------------------------------------------------------- Go calls witgen


class Hello:
    def hello(self) -> str:
        return "hello from witgen"


@pytest.fixture
def provider() -> Iterator[TcpBus]:
    bus = TcpBus.connect_sync(f"{HOST}:0")
    try:
        yield bus
    finally:
        bus.close()


def test_go_hello_client(go_bin: Path, mods: dict[str, Any], provider: TcpBus) -> None:
    provider.serve(mods["hello-server"].dispatch_table(handler=Hello()))
    done = run_go_client(go_bin / "hello-client-tcp", provider.address)
    assert (done.returncode, done.stdout) == (0, f"{provider.address}: hello from witgen\n"), done.stderr


def test_go_keyvalue_client(go_bin: Path, mods: dict[str, Any], provider: TcpBus) -> None:
    """The Go client opens a bucket, then uses its handle on four more connections: the
    handle witgen minted for this anonymous caller outlives the connection it came on."""
    store = kv_support.MintedStore(mods["kv"])
    table = store.table()
    provider.serve(table)
    done = run_go_client(go_bin / "wasi-keyvalue-tcp-client", provider.address)
    assert (done.returncode, done.stdout) == (0, f"{provider.address} key: foo\n"), done.stderr
    assert store.buckets == {"example": {"foo": b"bar"}}
    assert table.handles.count("") == 1  # the Go client never drops its bucket


class Failing:
    def hello(self) -> str:
        raise RuntimeError("no greeting today")


def test_go_hello_client_sees_a_witgen_failure(go_bin: Path, mods: dict[str, Any], provider: TcpBus) -> None:
    """witgen's error frame is on a path the Go client does not know: it stops reading and
    fails the call."""
    provider.serve(mods["hello-server"].dispatch_table(handler=Failing()))
    done = run_go_client(go_bin / "hello-client-tcp", provider.address)
    assert (done.returncode, done.stdout) == (1, "")
    assert "received a frame for unknown path" in done.stderr and "failed to call" in done.stderr
    assert "no greeting today" not in done.stderr  # the exception's text stays with the provider
