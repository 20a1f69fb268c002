"""`witgen wire`: selectors against what the WIT defines, versions, errors without tracebacks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from witgen.cli import main
from witgen.wave.wire import Wire, WireError, load_wit, parse_hex, select


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A package that depends on two versions of `a:b`, whose `i.t` differ."""
    root = tmp_path_factory.mktemp("versions")
    (root / "main.wit").write_text(
        "package test:main;\n\ninterface m {\n"
        "  use a:b/i@1.0.0.{t};\n  use a:b/i@2.0.0.{t as t2};\n"
        "  f: func(x: t, y: t2) -> t2;\n}\n"
    )
    for version, ty in (("1.0.0", "u8"), ("2.0.0", "string")):
        dep = root / "deps" / f"b-{version}"
        dep.mkdir(parents=True)
        (dep / "i.wit").write_text(
            f"package a:b@{version};\n\ninterface i {{\n  type t = {ty};\n"
            "  record pt { x: u8 }\n}\n"
        )
    return root


def run(*args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["wire", *args], input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_versions_select_the_package(two_versions: Path) -> None:
    wit = ["--wit", str(two_versions)]
    assert run("encode", *wit, "--type", "a:b/i@1.0.0.t", "5")[:2] == (0, "05\n")
    assert run("encode", *wit, "--type", "a:b/i@2.0.0.t", '"x"')[:2] == (0, "0178\n")
    assert run("decode", *wit, "--type", "a:b/i@2.0.0.t", "01 78")[:2] == (0, '"x"\n')


def test_version_needed_when_two_are_loaded(two_versions: Path) -> None:
    code, out, err = run("encode", "--wit", str(two_versions), "--type", "a:b/i.t", "5")
    assert code == 1 and out == ""
    assert "ambiguous" in err and "a:b/i@1.0.0" in err and "a:b/i@2.0.0" in err


def test_names_in_the_root_package_and_uses(two_versions: Path) -> None:
    wit = ["--wit", str(two_versions)]
    # `use`d types are names of the using interface too, and short `iface.name` works.
    assert run("encode", *wit, "--type", "test:main/m.t2", '"ab"')[:2] == (
        0,
        "026162\n",
    )
    assert run("encode", *wit, "--type", "m.t", "7")[:2] == (0, "07\n")
    assert run("encode", *wit, "--params", "test:main/m.f", '1, "a"')[:2] == (
        0,
        "010161\n",
    )
    assert run("decode", *wit, "--result", "test:main/m.f", "0161")[:2] == (0, '"a"\n')


def test_selector_errors_name_what_exists(two_versions: Path) -> None:
    resolve = load_wit(two_versions)
    with pytest.raises(
        WireError, match=r"unknown type `nope` in a:b/i@1.0.0 \(it defines: pt, t\)"
    ):
        select(resolve, "type", "a:b/i@1.0.0.nope")
    with pytest.raises(
        WireError, match=r"unknown function `g` in test:main/m \(it defines: f\)"
    ):
        select(resolve, "params", "test:main/m.g")
    with pytest.raises(WireError, match="no interface matches"):
        select(resolve, "type", "a:b/j@1.0.0.t")


def test_bad_wit_is_reported_with_its_place(tmp_path: Path) -> None:
    bad = tmp_path / "bad.wit"
    bad.write_text("package a:b;\ninterface i {\n  type t = nope;\n}\n")
    code, out, err = run("encode", "--wit", str(bad), "--type", "a:b/i.t", "1")
    assert code == 1 and out == ""
    assert "nope" in err and "bad.wit:3" in err and "Traceback" not in err


def test_value_errors_point_into_the_value() -> None:
    code, _, err = run("encode", "--type", "list<u8>", "[1, 2, 300]")
    assert code == 1
    assert "value out of range for u8: 300" in err and "^--" in err


def test_result_of_a_function_without_one(tmp_path: Path) -> None:
    wit = tmp_path / "n.wit"
    wit.write_text("package a:n;\ninterface i {\n  f: func();\n}\n")
    assert run("encode", "--wit", str(wit), "--result", "a:n/i.f", "()")[:2] == (
        0,
        "\n",
    )
    assert run("decode", "--wit", str(wit), "--params", "a:n/i.f", "-", stdin=b"")[
        :2
    ] == (0, "\n")
    code, _, err = run("decode", "--wit", str(wit), "--result", "a:n/i.f", "00")
    assert code == 1 and "no result" in err


def test_parse_hex() -> None:
    assert parse_hex("0A b0\n ff") == b"\x0a\xb0\xff"
    with pytest.raises(WireError, match="odd"):
        parse_hex("abc")
    with pytest.raises(WireError, match="position 2"):
        parse_hex("00xz")


def test_wire_engine_reuses_one_generation(two_versions: Path) -> None:
    resolve = load_wit(two_versions)
    first = Wire(resolve, select(resolve, "type", "a:b/i@1.0.0.t"))
    second = Wire(resolve, select(resolve, "type", "a:b/i@1.0.0.pt"), first.bindings)
    assert second.encode("{x: 3}") == b"\x03"
    assert second.decode(b"\x03") == "{x: 3}"


def test_as_a_process_no_traceback() -> None:
    """The installed entry point: bad input exits 1 with one `error:` line, usage 2."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "witgen",
            "wire",
            "decode",
            "--type",
            "string",
            "05 68 69",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert (
        proc.stderr.startswith("error: invalid encoding")
        and "Traceback" not in proc.stderr
    )
    proc = subprocess.run(
        [sys.executable, "-m", "witgen", "wire", "encode", "--type", "u8"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2


def test_items_without_a_wave_form(tmp_path: Path) -> None:
    wit = tmp_path / "r.wit"
    wit.write_text(
        "package a:r;\ninterface i {\n  resource res;\n  type ec = error-context;\n"
        "  type h = own<res>;\n}\n"
    )
    w = ["--wit", str(wit)]
    for args, needle in [
        (["encode", *w, "--type", "a:r/i.res", "1"], "passed by handle"),
        (["decode", *w, "--type", "a:r/i.res", "01"], "has no codec"),
        (["encode", *w, "--type", "a:r/i.ec", "1"], "no WAVE form"),
        (["decode", *w, "--type", "a:r/i.ec", "0101"], "no WAVE form"),
    ]:
        code, out, err = run(*args)
        assert code == 1 and out == "" and needle in err, (args, err)
    assert run("encode", *w, "--type", "a:r/i.h", "[1, 2]")[:2] == (0, "020102\n")
