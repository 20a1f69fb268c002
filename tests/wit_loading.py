"""One way for tests to load WIT into a `Resolve`.

Uses witgen's own front end (`witgen.resolver.load`) when it exists, else the reference
parser (`wasm-tools component wit --json`).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from witgen.model import Resolve


# Switched on once the resolver passes the corpus.
USE_WITGEN_FRONT_END = False


def load_wit(path: str | Path, features: tuple[str, ...] = ()) -> Resolve:
    if USE_WITGEN_FRONT_END:
        from witgen.resolver import load

        return load(str(path), features=features)
    from conftest import wasm_tools_path

    exe = wasm_tools_path()
    assert exe is not None, "wasm-tools is needed until witgen.resolver.load exists"
    cmd = [exe, "component", "wit", "--json", str(path)]
    if features:
        cmd += ["--features", ",".join(features)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return Resolve.from_json(out)
