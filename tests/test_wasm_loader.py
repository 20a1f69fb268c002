"""Loading components: the on-disk artifact cache, its checksum and lock, clear load errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from wasm_fixtures import build_dir, stateful_wat_wasm  # noqa: F401

from witgen.runtime.wasm import ComponentLoadError, loader

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WITGEN_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "wasm"


def _exports_state(component: object) -> bool:
    return component.get_export_index("wamli:stateful/state") is not None  # type: ignore[attr-defined]


def test_a_compiled_component_is_cached_and_reused(cache: Path, stateful_wat_wasm: Path) -> None:
    engine = loader.engine_for()
    assert _exports_state(loader.load(engine, stateful_wat_wasm))
    artifacts = list(cache.glob("*.cwasm"))
    assert [a.name for a in artifacts] == [loader.cache_key(stateful_wat_wasm.read_bytes()) + ".cwasm"]
    stamp = artifacts[0].stat().st_mtime_ns
    assert _exports_state(loader.load(engine, stateful_wat_wasm.read_bytes()))
    assert artifacts[0].stat().st_mtime_ns == stamp  # read, not written again


def test_the_key_covers_content_wasmtime_version_and_engine_settings(stateful_wat_wasm: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wasm = stateful_wat_wasm.read_bytes()
    key = loader.cache_key(wasm)
    assert loader.cache_key(wasm + b"\0") != key
    monkeypatch.setattr(loader, "WASMTIME_VERSION", "0.0.0")
    assert loader.cache_key(wasm) != key
    monkeypatch.undo()
    monkeypatch.setattr(loader, "ENGINE_SETTINGS", (("epoch_interruption", False),))
    assert loader.cache_key(wasm) != key


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty"])
def test_a_damaged_artifact_is_never_deserialized_but_compiled_again(
    cache: Path, stateful_wat_wasm: Path, damage: str
) -> None:
    engine = loader.engine_for()
    loader.load(engine, stateful_wat_wasm)
    (artifact,) = cache.glob("*.cwasm")
    data = bytearray(artifact.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0xFF
    elif damage == "truncate":
        del data[len(data) // 3 :]
    else:
        data.clear()
    artifact.write_bytes(bytes(data))
    assert loader._read_artifact(engine, artifact) is None  # the checksum refuses it
    assert _exports_state(loader.load(engine, stateful_wat_wasm))
    assert loader._read_artifact(engine, artifact) is not None  # rewritten whole


def test_concurrent_processes_share_one_compilation(tmp_path: Path, stateful_wat_wasm: Path) -> None:
    script = (
        "import sys; from witgen.runtime.wasm import loader\n"
        "c = loader.load(loader.engine_for(), sys.argv[1])\n"
        "print(c.get_export_index('wamli:stateful/model') is not None)\n"
    )
    env = {**os.environ, "WITGEN_CACHE_DIR": str(tmp_path / "shared")}
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(stateful_wat_wasm)], env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert outputs == ["True"] * 3
    assert [p.returncode for p in procs] == [0, 0, 0]
    assert len(list((tmp_path / "shared" / "wasm").glob("*.cwasm"))) == 1
    assert not list((tmp_path / "shared" / "wasm").glob(".tmp-*"))


def test_the_cache_can_be_turned_off(tmp_path: Path, stateful_wat_wasm: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WITGEN_CACHE_DIR", "")
    assert loader.cache_folder() is None
    assert _exports_state(loader.load(loader.engine_for(), stateful_wat_wasm))


def test_files_that_are_not_components_fail_in_one_clear_line(tmp_path: Path, cache: Path, wasm_tools: str) -> None:
    engine = loader.engine_for()
    core = tmp_path / "core.wasm"
    subprocess.run([wasm_tools, "parse", "-o", str(core)], input=b"(module)", check=True)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    broken = tmp_path / "broken.wasm"
    broken.write_bytes(b"\0asm\x0d\x00\x01\x00garbage")
    cases = {
        core: f"{core}: not a component (a core module)",
        text: f"{text}: not a component (not WebAssembly)",
        tmp_path / "missing.wasm": f"{tmp_path / 'missing.wasm'}: cannot read: No such file or directory",
    }
    for path, message in cases.items():
        with pytest.raises(ComponentLoadError) as failed:
            loader.load(engine, path)
        assert str(failed.value) == message
    with pytest.raises(ComponentLoadError) as failed:
        loader.load(engine, broken)
    assert str(failed.value).startswith(f"{broken}: not a valid component: ")
    assert "\n" not in str(failed.value)
    assert not list(cache.glob("*.cwasm"))
