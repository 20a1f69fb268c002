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


@pytest.fixture(scope="session")
def test_wit_dir(build_dir: Path) -> Path:
    """The `witgen:test` package as a folder (rewritten only when its text changes)."""
    text = wasm_world.test_wit()
    folder = build_dir / f"wit-{wasm_build._digest(text)}"
    path = folder / "test.wit"
    if not path.exists():
        with wasm_build.locked(build_dir / "wit.lock"):
            if not path.exists():
                folder.mkdir(parents=True, exist_ok=True)
                tmp = folder / "test.wit.tmp"
                tmp.write_text(text)
                tmp.rename(path)
    return folder


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
