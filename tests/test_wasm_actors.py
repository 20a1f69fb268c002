"""Python actors built with componentize-py, hosted in-process: stateful, chat, 0.x adaptor.

Each component is built once per run (and cached by content across runs); see
`wasm_fixtures`. The providers are called directly, through the in-process bus, and (for
the adaptor) through `wasmcloud:bus/host.call-sync` with MessagePack payloads.
"""

from __future__ import annotations

from pathlib import Path

import msgpack
import pytest
import wasm_llm as llm
import wasm_world as ww
from wasm_fixtures import adaptor_py_wasm, build_dir, chat_py_wasm, stateful_py_wasm  # noqa: F401

from witgen.runtime import codec
from witgen.runtime.bus import BusError
from witgen.runtime.inprocess import InProcessBus
from witgen.runtime.values import Err, Ok
from witgen.runtime.wasm import ComponentHost
from witgen.runtime.wasm.wasmcloud import WasmcloudBus

from test_wasm_host import EXPECTED_METADATA, stateful_host  # noqa: E402

pytestmark = pytest.mark.timeout(900)  # a cold build and compile takes a minute on a busy machine


def test_the_stateful_python_actor_answers_every_function(stateful_py_wasm: Path) -> None:
    host = stateful_host(stateful_py_wasm)
    assert host.call(ww.STATE, "get-data") == Ok(bytes(range(16)))
    assert host.call(ww.STATE, "get-metadata") == Ok(["mobilenet", "v2", "imagenet"])
    assert host.call(ww.MODEL, "get-metadata") == Ok(EXPECTED_METADATA)
    lattice = InProcessBus()
    with_bus = host.serve(lattice)
    get_data = codec.function(ww.STATE_FUNCTIONS["get-data"])
    assert get_data.decode_result(lattice.connect("p").invoke(ww.STATE, "get-data", b"")) == Ok(bytes(range(16)))
    with_bus.close()


def chat_host(path: Path, **options: object) -> ComponentHost:
    return ComponentHost(path, imports={llm.LLM: llm.LLM_FUNCTIONS}, exports={"": llm.CHAT_FUNCTIONS}, **options)  # type: ignore[arg-type]


def test_the_chat_actor_asks_the_provider_directly_and_over_the_bus(chat_py_wasm: Path) -> None:
    direct = chat_host(chat_py_wasm, providers={llm.LLM: llm.BuiltinLlm()})
    lattice = InProcessBus()
    lattice.serve(llm.llm_table(llm.BuiltinLlm()))
    over_bus = chat_host(chat_py_wasm, bus=lattice.connect("chat-actor"))
    for host in (direct, over_bus):
        assert host.call("", "ask", "echo:latest", "hello there") == Ok("hello there")
        assert host.call("", "ask", "reverse:latest", "abc") == Ok("cba")
        assert host.call("", "ask", "gpt:none", "hi") == Err("404 Not Found: model 'gpt:none' not found")


def test_a_failing_provider_fails_the_call_and_the_actor_recovers(chat_py_wasm: Path) -> None:
    class Flaky(llm.BuiltinLlm):
        fail = True

        def chat(self, req: llm.ChatRequest) -> Ok[llm.ChatResponse] | Err[llm.StatusError]:
            if Flaky.fail:
                Flaky.fail = False
                raise ConnectionError("model server went away")
            return super().chat(req)

    host = chat_host(chat_py_wasm, providers={llm.LLM: Flaky()})
    with pytest.raises(BusError, match="^ask: import ollama:llm/llm.chat: the provider raised ConnectionError: model server went away$"):
        host.call("", "ask", "echo:latest", "x")
    assert host.call("", "ask", "echo:latest", "again") == Ok("again")


def adaptor_host(path: Path, links: dict[str, InProcessBus]) -> tuple[ComponentHost, WasmcloudBus]:
    legacy = WasmcloudBus({llm.LLM: llm.LLM_FUNCTIONS}, links=links)  # type: ignore[arg-type]
    return ComponentHost(path, definers=[legacy], exports={llm.LLM: llm.LLM_FUNCTIONS}), legacy


def test_the_0x_adaptor_forwards_every_function_through_call_sync(adaptor_py_wasm: Path) -> None:
    lattice = InProcessBus()
    lattice.serve(llm.llm_table(llm.BuiltinLlm()))
    host, _ = adaptor_host(adaptor_py_wasm, {"default": lattice.connect("adaptor")})
    request = llm.ChatRequest("reverse:latest", [llm.Message("user", "stressed")])
    answer = host.call(llm.LLM, "chat", request)
    assert answer == llm.BuiltinLlm().chat(request)
    assert answer.value.message.content == "desserts"
    assert host.call(llm.LLM, "chat", llm.ChatRequest("nope", [llm.Message("user", "x")])) == Err(
        llm.StatusError(404, "404 Not Found", "model 'nope' not found")
    )
    assert host.call(llm.LLM, "show", llm.ShowRequest("echo:latest")) == llm.BuiltinLlm().show(llm.ShowRequest("echo:latest"))
    assert host.call(llm.LLM, "list") == llm.BuiltinLlm().list_()


def test_the_adaptor_reaches_a_provider_serving_its_exports_too(adaptor_py_wasm: Path) -> None:
    # The adaptor exports ollama:llm/llm itself: a 1.x caller on another bus reaches it,
    # and it forwards to the provider over the 0.x path.
    providers, callers = InProcessBus(), InProcessBus()
    providers.serve(llm.llm_table(llm.BuiltinLlm()))
    host, _ = adaptor_host(adaptor_py_wasm, {"default": providers.connect("adaptor")})
    host.serve(callers)
    chat = codec.function(llm.LLM_FUNCTIONS["chat"])
    request = llm.ChatRequest("echo:latest", [llm.Message("user", "through two buses")])
    out = callers.connect("caller").invoke(llm.LLM, "chat", chat.encode_params(request))
    assert chat.decode_result(out).value.message.content == "through two buses"


def test_call_sync_routes_by_link_and_reports_failures_as_err(adaptor_py_wasm: Path) -> None:
    lattice = InProcessBus()
    lattice.serve(llm.llm_table(llm.BuiltinLlm()))
    _, legacy = adaptor_host(adaptor_py_wasm, {"default": lattice.connect("a")})
    payload = msgpack.packb({"model": "echo:latest", "messages": [{"role": "user", "content": "hi"}]})
    answer = msgpack.unpackb(legacy.call_sync(None, "ollama:llm/Llm.Chat", payload))
    assert answer["Ok"]["message"] == {"role": "assistant", "content": "hi"}
    assert answer["Ok"]["createdAt"] == "1970-01-01T00:00:00Z"
    same = legacy.call_sync(None, "ollama:llm/llm.chat", payload)
    assert msgpack.unpackb(same) == answer
    assert legacy.call_sync("backup", "Llm.Chat", payload) == "Llm.Chat: no link named 'backup'"
    legacy.link_name = "backup"
    assert legacy.call_sync(None, "Llm.Chat", payload) == "Llm.Chat: no link named 'backup'"
    assert legacy.call_sync("default", "Llm.Chat", payload) == legacy.call_sync("default", "ollama:llm/Llm.Chat", payload)
    assert legacy.call_sync(None, "Llm.Fly", payload) == "unknown operation 'Llm.Fly': no linked interface has it"
    bad = legacy.call_sync("default", "Llm.Chat", msgpack.packb({"model": "x"}))
    assert bad == "Llm.Chat: the payload does not decode: chat-request: field 'messages' is missing"
