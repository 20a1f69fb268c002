"""`witgen parse --wit`: the resolved model printed as WIT, byte for byte what the reference prints.

Differential against the live `wasm-tools component wit` binary on every valid case
of the wit-parser UI corpus, every package of the real corpus (default features and
`--all-features`) and the seeded generated packages of the resolver tests. Round
trip: the printed text parses again, witgen and the binary resolve it to the same
JSON, and where the binary's own print/parse cycle keeps the JSON unchanged, so
does witgen's (the reference printer groups resource functions before free
functions and nested packages after the root, so some inputs come back reordered).
"""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_resolver import _generated_package

from witgen.cli import main
from witgen.resolver import load
from witgen.witout import print_wit
from witgen.witout.printer import escape

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
UI = SHARED / "corpus" / "wit-parser-ui" / "ui"
REAL = SHARED / "corpus" / "real"

# UI cases the reference 1.262 rejects (empty records) or that need binary WIT.
NOT_VALID = {"kinds-of-deps", "multi-file", "types.wit", "union-fuzz-2.wit", "use-chain.wit"}


def _ui_cases() -> list[str]:
    if not UI.is_dir():
        return ["<corpus absent>"]
    return [
        e.name
        for e in sorted(UI.iterdir())
        if e.name != "parse-fail"
        and e.name not in NOT_VALID
        and (e.is_dir() or e.suffix in (".wit", ".md"))
    ]


def _real_packages() -> list[str]:
    if not REAL.is_dir():
        return ["<corpus absent>"]
    return sorted(e.name for e in REAL.iterdir() if e.is_dir())


def _reference(wasm_tools: str, path: Path, *flags: str, json: bool = False) -> str:
    args = [wasm_tools, "component", "wit", *(["--json"] if json else []), *flags, str(path)]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def _check(wasm_tools: str, path: Path, flags: tuple[str, ...], tmp_path: Path) -> None:
    features = ["active"] if "active" in flags else []
    all_features = "--all-features" in flags
    resolve = load(path, features, all_features)
    printed = print_wit(resolve)
    assert printed == _reference(wasm_tools, path, *flags)

    # round trip: the printed text resolves again, as the binary resolves it
    again = tmp_path / "printed.wit"
    again.write_text(printed, encoding="utf-8")
    reparsed = load(again, features, all_features).to_json()
    assert reparsed == _reference(wasm_tools, again, *flags, json=True).rstrip("\n")
    if _reference(wasm_tools, path, *flags, json=True).rstrip("\n") == reparsed:
        assert reparsed == resolve.to_json()
    else:  # only reordered: the same packages, interfaces, worlds and named types
        assert _names(reparsed) == _names(resolve.to_json())


def _names(text: str) -> tuple[list[str], ...]:
    data = json.loads(text)
    return tuple(
        sorted(
            str(item["name"]) + str(sorted(item.get("functions", {})))
            for item in data[k]
            if item["name"] is not None
        )
        for k in ("packages", "interfaces", "worlds", "types")
    )


@pytest.mark.parametrize("case", _ui_cases())
def test_ui_case_prints_as_reference(
    shared: Path, wasm_tools: str, tmp_path: Path, case: str
) -> None:
    _check(wasm_tools, UI / case, ("--features", "active"), tmp_path)


@pytest.mark.parametrize("package", _real_packages())
@pytest.mark.parametrize("flags", [(), ("--all-features",)], ids=["default", "all-features"])
def test_real_package_prints_as_reference(
    shared: Path, wasm_tools: str, tmp_path: Path, package: str, flags: tuple[str, ...]
) -> None:
    _check(wasm_tools, REAL / package, flags, tmp_path)


@pytest.mark.parametrize("seed", range(60))
def test_generated_package_prints_as_reference(wasm_tools: str, tmp_path: Path, seed: int) -> None:
    path = tmp_path / "gen.wit"
    path.write_text(_generated_package(random.Random(seed)), encoding="utf-8")
    check = subprocess.run(
        [wasm_tools, "component", "wit", "--features", "active", str(path)],
        capture_output=True,
        text=True,
    )
    if check.returncode != 0:
        pytest.skip("the reference rejects this seed (resolver tests cover the diagnostic)")
    _check(wasm_tools, path, ("--features", "active"), tmp_path)


def test_keywords_and_gates_and_docs(wasm_tools: str, tmp_path: Path) -> None:
    """Escaped names, every gate, external ids and multi-line docs, through the CLI."""
    path = tmp_path / "k.wit"
    path.write_text(
        """/// pkg docs
package %use:%type@1.0.0;

/// first line
///
///   indented third
@since(version = 1.0.0)
interface %interface {
  @unstable(feature = f)
  @deprecated(version = 1.0.0)
  record %record { %list: list<u8>, %string: string }
  @since(version = 1.0.0)
  @deprecated(version = 1.0.0)
  resource %resource { constructor(); %func: func(%type: u8) -> own<%resource>; }
  type %own = own<%resource>;
  %enum: func() -> result<_, u8>;
}
world %world {
  use %interface.{%record as %borrow, %resource};
  import %import: func();
  export %interface;
}
""",
        encoding="utf-8",
    )
    got = CliRunner().invoke(main, ["parse", str(path), "--wit", "--features", "f"])
    assert got.exit_code == 0, got.output
    assert got.output == _reference(wasm_tools, path, "--features", "f")
    assert "record %record {" in got.output and "%string: string," in got.output
    assert escape("map") == "%map" and escape("maps") == "maps"


def test_wit_and_json_together_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "a.wit"
    path.write_text("package a:b;\n", encoding="utf-8")
    got = CliRunner().invoke(main, ["parse", str(path), "--wit", "--json"])
    assert got.exit_code == 2
    assert "--json and --wit" in got.output


def test_invalid_input_is_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "a.wit"
    path.write_text("package a:b;\ninterface x { f: func() -> nope; }\n", encoding="utf-8")
    got = CliRunner().invoke(main, ["parse", str(path), "--wit"])
    assert got.exit_code == 1
    assert got.output.startswith("error: ") and "Traceback" not in got.output
