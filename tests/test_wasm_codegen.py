"""The generated part `host`: `<World>Host` classes run real components with typed calls."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
import wasm_fixtures
import wasm_llm as llm
from wasm_fixtures import build_dir, chat_py_wasm, stateful_wat_wasm, stateless_wat_wasm  # noqa: F401

from witgen.codegen import DEFAULT_PARTS, PARTS, render_bindings
from witgen.resolver import load
from witgen.runtime.bus import BusError
from witgen.runtime.inprocess import InProcessBus
from witgen.runtime.values import Err, Ok

ROOT = Path(__file__).resolve().parent.parent


def generate(wit_dir: Path, out: Path, package: str) -> Path:
    files = render_bindings(load(wit_dir), parts=PARTS)
    for rel, text in files.items():
        (out / package / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / package / rel).write_text(text)
    return out


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory, build_dir: Path) -> Iterator[dict[str, ModuleType]]:  # noqa: F811
    out = tmp_path_factory.mktemp("hostgen")
    generate(wasm_fixtures.STATEFUL_WIT, out, "gen_stateful")
    chat_wit = wasm_fixtures.wit_folder(
        build_dir,
        {"chat.wit": (wasm_fixtures.COMPONENTS / "chat.wit").read_text(),
         "deps/ollama-llm/llm.wit": wasm_fixtures.LLM_WIT.read_text()},
    )  # fmt: skip
    generate(chat_wit, out, "gen_chat")
    sys.path.insert(0, str(out))
    try:
        yield {
            "actor": importlib.import_module("gen_stateful.wamli_stateful.actor"),
            "state": importlib.import_module("gen_stateful.wamli_stateful.state"),
            "model": importlib.import_module("gen_stateful.wamli_stateful.model"),
            "chat": importlib.import_module("gen_chat.ollama_chat.chat_actor"),
            "out": out,  # type: ignore[dict-item]
        }
    finally:
        sys.path.remove(str(out))


def test_the_host_part_is_asked_for_explicitly() -> None:
    assert "host" in PARTS and "host" not in DEFAULT_PARTS
    default = render_bindings(load(wasm_fixtures.STATEFUL_WIT))
    assert not any("ActorHost" in text or "witgen.runtime.wasm" in text for text in default.values())


def test_a_generated_host_calls_exports_with_the_generated_types(
    generated: dict[str, ModuleType], stateful_wat_wasm: Path, stateless_wat_wasm: Path  # noqa: F811
) -> None:
    actor, state, model = generated["actor"], generated["state"], generated["model"]
    host = actor.ActorHost(stateful_wat_wasm)
    assert host.state.get_data() == Ok(bytes(range(16)))
    assert host.state.get_metadata() == Ok(["mobilenet", "v2", "imagenet"])
    meta = host.model.get_metadata()
    assert isinstance(meta.value, model.Metadata)
    assert meta.value.tensor_type is model.TensorType.F32
    assert meta.value.tensor_dimensions_in == [1, 3, 224, 224]
    empty = actor.ActorHost(stateless_wat_wasm)
    assert empty.state.get_data() == Err(state.Error(404, "Not Found", "this actor holds no state"))
    # Served on a bus, the actor answers the generated client of the provider's world.
    lattice = InProcessBus()
    host.serve(lattice)
    provider_world = importlib.import_module("gen_stateful.wamli_stateful.provider")
    client = provider_world.StateClient(lattice.connect("provider"))
    assert client.get_data() == Ok(bytes(range(16)))


def test_a_generated_host_answers_imports_with_a_provider_object_or_a_bus(
    generated: dict[str, ModuleType], chat_py_wasm: Path  # noqa: F811
) -> None:
    chat = generated["chat"]
    direct = chat.ChatActorHost(chat_py_wasm, llm=llm.BuiltinLlm())
    assert direct.ask("reverse:latest", "generated") == Ok("detareneg")
    lattice = InProcessBus()
    lattice.serve(llm.llm_table(llm.BuiltinLlm()))
    over_bus = chat.ChatActorHost(chat_py_wasm, bus=lattice.connect("chat"))
    assert over_bus.ask("echo:latest", "hi") == Ok("hi")
    assert over_bus.ask("none", "hi") == Err("404 Not Found: model 'none' not found")
    unrouted = chat.ChatActorHost(chat_py_wasm)
    with pytest.raises(BusError, match="ollama:llm/llm.chat: no route"):
        unrouted.ask("echo:latest", "hi")


def test_generated_host_modules_pass_mypy_strict(generated: dict[str, ModuleType]) -> None:
    out = generated["out"]
    env = {**os.environ, "MYPYPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "gen_stateful", "gen_chat"],
        cwd=out, capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_generated_members_cannot_shadow_the_host(generated: dict[str, ModuleType], stateful_wat_wasm: Path) -> None:  # noqa: F811
    from witgen.codegen.host import HOST_RESERVED

    host = generated["actor"].ActorHost(stateful_wat_wasm)
    public = {n for n in (*dir(type(host).__mro__[1]), *vars(host)) if not n.startswith("_")}
    public -= {"state", "model"}  # the generated attributes themselves
    assert public <= HOST_RESERVED, public - HOST_RESERVED
