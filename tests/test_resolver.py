"""The resolver's own cases (tests/wit/) and the `witgen parse` command.

Each case in tests/wit is a `.wit` file or a package folder; beside it sits
its golden, made by the reference binary (`wasm-tools component wit --json
--features active`, run from tests/wit on the relative path):
`<case>.json` when it resolves, `<case>.err` (stderr without `error: `) when
it does not. `WITGEN_BLESS=1` rewrites the goldens from the binary;
`test_golden_is_what_the_binary_prints` checks that they still are.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from witgen.cli import main
from witgen.errors import WitError
from witgen import model
from witgen.model import PackageName
from witgen.resolver import load
from witgen.resolver.bodies import name_key
from witgen.resolver.gates import version_debug
from witgen.resolver.semver import compare_versions, package_sort_key

WIT = Path(__file__).resolve().parent / "wit"
BLESS = bool(os.environ.get("WITGEN_BLESS"))
FEATURES = ["active"]


def _cases() -> list[str]:
    return sorted(e.name for e in WIT.iterdir() if e.is_dir() or e.suffix == ".wit")


def _stem(case: str) -> str:
    return case[: -len(".wit")] if case.endswith(".wit") else case


def _binary(wasm_tools: str, case: str) -> tuple[str, str]:
    """("json" | "err", text) as the reference binary prints it for a case."""
    out = subprocess.run(
        [wasm_tools, "component", "wit", "--json", "--features", ",".join(FEATURES), case],
        capture_output=True,
        text=True,
        cwd=WIT,
    )
    if out.returncode == 0:
        return "json", out.stdout.rstrip("\n")
    text = out.stderr.rstrip("\n")
    assert text.startswith("error: "), text
    return "err", text[len("error: ") :]


def _golden(case: str) -> tuple[str, str]:
    for kind in ("json", "err"):
        path = WIT / f"{_stem(case)}.{kind}"
        if path.exists():
            return kind, path.read_text(encoding="utf-8").rstrip("\n")
    raise AssertionError(f"no golden for {case}: run with WITGEN_BLESS=1")


def _witgen(case: str) -> tuple[str, str]:
    try:
        return "json", load(case, FEATURES).to_json()
    except WitError as exc:
        return "err", exc.render()


@pytest.mark.parametrize("case", _cases())
def test_case(case: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    if BLESS:
        kind, text = _binary(request.getfixturevalue("wasm_tools"), case)
        for old in ("json", "err"):
            (WIT / f"{_stem(case)}.{old}").unlink(missing_ok=True)
        (WIT / f"{_stem(case)}.{kind}").write_text(text + "\n", encoding="utf-8")
    monkeypatch.chdir(WIT)
    assert _witgen(case) == _golden(case)


@pytest.mark.parametrize("case", _cases())
def test_golden_is_what_the_binary_prints(wasm_tools: str, case: str) -> None:
    assert _binary(wasm_tools, case) == _golden(case)


def test_every_golden_has_a_case() -> None:
    stems = {_stem(c) for c in _cases()}
    goldens = {p.stem for p in WIT.iterdir() if p.suffix in (".json", ".err")}
    assert goldens == stems


# --------------------------------------------------------------------------- rules in isolation


def _type_refs(kind: model.TypeKind) -> list[int]:
    match kind:
        case model.Record(fields):
            refs: list[model.Type | None] = [f.type for f in fields]
        case model.Variant(cases):
            refs = [c.type for c in cases]
        case model.Tuple(types):
            refs = list(types)
        case model.Handle(_, r):
            refs = [r]
        case model.Result(ok, err):
            refs = [ok, err]
        case model.Map(k, v):
            refs = [k, v]
        case model.Alias(t) | model.List(t) | model.Option(t) | model.FixedList(t):
            refs = [t]
        case model.Future(t) | model.Stream(t):
            refs = [t]
        case _:
            refs = []
    return [r for r in refs if isinstance(r, int)]


@pytest.mark.parametrize("case", ["own-handles.wit", "include-clone.wit", "foreign-include"])
def test_loaded_model_invariants(case: str) -> None:
    """Dependencies first: types refer to earlier types, packages use earlier packages."""
    resolve = load(WIT / case, FEATURES)
    for tid, t in enumerate(resolve.types):
        assert all(ref < tid for ref in _type_refs(t.kind)), (tid, t)
    for iid, iface in enumerate(resolve.interfaces):
        assert iface.package is not None
        for tid in iface.types.values():
            assert resolve.types[tid].owner == model.InterfaceOwner(iid)
            kind = resolve.types[tid].kind
            if isinstance(kind, model.Alias) and isinstance(kind.type, int):
                owner = resolve.types[kind.type].owner
                if isinstance(owner, model.InterfaceOwner):
                    assert owner.id <= iid  # `use` of an earlier interface's type
    assert resolve.root == len(resolve.packages) - 1


def test_root_is_the_named_package() -> None:
    resolve = load(WIT / "pkg-order")
    assert resolve.root is not None
    assert str(resolve.packages[resolve.root].name) == "a:main"
    # name order first, then dependencies: z:dep (needed by a:main), a:main, b:other
    assert [str(p.name) for p in resolve.packages] == ["z:dep", "a:main", "b:other"]


def test_features_switch_unstable_items() -> None:
    path = WIT / "features.wit"
    without = load(path)
    with_off = load(path, features=["off", "active"])
    everything = load(path, all_features=True)
    assert [i.name for i in without.interfaces] == ["kept"]
    assert list(without.interfaces[0].functions) == []
    assert [i.name for i in with_off.interfaces] == ["gone", "kept"]
    assert list(with_off.interfaces[1].functions) == ["g", "h"]
    assert with_off.to_json() == everything.to_json()


@pytest.mark.parametrize(
    ("a", "b", "sign"),
    [
        ("1.0.0", "1.0.0", 0),
        ("1.0.0-rc.1", "1.0.0", -1),
        ("1.0.0-alpha", "1.0.0-alpha.1", -1),
        ("1.0.0-alpha.2", "1.0.0-alpha.10", -1),
        ("1.0.0-alpha.1", "1.0.0-alpha.beta", -1),
        ("0.2.10", "0.2.9", 1),
        ("1.0.0+a", "1.0.0", 1),
    ],
)
def test_semver_precedence(a: str, b: str, sign: int) -> None:
    assert compare_versions(a, b) == sign
    assert compare_versions(b, a) == -sign


def test_package_names_sort_unversioned_first() -> None:
    names = [PackageName.parse(n) for n in ("b:a", "a:b@1.0.0", "a:b", "a:b@0.9.0-rc")]
    assert [str(n) for n in sorted(names, key=package_sort_key)] == [
        "a:b",
        "a:b@0.9.0-rc",
        "a:b@1.0.0",
        "b:a",
    ]


def test_name_keys_follow_strong_uniqueness() -> None:
    assert name_key("Get-User") == name_key("get-user")
    assert name_key("[method]r.m") == name_key("[static]R.M")
    assert name_key("[method]a.a") == name_key("a")
    assert name_key("[constructor]a") != name_key("a")
    assert name_key("[method]a.b") != name_key("b")


def test_version_debug_matches_rust() -> None:
    assert version_debug("1.2.3") == "Version { major: 1, minor: 2, patch: 3 }"
    assert version_debug("1.0.0-rc.1+b7") == (
        'Version { major: 1, minor: 0, patch: 0, pre: Prerelease("rc.1"), '
        'build: BuildMetadata("b7") }'
    )


def test_binary_wit_is_refused(tmp_path: Path) -> None:
    (tmp_path / "pkg.wasm").write_bytes(b"\0asm\x0d\0\x01\0")
    with pytest.raises(WitError, match="binary WIT packages are not supported"):
        load(tmp_path / "pkg.wasm")
    (tmp_path / "deps").mkdir()
    (tmp_path / "deps" / "dep.wat").write_text("(component)")
    (tmp_path / "main.wit").write_text("package a:b;\n")
    with pytest.raises(WitError) as info:
        load(tmp_path)
    assert info.value.render().startswith(
        f"failed to parse dependency directory: {tmp_path / 'deps'}: binary WIT packages"
    )


def test_missing_path_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        load(tmp_path / "absent.wit")


# --------------------------------------------------------------------------- witgen parse


def test_cli_json_is_the_binarys(wasm_tools: str) -> None:
    result = CliRunner().invoke(main, ["parse", "--json", str(WIT / "include-clone.wit")])
    assert result.exit_code == 0
    want = subprocess.run(
        [wasm_tools, "component", "wit", "--json", str(WIT / "include-clone.wit")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert result.output == want.rstrip("\n") + "\n"


def test_cli_summary() -> None:
    result = CliRunner().invoke(main, ["parse", str(WIT / "pkg-order")])
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        "package z:dep",
        "  interface zi: 1 types, 0 functions",
        "package a:main (root)",
        "  interface m: 1 types, 0 functions",
        "package b:other",
        "  interface oi: 0 types, 1 functions",
    ]


def test_cli_features() -> None:
    path = str(WIT / "features.wit")
    off = CliRunner().invoke(main, ["parse", "--json", path])
    on = CliRunner().invoke(main, ["parse", "--json", "--features", "off,active", path])
    every = CliRunner().invoke(main, ["parse", "--json", "--all-features", path])
    assert off.exit_code == on.exit_code == every.exit_code == 0
    assert on.output == every.output != off.output
    assert '"gone"' in on.output and '"gone"' not in off.output


def test_cli_invalid_wit_exit_1(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(WIT)
    result = CliRunner().invoke(main, ["parse", "dep-error"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == "error: " + (WIT / "dep-error.err").read_text(encoding="utf-8")


def test_cli_missing_path_exit_1(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["parse", str(tmp_path / "nope.wit")])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: failed to read {tmp_path / 'nope.wit'}: ")
    assert "Traceback" not in result.output


def test_cli_usage_error_exit_2() -> None:
    assert CliRunner().invoke(main, ["parse"]).exit_code == 2
    assert CliRunner().invoke(main, ["parse", "--bogus", "x.wit"]).exit_code == 2


def test_cli_subprocess_error_and_json() -> None:
    """The installed entry point: diagnostics on stderr with the path as given."""
    bad = subprocess.run(
        [sys.executable, "-m", "witgen", "parse", "empty-record.wit"],
        capture_output=True,
        text=True,
        cwd=WIT,
    )
    assert bad.returncode == 1
    assert bad.stdout == ""
    assert bad.stderr == "error: " + (WIT / "empty-record.err").read_text(encoding="utf-8")
    good = subprocess.run(
        [sys.executable, "-m", "witgen", "parse", "--json", "type-order.wit"],
        capture_output=True,
        text=True,
        cwd=WIT,
    )
    assert good.returncode == 0
    assert good.stdout == (WIT / "type-order.json").read_text(encoding="utf-8")
