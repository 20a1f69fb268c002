"""`witgen call --component` and `witgen host`: real components from the command line, over NATS.

The proof of concept end to end without wasmCloud: the llm provider, actors hosted by
`witgen host` and callers are separate processes on a real nats-server (127.0.0.1).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

pytest.importorskip("nats", reason="the NATS tests need nats-py (pip install 'witgen[nats]')")

import wasm_fixtures  # noqa: E402
import wasm_llm as llm  # noqa: E402
from nats_server import NatsServer, Served, nats  # noqa: E402,F401
from wasm_fixtures import (  # noqa: E402,F401
    adaptor_py_wasm,
    build_dir,
    chat_py_wasm,
    stateful_py_wasm,
    stateful_wat_wasm,
)

from witgen.cli import main as witgen  # noqa: E402
from witgen.runtime import codec  # noqa: E402
from witgen.runtime.nats import NatsBus  # noqa: E402
from witgen.runtime.values import Ok  # noqa: E402

SERVE = str(Path(__file__).resolve().parent / "wasm_serve.py")
STATEFUL_WIT = str(wasm_fixtures.STATEFUL_WIT)
pytestmark = pytest.mark.timeout(900)


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(witgen, list(args))
    # A first compile says so on stderr (only when the cache is cold): not what these tests check.
    return result.exit_code, re.sub(r"(?m)^compiling .* for this machine; .*\n", "", result.output)


@pytest.fixture(scope="module")
def chat_wit(build_dir: Path) -> Path:  # noqa: F811
    return wasm_fixtures.wit_folder(
        build_dir,
        {"chat.wit": (wasm_fixtures.COMPONENTS / "chat.wit").read_text(),
         "deps/ollama-llm/llm.wit": wasm_fixtures.LLM_WIT.read_text()},
    )  # fmt: skip


@pytest.fixture(scope="module")
def adaptor_wit(adaptor_py_wasm: Path, build_dir: Path) -> Path:  # noqa: F811
    # The folder the adaptor was built from (the fixture assembled it).
    return next(p.parent for p in build_dir.glob("wit-*/adaptor.wit"))


def test_call_an_export_of_a_component(stateful_py_wasm: Path, stateful_wat_wasm: Path) -> None:  # noqa: F811
    for component in (stateful_py_wasm, stateful_wat_wasm):
        code, out = run("call", "--component", str(component), "--wit", STATEFUL_WIT, "wamli:stateful/state.get-metadata")
        assert (code, out) == (0, 'ok(["mobilenet", "v2", "imagenet"])\n')
    code, out = run("call", "--component", str(stateful_wat_wasm), "--wit", STATEFUL_WIT, "wamli:stateful/model.get-metadata")
    assert code == 0 and out.startswith('ok({model-name: "mobilenet-v2"') and "tensor-type: F32" in out


def test_bad_components_and_usage(tmp_path: Path, stateful_wat_wasm: Path, adaptor_py_wasm: Path, adaptor_wit: Path, chat_wit: Path) -> None:  # noqa: F811
    text = tmp_path / "notes.wasm"
    text.write_text("not wasm")
    assert run("call", "--component", str(text), "--wit", STATEFUL_WIT, "wamli:stateful/state.get-data") == (
        1, f"error: {text}: not a component (not WebAssembly)\n"
    )  # fmt: skip
    code, out = run("call", "--component", str(stateful_wat_wasm), "--wit", str(chat_wit), "ollama:llm/llm.list")
    assert code == 1 and out.startswith(f"error: {stateful_wat_wasm} matches no world of the WIT (its exports: `")
    code, out = run("call", "--component", str(stateful_wat_wasm), "--wit", STATEFUL_WIT, "--prefix", "p", "wamli:stateful/state.get-data")
    assert code == 2 and "--prefix names a provider to call" in out
    code, out = run("call", "--component", str(adaptor_py_wasm), "--wit", str(adaptor_wit), "ollama:llm/llm.list")
    assert code == 2 and "matches several worlds (ollama:adaptor/adaptor, ollama:llm/provider): pick one with --world" in out


@pytest.fixture(scope="module")
def lattice(nats: NatsServer, stateful_wat_wasm: Path, chat_py_wasm: Path, chat_wit: Path) -> Iterator[str]:  # noqa: F811
    procs = [
        Served(SERVE, "provider", nats.url, "cli.llm"),
        Served("-m", "witgen", "host", str(stateful_wat_wasm), "--wit", STATEFUL_WIT, "--nats", nats.url, "--prefix", "cli.stateful"),
        Served("-m", "witgen", "host", str(chat_py_wasm), "--wit", str(chat_wit), "--nats", nats.url,
               "--prefix", "cli.chat", "--import", "ollama:llm/llm=cli.llm"),
    ]  # fmt: skip
    try:
        yield nats.url
    finally:
        codes = [p.stop() for p in procs]
        assert codes == [0] * len(procs), [p.log for p in procs]


def test_witgen_host_serves_a_wat_actor_to_witgen_call(lattice: str) -> None:
    code, out = run("call", "--nats", lattice, "--prefix", "cli.stateful", "--wit", STATEFUL_WIT, "wamli:stateful/state.get-data")
    assert (code, out) == (0, "ok([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15])\n")


def test_witgen_host_runs_the_chat_actor_against_the_provider(lattice: str) -> None:
    ask = codec.function(llm.CHAT_FUNCTIONS["ask"])
    bus = NatsBus.connect_sync(lattice, prefix="cli.chat")
    try:
        assert ask.decode_result(bus.invoke("", "ask", ask.encode_params("reverse:latest", "lattice"))) == Ok("ecittal")
    finally:
        bus.close()


def test_call_a_0x_adaptor_whose_call_sync_goes_over_nats(lattice: str, adaptor_py_wasm: Path, adaptor_wit: Path) -> None:  # noqa: F811
    code, out = run(
        "call", "--component", str(adaptor_py_wasm), "--wit", str(adaptor_wit), "--world", "adaptor",
        "--nats", lattice, "--import", "ollama:llm/llm=cli.llm",
        "ollama:llm/llm.chat", '{model: "reverse:latest", messages: [{role: "user", content: "abc"}]}',
    )  # fmt: skip
    assert code == 0 and out.startswith('ok({model: "reverse:latest"') and 'content: "cba"' in out
    code, out = run("call", "--component", str(adaptor_py_wasm), "--wit", str(adaptor_wit), "--world", "adaptor", "ollama:llm/llm.list")
    assert (code, out) == (
        0, 'err({status-code: 502, status: "502 Bad Gateway", error-message: "ollama:llm/Llm.List: no link named '
        + r"\'default\'" + '"})\n'
    )  # fmt: skip


def test_witgen_call_reaches_a_world_level_export_by_its_bare_name(lattice: str, chat_py_wasm: Path, chat_wit: Path) -> None:  # noqa: F811
    # over NATS, the chat actor hosted by `witgen host` (the empty instance on the bus)
    code, out = run("call", "--nats", lattice, "--prefix", "cli.chat", "--wit", str(chat_wit), "ask", '"reverse:latest"', '"lattice"')
    assert (code, out) == (0, 'ok("ecittal")\n')
    # in this process, the component instantiated for the call, its import over NATS
    code, out = run(
        "call", "--component", str(chat_py_wasm), "--wit", str(chat_wit), "--nats", lattice,
        "--import", "ollama:llm/llm=cli.llm", "ask", '"no-such-model"', '"hi"',
    )  # fmt: skip
    assert code == 0 and out.startswith("err(") and "not found" in out
