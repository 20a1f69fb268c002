"""A load whose files all come from the parse cache does not import the tokenizer or the builder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

WIT = """package demo:shop@1.0.0;

interface orders {
    /// One order.
    record order { id: u64, note: option<string> }
    place: func(o: order) -> result<u64, string>;
}

world shop { export orders; }
"""

LOAD = """
import sys
from pathlib import Path
from witgen.resolver import load
from witgen.workflow.astcache import AstCache, installed
with installed(AstCache(Path(sys.argv[2]))):
    resolved = load(sys.argv[1])
print(len(resolved.interfaces))
for name in ("witgen.frontend.lexer", "witgen.frontend.builder", "witgen.frontend.syntax_errors"):
    print(name, name in sys.modules)
"""


def _load(wit: Path, cache: Path) -> dict[str, str]:
    done = subprocess.run(
        [sys.executable, "-c", LOAD, str(wit), str(cache)], capture_output=True, text=True, check=True
    )
    lines = done.stdout.splitlines()
    assert lines[0] == "1"
    return dict(line.split() for line in lines[1:])


def test_cached_load_imports_no_tokenizer(tmp_path: Path) -> None:
    wit = tmp_path / "wit"
    wit.mkdir()
    (wit / "shop.wit").write_text(WIT)
    cold = _load(wit, tmp_path / "cache")
    assert cold == {
        "witgen.frontend.lexer": "True",
        "witgen.frontend.builder": "True",
        "witgen.frontend.syntax_errors": "False",
    }
    warm = _load(wit, tmp_path / "cache")
    assert warm == {
        "witgen.frontend.lexer": "False",
        "witgen.frontend.builder": "False",
        "witgen.frontend.syntax_errors": "False",
    }
