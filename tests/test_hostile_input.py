"""Hostile input on the command line: a clear one-line error (exit 1) or a usage error
(exit 2), never a traceback; and characters in messages escaped as the reference escapes them.

The reference's own wording is taken from the `wasm-tools` binary, run on the same files.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from witgen.cli import main
from witgen.errors import rust_char, rust_debug_str


def invoke(*args: str, cwd: Path | None = None) -> tuple[int, str]:
    """Run the CLI in process; any exception but SystemExit (a traceback) fails the test."""
    result = CliRunner().invoke(main, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"traceback for {args}") from result.exception
    return result.exit_code, result.stderr


def reference_error(wasm_tools: str, path: Path) -> str:
    """The reference's message for `path` (first line, without `error: `)."""
    proc = subprocess.run(
        [wasm_tools, "component", "wit", str(path)], capture_output=True, cwd=path.parent
    )
    assert proc.returncode == 1, proc.stderr
    return proc.stderr.decode("utf-8").removeprefix("error: ").splitlines()[0]


@pytest.fixture()
def not_utf8(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A single file and a package folder holding one file that are not UTF-8."""
    monkeypatch.chdir(tmp_path)
    single = tmp_path / "b.wit"
    single.write_bytes(b"\xff")
    folder = tmp_path / "pkg"
    folder.mkdir()
    (folder / "a.wit").write_text("package a:b;\n\ninterface x {\n  type y = u8;\n}\n")
    (folder / "b.wit").write_bytes(b"interface z {}\n\xc3(\n")
    return {"file": single, "folder": folder}


@pytest.mark.parametrize("where", ["file", "folder"])
def test_wit_that_is_not_utf8_is_the_reference_error_in_every_command(
    not_utf8: dict[str, Path], where: str, wasm_tools: str
) -> None:
    path = not_utf8[where]
    expected = reference_error(wasm_tools, path).replace(f"{path.parent}/", "")
    name = path.name
    assert "utf-8" in expected.lower()
    commands = [
        ("parse", name),
        ("generate", name, "-o", "out"),
        ("check", name, "-o", "out"),
        ("wire", "encode", "--wit", name, "--type", "a:b/x.y", "1"),
    ]
    for command in commands:
        code, err = invoke(*command)
        assert code == 1, command
        assert err.startswith("error: ") and expected in err.splitlines()[0], (command, err)
    assert not (path.parent / "out").exists()  # nothing half-written


def test_wave_nesting_deeper_than_the_limit_is_an_error() -> None:
    from witgen.wave.reader import MAX_NESTING

    deep_list = "[" * 400 + "]" * 400
    deep_some = "some(" * 2000 + "1" + ")" * 2000
    for type_, value in (("list<u8>", deep_list), ("option<u8>", deep_some)):
        code, err = invoke("wire", "encode", "--type", type_, "--", value)
        assert code == 1
        assert err.startswith("error: <value>:1:") and "nesting too deep" in err
    # at the limit, the value is read and typed: the error is about the type
    at_limit = "[" * MAX_NESTING + "]" * MAX_NESTING
    code, err = invoke("wire", "encode", "--type", "list<u8>", "--", at_limit)
    assert code == 1 and "invalid value type" in err
    # brackets inside strings do not count
    code, _ = invoke("wire", "encode", "--type", "string", "--", '"' + "[" * 2000 + '"')
    assert code == 0


def test_deeply_nested_wave_value_round_trips() -> None:
    depth = 19  # generated codecs nest one Python block per level (20 at most)
    type_ = "list<" * depth + "u8" + ">" * depth
    value = "[" * depth + "7" + "]" * depth
    result = CliRunner().invoke(main, ["wire", "encode", "--type", type_, "--", value])
    assert result.exit_code == 0, result.output
    hex_digits = result.stdout.strip()
    result = CliRunner().invoke(main, ["wire", "decode", "--type", type_, hex_digits])
    assert result.exit_code == 0 and result.stdout.strip() == value


@pytest.mark.parametrize(
    "type_,value", [("u32", "9" * 4301), ("s64", "-" + "1" * 5000), ("u8", "1" + "0" * 4400)]
)
def test_integer_beyond_pythons_digit_limit_is_out_of_range(type_: str, value: str) -> None:
    code, err = invoke("wire", "encode", "--type", type_, "--", value)
    assert code == 1
    line = err.splitlines()[0]
    assert line.startswith(f"error: <value>:1:1: value out of range for {type_}: ")
    assert len(line) < 120


@pytest.mark.parametrize("command", ["generate", "check"])
def test_empty_output_folder_is_a_usage_error(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("x.wit").write_text("package a:b;\n\ninterface i {\n  f: func();\n}\n")
    for args in (("x.wit", "-o", ""), ("x.wit", "--out", "  "), ("", "-o", "out")):
        code, err = invoke(command, *args)
        assert code == 2, args
        assert "must not be empty" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.wit"]  # nothing written


# Characters the reference escapes in `unexpected character ...` (format, separators,
# private use, noncharacters, unassigned, combining marks) and some it prints as they are.
CHARACTERS = [
    "\ufeff",
    "\u200b",
    "\u200d",
    "\u2028",
    "\u2029",
    "\u00a0",
    "\u00ad",
    "\u3000",
    "\ue000",
    "\uffff",
    "\U0010ffff",
    "\u0378",
    "\u0301",
    "\u20dd",
    "\U0001f600",
    "\u00b2",
    "$",
    "'",
    "#",
]


def test_characters_in_messages_are_escaped_as_the_reference_escapes_them(
    tmp_path: Path, wasm_tools: str
) -> None:
    from witgen.resolver import load
    from witgen.errors import WitError

    for n, ch in enumerate(CHARACTERS):
        path = tmp_path / f"c{n}.wit"
        path.write_text(f"package a:b;\n\ninterface i {{\n  f: func(x: {ch});\n}}\n")
        with pytest.raises(WitError) as caught:
            load(path)
        expected = reference_error(wasm_tools, path)
        assert caught.value.render().splitlines()[0] == expected, hex(ord(ch))
        assert expected == f"unexpected character {rust_char(ch)}"


def test_rust_debug_forms() -> None:
    assert rust_char("\u0301") == "'\\u{301}'"
    assert rust_char("'") == "'\\''"
    assert rust_char('"') == "'\"'"
    assert rust_char("\0") == "'\\0'"
    assert rust_debug_str('a"b\\c\u0301') == '"a\\"b\\\\c\u0301"'
    assert rust_debug_str("\u0301x") == '"\\u{301}x"'
