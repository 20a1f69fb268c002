"""One way for tests to load WIT into a `Resolve`.

Goes through witgen's own front end (`witgen.resolver.load`); `load_reference` reads the
same input with the reference parser (`wasm-tools component wit --json`).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from witgen.model import Resolve


def load_wit(path: str | Path, features: tuple[str, ...] = ()) -> Resolve:
    """The resolved model of a `.wit` file or package folder, by witgen's front end."""
    from witgen.resolver import load

    return load(str(path), features=features)


def load_reference(path: str | Path, features: tuple[str, ...] = ()) -> Resolve:
    """The same, by wasm-tools (for differential tests)."""
    from conftest import wasm_tools_path

    exe = wasm_tools_path()
    assert exe is not None, "wasm-tools is not installed"
    cmd = [exe, "component", "wit", "--json", str(path)]
    if features:
        cmd += ["--features", ",".join(features)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return Resolve.from_json(out)
