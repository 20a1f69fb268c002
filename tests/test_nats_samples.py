"""Both samples across processes over wRPC on NATS, and `witgen call`.

Each provider or actor runs as its own process (`python -m samples... --nats URL
--prefix P`, the runtime's serve entry point) against a real nats-server on
127.0.0.1; the callers use the generated clients on a `NatsBus`, or `witgen call`.
Resources are exercised on the generated wasi:keyvalue bindings.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import kv_support  # noqa: E402
from nats_server import NatsServer, Served, nats  # noqa: E402,F401

from samples.ollama import actor as ollama_actor  # noqa: E402
from samples.ollama.bindings.ollama_llm.llm import ChatRequest, Message, ShowRequest  # noqa: E402
from samples.stateful import provider as stateful_provider  # noqa: E402
from witgen.cli import main as witgen  # noqa: E402
from witgen.runtime.bus import InvalidHandle  # noqa: E402
from witgen.runtime.nats import NatsBus  # noqa: E402
from witgen.runtime.values import Err, Ok  # noqa: E402

OLLAMA_WIT = str(ROOT / "samples" / "ollama" / "wit")
STATEFUL_WIT = str(ROOT / "samples" / "stateful" / "wit")


@pytest.fixture(scope="module")
def lattice(nats: NatsServer) -> Iterator[tuple[str, NatsBus]]:
    procs = [
        Served("-m", "samples.ollama.provider", "--nats", nats.url, "--prefix", "t.ollama"),
        Served("-m", "samples.stateful.actor", "--nats", nats.url, "--prefix", "t.stateful"),
        Served("-m", "samples.stateful.actor", "--nats", nats.url, "--prefix", "t.empty", "--no-state"),
    ]
    bus = NatsBus.connect_sync(nats.url, source="test-caller")
    try:
        yield nats.url, bus
    finally:
        bus.close()
        codes = [p.stop() for p in procs]
        assert codes == [0, 0, 0]  # drained and exited cleanly on SIGTERM


def test_ollama_every_function(lattice: tuple[str, NatsBus]) -> None:
    _, bus = lattice
    llm = ollama_actor.LlmClient(bus.endpoint(prefix="t.ollama"))
    listed = llm.list_()
    assert isinstance(listed, Ok) and [m.name for m in listed.value.models] == ["echo:latest", "reverse:latest"]
    shown = llm.show(ShowRequest(name="reverse:latest"))
    assert isinstance(shown, Ok) and shown.value.details.family == "reverse"
    missing = llm.show(ShowRequest(name="nope"))
    assert isinstance(missing, Err) and missing.value.status_code == 404
    assert ollama_actor.ask(llm, "reverse:latest", "abc") == "cba"
    assert ollama_actor.ask(llm, "nope", "abc") == "error 404 (404 Not Found): model 'nope' not found"
    empty = llm.chat(ChatRequest("echo:latest", [Message("system", "only a system message")]))
    assert isinstance(empty, Err) and empty.value.status_code == 400


def test_ollama_from_asyncio(lattice: tuple[str, NatsBus]) -> None:
    import asyncio

    _, bus = lattice

    async def main() -> list[str]:
        # a bus connected on this loop, and the sync bus's endpoint used from another loop
        own = await NatsBus.connect(bus.url, prefix="t.ollama")
        try:
            clients = [ollama_actor.LlmAsyncClient(own), ollama_actor.LlmAsyncClient(bus.endpoint(prefix="t.ollama"))]
            return await asyncio.gather(
                *(ollama_actor.ask_async(c, "echo:latest", f"q{i}") for i in range(20) for c in clients)
            )
        finally:
            await own.close_async()

    assert asyncio.run(main()) == [f"q{i}" for i in range(20) for _ in range(2)]


def test_stateful_both_paths(lattice: tuple[str, NatsBus]) -> None:
    _, bus = lattice
    pulled = stateful_provider.pull(bus.endpoint(prefix="t.stateful"))
    assert isinstance(pulled, Ok)
    assert pulled.value.data == bytes(range(16))
    assert pulled.value.labels == ("mobilenet", "v2", "imagenet")
    assert pulled.value.metadata.tensor_dimensions_out == [1, 1000]
    empty = stateful_provider.pull(bus.endpoint(prefix="t.empty"))
    assert isinstance(empty, Err) and empty.value.status_code == 404


def test_legacy_name_over_nats(lattice: tuple[str, NatsBus]) -> None:
    _, bus = lattice
    ok = bus.endpoint(prefix="t.ollama").invoke("", "ollama:llm/Llm.List", b"")
    assert ok[:1] == b"\x00" and b"echo:latest" in ok


# --------------------------------------------------------------------------- witgen call


def call(url: str, *args: str) -> Any:
    return CliRunner().invoke(witgen, ["call", "--nats", url, *args])


def test_call_every_function(lattice: tuple[str, NatsBus]) -> None:
    url, _ = lattice
    ollama = ["--prefix", "t.ollama", "--wit", OLLAMA_WIT]
    r = call(url, *ollama, "ollama:llm/llm.chat", '{model: "reverse:latest", messages: [{role: "user", content: "abc"}]}')
    assert r.exit_code == 0 and 'content: "cba"' in r.output and r.output.startswith("ok(")
    r = call(url, *ollama, "ollama:llm/llm.chat", '{model: "x", messages: []}')
    assert r.exit_code == 0 and r.output.startswith("err({status-code: 404")  # an err result is a result
    r = call(url, *ollama, "llm.show", '{name: "echo:latest"}')
    assert r.exit_code == 0 and 'family: "echo"' in r.output
    r = call(url, *ollama, "ollama:llm/llm.list")
    assert r.exit_code == 0 and r.output.count("name:") == 2
    stateful = ["--prefix", "t.stateful", "--wit", STATEFUL_WIT]
    r = call(url, *stateful, "wamli:stateful/state.get-data")
    assert (r.exit_code, r.output) == (0, "ok([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15])\n")
    r = call(url, *stateful, "wamli:stateful/state.get-metadata")
    assert (r.exit_code, r.output) == (0, 'ok(["mobilenet", "v2", "imagenet"])\n')
    r = call(url, *stateful, "wamli:stateful/model.get-metadata")
    assert r.exit_code == 0 and "tensor-type: f32" in r.output.lower()
    r = call(url, "--prefix", "t.empty", "--wit", STATEFUL_WIT, "wamli:stateful/state.get-data")
    assert r.exit_code == 0 and r.output.startswith("err({status-code: 404")


def test_call_errors(lattice: tuple[str, NatsBus]) -> None:
    url, _ = lattice
    ollama = ["--prefix", "t.ollama", "--wit", OLLAMA_WIT]
    r = call(url, *ollama, "ollama:llm/llm.list", "1")
    assert r.exit_code == 2 and "takes 0 argument(s)" in r.output
    r = call(url, *ollama, "ollama:llm/llm.show", "{name: 1}")
    assert r.exit_code == 1 and "<arg 1>:1:" in r.output and "Traceback" not in r.output
    r = call(url, "--prefix", "nobody", "--wit", OLLAMA_WIT, "ollama:llm/llm.list")
    assert r.exit_code == 1 and "no responders" in r.output
    r = call("nats://127.0.0.1:1", "--wit", OLLAMA_WIT, "ollama:llm/llm.list")
    assert r.exit_code == 1 and "cannot connect" in r.output and r.output.count("\n") == 1


def test_call_as_a_process(lattice: tuple[str, NatsBus]) -> None:
    url, _ = lattice
    exe = Path(sys.executable).parent / "witgen"
    r = subprocess.run(
        [str(exe), "call", "--nats", url, "--prefix", "t.ollama", "--wit", OLLAMA_WIT, "--timeout", "5",
         "ollama:llm/llm.show", '{name: "nope"}'],
        capture_output=True, text=True, timeout=60,
    )
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout.startswith("err({status-code: 404")


def test_demo_across_processes(nats: NatsServer) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "samples.demo", "--no-generate", "--nats", nats.url],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "provider <- state.get-data      ok: 16 bytes" in out
    assert "an actor without state answers: error 404" in out
    assert "actor <- chat   ?TIW eht tnemelpmi tsuj ot hguone ti sI" in out
    assert "0.x caller <- ollama:llm/Llm.Chat  ycagel" in out
    assert out.count("stopped, exit status 0") == 3


# --------------------------------------------------------------------------- resources over NATS


@pytest.fixture(scope="module")
def kvgen(tmp_path_factory: pytest.TempPathFactory, shared: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    root = kv_support.build(shared, tmp_path_factory.mktemp("kvres"))
    sys.path.insert(0, str(root))
    try:
        yield root, kv_support.modules()
    finally:
        sys.path.remove(str(root))


def test_resources_per_caller_and_drop(nats: NatsServer, kvgen: tuple[Path, dict[str, Any]]) -> None:
    root, mods = kvgen
    with Served("tests/kv_support.py", "--nats", nats.url, "--prefix", "t.kv", "--bindings", str(root)) as p:
        bus = NatsBus.connect_sync(nats.url, prefix="t.kv")
        try:
            alice = mods["client"].StoreClient(bus.endpoint(source="alice"))
            bob = mods["client"].StoreClient(bus.endpoint(source="bob"))
            opened = alice.open_("shelf")
            assert isinstance(opened, Ok)
            bucket = opened.value
            assert bucket.set_("k", b"v") == Ok(None)
            assert bucket.get("k") == Ok(b"v")
            # bob holds no such handle
            stolen = mods["client"].BucketProxy(bob, bucket.handle)
            with pytest.raises(InvalidHandle, match="no bucket with handle .* for caller 'bob'"):
                stolen.get("k")
            bucket.drop()
            again = mods["client"].BucketProxy(alice, stolen.handle)
            with pytest.raises(InvalidHandle, match="for caller 'alice'"):
                again.get("k")
            # `witgen call` with a source id keeps its handles between calls
            wit = str(root / "wit")
            r = call(nats.url, "--prefix", "t.kv", "--wit", wit, "--source-id", "shell",
                     "wasi:keyvalue/store.open", '"shelf"')
            assert r.exit_code == 0 and r.output.startswith("ok([")
            handle = r.output[3:-2]
            r = call(nats.url, "--prefix", "t.kv", "--wit", wit, "--source-id", "shell",
                     "wasi:keyvalue/store@0.2.0-draft2.bucket.get", handle, '"k"')
            assert (r.exit_code, r.output) == (0, "ok(some([118]))\n")
            r = call(nats.url, "--prefix", "t.kv", "--wit", wit, "--source-id", "other",
                     "wasi:keyvalue/store.bucket.get", handle, '"k"')
            assert r.exit_code == 1 and "InvalidHandle" not in r.output and "no bucket with handle" in r.output
        finally:
            bus.close()
        assert p.stop() == 0


def test_wrong_replica_handle(nats: NatsServer, kvgen: tuple[Path, dict[str, Any]]) -> None:
    root, mods = kvgen
    args = ("tests/kv_support.py", "--nats", nats.url, "--prefix", "t.replicas", "--bindings", str(root))
    bus = NatsBus.connect_sync(nats.url, prefix="t.replicas", source="carol")
    try:
        first = Served(*args)
        store = mods["client"].StoreClient(bus)
        opened = store.open_("shelf")
        assert isinstance(opened, Ok)
        second = Served(*args)
        assert first.stop() == 0  # only the second replica is left
        with pytest.raises(InvalidHandle, match="issued by another replica"):
            opened.value.get("k")
        assert second.stop() == 0
    finally:
        bus.close()
