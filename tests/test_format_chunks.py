"""Formatting chunk by chunk gives black's text on the whole module, byte for byte.

Every module is rendered three ways: unformatted (`format=False`) and then given whole
to `black.format_str`, which is the reference; formatted chunk by chunk with no cache;
and again from a warm chunk cache with black made unavailable. A changed WIT file
re-formats only the chunks it changed.
"""

from __future__ import annotations

import ast
import io
import re
import shutil
import tokenize
from collections.abc import Iterator
from pathlib import Path

import black
import pytest
from wit_loading import load_wit

from witgen.codegen import render as codegen_render
from witgen.codegen import render_bindings
from witgen.codegen.render import BLACK_MODE, CACHE_NAMESPACE
from witgen.model import Resolve
from witgen.naming import docstring
from witgen.workflow.formatcache import FormatCache

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = sorted(p / "wit" for p in (ROOT / "samples").iterdir() if (p / "wit").is_dir())
HOSTILE = Path(__file__).resolve().parent / "hostile" / "keywords.wit"
UI_CASES = ("comments.wit", "functions.wit", "maps.wit", "async.wit", "many-names", "complex-include")
REAL_CASES = (
    "wasi-http-0.2.8",
    "wasi-keyvalue-0.2.0-draft2",
    "wasmcloud-bus-1.0.0",
    "wasmcloud-bus-2.0.1",
    "wasmcloud-bus-host-2024-02",
    "wasmcloud-messaging-0.2.0",
)


@pytest.fixture
def cache() -> Iterator[dict[str, str]]:
    """An in-memory chunk cache, installed for the test."""
    store: dict[str, str] = {}
    codegen_render.format_cache = store
    try:
        yield store
    finally:
        codegen_render.format_cache = None


def no_black(*args: object, **kwargs: object) -> str:
    raise AssertionError("black ran on a warm cache")


def check_three_ways(resolve: Resolve, name: str, cache: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    raw = render_bindings(resolve, inputs=[name], format=False)
    expected = {path: black.format_str(text, mode=BLACK_MODE) for path, text in raw.items()}
    assert raw != expected  # black had work to do: the comparison is not vacuous
    codegen_render.format_cache = None
    assert render_bindings(resolve, inputs=[name]) == expected  # chunked, uncached
    codegen_render.format_cache = cache
    assert render_bindings(resolve, inputs=[name]) == expected  # chunked, cold cache
    # chunks were cached, not whole modules (a module of one chunk is one entry)
    assert len(cache) >= len(expected)
    with monkeypatch.context() as patch:
        patch.setattr(black, "format_str", no_black)
        assert render_bindings(resolve, inputs=[name]) == expected  # warm: no black at all


@pytest.mark.parametrize("wit", [*SAMPLES, HOSTILE], ids=lambda p: p.parent.name if p.name == "wit" else p.name)
def test_project_wit_chunked_equals_whole_module_black(
    wit: Path, cache: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    check_three_ways(load_wit(wit, ("active",)), wit.name, cache, monkeypatch)


@pytest.mark.parametrize("case", [*(f"real/{c}" for c in REAL_CASES), *(f"wit-parser-ui/ui/{c}" for c in UI_CASES)])
def test_corpus_chunked_equals_whole_module_black(
    case: str, shared: Path, cache: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = shared / "corpus" / case
    check_three_ways(load_wit(path, ("active",)), path.name, cache, monkeypatch)


def test_all_real_corpus_packages_are_covered(shared: Path) -> None:
    found = {p.name for p in (shared / "corpus" / "real").iterdir() if p.is_dir()}
    assert found == set(REAL_CASES)


def test_one_changed_doc_comment_formats_one_chunk(
    tmp_path: Path, cache: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    wit = tmp_path / "wit"
    shutil.copytree(ROOT / "samples" / "stateful" / "wit", wit)
    before = render_bindings(load_wit(wit), inputs=["x"])
    source = next(wit.glob("*.wit"))
    text = source.read_text()
    edited, count = re.subn(r"(\n\s*)(record )", r"\1/// Edited documentation.\1\2", text, count=1)
    assert count == 1
    source.write_text(edited)
    formatted: list[str] = []  # blocks that were not in the cache (black or its style check)
    real = black.format_str
    check = codegen_render.already_black

    def counting(src: str) -> str | None:
        formatted.append(src)
        return check(src)

    monkeypatch.setattr(codegen_render, "already_black", counting)
    after = render_bindings(load_wit(wit), inputs=["x"])
    monkeypatch.setattr(codegen_render, "already_black", check)
    raw = render_bindings(load_wit(wit), inputs=["x"], format=False)
    assert after == {path: real(t, mode=BLACK_MODE) for path, t in raw.items()}
    assert after != before
    assert formatted and all("Edited documentation." in src for src in formatted)
    assert sum(len(src) for src in formatted) < sum(len(t) for t in raw.values()) / 4


def test_disk_cache_is_keyed_by_black_version_and_mode(tmp_path: Path) -> None:
    assert black.__version__ in CACHE_NAMESPACE and "line_length=100" in CACHE_NAMESPACE
    default = FormatCache(tmp_path)
    default["x=1"] = "x = 1\n"
    assert FormatCache(tmp_path, namespace=CACHE_NAMESPACE)["x=1"] == "x = 1\n"
    assert FormatCache(tmp_path, namespace="black 0.0\nother mode").get("x=1") is None


def test_unformatted_bindings_compile_and_import_like_formatted(tmp_path: Path) -> None:
    resolve = load_wit(ROOT / "samples" / "stateful" / "wit")
    raw = render_bindings(resolve, format=False)
    formatted = render_bindings(resolve)
    assert raw.keys() == formatted.keys()
    for path, text in raw.items():
        compile(text, path, "exec", dont_inherit=True)
        assert black.format_str(text, mode=BLACK_MODE) == formatted[path]


def test_compiled_templates_are_kept_on_disk_and_damage_is_a_miss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Templates without a current translation (`witgen.codegen.templating`) render with
    Jinja, compiled through a cache on disk."""
    from witgen.codegen import templating

    monkeypatch.setattr(templating, "translated", lambda name: None)
    resolve = load_wit(ROOT / "samples" / "ollama" / "wit")
    expected = render_bindings(resolve)
    folder = tmp_path / "templates"
    try:
        codegen_render.environment.cache_clear()
        codegen_render.use_template_cache(folder)
        assert render_bindings(resolve) == expected
        entries = sorted(folder.iterdir())
        assert entries and all(e.suffix == ".cache" for e in entries)
        for entry in entries:
            entry.write_bytes(entry.read_bytes()[:40] + b"\x00damaged")
        codegen_render.environment.cache_clear()
        codegen_render.use_template_cache(folder)
        assert render_bindings(resolve) == expected
        codegen_render.environment.cache_clear()
        codegen_render.use_template_cache(tmp_path / "file")
        (tmp_path / "file").write_text("not a folder")
        assert render_bindings(resolve) == expected  # an unwritable cache is only slower
    finally:
        codegen_render.environment.cache_clear()


@pytest.mark.parametrize("indent", ["", "    "])
def test_docstrings_of_every_character_round_trip(indent: str) -> None:
    # Texts with and without characters to escape take different paths in `docstring`.
    chars = [chr(c) for c in (*range(0x3100), *range(0xD7F0, 0xE010), 0xFEFF, 0x1D11E, 0x10FFFF)]
    texts = ["plain text\nover two lines", *("a" + ch + "b" for ch in chars)]
    for text in texts:
        literal = "x = 1\nif x:\n" + indent + "y = " + docstring(text, indent) if indent else docstring(text)
        tree = ast.parse(literal)
        node = tree.body[-1] if not indent else tree.body[-1].body[0]  # type: ignore[attr-defined]
        value = node.value.value  # type: ignore[attr-defined]
        assert value == (text.replace("\n", "\n" + indent) if indent else text), repr(text)


def names_used(body: str) -> set[str]:
    """Names a module body reads as plain names (not attributes), by Python's tokenizer."""
    used: set[str] = set()
    previous = ""
    for tok in tokenize.generate_tokens(io.StringIO(body).readline):
        if tok.type == tokenize.NAME and previous != ".":
            used.add(tok.string)
        if tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT):
            previous = tok.string
    return used


@pytest.mark.parametrize("wit", [*SAMPLES, HOSTILE], ids=lambda p: p.parent.name if p.name == "wit" else p.name)
def test_imports_are_the_runtime_names_each_module_uses(wit: Path) -> None:
    runtime = {"_dc", "_enum", "_t", "TypeAlias", "_c", "_v", "_b", "_d", "_r", "_new", "Err", "Ok", "Some"}
    for path, text in render_bindings(load_wit(wit, ("active",)), format=False).items():
        tree = ast.parse(text)
        imported = {
            alias.asname or alias.name
            for node in tree.body
            if isinstance(node, (ast.Import, ast.ImportFrom))
            for alias in node.names
        }
        ends = [n.end_lineno or 0 for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        body = "\n".join(text.splitlines()[max(ends, default=0) :])
        assert imported & runtime == names_used(body) & runtime, path


def test_long_header_comment_needs_no_black(cache: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A header naming many inputs runs past the limit; black leaves comments alone, so
    the modules still match black's, and the long header costs no call of black."""
    resolve = load_wit(SAMPLES[0], ("active",))
    inputs = [f"wit/deps/package-number-{i}/interfaces-of-package-{i}.wit" for i in range(6)]
    raw = render_bindings(resolve, inputs=inputs, format=False)
    assert any(len(line) > 100 and line.startswith("# ") for text in raw.values() for line in text.split("\n"))
    expected = {path: black.format_str(text, mode=BLACK_MODE) for path, text in raw.items()}
    codegen_render.format_cache = None
    calls: list[list[str]] = [[], []]
    real = black.format_str
    for sink, names in zip(calls, (["x.wit"], inputs)):

        def counting(text: str, *, mode: object, sink: list[str] = sink) -> str:
            sink.append(text)
            return real(text, mode=mode)  # type: ignore[arg-type]

        with monkeypatch.context() as patch:
            patch.setattr(black, "format_str", counting)
            rendered = render_bindings(resolve, inputs=names)
        if names is inputs:
            assert rendered == expected
    assert len(calls[1]) == len(calls[0])


@pytest.mark.parametrize(
    "text, fits",
    [
        ("# " + "x" * 120 + "\nX = 1\n", True),
        ('def f() -> None:\n    """Docs.\n\n    ' + "u" * 120 + '\n    """\n', True),
        ('def f() -> None:\n    """Docs.\n\n    ' + "u" * 120 + '"""\n', False),  # quotes move
        ('def f() -> None:\n    """' + "u" * 120 + '\n    more\n    """\n', False),  # first line
        ("X = 1  # " + "x" * 120 + "\n", False),  # a comment after code
        ('X = "' + "x" * 120 + '"\n', False),
    ],
)
def test_already_black_takes_only_unsplittable_long_lines(text: str, fits: bool) -> None:
    from witgen.codegen.render import already_black

    out = already_black(text)
    assert (out is not None) == fits
    if out is not None:
        assert out == black.format_str(text, mode=BLACK_MODE)


LONG_NAMES_WIT = """package demo:lay@1.2.3;

interface fairly-long-interface-name-here {
    resource first-resource-long-name { constructor(); }
    resource second-resource-long-name { constructor(); }
    variant outcome-of-operation {
        the-first-case-has-a-remarkably-long-name(option<list<tuple<u32, string>>>),
        short(u8),
    }
    f: func(o: outcome-of-operation) -> outcome-of-operation;
}

interface another-interface-of-length {
    resource only-resource-with-a-long-name { constructor(); }
}

world layout {
    export fairly-long-interface-name-here;
    export another-interface-of-length;
}
"""


def test_long_dispatch_and_variant_lines_are_laid_out_as_black_keeps_them(
    tmp_path: Path, cache: dict[str, str]
) -> None:
    """`table.add_interface(...)` and a variant's `key: (class, description)` entries that
    outgrow the line come out exploded, a layout black leaves as it is: those blocks need
    no black, and the modules are black's."""
    from witgen.codegen.render import already_black

    (tmp_path / "long.wit").write_text(LONG_NAMES_WIT)
    resolve = load_wit(tmp_path / "long.wit", ("active",))
    raw = render_bindings(resolve, inputs=["long.wit"], format=False)
    expected = {path: black.format_str(text, mode=BLACK_MODE) for path, text in raw.items()}
    codegen_render.format_cache = None
    assert render_bindings(resolve, inputs=["long.wit"]) == expected
    blocks = []
    for text in expected.values():
        for node in ast.parse(text).body:
            segment = ast.get_source_segment(text, node) or ""
            if segment.startswith(("def dispatch_table", "wit.variant(")):
                blocks.append(segment)
    assert any("table.add_interface(\n" in b for b in blocks)
    assert any('"the-first-case-has-a-remarkably-long-name": (\n' in b for b in blocks)
    for block in blocks:
        assert already_black(block) == block + "\n"
