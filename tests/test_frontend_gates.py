"""A plain `@since(version = X.Y.Z)` / `@deprecated(version = X.Y.Z)`, and a plain version
after `@` or `=`, read as one token.

The scanner takes such a gate in one step (a GATE token); the tree it gives is the one
the token-by-token read gives, and a file that is wrong at or around a gate is
reported as the reference parser reports it (checked against the live wasm-tools).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from witgen import errors
from witgen.errors import Source, WitError
from witgen.frontend import parser
from witgen.frontend.lexer import Scanner


def _tokens(text: str, fast_gates: bool = True) -> list[tuple[str, str]]:
    return [(t.type, t.value) for t in Scanner(Source("t.wit", text), fast_gates).tokens()]


def _error(text: str, fast_gates: bool = True) -> str:
    """What the scanner says is wrong with `text` ("" if nothing)."""
    try:
        _tokens(text, fast_gates)
    except WitError as exc:
        return exc.render()
    return ""


def _parse_token_by_token(source: Source) -> object:
    table, builder = parser._parser()
    with parser._LOCK:
        builder.scanner = Scanner(source, fast_gates=False)
        try:
            return table.parse(builder.scanner)
        finally:
            del builder.scanner


def test_a_plain_gate_is_one_token_whose_value_is_the_version() -> None:
    text = "@since(version = 0.2.0) @deprecated( version=1.10.0\t) @since(version = 1.0.0-rc)"
    assert _tokens(text) == [
        ("GATE", "0.2.0"),
        ("GATE", "1.10.0"),
        *_tokens("@since(version = 1.0.0-rc)", fast_gates=False),
    ]
    assert len(_tokens(text, fast_gates=False)) == 3 * 11 + 2  # `-rc`: MINUS ID


def test_gates_give_the_tree_of_the_token_by_token_read(shared: Path) -> None:
    files = sorted((shared / "corpus" / "real").rglob("*.wit"))
    gated = 0
    for path in files:
        source = Source(str(path), path.read_text(encoding="utf-8"))
        gated += sum(t.type == "GATE" for t in Scanner(source).tokens())
        assert parser.parse_file(source) == _parse_token_by_token(source), path
    assert gated > 300  # the real packages gate nearly every item


# Files wrong at, inside or right after a gate: each must fail as wasm-tools says.
WRONG_AROUND_GATES = {
    "gate-where-semi": "package a:b;\ninterface i {\n  x: func() @since(version = 1.0.0);\n}\n",
    "gate-in-type": "package a:b;\ninterface i {\n  type t = list<@since(version = 1.0.0) u8>;\n}\n",
    "gate-after-version": "package a:b@1.0.0 @since(version = 1.0.0);\n",
    "gate-before-brace": "package a:b;\ninterface i {\n  @since(version = 1.0.0)\n}\n",
    "gate-at-eof": "package a:b;\n@since(version = 1.0.0) @deprecated(version = 1.0.0)",
    "gate-on-nested-package": "package a:b;\n@since(version = 1.0.0) package c:d {}\n",
    "gate-leading-zero": "package a:b;\n@since(version = 01.0.0)\ninterface i {}\n",
    "gate-in-gate": "package a:b;\n@since(@since(version = 1.0.0))\ninterface i {}\n",
    "gate-after-use-path": "package a:b;\nuse c:d/e@since(version = 1.0.0);\n",
    "gate-then-bad-id": "package a:b;\n@since(version = 1.0.0) interface I-xY {}\n",
    "gate-in-params": "package a:b;\ninterface i {\n  f: func(@since(version = 1.0.0) a: u8);\n}\n",
}


def _reference(wasm_tools: str, path: Path) -> str:
    proc = subprocess.run(
        [wasm_tools, "component", "wit", "--json", str(path)], capture_output=True, timeout=60
    )
    assert proc.returncode == 1, proc.stdout.decode()[:200]
    return proc.stderr.decode("utf-8").removeprefix("error: ").rstrip("\n")




def test_a_plain_version_after_at_or_equals_is_one_token() -> None:
    assert _tokens("a@0.2.8.{x}") == [
        ("ID", "a"), ("AT", "@"), ("VERSION", "0.2.8"), ("DOT", "."), ("LBRACE", "{"), ("ID", "x"), ("RBRACE", "}")
    ]
    assert _tokens("(version = 4.5.6)")[3] == ("VERSION", "4.5.6")
    assert _tokens("f@1.2.3.4;") == [("ID", "f"), ("AT", "@"), ("VERSION", "1.2.3"), ("DOT", "."), ("INTEGER", "4"), ("SEMI", ";")]
    # a pre-release or build (even past whitespace or a comment), a leading zero, or a
    # number where no version starts: token by token
    for text in ("b@1.2.3-rc;", "b@1.2.3+x;", "d@1.2.3/*c*/;", "<u8, 1.2.3>"):
        assert _tokens(text) == _tokens(text, fast_gates=False), text
        assert "VERSION" not in {t for t, _ in _tokens(text)}, text
    for text in ("c@1.2.3 -rc;", "c@1.2.3 // c\n -rc;", "e@01.2.3;"):  # (not semver)
        assert _error(text) == _error(text, fast_gates=False) != "", text


def test_plain_versions_give_the_tree_of_the_token_by_token_read(shared: Path) -> None:
    versions = 0
    for path in sorted((shared / "corpus" / "real").rglob("*.wit")):
        source = Source(str(path), path.read_text(encoding="utf-8"))
        versions += sum(t.type == "VERSION" for t in Scanner(source).tokens())
        assert parser.parse_file(source) == _parse_token_by_token(source), path
    assert versions > 50  # a `use` of another package names its version


# Files wrong at, inside or right after a plain version: each must fail as wasm-tools says.
WRONG_AROUND_VERSIONS = {
    "version-then-id": "package a:b@1.0.0 interface i {}\n",
    "version-twice": "package a:b@1.0.0@2.0.0;\n",
    "version-then-dot-number": "package a:b@1.0.0.4;\n",
    "version-in-type": "package a:b;\ninterface i {\n  type t = list<u8, 1.2.3>;\n}\n",
    "version-at-eof": "package a:b@1.0.0",
    "version-huge": "package a:b@99999999999999999999.0.0;\n",
    "version-use-no-brace": "package a:b;\ninterface i {\n  use c:d/e@1.2.3.x;\n}\n",
    "version-where-name": "package a:b;\ninterface 1.2.3 {}\n",
}


WRONG = {**WRONG_AROUND_GATES, **WRONG_AROUND_VERSIONS}


@pytest.mark.parametrize("name", sorted(WRONG))
def test_errors_around_gates_and_versions_are_the_reference_parsers(
    name: str, wasm_tools: str, tmp_path: Path
) -> None:
    path = tmp_path / f"{name}.wit"
    path.write_text(WRONG[name], encoding="utf-8")
    with pytest.raises(WitError) as caught:
        parser.parse_file(Source(str(path), WRONG[name]), wat=True)
    assert caught.value.render() == _reference(wasm_tools, path)
    assert isinstance(caught.value.span, errors.Span)
