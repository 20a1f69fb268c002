"""Conformance with wit-parser's UI corpus (../shared/corpus/wit-parser-ui).

Run as upstream runs it, with the feature `active` enabled:
- every valid case resolves to exactly its `.wit.json` (byte for byte, so also
  as parsed JSON);
- every `parse-fail` case is rejected with the first line of its `.wit.result`
  and the same `--> file:line:col`, or, where wasm-tools 1.262 words the error
  differently from the 0.257.1 corpus, with the 1.262 message (checked against
  the live binary in `test_differences_are_what_1262_prints`).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from witgen.errors import WitError
from witgen.resolver import load

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
UI = SHARED / "corpus" / "wit-parser-ui" / "ui"
PARSE_FAIL = UI / "parse-fail"

# WIT encoded as WebAssembly text (`simple-wasm-text.wat`, `kinds-of-deps/deps/d.wat`) is
# converted with wasmtime, an optional dependency.
try:
    import wasmtime  # noqa: F401

    WAT_MISSING = ""
except ImportError:
    WAT_MISSING = "WebAssembly text input needs wasmtime (pip install 'witgen[wasm]')"
NEEDS_WAT = {"kinds-of-deps", "simple-wasm-text.wat"}

# Valid in the 0.257.1 corpus, but they hold an empty record. The WIT grammar
# (WIT.md: `record-fields ::= record-field | ...`, likewise flags and tuple) needs
# at least one member, and wasm-tools 1.262 rejects them: so does witgen.
EMPTY_AGGREGATE = {
    "types.wit": ("types.wit", 24, 10),
    "multi-file": ("multi-file/bar.wit", 4, 10),
    "union-fuzz-2.wit": ("union-fuzz-2.wit", 11, 12),
    "use-chain.wit": ("use-chain.wit", 4, 10),
}

# parse-fail cases that wasm-tools 1.262 reports differently from the 0.257.1
# `.wit.result` (1.262 checks names for strong uniqueness in the first stage):
# case -> (first line, line, column), as the 1.262 binary prints them.
DIFFERS_IN_1262 = {
    "bad-resource7.wit": ("duplicate name `[constructor]a`", 6, 5),
    "bad-resource8.wit": ("name `[method]a.a` conflicts with previous name `a`", 5, 5),
    "case-insensitive-duplicates.wit": (
        "name `GET-USER` conflicts with previous name `get-user`",
        8,
        10,
    ),
    "duplicate-functions.wit": ("duplicate name `foo`", 7, 3),
    "use-conflict3.wit": ("duplicate name `x`", 12, 3),
}

# These also hold an empty record, so either error is right (issue 2).
EITHER_EMPTY_RECORD = {
    "async-bad-world3.wit": ("empty record", 5, 10),
    "import-and-export5.wit": ("empty record", 4, 10),
}

_WRAPPER = re.compile(r"^failed to resolve directory while parsing WIT for path \[[^\]]*\]: ")


def _cases(folder: Path, exclude: set[str]) -> list[str]:
    if not folder.is_dir():
        return ["<corpus absent>"]
    return [
        e.name
        for e in sorted(folder.iterdir())
        if e.name != "parse-fail"
        and e.name not in exclude
        and (e.is_dir() or e.suffix in (".wit", ".wat", ".wasm", ".md"))
    ]


def _stem(case: str) -> str:
    return case.rsplit(".", 1)[0] if "." in case else case


def _first_and_arrow(text: str) -> tuple[str, str | None]:
    lines = text.strip().splitlines()
    arrow = next((ln.strip() for ln in lines if ln.strip().startswith("--> ")), None)
    return lines[0], arrow


# --------------------------------------------------------------------------- valid cases


@pytest.mark.parametrize("case", _cases(UI, set(EMPTY_AGGREGATE)))
def test_valid_case(shared: Path, case: str) -> None:
    if case in NEEDS_WAT and WAT_MISSING:
        pytest.skip(WAT_MISSING)
    got = load(UI / case, features=["active"]).to_json()
    want = (UI / f"{_stem(case)}.wit.json").read_text(encoding="utf-8")
    assert json.loads(got) == json.loads(want)
    assert got == want.rstrip("\n")


@pytest.mark.parametrize("case", sorted(EMPTY_AGGREGATE))
def test_empty_aggregates_rejected(shared: Path, case: str) -> None:
    """The spec's grammar needs a member in a record, flags or tuple; 1.262 agrees."""
    rel, line, col = EMPTY_AGGREGATE[case]
    with pytest.raises(WitError) as info:
        load(UI / case, features=["active"])
    assert info.value.message == "empty record"
    assert f"--> {UI / rel}:{line}:{col}" in info.value.render()


def test_empty_aggregates_rejected_by_1262(shared: Path, wasm_tools: str) -> None:
    for case in EMPTY_AGGREGATE:
        out = subprocess.run(
            [wasm_tools, "component", "wit", str(UI / case)], capture_output=True, text=True
        )
        assert out.returncode != 0
        assert "empty record" in out.stderr.splitlines()[0]


# --------------------------------------------------------------------------- parse-fail cases


def _expected_failure(case: str) -> tuple[str, str | None]:
    if case in DIFFERS_IN_1262:
        first, line, col = DIFFERS_IN_1262[case]
        return first, f"--> {PARSE_FAIL / case}:{line}:{col}"
    text = (PARSE_FAIL / f"{_stem(case)}.wit.result").read_text(encoding="utf-8")
    text = text.replace("\\", "/").replace("tests/ui/parse-fail/", f"{PARSE_FAIL}/")
    return _first_and_arrow(_WRAPPER.sub("", text.strip()))


@pytest.mark.parametrize("case", _cases(PARSE_FAIL, set()))
def test_parse_fail_case(shared: Path, case: str) -> None:
    with pytest.raises(WitError) as info:
        load(PARSE_FAIL / case, features=["active"])
    got = _first_and_arrow(info.value.render())
    if case in EITHER_EMPTY_RECORD:
        first, line, col = EITHER_EMPTY_RECORD[case]
        if got == (first, f"--> {PARSE_FAIL / case}:{line}:{col}"):
            return
    assert got == _expected_failure(case)


@pytest.mark.parametrize("case", sorted({**DIFFERS_IN_1262, **EITHER_EMPTY_RECORD}))
def test_differences_are_what_1262_prints(shared: Path, wasm_tools: str, case: str) -> None:
    """The messages used instead of the corpus's are the reference binary's own."""
    table = DIFFERS_IN_1262 if case in DIFFERS_IN_1262 else EITHER_EMPTY_RECORD
    first, line, col = table[case]
    out = subprocess.run(
        [wasm_tools, "component", "wit", str(PARSE_FAIL / case)], capture_output=True, text=True
    )
    assert out.returncode != 0
    assert _first_and_arrow(out.stderr) == (
        f"error: {first}",
        f"--> {PARSE_FAIL / case}:{line}:{col}",
    )
