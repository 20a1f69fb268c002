"""The disk cache of parsed WIT files: hits, misses on any change, damage, and identical output."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import pytest

from witgen.frontend import ast
from witgen.errors import Source, WitError
from witgen.frontend.parser import parse_file
from witgen.resolver import load, loader
from witgen.workflow import render
from witgen.workflow.astcache import AstCache, installed
from witgen.workflow.pack import Pack
from witgen.workflow.config import Target
from witgen.workflow.digest import file_hash

ROOT = Path(__file__).resolve().parent.parent

TYPES = """package demo:shop@1.0.0;

/// Things for sale.
interface types {
    /// One item.
    record item { name: string, price: u32 }
    variant outcome { ok(item), missing, failed(string) }
    resource cart {
        constructor();
        add: func(i: item) -> result<u32, string>;
    }
}
"""

WORLD = """package demo:shop@1.0.0;

world shop {
    use types.{item};
    import types;
    export checkout: func(items: list<item>) -> option<u64>;
}
"""


def shop(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "types.wit").write_text(TYPES)
    (folder / "world.wit").write_text(WORLD)
    return folder


class Counting:
    """parse_file, counting the files it really parses."""

    def __init__(self) -> None:
        self.parsed: list[str] = []

    def __call__(self, source: Source, wat: bool = False, /) -> ast.File:
        self.parsed.append(source.path)
        return parse_file(source, wat)


def test_hit_returns_an_equal_tree_with_one_shared_source(tmp_path: Path) -> None:
    source = Source("a/types.wit", TYPES)
    fresh = parse_file(source)
    counting = Counting()
    first = AstCache(tmp_path, namespace="n").wrap(counting)(Source("a/types.wit", TYPES))
    again = AstCache(tmp_path, namespace="n").wrap(counting)(Source("a/types.wit", TYPES))
    assert counting.parsed == ["a/types.wit"]  # the second run reads the entry
    assert repr(first) == repr(again) == repr(fresh)
    spans = [again.source, *(item.name.span for item in again.items if isinstance(item, ast.InterfaceDecl))]
    assert len(spans) == 2 and all(span.source is again.source.source for span in spans)  # one Source per file, as parsed


def test_any_change_to_path_text_options_or_namespace_is_a_miss(tmp_path: Path) -> None:
    counting = Counting()

    def parse(path: str, text: str, wat: bool = False, namespace: str = "n") -> ast.File:
        return AstCache(tmp_path, namespace=namespace).wrap(counting)(Source(path, text), wat)

    parse("a/types.wit", TYPES)
    edited = parse("a/types.wit", TYPES.replace("/// One item.", "/// One item on sale."))
    assert "on sale" in repr(edited)  # the changed file was parsed again, not served stale
    moved = parse("b/types.wit", TYPES)
    assert moved.source.source.path == "b/types.wit"  # spans name the file they came from
    parse("a/types.wit", TYPES, wat=True)
    parse("a/types.wit", TYPES, namespace="other")  # another witgen, grammar, lark or Python
    assert len(counting.parsed) == 5
    parse("a/types.wit", TYPES)
    assert len(counting.parsed) == 5


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[:-9],  # torn write
        lambda data: b"0" * 64 + data[64:],  # digest does not match
        lambda data: file_hash(b"junk").encode() + b"\njunk",  # digest matches, not a pickle
        lambda data: (lambda body: file_hash(body).encode() + b"\n" + body)(pickle.dumps(("not", "a", "file"))),
        lambda data: b"",
    ],
)
def test_damaged_entry_is_parsed_again(tmp_path: Path, damage: object) -> None:
    counting = Counting()
    cache = AstCache(tmp_path, namespace="n")
    first = cache.wrap(counting)(Source("t.wit", TYPES))
    [entry] = (tmp_path / "ast").iterdir()
    entry.write_bytes(damage(entry.read_bytes()))  # type: ignore[operator]
    again = AstCache(tmp_path, namespace="n")
    assert repr(again.wrap(counting)(Source("t.wit", TYPES))) == repr(first)
    assert counting.parsed == ["t.wit", "t.wit"] and again.hits == 0


def test_syntax_errors_are_not_cached(tmp_path: Path) -> None:
    cache = AstCache(tmp_path, namespace="n")
    bad = TYPES.replace("record item {", "record item {{")
    messages = []
    for _ in range(2):
        with pytest.raises(WitError) as info:
            cache.wrap(parse_file)(Source("t.wit", bad))
        messages.append(info.value.render())
    assert messages[0] == messages[1]
    assert not (tmp_path / "ast").exists()


def test_unwritable_cache_only_costs_time(tmp_path: Path) -> None:
    (tmp_path / "ast").write_text("a file where the cache folder goes")
    cache = AstCache(tmp_path, namespace="n")
    assert repr(cache.wrap(parse_file)(Source("t.wit", TYPES))) == repr(parse_file(Source("t.wit", TYPES)))
    assert cache.stored == 0


def test_installed_only_while_active_and_resolve_is_identical(tmp_path: Path) -> None:
    wit = shop(tmp_path / "wit")
    expected = load(wit).to_json()
    cache = AstCache(tmp_path / "cache")
    with installed(cache):
        assert load(wit).to_json() == expected  # cold
        assert load(wit).to_json() == expected  # warm: the package's stage-A result, no parse
    assert cache.hits == 0
    names = [p.name for p in (tmp_path / "cache" / "ast").iterdir()]
    assert len([n for n in names if n.startswith("group-")]) == 1
    assert len([n for n in names if not n.startswith(("group-", "tables-"))]) == 2
    assert loader.parse is parse_file and loader.group_cache is None
    (wit / "world.wit").write_text(WORLD.replace("option<u64>", "option<u32>"))
    changed = load(wit).to_json()
    assert changed != expected
    again = AstCache(tmp_path / "cache")
    with installed(again):
        assert load(wit).to_json() == changed
    assert again.hits == 1  # the group changed; its unchanged file was not parsed again


def test_errors_in_a_cached_tree_point_at_the_file(tmp_path: Path) -> None:
    wit = shop(tmp_path / "wit")
    with installed(AstCache(tmp_path / "cache")):
        load(wit)
    (wit / "world.wit").write_text(WORLD.replace("types.{item}", "types.{thing}"))
    with pytest.raises(WitError) as plain:
        load(wit)
    with installed(AstCache(tmp_path / "cache")), pytest.raises(WitError) as cached:
        load(wit)
    assert cached.value.render() == plain.value.render()


@pytest.mark.parametrize("sample", ["stateful", "ollama"])
def test_render_identical_with_and_without_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sample: str) -> None:
    wit = tmp_path / "wit"
    shutil.copytree(ROOT / "samples" / sample / "wit", wit)
    shop(wit / "deps" / "shop")
    target = Target("s", wit, tmp_path / "out", root=tmp_path)
    monkeypatch.setenv("WITGEN_CACHE_DIR", "")
    uncached = render.render_target(target)
    monkeypatch.setenv("WITGEN_CACHE_DIR", str(tmp_path / "cache"))
    assert render.render_target(target) == uncached  # cold
    [stored] = (tmp_path / "cache" / "ast").iterdir()  # one pack for the target
    entries = [key for key in Pack(stored).keys() if not key.startswith(("tables-", "group-"))]
    assert len(entries) == len(list(wit.rglob("*.wit")))
    rendered = count_rendered_chunks(monkeypatch)
    assert render.render_target(target) == uncached  # warm: whole modules from the cache
    assert rendered == []
    main = wit / ("llm.wit" if sample == "ollama" else "stateful.wit")
    lines = main.read_text().splitlines(keepends=True)
    doc = next(i for i, line in enumerate(lines) if line.lstrip().startswith("///") and i > 2)
    lines[doc] = lines[doc].replace("///", "/// Edited:", 1)
    main.write_text("".join(lines))
    monkeypatch.setenv("WITGEN_CACHE_DIR", "")
    edited = render.render_target(target)
    assert edited != uncached and "Edited:" in "".join(edited.values())
    monkeypatch.setenv("WITGEN_CACHE_DIR", str(tmp_path / "cache"))
    rendered.clear()
    assert render.render_target(target) == edited
    assert rendered and len(rendered) <= len(chunks_rendered_uncached(target, monkeypatch))


def test_an_edit_renders_only_the_modules_it_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A doc comment edited in the world file leaves the types module as it was: that
    module comes whole from the cache; a changed generator (its fingerprint) renders all."""
    from witgen.workflow import digest

    wit = shop(tmp_path / "wit")
    target = Target("s", wit, tmp_path / "out", root=tmp_path)
    monkeypatch.setenv("WITGEN_CACHE_DIR", str(tmp_path / "cache"))
    first = render.render_target(target)
    everything = chunks_rendered_uncached(target, monkeypatch)
    rendered = count_rendered_chunks(monkeypatch)
    (wit / "world.wit").write_text(WORLD.replace("export checkout", "/// Pay.\n    export checkout"))
    edited = render.render_target(target)
    changed = sorted(path for path in edited if edited[path] != first[path])
    assert changed == ["demo_shop_v1_0_0/shop.py"] and '"""Pay."""' in edited[changed[0]]
    assert rendered and "record.py.jinja" not in rendered  # the types module was not rendered
    rendered.clear()
    monkeypatch.setattr(digest, "_fingerprint", "another generator")
    assert render.render_target(target) == edited
    assert sorted(rendered) == sorted(everything)


def count_rendered_chunks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """From now on (while `monkeypatch` is active), the template of every chunk rendered."""
    from witgen.codegen import modules

    seen: list[str] = []
    real = modules.render_chunk

    def counting(template: str, **context: object) -> str:
        seen.append(template)
        return real(template, **context)

    monkeypatch.setattr(modules, "render_chunk", counting)
    return seen


def chunks_rendered_uncached(target: Target, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The chunks a render without caches renders."""
    with monkeypatch.context() as patch:
        patch.setenv("WITGEN_CACHE_DIR", "")
        seen = count_rendered_chunks(patch)
        render.render_target(target)
    return seen


PARSE_IN_A_FRESH_PROCESS = """
import pickle, sys
from pathlib import Path
from witgen.errors import Source
from witgen.frontend import tables
from witgen.frontend.parser import parse_file
from witgen.workflow.astcache import AstCache
tables.table_cache = AstCache(Path(sys.argv[1]))
tables.SHIPPED = "absent.json"  # the table the cache keeps, not the one witgen ships
out = []
for name in sys.argv[2:]:
    out.append(pickle.dumps(parse_file(Source(name, Path(name).read_text()))))
sys.stdout.buffer.write(pickle.dumps((out, "lark" in sys.modules)))
"""


def test_parser_table_loads_from_the_cache_without_lark_and_parses_the_same(tmp_path: Path) -> None:
    """The first process builds the table with Lark and keeps it; the next loads it
    without importing Lark, and both give the trees the in-process parser gives."""
    import subprocess
    import sys

    files = sorted(str(p) for p in (ROOT / "samples").glob("*/wit/**/*.wit"))
    files.append(str(shop(tmp_path / "shop") / "types.wit"))
    expected = []
    for name in files:
        expected.append(pickle.dumps(parse_file(Source(name, Path(name).read_text()))))
    cache = tmp_path / "cache"
    runs = []
    for _ in range(2):
        proc = subprocess.run(
            [sys.executable, "-c", PARSE_IN_A_FRESH_PROCESS, str(cache), *files],
            capture_output=True,
            check=True,
        )
        runs.append(pickle.loads(proc.stdout))
    (first, first_lark), (second, second_lark) = runs
    assert first_lark and not second_lark
    assert first == second == expected
    assert len(list((cache / "ast").glob("tables-*"))) == 1


def test_damaged_parser_table_is_built_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from witgen.frontend import tables
    from witgen.frontend.lexer import Scanner
    from witgen.frontend.parser import _Builder
    from witgen.workflow.formatcache import write_entry

    cache = AstCache(tmp_path)
    monkeypatch.setattr(tables, "table_cache", cache)
    source = Source("types.wit", TYPES)
    tables.load(_Builder())  # builds and stores it
    (entry,) = (tmp_path / "ast").glob("tables-*")
    for damage in (b"not marshal data", b"\xe9\x01\x00\x00\x00"):  # garbage; a marshalled int
        assert write_entry(entry, damage)  # a valid digest: only the content is wrong
        builder = _Builder()
        table = tables.load(builder)
        builder.scanner = Scanner(source)
        assert table.parse(builder.scanner) == parse_file(source)
        assert entry.read_bytes().partition(b"\n")[2] != damage  # stored again, whole


def test_errors_found_after_stage_a_read_the_same_from_cached_packages(tmp_path: Path) -> None:
    """Errors after stage A cite spans that came back from the cache: same message, same place."""
    wit = tmp_path / "wit"
    shop(wit / "deps" / "shop")
    shop(wit / "deps" / "shop-copy")  # one package defined in two places
    (wit / "main.wit").write_text(
        "package demo:main;\n\ninterface uses {\n    use demo:shop/types@1.0.0.{item};\n}\n"
    )
    with pytest.raises(WitError) as uncached:
        load(wit)
    for _ in range(2):  # cold, then with every package from the cache
        with installed(AstCache(tmp_path / "cache")), pytest.raises(WitError) as cached:
            load(wit)
        assert cached.value.render() == uncached.value.render()
    text = uncached.value.render()
    assert "defined in two different locations" in text and "shop-copy" in text and ":1:9" in text


def test_cached_packages_are_gated_after_the_cache(tmp_path: Path) -> None:
    """Stage A only reads gates; features apply in stage B, so one cached package serves
    every feature set."""
    wit = tmp_path / "wit"
    wit.mkdir()
    (wit / "g.wit").write_text(
        "package demo:gated@1.0.0;\n\ninterface i {\n    @unstable(feature = beta)\n    f: func();\n"
        "    @since(version = 1.0.0)\n    g: func();\n}\n"
    )
    plain, beta = load(wit).to_json(), load(wit, features=("beta",)).to_json()
    assert plain != beta
    for _ in range(2):
        with installed(AstCache(tmp_path / "cache")):
            assert load(wit, features=("beta",)).to_json() == beta
            assert load(wit).to_json() == plain
            assert load(wit, all_features=True).to_json() == beta
