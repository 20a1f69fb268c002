"""The two samples end to end on the in-process bus, their bindings, their demo.

Every function of both samples is called through the bus, on its ok and its err
path; the Ollama provider is also run against a small HTTP server on 127.0.0.1
standing in for Ollama's REST API. Expected wire bytes are worked out from
wire-format.md, section 1.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The samples live beside the package, not in it: import them from the checkout.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from samples.ollama import actor as ollama_actor  # noqa: E402
from samples.ollama import provider as ollama_provider  # noqa: E402
from samples.ollama.bindings.ollama_llm.llm import ChatRequest, Message, ShowRequest  # noqa: E402
from samples.stateful import actor as stateful_actor  # noqa: E402
from samples.stateful import provider as stateful_provider  # noqa: E402
from samples.stateful.bindings.wamli_stateful.model import ExecutionTarget, TensorType  # noqa: E402
from witgen.runtime.bus import InvalidPayload, UnknownOperation  # noqa: E402
from witgen.runtime.inprocess import InProcessBus  # noqa: E402
from witgen.runtime.values import Err, Ok  # noqa: E402


# --------------------------------------------------------------------------- committed bindings


@pytest.mark.parametrize("name", ["stateful", "ollama"])
def test_committed_bindings_are_what_the_generator_writes(name: str) -> None:
    from witgen.workflow.config import load_config
    from witgen.workflow.render import render_target

    (target,) = [t for t in load_config(ROOT / "pyproject.toml") if t.name == name]
    assert target.out.resolve() == (ROOT / "samples" / name / "bindings").resolve()
    files = render_target(target)
    assert files, "the generator rendered nothing"
    for rel, text in files.items():
        on_disk = (target.out / rel).read_bytes()
        assert on_disk == text.encode(), f"{rel} differs from a fresh render: run `witgen generate`"
    committed = {p.relative_to(target.out).as_posix() for p in target.out.rglob("*.py")}
    assert committed == set(files)


# --------------------------------------------------------------------------- stateful


@pytest.fixture
def stateful_bus() -> InProcessBus:
    lattice = InProcessBus()
    lattice.serve(stateful_actor.dispatch_table(stateful_actor.SAMPLE_STATE))
    return lattice.connect("provider")


def test_stateful_pull_through_every_function(stateful_bus: InProcessBus) -> None:
    pulled = stateful_provider.pull(stateful_bus)
    assert isinstance(pulled, Ok)
    s = stateful_actor.SAMPLE_STATE
    assert pulled.value.data == s.data == bytes(range(16))
    assert pulled.value.labels == ("mobilenet", "v2", "imagenet")
    m = pulled.value.metadata
    assert (m.model_name, m.graph_encoding) == ("mobilenet-v2", "onnx")
    assert m.execution_target is ExecutionTarget.CPU and m.tensor_type is TensorType.F32
    assert (m.tensor_dimensions_in, m.tensor_dimensions_out) == ([1, 3, 224, 224], [1, 1000])


def test_stateful_pull_from_asyncio(stateful_bus: InProcessBus) -> None:
    pulled = asyncio.run(stateful_provider.pull_async(stateful_bus))
    assert pulled == stateful_provider.pull(stateful_bus)
    assert isinstance(pulled, Ok) and pulled.value.metadata.tensor_type is TensorType.F32
    empty = InProcessBus()
    empty.serve(stateful_actor.dispatch_table(None))
    assert asyncio.run(stateful_provider.pull_async(empty)) == Err(stateful_actor.NO_STATE)


def test_stateful_err_path_of_every_function() -> None:
    lattice = InProcessBus()
    lattice.serve(stateful_actor.dispatch_table(None))
    state = stateful_provider.StateClient(lattice)
    model = stateful_provider.ModelClient(lattice)
    for result in (state.get_data(), state.get_metadata(), model.get_metadata()):
        assert isinstance(result, Err)
        assert result.value.status_code == 404 and "no state" in result.value.error
    assert stateful_provider.pull(lattice) == Err(stateful_actor.NO_STATE)


def test_stateful_bytes_on_the_wire(stateful_bus: InProcessBus) -> None:
    # result<list<u8>, error> ok: 00, then list<u8> = ULEB length 16 + the raw bytes
    assert stateful_bus.invoke("wamli:stateful/state", "get-data", b"") == b"\x00\x10" + bytes(range(16))
    # result<list<string>, error> ok: 00, 3 strings
    assert (
        stateful_bus.invoke("wamli:stateful/state", "get-metadata", b"")
        == b"\x00\x03\x09mobilenet\x02v2\x08imagenet"
    )
    # metadata: two strings, enum cpu = case 0, enum F32 = case 9, list<u32> [1,3,224,224], [1,1000]
    expected = b"\x00\x0cmobilenet-v2\x04onnx\x00\x09\x04\x01\x03\xe0\x01\xe0\x01\x02\x01\xe8\x07"
    assert stateful_bus.invoke("wamli:stateful/model", "get-metadata", b"") == expected
    # error record: u32 404 = 94 03, then two strings
    empty = InProcessBus()
    empty.serve(stateful_actor.dispatch_table(None))
    assert empty.invoke("wamli:stateful/state", "get-data", b"") == (
        b"\x01\x94\x03\x09Not Found\x19this actor holds no state"
    )


def test_stateful_legacy_names_and_bad_calls(stateful_bus: InProcessBus) -> None:
    canonical = stateful_bus.invoke("wamli:stateful/state", "get-metadata", b"")
    assert stateful_bus.invoke("", "wamli:stateful/State.GetMetadata", b"") == canonical
    assert stateful_bus.invoke("wamli:stateful", "State.GetMetadata", b"") == canonical
    model = stateful_bus.invoke("wamli:stateful/model", "get-metadata", b"")
    assert stateful_bus.invoke("", "Model.GetMetadata", b"") == model != canonical
    with pytest.raises(InvalidPayload):
        stateful_bus.invoke("wamli:stateful/state", "get-data", b"\x00")  # no parameters expected
    with pytest.raises(UnknownOperation):
        stateful_bus.invoke("wamli:stateful/state", "set-data", b"")
    assert stateful_bus.invoke("wamli:stateful/state", "get-metadata", b"") == canonical


# --------------------------------------------------------------------------- ollama, built-in backend


@pytest.fixture
def llm() -> ollama_actor.LlmClient:
    lattice = InProcessBus()
    lattice.serve(ollama_provider.dispatch_table())
    return ollama_actor.LlmClient(lattice.connect("actor"))


def test_builtin_chat_ok_and_err(llm: ollama_actor.LlmClient) -> None:
    ok = llm.chat(ChatRequest("reverse:latest", [Message("system", "be terse"), Message("user", "abc")]))
    assert isinstance(ok, Ok)
    assert ok.value.message == Message("assistant", "cba") and ok.value.done
    assert ollama_actor.ask(llm, "echo:latest", "same again") == "same again"
    missing = llm.chat(ChatRequest("gpt-17", [Message("user", "hi")]))
    assert isinstance(missing, Err) and missing.value.status_code == 404
    assert "gpt-17" in missing.value.error_message
    empty = llm.chat(ChatRequest("echo:latest", []))
    assert isinstance(empty, Err) and empty.value.status_code == 400


def test_builtin_show_and_list(llm: ollama_actor.LlmClient) -> None:
    listed = llm.list_()
    assert isinstance(listed, Ok)
    names = [m.name for m in listed.value.models]
    assert names == ["echo:latest", "reverse:latest"]
    for name in names:
        shown = llm.show(ShowRequest(name))
        assert isinstance(shown, Ok) and shown.value.details.family == name.split(":")[0]
    unknown = llm.show(ShowRequest("nope"))
    assert isinstance(unknown, Err) and unknown.value.status_code == 404


def test_ollama_legacy_names(llm: ollama_actor.LlmClient) -> None:
    bus = llm._bus
    canonical = bus.invoke("ollama:llm/llm", "list", b"")
    assert bus.invoke("", "ollama:llm/Llm.List", b"") == canonical
    assert bus.invoke("ollama:llm", "Llm.List", b"") == canonical


# --------------------------------------------------------------------------- ollama, REST backend against a stand-in server


class FakeOllama(ThreadingHTTPServer):
    """Answers /api/chat, /api/show and /api/tags like Ollama does; records requests."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[tuple[str, str, Any]] = []
        self.fail_tags = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


DETAILS = {
    "format": "gguf",
    "family": "llama",
    "families": ["llama"],
    "parameter_size": "8.0B",
    "quantization_level": "Q4_0",
}


class _Handler(BaseHTTPRequestHandler):
    server: FakeOllama

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: Any, raw: bytes | None = None) -> None:
        data = raw if raw is not None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.server.requests.append(("GET", self.path, None))
        if self.path != "/api/tags":
            return self._send(404, {"error": "not found"})
        if self.server.fail_tags:
            return self._send(500, {"error": "tags are broken today"})
        model = {"name": "llama3:8b", "modified_at": "2024-05-01T10:00:00Z", "size": 4661224676,
                 "digest": "365c0bd3c000", "details": DETAILS}
        self._send(200, {"models": [model]})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(("POST", self.path, body))
        if self.path == "/api/chat":
            if body["model"] == "garbage":
                return self._send(200, None, raw=b"<html>not json")
            if body["model"] != "llama3:8b":
                return self._send(404, {"error": f"model '{body['model']}' not found, try pulling it first"})
            last = body["messages"][-1]["content"]
            return self._send(200, {
                "model": "llama3:8b", "created_at": "2024-05-01T10:00:01Z",
                "message": {"role": "assistant", "content": f"You said: {last}"},
                "done": True, "total_duration": 5191566416, "eval_count": 3,
            })
        if self.path == "/api/show":
            if body.get("name") != "llama3:8b":
                return self._send(404, {"error": f"model '{body.get('name')}' not found"})
            return self._send(200, {"license": "META LLAMA 3", "modelfile": "FROM llama3:8b",
                                    "parameters": "stop <|eot_id|>", "template": "{{ .Prompt }}",
                                    "details": DETAILS})
        self._send(404, {"error": "not found"})


@pytest.fixture
def fake_ollama() -> Iterator[FakeOllama]:
    server = FakeOllama()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def rest_llm(fake_ollama: FakeOllama) -> ollama_actor.LlmClient:
    lattice = InProcessBus()
    lattice.serve(ollama_provider.dispatch_table(fake_ollama.url))
    return ollama_actor.LlmClient(lattice.connect("actor"))


def test_rest_chat_ok_and_err(rest_llm: ollama_actor.LlmClient, fake_ollama: FakeOllama) -> None:
    ok = rest_llm.chat(ChatRequest("llama3:8b", [Message("user", "why is the sky blue?")]))
    assert isinstance(ok, Ok)
    assert ok.value.message == Message("assistant", "You said: why is the sky blue?")
    assert (ok.value.total_duration, ok.value.eval_count) == (5191566416, 3)
    method, path, body = fake_ollama.requests[-1]
    assert (method, path) == ("POST", "/api/chat")
    assert body == {"model": "llama3:8b", "messages": [{"role": "user", "content": "why is the sky blue?"}],
                    "stream": False}
    missing = rest_llm.chat(ChatRequest("mistral", [Message("user", "hi")]))
    assert isinstance(missing, Err)
    assert missing.value.status_code == 404 and "try pulling it first" in missing.value.error_message
    garbage = rest_llm.chat(ChatRequest("garbage", [Message("user", "hi")]))
    assert isinstance(garbage, Err) and garbage.value.status_code == 502


def test_rest_show_ok_and_err(rest_llm: ollama_actor.LlmClient) -> None:
    shown = rest_llm.show(ShowRequest("llama3:8b"))
    assert isinstance(shown, Ok)
    assert shown.value.license_ == "META LLAMA 3"
    assert shown.value.details.quantization_level == "Q4_0" and shown.value.details.format_ == "gguf"
    missing = rest_llm.show(ShowRequest("phi"))
    assert isinstance(missing, Err) and missing.value.status_code == 404


def test_rest_list_ok_and_err(rest_llm: ollama_actor.LlmClient, fake_ollama: FakeOllama) -> None:
    listed = rest_llm.list_()
    assert isinstance(listed, Ok)
    (model,) = listed.value.models
    assert (model.name, model.size, model.details.parameter_size) == ("llama3:8b", 4661224676, "8.0B")
    fake_ollama.fail_tags = True
    failed = rest_llm.list_()
    assert isinstance(failed, Err)
    assert failed.value.status_code == 500 and failed.value.error_message == "tags are broken today"


def test_both_providers_from_sync_and_asyncio_callers(fake_ollama: FakeOllama) -> None:
    # Both providers' plain methods serve both kinds of caller.
    for url in (fake_ollama.url, None):
        lattice = InProcessBus()
        lattice.serve(ollama_provider.dispatch_table(url))
        model = "llama3:8b" if url else "echo:latest"
        sync_answer = ollama_actor.ask(ollama_actor.LlmClient(lattice), model, "ping")
        async_answer = asyncio.run(ollama_actor.ask_async(ollama_actor.LlmAsyncClient(lattice), model, "ping"))
        assert sync_answer == async_answer == ("You said: ping" if url else "ping")


def test_rest_server_unreachable_is_an_error_value() -> None:
    server = FakeOllama()  # bound, then closed: nothing listens on that port any more
    url = server.url
    server.server_close()
    lattice = InProcessBus()
    lattice.serve(ollama_provider.dispatch_table(url))
    llm = ollama_actor.LlmClient(lattice)
    result = llm.list_()
    assert isinstance(result, Err) and result.value.status_code == 503


# --------------------------------------------------------------------------- the demo


def test_demo_runs_both_samples() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "samples.demo", "--no-generate"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "provider <- state.get-data      ok: 16 bytes" in out
    assert "F32 [1, 3, 224, 224] -> [1, 1000]" in out
    assert "an actor without state answers: error 404" in out
    assert "actor <- list   ok: ['echo:latest', 'reverse:latest']" in out
    assert "model 'no-such-model' not found" in out
    assert "0.x caller <- ollama:llm/Llm.Chat  ycagel" in out


def test_demo_against_an_ollama_server(fake_ollama: FakeOllama) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "samples.demo", "--no-generate", "--ollama-url", fake_ollama.url],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "actor <- list   ok: ['llama3:8b']" in done.stdout
    assert "You said: Is it enough to just implement the WIT?" in done.stdout
    paths = [path for _, path, _ in fake_ollama.requests]
    assert paths[:3] == ["/api/tags", "/api/show", "/api/chat"]
