"""Differential test on real-world WIT: witgen's JSON is the reference binary's, byte for byte.

Every package folder of ../shared/corpus/real is resolved by witgen and by
`wasm-tools component wit --json` (run live).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from witgen.resolver import load

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
REAL = SHARED / "corpus" / "real"


def _packages() -> list[str]:
    if not REAL.is_dir():
        return ["<corpus absent>"]
    return sorted(e.name for e in REAL.iterdir() if e.is_dir())


@pytest.mark.parametrize("package", _packages())
def test_real_package_matches_binary(shared: Path, wasm_tools: str, package: str) -> None:
    path = REAL / package
    out = subprocess.run(
        [wasm_tools, "component", "wit", "--json", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    got = load(path).to_json()
    assert json.loads(got) == json.loads(out.stdout)
    assert got == out.stdout.rstrip("\n")


@pytest.mark.parametrize("package", _packages())
def test_real_package_with_all_features(shared: Path, wasm_tools: str, package: str) -> None:
    """`--all-features` keeps every `@unstable` item, as the binary's flag does."""
    path = REAL / package
    out = subprocess.run(
        [wasm_tools, "component", "wit", "--json", "--all-features", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert load(path, all_features=True).to_json() == out.stdout.rstrip("\n")
