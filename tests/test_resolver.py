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
import random
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
        cwd=WIT,
    )
    # bytes decoded by hand: universal newlines would turn a lone `\r` into `\n`
    if out.returncode == 0:
        return "json", out.stdout.decode("utf-8").rstrip("\n")
    text = out.stderr.decode("utf-8").rstrip("\n")
    assert text.startswith("error: "), text
    return "err", text[len("error: ") :]


def _golden(case: str) -> tuple[str, str]:
    for kind in ("json", "err"):
        path = WIT / f"{_stem(case)}.{kind}"
        if path.exists():
            return kind, path.read_bytes().decode("utf-8").rstrip("\n")
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


def test_a_damaged_binary_is_a_clear_error(tmp_path: Path) -> None:
    # A component header, then a section that claims more bytes than the file holds.
    (tmp_path / "pkg.wasm").write_bytes(b"\0asm\x0d\0\x01\0\x07\x05")
    with pytest.raises(WitError) as info:
        load(tmp_path / "pkg.wasm")
    assert info.value.render() == (
        f"failed to decode {tmp_path / 'pkg.wasm'}: section of 5 bytes is out of bounds"
        " at byte offset 10 (in the header section)"
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


# --------------------------------------------------------------------------- generated packages

_GATES = (
    "",
    "",
    "",
    "@since(version = 1.0.0) ",
    "@unstable(feature = active) ",
    "@since(version = 0.5.0) @deprecated(version = 0.9.0) ",
)


def _generated_package(rng: random.Random) -> str:
    """A random package (with nested dependency packages) that stresses resolution:
    `use` chains, resources and handles, gates, labelled and path imports/exports,
    includes, inline interfaces and world functions."""
    lines = ["package t:main@1.0.0;"]
    foreign: list[tuple[str, str, list[str]]] = []  # (package, interface, types)

    def body(pkg: str) -> list[tuple[str, str, list[str]]]:
        out: list[str] = []
        ifaces: list[tuple[str, list[str]]] = []
        for k in range(rng.randint(1, 4)):
            name, types, items = f"i{k}", [], []
            for prev, prev_types in ifaces:
                if prev_types and rng.random() < 0.4:
                    t = rng.choice(prev_types)
                    items.append(f"{rng.choice(_GATES)}use {prev}.{{{t}}};")
                    types.append(t)
            for dep_pkg, dep_iface, dep_types in foreign:
                if dep_types and rng.random() < 0.2:
                    t = rng.choice(dep_types)
                    if f"{t}x" not in types:
                        items.append(f"use {dep_pkg}/{dep_iface}@1.0.0.{{{t} as {t}x}};")
                        types.append(f"{t}x")
            for n in range(rng.randint(0, 3)):
                t, gate = f"{name}t{n}", rng.choice(_GATES)
                kind = rng.choice(("u32", "resource", "record", "list", "alias", "variant", "own"))
                if kind == "resource":
                    items.append(
                        f"{gate}resource {t} {{ constructor(); "
                        f"m: func(o: borrow<{t}>) -> {t}; s: static func() -> list<{t}>; }}"
                    )
                elif kind == "record" and types:
                    items.append(f"{gate}record {t} {{ a: {rng.choice(types)}, b: list<u8> }}")
                elif kind == "variant" and types:
                    items.append(f"{gate}variant {t} {{ a({rng.choice(types)}), b }}")
                elif kind == "list" and types:
                    items.append(f"{gate}type {t} = list<{rng.choice(types)}>;")
                elif kind == "alias" and types:
                    items.append(f"{gate}type {t} = {rng.choice(types)};")
                else:
                    items.append(f"{gate}type {t} = u32;")
                types.append(t)
            if types and rng.random() < 0.6:
                a, b = rng.choice(types), rng.choice(types)
                items.append(f"{rng.choice(_GATES)}f{k}: func(x: {a}) -> option<{b}>;")
            out.append(f"{rng.choice(_GATES)}interface {name} {{ {' '.join(items)} }}")
            ifaces.append((name, types))
        paths = [n for n, _ in ifaces] + [f"{p}/{i}@1.0.0" for p, i, _ in foreign]
        for k in range(rng.randint(0, 3)):
            items, seen = [], set()
            for j in range(k):
                if rng.random() < 0.3:
                    items.append(f"{rng.choice(_GATES)}include w{j};")
            for _ in range(rng.randint(0, 4)):
                path, d = rng.choice(paths), rng.choice(("import", "export"))
                if (d, path) not in seen:
                    seen.add((d, path))
                    label = f"l{rng.randint(0, 9)}: " if rng.random() < 0.2 else ""
                    items.append(f"{rng.choice(_GATES)}{d} {label}{path};")
            name, types = rng.choice(ifaces)
            if types and rng.random() < 0.5:
                items.append(f"use {name}.{{{types[0]}}};")
                items.append(f"import z{k}: func(x: {types[0]});")
            if rng.random() < 0.3:
                items.append(f"resource wr{k} {{ constructor(); }}")
            if rng.random() < 0.3:
                items.append(f"export e{k}: interface {{ h: func() -> list<u8>; }}")
            rng.shuffle(items)
            out.append(f"world w{k} {{ {' '.join(items)} }}")
        lines.extend(out)
        return [(pkg, n, ts) for n, ts in ifaces]

    nested: list[str] = []
    for k in range(rng.randint(0, 2)):
        pkg = f"t:dep{k}"
        start = len(lines)
        exported = body(pkg)
        nested += [f"package {pkg}@1.0.0 {{", *lines[start:], "}"]
        del lines[start:]
        foreign += exported
    body("t:main")
    return "\n".join(lines + nested) + "\n"


@pytest.mark.parametrize("seed", range(120))
def test_generated_package_matches_binary(wasm_tools: str, tmp_path: Path, seed: int) -> None:
    """Seeded random packages: same accept/reject, same JSON, same diagnostic."""
    path = tmp_path / "gen.wit"
    path.write_text(_generated_package(random.Random(seed)), encoding="utf-8")
    out = subprocess.run(
        [wasm_tools, "component", "wit", "--json", "--features", "active", str(path)],
        capture_output=True,
        text=True,
    )
    try:
        got = "json", load(path, FEATURES).to_json()
    except WitError as exc:
        got = "err", "error: " + exc.render()
    if out.returncode == 0:
        assert got == ("json", out.stdout.rstrip("\n"))
    else:
        assert got == ("err", out.stderr.rstrip("\n"))


def _generated_layout(rng: random.Random) -> list[str]:
    """The files of a random package folder whose top-level names clash, alias and
    go missing: it stresses the order in which top-level errors are reported."""
    names = ("a", "b", "c")

    def item() -> str:
        x, y = rng.choice(names), rng.choice(names)
        return rng.choice(
            (
                f"interface {x} {{ use {y}.{{t}}; }}",
                f"interface {x} {{ type t = u32; }}",
                f"world {x} {{ include {y}; }}",
                f"world {x} {{ import {y}; }}",
                f"world {x} {{ use {y}.{{t}}; }}",
                f"use {y} as {x};",
                f"use {y};",
                f"use a:c/{y} as {x};",
                f"@since(version = 1.0.0)\nuse {y} as {x};",
                f"package x:y {{ interface {x} {{}} use {y} as {x}; }}",
            )
        )

    files = []
    for f in range(rng.choice((1, 1, 2))):
        items = [item() for _ in range(rng.randint(1, 4))]
        files.append("\n".join((["package a:b;"] if f == 0 else []) + items) + "\n")
    return files


@pytest.mark.parametrize("seed", range(150))
def test_generated_layout_matches_binary(
    wasm_tools: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """Seeded random top-level layouts (folder with a dependency): same diagnostic."""
    monkeypatch.chdir(tmp_path)
    for i, text in enumerate(_generated_layout(random.Random(seed))):
        (tmp_path / f"f{i}.wit").write_text(text, encoding="utf-8")
    (tmp_path / "deps").mkdir()
    (tmp_path / "deps" / "c.wit").write_text(
        "package a:c;\ninterface a { type t = u8; }\nworld b {}\n", encoding="utf-8"
    )
    out = subprocess.run(
        [wasm_tools, "component", "wit", "--json", "--features", "active", "."],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    try:
        got = "json", load(".", FEATURES).to_json()
    except WitError as exc:
        got = "err", "error: " + exc.render()
    if out.returncode == 0:
        assert got == ("json", out.stdout.rstrip("\n"))
    else:
        assert got == ("err", out.stderr.rstrip("\n"))
