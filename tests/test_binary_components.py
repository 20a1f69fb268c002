"""Real components read by witgen as wasm-tools reads them, and used without a WIT folder.

The components are those the Wasm host tests build: WebAssembly text made into components
by `wasm-tools component new`, and a componentize-py build of the stateful sample.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

pytest.importorskip("nats", reason="the NATS test needs nats-py (pip install 'witgen[nats]')")

import wasm_fixtures  # noqa: E402
from nats_server import NatsServer, Served, nats  # noqa: E402,F401
from wasm_fixtures import (  # noqa: E402,F401
    build_dir,
    echoer_wasm,
    stateful_py_wasm,
    stateful_wat_wasm,
    test_wit_dir,
)

from witgen.binary import load_binary  # noqa: E402
from witgen.cli import main as witgen  # noqa: E402
from witgen.witout import print_wit  # noqa: E402

STATEFUL_WIT = str(wasm_fixtures.STATEFUL_WIT)
pytestmark = pytest.mark.timeout(900)


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(witgen, list(args))
    # A first compile says so on stderr (only when the cache is cold): not what these tests check.
    return result.exit_code, re.sub(r"(?m)^compiling .* for this machine; .*\n", "", result.output)


def reference(wasm_tools: str, component: Path, *flags: str) -> str:
    return subprocess.run(
        [wasm_tools, "component", "wit", *flags, str(component)], capture_output=True, text=True, check=True
    ).stdout


def test_components_read_as_wasm_tools_reads_them(
    wasm_tools: str, echoer_wasm: Path, stateful_wat_wasm: Path, stateful_py_wasm: Path  # noqa: F811
) -> None:
    for component in (echoer_wasm, stateful_wat_wasm, stateful_py_wasm):
        resolve = load_binary(component)
        want = reference(wasm_tools, component, "--json")
        assert json.loads(resolve.to_json()) == json.loads(want), component
        assert resolve.to_json() == want.rstrip("\n")
        assert print_wit(resolve) == reference(wasm_tools, component)


def test_call_a_component_with_its_own_interface(stateful_wat_wasm: Path, stateful_py_wasm: Path) -> None:  # noqa: F811
    for component in (stateful_wat_wasm, stateful_py_wasm):
        code, out = run("call", "--component", str(component), "wamli:stateful/state.get-metadata")
        assert (code, out) == (0, 'ok(["mobilenet", "v2", "imagenet"])\n')
    with_wit = run("call", "--component", str(stateful_wat_wasm), "--wit", STATEFUL_WIT, "wamli:stateful/model.get-metadata")
    without = run("call", "--component", str(stateful_wat_wasm), "wamli:stateful/model.get-metadata")
    assert with_wit == without and without[0] == 0


def test_call_without_a_component_still_needs_wit() -> None:
    code, out = run("call", "--nats", "nats://127.0.0.1:1", "wamli:stateful/state.get-data")
    assert code == 2 and "pass --wit" in out


def test_generate_from_a_component(stateful_wat_wasm: Path, tmp_path: Path) -> None:  # noqa: F811
    out = tmp_path / "bindings"
    code, text = run("generate", str(stateful_wat_wasm), "-o", str(out), "-q")
    assert code == 0, text
    generated = {p.relative_to(out).as_posix() for p in out.rglob("*.py")}
    assert any(p.startswith("wamli_stateful") for p in generated), generated
    check = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import bindings"],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr
    # Bindings generated from a binary type-check as strictly as those from WIT text.
    typed = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "bindings"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "MYPYPATH": str(Path(__file__).resolve().parent.parent)},
    )
    assert typed.returncode == 0, typed.stdout + typed.stderr


@pytest.fixture(scope="module")
def hosted(nats: NatsServer, stateful_wat_wasm: Path) -> Iterator[str]:  # noqa: F811
    proc = Served("-m", "witgen", "host", str(stateful_wat_wasm), "--nats", nats.url, "--prefix", "bin.stateful")
    try:
        yield nats.url
    finally:
        assert proc.stop() == 0, proc.log


def test_host_a_component_with_its_own_interface(hosted: str, stateful_wat_wasm: Path) -> None:  # noqa: F811
    code, out = run(
        "call", "--nats", hosted, "--prefix", "bin.stateful", "--wit", str(stateful_wat_wasm),
        "wamli:stateful/state.get-data",
    )  # fmt: skip
    assert (code, out) == (0, "ok([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15])\n")
