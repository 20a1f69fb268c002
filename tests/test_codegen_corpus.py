"""Bindings for the real-world corpus, the wit-parser UI cases and the hostile-names corpus.

Everything is generated into one temporary folder (one top-level package per case), every
module is imported, and one `mypy --strict` run covers all of it.
"""

from __future__ import annotations

import ast
import importlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import black
import pytest
from wit_loading import load_reference, load_wit

from witgen.codegen import CodegenError, render_bindings
from witgen.codegen.render import BLACK_MODE
from witgen.runtime import codec, wit
from witgen.runtime.codec import CodecError

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = Path(__file__).resolve().parent / "hostile"
# wasm-tools 1.262 rejects empty records/flags/variants/tuples these four cases use.
EMPTY_TYPE_CASES = {"multi-file", "types.wit", "union-fuzz-2.wit", "use-chain.wit"}


def corpus_cases(shared: Path) -> list[Path]:
    cases = [p for p in sorted((shared / "corpus" / "real").iterdir()) if p.is_dir()]
    for p in sorted((shared / "corpus" / "wit-parser-ui" / "ui").iterdir()):
        if p.name == "parse-fail" or p.name == "kinds-of-deps" or p.name in EMPTY_TYPE_CASES:
            continue
        if p.suffix in (".json", ".wat", ".wasm"):
            continue
        cases.append(p)
    return cases


def write(out: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def generated(shared: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[str]]]:
    """(folder, top-level package names) with bindings of every case."""
    root = tmp_path_factory.mktemp("corpus")
    names: list[str] = []
    cases = corpus_cases(shared) + [HOSTILE / "keywords.wit"]
    for case in cases:
        name = "c_" + re.sub(r"\W", "_", case.name.removesuffix(".wit"))
        files = render_bindings(load_wit(case, ("active",)), inputs=[case.name])
        write(root / name, files)
        names.append(name)
    sys.path.insert(0, str(root))
    try:
        yield root, names
    finally:
        sys.path.remove(str(root))


def test_corpus_has_every_case(shared: Path) -> None:
    cases = corpus_cases(shared)
    real = [p for p in (shared / "corpus" / "real").iterdir() if p.is_dir()]
    assert len(real) >= 5
    assert len(cases) == len(real) + 74 - 1 - 4 - 1  # real + valid ui - kinds-of-deps - empty - .wat


def test_every_module_imports(generated: tuple[Path, list[str]]) -> None:
    root, names = generated
    count = 0
    for name in names:
        for f in sorted((root / name).rglob("*.py")):
            dotted = ".".join(f.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
            module = importlib.import_module(dotted)
            count += 1
            for name_, desc in getattr(module, "TYPES", {}).items():
                assert isinstance(desc, wit.Type), name_
                if not isinstance(desc, wit.Resource):
                    assert callable(codec.of(desc).encode)  # the runtime builds every codec
            for func in getattr(module, "FUNCTIONS", {}).values():
                fc = codec.function(func)
                assert callable(fc.params.decode)
    assert count > 300


def _codec_machinery(path: Path) -> list[str]:
    """What in a generated module looks like codec code (there must be none)."""
    tree = ast.parse(path.read_text())
    found = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith(("encode", "decode")):
            found.append(f"module-level codec function {node.name}")
    for node in ast.walk(tree):
        # (a WIT parameter may be named `buf`: only a buffer's use counts)
        if isinstance(node, ast.Name) and node.id in ("bytearray", "struct"):
            found.append(f"{node.id} at line {node.lineno}")
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) and node.target.id == "buf":
            found.append(f"buf += at line {node.lineno}")
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "buf":
            found.append(f"buf.{node.attr} at line {node.lineno}")
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
            if any(n == "struct" or n.endswith(("codec", "primitives")) for n in names):
                found.append(f"codec import at line {node.lineno}")
    return found


def test_generated_modules_hold_no_codec_code(generated: tuple[Path, list[str]]) -> None:
    root, names = generated
    modules = [f for name in names for f in sorted((root / name).rglob("*.py"))]
    modules += sorted((ROOT / "samples").glob("*/bindings/**/*.py"))
    assert len(modules) > 300
    for f in modules:
        assert _codec_machinery(f) == [], f


def test_black_clean(generated: tuple[Path, list[str]]) -> None:
    root, names = generated
    for f in sorted((root / names[0]).rglob("*.py")):
        text = f.read_text()
        assert black.format_str(text, mode=BLACK_MODE) == text


def test_mypy_strict_over_everything(generated: tuple[Path, list[str]]) -> None:
    root, names = generated
    env = dict(os.environ, MYPYPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", os.devnull, *names],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
    assert "Success: no issues found" in proc.stdout


def test_real_corpus_is_deterministic(shared: Path, wasm_tools: str) -> None:
    path = shared / "corpus" / "real" / "wasi-keyvalue-0.2.0-draft2"
    resolve = load_wit(path)
    first = render_bindings(resolve, inputs=["x"])
    assert first == render_bindings(resolve, inputs=["x"])
    # the same bytes whether witgen's front end or the reference parser read the WIT
    assert first == render_bindings(load_reference(path), inputs=["x"])


def test_wasi_http_values_round_trip(generated: tuple[Path, list[str]]) -> None:
    types = importlib.import_module("c_wasi_http_0_2_8.wasi_http_v0_2_8.types")
    method = types.MethodOther("PURGE")
    assert codec.of(types.Method).decode(codec.of(types.Method).encode(method)) == method
    code = types.ErrorCodeDNSError(types.DNSErrorPayload("NXDOMAIN", None))
    data = codec.of(types.ErrorCode).encode(code)
    assert data[0] == 1 and codec.of(types.ErrorCode).decode(data) == code


def test_hostile_names_generate_safe_code(generated: tuple[Path, list[str]]) -> None:
    mod = importlib.import_module("c_keywords.hostile_names.import_")
    value = mod.Class(1, ["a"], True, "s", 2, None, -3, "x", False)
    assert codec.of(mod.Class).decode(codec.of(mod.Class).encode(value)) == value
    assert [c.name for c in mod.TensorType][:3] == ["U8", "U16", "F16"]
    assert mod.Ok_ is int and mod.Some_ is str and mod.Err_ is int
    # two interfaces that both define `error` stay apart; the alias names the other one
    a = importlib.import_module("c_keywords.hostile_names.a")
    b = importlib.import_module("c_keywords.hostile_names.b")
    assert a.Error is not b.Error and b.AError is a.Error
    doc = importlib.import_module("c_keywords.hostile_names").__doc__
    assert doc is not None
    with pytest.raises(CodecError):
        codec.of(mod.TensorType).decode(b"\x08")


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("type-collision.wit", "`case a of variant r` and `type r-a` both map to the Python name `RA`"),
        ("world-collision.wit", "`interface get-X` and `interface get-x` both map to the Python name `get_x`"),
    ],
)
def test_name_collisions_are_clear_errors(case: str, message: str) -> None:
    with pytest.raises(CodegenError, match=re.escape(message)):
        render_bindings(load_wit(HOSTILE / case))


def test_output_does_not_depend_on_hash_seed() -> None:
    script = (
        "import hashlib, json, sys\n"
        "sys.path.insert(0, 'tests')\n"
        "from wit_loading import load_wit\n"
        "from witgen.codegen import render_bindings\n"
        "files = render_bindings(load_wit('tests/hostile/keywords.wit'))\n"
        "print(hashlib.sha256(json.dumps(files, sort_keys=False).encode()).hexdigest())\n"
    )
    digests = set()
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        digests.add(out.stdout.strip())
    assert len(digests) == 1
