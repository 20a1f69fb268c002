"""Session fixtures of the Wasm host tests: components built once per run (and cached on disk).

Import the fixtures a test module needs from here. Builds go to pytest's cache folder
(`.pytest_cache/d/witgen-wasm`), shared by xdist workers through `wasm_build.locked`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import wasm_build
import wasm_world

ROOT = Path(__file__).resolve().parent.parent
STATEFUL_WIT = ROOT / "samples" / "stateful" / "wit"

pytest.importorskip("wasmtime", reason="the Wasm host needs wasmtime (pip install 'witgen[wasm]')")


@pytest.fixture(scope="session")
def build_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = getattr(request.config, "cache", None)
    if cache is not None:
        return Path(cache.mkdir("witgen-wasm"))
    folder = tmp_path_factory.getbasetemp().parent / "witgen-wasm"  # shared by xdist workers
    folder.mkdir(exist_ok=True)
    return folder


def wit_folder(build_dir: Path, files: dict[str, str]) -> Path:
    """A WIT folder holding `files` (relative path -> text), named by their content."""
    key = wasm_build._digest(*(f"{k}\0{v}" for k, v in sorted(files.items())))
    folder = build_dir / f"wit-{key}"
    if not (folder / ".done").exists():
        with wasm_build.locked(build_dir / "wit.lock"):
            if not (folder / ".done").exists():
                for rel, text in files.items():
                    (folder / rel).parent.mkdir(parents=True, exist_ok=True)
                    (folder / rel).write_text(text)
                (folder / ".done").write_text("")
    return folder


@pytest.fixture(scope="session")
def test_wit_dir(build_dir: Path) -> Path:
    """The `witgen:test` package as a folder."""
    return wit_folder(build_dir, {"test.wit": wasm_world.test_wit()})


@pytest.fixture(scope="session")
def echoer_wasm(build_dir: Path, test_wit_dir: Path) -> Path:
    """World `witgen:test/echoer` in WebAssembly text (see `wasm_world`)."""
    return wasm_build.wat_component(wasm_world.echoer_wat(), test_wit_dir, "echoer", build_dir)


@pytest.fixture(scope="session")
def stateful_wat_wasm(build_dir: Path) -> Path:
    """`wamli:stateful/actor` in WebAssembly text, holding the sample state."""
    wat = wasm_world.stateful_wat(wasm_world.SAMPLE_STATE)
    return wasm_build.wat_component(wat, STATEFUL_WIT, "actor", build_dir)


@pytest.fixture(scope="session")
def stateless_wat_wasm(build_dir: Path) -> Path:
    """`wamli:stateful/actor` in WebAssembly text, holding no state: every call errs."""
    return wasm_build.wat_component(wasm_world.stateful_wat(None), STATEFUL_WIT, "actor", build_dir)


@pytest.fixture(scope="session")
def talker_wasm(build_dir: Path, shared: Path) -> Path:
    """World `witgen:wasi-test/talker` in WebAssembly text: it uses WASI stdout and environment."""
    deps = shared / "corpus" / "real" / "wasi-http-0.2.8" / "deps"
    files = {"talker.wit": wasm_world.TALKER_WIT}
    files.update({f"deps/{p.relative_to(deps).as_posix()}": p.read_text() for p in sorted(deps.rglob("*.wit"))})
    return wasm_build.wat_component(wasm_world.talker_wat(), wit_folder(build_dir, files), "talker", build_dir)


# --------------------------------------------------------------------------- componentize-py actors


COMPONENTS = ROOT / "samples" / "ollama" / "component"
LLM_WIT = ROOT / "samples" / "ollama" / "wit" / "llm.wit"


@pytest.fixture(scope="session")
def stateful_py_wasm(build_dir: Path) -> Path:
    """`samples/stateful/component/app.py` built with componentize-py."""
    return wasm_build.python_component(ROOT / "samples" / "stateful" / "component", "app", STATEFUL_WIT, "actor", build_dir)


@pytest.fixture(scope="session")
def chat_py_wasm(build_dir: Path) -> Path:
    """The chat actor (`samples/ollama/component/chat.py`), importing `ollama:llm/llm`."""
    wit_dir = wit_folder(
        build_dir, {"chat.wit": (COMPONENTS / "chat.wit").read_text(), "deps/ollama-llm/llm.wit": LLM_WIT.read_text()}
    )
    return wasm_build.python_component(COMPONENTS, "chat", wit_dir, "chat-actor", build_dir)


@pytest.fixture(scope="session")
def adaptor_py_wasm(build_dir: Path, shared: Path) -> Path:
    """The 0.x adaptor (`samples/ollama/component/adaptor.py`) against the 2024-02 `wasmcloud:bus`."""
    bus = shared / "corpus" / "real" / "wasmcloud-bus-host-2024-02"
    files = {
        "adaptor.wit": (COMPONENTS / "adaptor.wit").read_text(),
        "deps/ollama-llm/llm.wit": LLM_WIT.read_text(),
        "deps/wasmcloud-bus/bus.wit": (bus / "bus.wit").read_text(),
        **{f"deps/io/{p.name}": p.read_text() for p in sorted((bus / "deps" / "io").glob("*.wit"))},
    }
    return wasm_build.python_component(COMPONENTS, "adaptor", wit_folder(build_dir, files), "adaptor", build_dir)
