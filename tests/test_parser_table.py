"""The parser table witgen ships (`grammars/wit.table.json`): current, equivalent, and needing no Lark.

The shipped table is used only when its key is the grammar's and its recipes name the
builder's methods as they are; otherwise the table is built with Lark as before.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from witgen.errors import Source, WitError
from witgen.frontend import tables
from witgen.frontend.lexer import Scanner
from witgen.frontend.parser import _Builder, parse_file

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "corpus" / "real"

BAD = [
    "package a:b;\ninterface i { f: func(x: u32 -> u32; }\n",
    "package a:b;\nworld w { import x: interface { } export; }\n",
    "package a:b@1.0;\n",
    "interface i { type t = list<u8, >; }\n",
    "package a:b;\ninterface i { record r { a: u32 b: u32 } }\n",
    "package a:b;\nuse a:b/c@1.0.0.{x};\n",
]


def wit_files() -> list[Path]:
    files = sorted((ROOT / "samples").glob("*/wit/**/*.wit"))
    files += sorted((ROOT / "tests" / "wit").rglob("*.wit")) if (ROOT / "tests" / "wit").is_dir() else []
    files += sorted(SHARED.rglob("*.wit")) if SHARED.is_dir() else []
    return files


def outcome(table: tables.Tables, builder: _Builder, source: Source) -> object:
    """The tree `table` parses from `source`, or its syntax error (message and place)."""
    try:
        builder.scanner = Scanner(source)
        return table.parse(builder.scanner)
    except WitError as exc:
        return ("error", exc.message, exc.span.start if exc.span else None)


def test_shipped_table_is_built_from_the_current_grammar() -> None:
    key = tables.grammar_key(tables.grammar_text())
    assert tables.shipped(key, _Builder()) is not None, (
        "grammars/wit.table.json does not fit grammars/wit.lark: run `python -m witgen.frontend.write_table`"
    )


def test_shipped_table_parses_as_the_table_lark_builds() -> None:
    key = tables.grammar_key(tables.grammar_text())
    ours, theirs = _Builder(), _Builder()
    data = tables.shipped(key, ours)
    assert data is not None
    shipped, built = tables.Tables(data, ours), tables.Tables(tables.build(tables.grammar_text(), theirs), theirs)
    sources = [Source(str(p), p.read_bytes().decode("utf-8", "replace")) for p in wit_files()]
    sources += [Source(f"bad{i}.wit", text) for i, text in enumerate(BAD)]
    assert len(sources) > 20
    for source in sources:
        assert outcome(shipped, ours, source) == outcome(built, theirs, source), source.path


def test_a_table_for_another_grammar_or_builder_is_not_used() -> None:
    key = tables.grammar_key(tables.grammar_text())
    assert tables.shipped(tables.grammar_key(tables.grammar_text() + "\n// edited\n"), _Builder()) is None

    class Renamed(_Builder):
        enum_decl = None  # type: ignore[assignment]

    assert tables.shipped(key, Renamed()) is None


def test_damaged_shipped_table_is_built_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    grammars = tmp_path / "grammars"
    grammars.mkdir()
    (grammars / "wit.lark").write_text(tables.grammar_text(), encoding="utf-8")
    (grammars / tables.SHIPPED).write_text('{"key": "', encoding="utf-8")
    monkeypatch.setattr(tables, "data_dir", lambda name: tmp_path / name)
    monkeypatch.setattr(tables, "table_cache", None)
    builder = _Builder()
    table = tables.load(builder)
    source = Source("t.wit", "package a:b;\ninterface i { enum e { a, b } }\n")
    assert outcome(table, builder, source) == parse_file(source)


def test_a_fresh_process_without_a_cache_parses_without_lark() -> None:
    code = (
        "import sys\n"
        "from witgen.errors import Source\n"
        "from witgen.frontend.parser import parse_file\n"
        "parse_file(Source('t.wit', 'package a:b;\\ninterface i { f: func(); }\\n'))\n"
        "print('lark' in sys.modules)\n"
    )
    env = dict(os.environ, WITGEN_CACHE_DIR="")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert proc.stdout.strip() == "False"
