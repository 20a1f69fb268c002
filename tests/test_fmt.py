"""`witgen fmt`: the WIT source formatter.

Over every `.wit` file of the wit-parser UI corpus and the real corpus, and over
seeded mutated copies of them (whitespace between tokens scrambled, blank lines
added, comments moved between their own line and the end of the line before):
formatting is idempotent, keeps the syntax tree (spans aside) and the sequence of
comment texts, and `witgen fmt` on a copy of each package leaves its resolved
JSON unchanged. Then one test per style rule, and the command's safety: files
that do not parse are refused untouched, `--check`, `--diff`, `--deps`, atomic writes.
"""

from __future__ import annotations

import random
import shutil
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_resolver import _generated_package

from witgen.cli import main
from witgen.errors import Source, WitError
from witgen.frontend.lexer import Scanner
from witgen.frontend.parser import parse_file
from witgen.resolver import load
from witgen.witout.files import _syntax_key
from witgen.witout.formatter import each_comment, format_source

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
UI = SHARED / "corpus" / "wit-parser-ui" / "ui"
REAL = SHARED / "corpus" / "real"


def _files() -> list[Path]:
    if not UI.is_dir():
        return []
    found = []
    for root in (UI, REAL):
        for path in sorted(root.rglob("*.wit")):
            if "parse-fail" in path.parts:
                continue
            try:
                parse_file(Source(str(path), path.read_text(encoding="utf-8")))
            except WitError:
                continue  # a case the reference 1.262 rejects too (empty record)
            found.append(path)
    return found


FILES = _files()


def _ids(files: list[Path]) -> list[str]:
    return [str(p.relative_to(SHARED)) for p in files] or ["<corpus absent>"]


def comments(text: str) -> list[str]:
    scanner = Scanner(Source("x.wit", text), fast_gates=False)
    list(scanner.tokens())
    return [
        text[a:b].replace("\r\n", "\n").rstrip()
        for key in sorted(scanner.comments)
        for a, b in each_comment(text, scanner.comments[key])
    ]


def mutate(text: str, rng: random.Random) -> str:
    """The same tokens and comments, other whitespace: gaps between two tokens or
    comments rewritten (a gap after a `//` comment keeps a newline)."""
    scanner = Scanner(Source("x.wit", text), fast_gates=False)
    pieces: list[tuple[int, int, bool]] = []  # (start, end, is line comment)
    for tok in scanner.tokens():
        for a, b in each_comment(text, scanner.comments.get(tok.start_pos, ())):
            pieces.append((a, b, text.startswith("//", a)))
        pieces.append((tok.start_pos, tok.end_pos, False))
    for a, b in each_comment(text, scanner.comments.get(scanner.eof, ())):
        pieces.append((a, b, text.startswith("//", a)))
    out: list[str] = []
    for n, (a, b, line) in enumerate(pieces):
        out.append(text[a:b])
        if n + 1 == len(pieces):
            break
        gap = text[b : pieces[n + 1][0]]
        choice = rng.random()
        if choice < 0.4 or not gap:  # adjacent tokens (`1.0.0`, `a:b`) stay adjacent
            new = gap
        elif choice < 0.6:
            new = "\n" * rng.randint(1, 4) + " " * rng.randint(0, 9)
        elif choice < 0.8:
            new = " " * rng.randint(1, 3) + "\t" * rng.randint(0, 1)
        else:
            new = " "
        if line and "\n" not in new:
            new = "\n" + new
        out.append(new)
    return "".join(out) + "\n"


def _check_formats(text: str) -> str:
    source = Source("x.wit", text)
    formatted = format_source(source)
    assert format_source(Source("x.wit", formatted)) == formatted  # idempotent
    assert _syntax_key(parse_file(Source("x.wit", formatted))) == _syntax_key(parse_file(source))
    assert comments(formatted) == comments(text)
    return formatted


@pytest.mark.parametrize("path", FILES or [None], ids=_ids(FILES))
def test_corpus_file(shared: Path, path: Path) -> None:
    _check_formats(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", FILES or [None], ids=_ids(FILES))
def test_mutated_corpus_file(shared: Path, path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    rng = random.Random(path.name)
    for _ in range(3):
        mutated = mutate(text, rng)
        assert comments(mutated) == comments(text)
        _check_formats(mutated)


def _packages() -> list[Path]:
    if not UI.is_dir():
        return []
    skip = {"kinds-of-deps", "multi-file", "types.wit", "union-fuzz-2.wit", "use-chain.wit"}
    ui = [
        e
        for e in sorted(UI.iterdir())
        if e.name not in skip and e.name != "parse-fail" and (e.is_dir() or e.suffix == ".wit")
    ]
    return ui + sorted(e for e in REAL.iterdir() if e.is_dir())


PACKAGES = _packages()


def _resolved(path: Path) -> list[str | None]:
    """The resolved JSON with no feature, with `active`, and with all (None where invalid)."""
    out: list[str | None] = []
    for features, all_features in (([], False), (["active"], False), ([], True)):
        try:
            out.append(load(path, features, all_features).to_json())
        except WitError:
            out.append(None)
    return out


@pytest.mark.parametrize("package", PACKAGES or [None], ids=_ids(PACKAGES))
def test_fmt_keeps_resolved_json(shared: Path, tmp_path: Path, package: Path) -> None:
    """`witgen fmt --deps` over a copy of each package (half its files mutated): same JSON,
    then nothing left to do."""
    copy = tmp_path / package.name
    if package.is_dir():
        shutil.copytree(package, copy)
    else:
        shutil.copy(package, copy)
    rng = random.Random(package.name)
    for path in sorted(copy.rglob("*.wit")) if copy.is_dir() else [copy]:
        text = path.read_text(encoding="utf-8")
        if rng.random() < 0.5:
            path.write_text(mutate(text, rng), encoding="utf-8")
    before = _resolved(copy)
    assert any(before)
    run = CliRunner().invoke(main, ["fmt", "--deps", str(copy)])
    assert run.exit_code == 0, run.output
    assert _resolved(copy) == before
    again = CliRunner().invoke(main, ["fmt", "--deps", "--check", str(copy)])
    assert again.exit_code == 0, again.output


@pytest.mark.parametrize("seed", range(60))
def test_generated_package(tmp_path: Path, seed: int) -> None:
    """The seeded generated packages of the resolver tests, mutated: same checks, same JSON."""
    text = _generated_package(random.Random(seed))
    path = tmp_path / "gen.wit"
    path.write_text(mutate(text, random.Random(seed)), encoding="utf-8")
    before = _resolved(path)
    _check_formats(path.read_text(encoding="utf-8"))
    run = CliRunner().invoke(main, ["fmt", str(path)])
    assert run.exit_code == 0, run.output
    assert _resolved(path) == before


# --------------------------------------------------------------------------- style rules


def fmt(text: str) -> str:
    return _check_formats(text)


def test_rule_blocks_indent_two_spaces_one_item_per_line() -> None:
    got = fmt("package a:b;\ninterface i { type t = u8; f: func(); resource r { m: func(); } }\n")
    assert got == (
        "package a:b;\n\ninterface i {\n  type t = u8;\n  f: func();\n"
        "  resource r {\n    m: func();\n  }\n}\n"
    )


def test_rule_comma_bodies_one_per_line_with_trailing_comma() -> None:
    got = fmt(
        "package a:b;\ninterface i { record r { a: u8, b: tuple<u8, u16> }\n"
        "flags f { x, y, } enum e { p } variant v { c(list<u8>), d } }\n"
    )
    assert "  record r {\n    a: u8,\n    b: tuple<u8, u16>,\n  }\n" in got
    assert "  flags f {\n    x,\n    y,\n  }\n" in got
    assert "  enum e {\n    p,\n  }\n" in got
    assert "  variant v {\n    c(list<u8>),\n    d,\n  }\n" in got


def test_rule_inline_lists_one_line_without_trailing_comma() -> None:
    got = fmt(
        "package a:b;\ninterface i {\n  use j.{\n    x,\n    y,\n  };\n"
        "  f: func(\n    a: u8,\n    b: tuple<u8,u16,>,\n  ) -> result<_, u8>;\n}\n"
        "interface j { type x = u8; type y = u8; }\n"
    )
    assert "  use j.{x, y};\n" in got
    assert "  f: func(a: u8, b: tuple<u8, u16>) -> result<_, u8>;\n" in got


def test_rule_spacing_and_paths() -> None:
    got = fmt(
        "package  a : b @ 1.0.0-rc.1 ;\nworld w{import x : a : b / i @ 1.0.0-rc.1 ;"
        "export c:d/e@2.0.0;include v with{a as b}}\nworld v {}\n"
        "interface i{type t=list<u8 ,4>;f:func(a:u8)->u8;}\n"
    )
    assert got.startswith("package a:b@1.0.0-rc.1;\n")
    assert "  import x: a:b/i@1.0.0-rc.1;\n" in got
    assert "  export c:d/e@2.0.0;\n" in got
    assert "  include v with { a as b }\n}\n" in got
    assert "  type t = list<u8, 4>;\n  f: func(a: u8) -> u8;\n" in got


def test_rule_gates_on_their_own_lines() -> None:
    got = fmt(
        "package a:b@1.0.0;\n@since(version = 1.0.0) @deprecated(version=1.0.0) interface i "
        "{ @unstable(feature=x) f: func(); }\n"
    )
    assert got == (
        "package a:b@1.0.0;\n\n@since(version = 1.0.0)\n@deprecated(version = 1.0.0)\n"
        "interface i {\n  @unstable(feature = x)\n  f: func();\n}\n"
    )


def test_rule_blank_lines() -> None:
    got = fmt(
        "\n\npackage a:b;\ninterface i {\n\n\n  type a = u8;\n  type b = u8;\n\n\n\n"
        "  type c = u8;\n\n}\ninterface j {}\nworld w { import i; import j; }\n\n\n"
    )
    assert got == (
        "package a:b;\n\ninterface i {\n  type a = u8;\n  type b = u8;\n\n  type c = u8;\n}\n\n"
        "interface j {\n}\n\nworld w {\n  import i;\n  import j;\n}\n"
    )


def test_rule_comments_stay_where_they_belong() -> None:
    text = (
        "// header\npackage a:b;\ninterface i {  // about i\n        /// docs of r\n"
        "  record r { a: u8 // the a\n  }\n  /* block */ f: func(\n  // param\n  x: u8);\n"
        "      // the end\n}\n// trailer\n"
    )
    got = fmt(text)
    assert got == (
        "// header\npackage a:b;\n\ninterface i { // about i\n  /// docs of r\n"
        "  record r {\n    a: u8, // the a\n  }\n  /* block */ f: func(\n"
        "    // param\n    x: u8);\n  // the end\n}\n// trailer\n"
    )


def test_rule_nested_packages_and_empty_file() -> None:
    got = fmt("package a:b;\npackage c:d{interface x{}}\ninterface y{}\n")
    assert got == ("package a:b;\n\npackage c:d {\n  interface x {\n  }\n}\n\ninterface y {\n}\n")
    assert format_source(Source("x.wit", "\n\n")) == ""


def test_rule_line_ends_and_bom() -> None:
    text = "\ufeffpackage a:b;\r\n/// doc  \r\n/* a\r\n b */\r\ninterface i {\r\n\ttype t = u8; // x \r\n}\r\n"
    got = fmt(text)
    assert got == "package a:b;\n\n/// doc\n/* a\n b */\ninterface i {\n  type t = u8; // x\n}\n"


# --------------------------------------------------------------------------- the command


GOOD = "package a:b;\n\ninterface i {\n  type t = u8;\n}\n"
UGLY = "package a:b;\ninterface i {   type t = u8; }"


def test_refuses_file_that_does_not_parse(tmp_path: Path) -> None:
    bad = tmp_path / "bad.wit"
    bad.write_text("package a:b;\ninterface i { type t = ; }\n")
    ugly = tmp_path / "ugly.wit"
    ugly.write_text(UGLY)
    before = bad.read_bytes()
    run = CliRunner().invoke(main, ["fmt", str(bad), str(ugly)])
    assert run.exit_code == 1
    assert "error: " in run.output and f"{bad}:2:" in run.output
    assert "Traceback" not in run.output
    assert bad.read_bytes() == before
    assert ugly.read_text() == GOOD  # the other file is still formatted


def test_refuses_output_that_changes_meaning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The meaning check runs on every invocation: a formatter bug cannot reach the file."""
    path = tmp_path / "a.wit"
    path.write_text(UGLY)
    import witgen.witout.files as files

    monkeypatch.setattr(files, "format_source", lambda s: s.text.replace("u8", "u16"))
    run = CliRunner().invoke(main, ["fmt", str(path)])
    assert run.exit_code == 1
    assert "would change its meaning" in run.output
    assert path.read_text() == UGLY


def test_resolved_json_check_refuses_a_changed_package(tmp_path: Path) -> None:
    """The second guard on its own: a text whose package resolves differently is refused,
    for a package folder and for a file that is a package of its own."""
    from witgen.witout.files import Outcome, _check_resolved

    (tmp_path / "pkg").mkdir()
    a, b = tmp_path / "pkg" / "a.wit", tmp_path / "pkg" / "b.wit"
    a.write_text("package a:b;\ninterface i { use j.{t}; }\n")
    b.write_text("interface j { type t = u8; }\n")
    alone = tmp_path / "alone.wit"
    alone.write_text(UGLY)
    for path, after in (
        (b, "interface j { type t = u16; }\n"),
        (alone, GOOD.replace("u8", "u16")),
    ):
        kept = Outcome(path, path.read_text(), path.read_text().replace(" {", "  {"))
        changed = Outcome(path, path.read_text(), after)
        _check_resolved(path.parent, [kept], {})
        _check_resolved(path.parent, [changed], {})
        assert kept.error is None
        assert changed.error is not None and "would change" in changed.error


def test_check_lists_files_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "good.wit").write_text(GOOD)
    (tmp_path / "ugly.wit").write_text(UGLY)
    run = CliRunner().invoke(main, ["fmt", "--check", str(tmp_path)])
    assert run.exit_code == 1
    assert f"would reformat {tmp_path / 'ugly.wit'}" in run.output
    assert "good.wit" not in run.output.replace("1 of 2", "")
    assert (tmp_path / "ugly.wit").read_text() == UGLY
    (tmp_path / "ugly.wit").write_text(GOOD)
    assert CliRunner().invoke(main, ["fmt", "--check", str(tmp_path)]).exit_code == 0


def test_diff_prints_unified_diff(tmp_path: Path) -> None:
    path = tmp_path / "ugly.wit"
    path.write_text(UGLY)
    run = CliRunner().invoke(main, ["fmt", "--diff", str(path)])
    assert run.exit_code == 0
    assert f"--- {path}\n+++ {path} (formatted)\n" in run.output
    assert "-interface i {   type t = u8; }" in run.output and "+  type t = u8;" in run.output
    assert path.read_text() == UGLY


def test_deps_only_with_flag_and_mode_kept(tmp_path: Path) -> None:
    (tmp_path / "deps").mkdir()
    main_wit, dep = tmp_path / "main.wit", tmp_path / "deps" / "c.wit"
    main_wit.write_text("package a:b;\ninterface i { use c:d/x.{t}; }")
    dep.write_text("package c:d;\ninterface x { type t = u8; }")
    main_wit.chmod(0o640)
    run = CliRunner().invoke(main, ["fmt", str(tmp_path)])
    assert run.exit_code == 0, run.output
    assert main_wit.read_text() == "package a:b;\n\ninterface i {\n  use c:d/x.{t};\n}\n"
    assert stat.S_IMODE(main_wit.stat().st_mode) == 0o640
    assert dep.read_text() == "package c:d;\ninterface x { type t = u8; }"
    run = CliRunner().invoke(main, ["fmt", "--deps", str(tmp_path)])
    assert run.exit_code == 0, run.output
    assert dep.read_text() == "package c:d;\n\ninterface x {\n  type t = u8;\n}\n"
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]
