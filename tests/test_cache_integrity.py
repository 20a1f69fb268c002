"""A cache folder someone else can write (shared, restored by CI, tampered with) runs no code
and changes no output: every entry witgen reads back is signed with this user's key.

Each test fills a private cache with a real `witgen generate` (or a real component load),
then plants entries an attacker could write, under the names witgen will look up: a pickle
whose unpickling creates a marker file, formatted text that would end up in the bindings,
a compiled template, a compiled component of another component. Planted entries carry
either the plain checksum anyone can compute or a tag made with another key. The next run
must leave the marker uncreated, produce the same output as a run without a cache, and
replace each planted entry with one of its own.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from test_workflow_support import PYTHON, driver_script, env
from wasm_fixtures import build_dir, echoer_wasm, stateful_wat_wasm, test_wit_dir  # noqa: F401

from witgen import cachesign
from witgen.workflow.digest import file_hash

WIT = {
    "main.wit": """package demo:shop@1.0.0;

interface types {
    use demo:money/amounts@0.1.0.{amount};

    /// One item on sale.
    record item {
        name: string,
        price: amount,
        tags: list<string>,
    }

    variant outcome {
        sold(u32),
        refused(string),
    }

    resource basket {
        constructor();
        add: func(it: item) -> result<_, string>;
        total: func() -> amount;
    }
}

interface store {
    use types.{item, outcome};

    buy: func(it: item, count: u32) -> outcome;
    items: func() -> list<item>;
}

world shop {
    export store;
}
""",
    "deps/money/money.wit": """package demo:money@0.1.0;

interface amounts {
    type amount = u64;
}
""",
}


class Payload:
    """Unpickles by calling `open(marker, "a")`: a stand-in for any code an attacker runs."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return open, (self.marker, "a")


def foreign_signed(path: Path, body: bytes) -> bytes:
    """An entry signed with a key that is not this user's (another user's, or a CI runner's)."""
    return cachesign.tag(os.urandom(32), f"{path.parent.name}/{path.name}", body) + b"\n" + body


def project(root: Path) -> Path:
    for rel, text in WIT.items():
        (root / "wit" / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / "wit" / rel).write_text(text)
    return root


def generate(root: Path, out: str, cache: Path | None, config: Path, jinja_only: bool = False) -> dict[str, str]:
    """`witgen generate --full` with the real renderer in a fresh process (the generator
    fingerprint pinned, so that edits to witgen's sources meanwhile keep the cache keys):
    the output files by relative path."""
    environ = env(
        WITGEN_TEST_REAL_RENDERER="1",
        WITGEN_CACHE_DIR=str(cache) if cache is not None else "",
        XDG_CONFIG_HOME=str(config),
        **({"WITGEN_TEST_JINJA_ONLY": "1"} if jinja_only else {}),
    )
    proc = subprocess.run(
        [PYTHON, str(driver_script(root.parent)), "generate", "wit", "-o", out, "--full", "-q"],
        cwd=root,
        env=environ,
        capture_output=True,
        text=True,
    )
    assert (proc.returncode, proc.stderr) == (0, ""), proc.stdout + proc.stderr
    folder = root / out
    return {p.relative_to(folder).as_posix(): p.read_text() for p in sorted(folder.rglob("*.py"))}


@pytest.fixture(scope="module")
def expected(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The output of a run without any cache."""
    root = project(tmp_path_factory.mktemp("plain"))
    return generate(root, "plain", None, root / "config")


@pytest.fixture
def setup(tmp_path: Path, expected: dict[str, str]) -> tuple[Path, Path, Path, dict[str, str]]:
    """A project, its private cache (filled by one run), this user's config folder, and
    the output of a run without any cache."""
    root = project(tmp_path / "proj")
    cache, config = tmp_path / "cache", tmp_path / "config"
    assert generate(root, "out", cache, config) == expected
    return root, cache, config, expected


PACK_START = b"witgen pack 1\n"


def pack_entries(path: Path) -> dict[str, bytes]:
    """The entries of the pack at `path` (`witgen.workflow.pack`), sealed, read without
    checking them."""
    import msgspec

    data = path.read_bytes()
    assert data.startswith(PACK_START), path
    entries, *_ = msgspec.msgpack.decode(data[len(PACK_START) :])
    return dict(entries)


def pack_keys(folder: Path) -> list[str]:
    """The keys of every entry in the packs of `folder`."""
    return [key for path in sorted(folder.glob("pack-*")) for key in pack_entries(path)]


# A value forged as an entry of a pack: with the digest anyone can compute, or sealed with
# a key that is not this user's.
ENTRY_STYLES: dict[str, Callable[[str, bytes], bytes]] = {
    "checksum": lambda name, value: bytes.fromhex(file_hash(value)) + value,
    "foreign-key": lambda name, value: cachesign.seal(os.urandom(32), name, value),
}


def packed(path: Path, value: bytes, style: str) -> bytes:
    """A pack with the keys of the one at `path`, each holding `value` forged in `style`."""
    import msgspec

    name = f"{path.parent.name}/{path.name}\0"
    entries = {key: ENTRY_STYLES[style](name + key, value) for key in pack_entries(path)}
    return PACK_START + msgspec.msgpack.encode([entries, {}, ""])


def plant(folder: Path, body: Callable[[Path], bytes]) -> dict[Path, bytes]:
    """Overwrite every entry in `folder` with `body(path)`; what was planted, by path."""
    planted = {}
    entries = [p for p in folder.iterdir() if not p.name.startswith(".")]
    assert entries, f"nothing cached in {folder}"
    for path in entries:
        planted[path] = body(path)
        path.write_bytes(planted[path])
    return planted


def assert_replaced(planted: dict[Path, bytes], config: Path) -> None:
    """Each planted file was written anew, signed with this user's key (a pack: every
    entry sealed with it)."""
    left = sorted(path.name for path, bad in planted.items() if path.read_bytes() == bad)
    assert left == [], f"{len(left)} of {len(planted)} entries left as planted"
    key = (config / "witgen" / "cache-key").read_bytes()
    for path in planted:
        if path.name.startswith("pack-"):
            name = f"{path.parent.name}/{path.name}\0"
            entries = pack_entries(path)
            assert entries and all(cachesign.unseal(key, name + k, v) is not None for k, v in entries.items()), path
            continue
        tag, _, body = path.read_bytes().partition(b"\n")
        assert tag == cachesign.tag(key, f"{path.parent.name}/{path.name}", body), path.name


@pytest.mark.parametrize("style", ENTRY_STYLES)
def test_planted_pickles_in_the_parse_cache_never_run(
    setup: tuple[Path, Path, Path, dict[str, str]], style: str
) -> None:
    """Parsed files, stage-A packages and the parser's table are read back only when signed."""
    root, cache, config, expected = setup
    marker = root.parent / "marker"
    payload = pickle.dumps(Payload(marker))
    kinds = {key.split("-")[0] if "-" in key else "file" for key in pack_keys(cache / "ast")}
    assert kinds == {"file", "group", "tables"}
    planted = plant(cache / "ast", lambda path: packed(path, payload, style))
    assert generate(root, "out", cache, config) == expected
    assert not marker.exists(), "a cache entry ran code"
    assert_replaced(planted, config)


@pytest.mark.parametrize("style", ENTRY_STYLES)
def test_planted_formatted_text_never_reaches_the_bindings(
    setup: tuple[Path, Path, Path, dict[str, str]], style: str
) -> None:
    """Formatted chunks and whole modules come back only when signed: a planted one would
    put its code into the generated files, which run when imported."""
    root, cache, config, expected = setup
    code = b"=open('marker', 'a')\n"  # a formatted text as packs hold it
    assert pack_keys(cache / "format")
    planted = plant(cache / "format", lambda path: packed(path, code, style))
    assert generate(root, "out", cache, config) == expected
    assert_replaced(planted, config)


@pytest.mark.parametrize("style", ["unsigned", "foreign-key"])
def test_planted_compiled_templates_never_run(
    setup: tuple[Path, Path, Path, dict[str, str]], style: str
) -> None:
    import jinja2.bccache

    """Templates without a current translation render with Jinja, compiled through a
    signed cache: a planted compiled template never runs."""
    root, cache, config, expected = setup

    def render_again_with_jinja() -> dict[str, str]:
        for entry in (cache / "format").iterdir():  # so that every module is rendered again
            entry.unlink()
        return generate(root, "out", cache, config, jinja_only=True)

    assert render_again_with_jinja() == expected  # compiles the templates into the cache
    marker = root.parent / "marker"
    bytecode = jinja2.bccache.bc_magic + pickle.dumps(Payload(marker), 2)
    planted = plant(cache / "templates", lambda path: foreign_signed(path, bytecode) if style == "foreign-key" else bytecode)
    assert render_again_with_jinja() == expected
    assert not marker.exists(), "a cached template ran code"
    assert_replaced(planted, config)


def test_a_fresh_home_means_a_cold_cache_and_the_same_output(
    setup: tuple[Path, Path, Path, dict[str, str]],
) -> None:
    """A cache restored onto a machine with another key (a CI runner's fresh home) is
    ignored and rewritten, never trusted."""
    root, cache, config, expected = setup
    before = {p: p.read_bytes() for p in (cache / "ast").iterdir()}
    other = root.parent / "other-home"
    assert generate(root, "out", cache, other) == expected
    assert all(p.read_bytes() != data for p, data in before.items())
    key = other / "witgen" / "cache-key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_bytes() != (config / "witgen" / "cache-key").read_bytes()


def test_a_key_inside_the_cache_folder_is_not_trusted(tmp_path: Path, expected: dict[str, str]) -> None:
    """Whoever writes the cache could replace a key kept there: the cache is then not used."""
    root = project(tmp_path / "proj")
    cache = tmp_path / "cache"
    assert generate(root, "out", cache, cache) == expected
    assert not (cache / "witgen" / "cache-key").exists()
    assert not [p for p in cache.rglob("*") if p.is_file()]


def test_the_key_is_private_and_an_exposed_one_is_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cachesign, "_keys", {})
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    entry = tmp_path / "cache" / "format" / "entry"
    assert cachesign.write_entry(entry, b"text")
    key = tmp_path / "config" / "witgen" / "cache-key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and len(key.read_bytes()) == cachesign.KEY_SIZE
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    assert cachesign.read_entry(entry) == b"text"

    exposed = key.read_bytes()
    key.chmod(0o644)  # others could have read it: entries signed with it prove nothing
    monkeypatch.setattr(cachesign, "_keys", {})
    assert cachesign.read_entry(entry) is None
    assert key.read_bytes() != exposed and stat.S_IMODE(key.stat().st_mode) == 0o600
    assert cachesign.write_entry(entry, b"text") and cachesign.read_entry(entry) == b"text"

    if os.getuid() == 0:  # a key owned by someone else (only root can hand a file over)
        os.chown(key, 65534, 65534)
        monkeypatch.setattr(cachesign, "_keys", {})
        assert cachesign.read_entry(entry) is None
        assert key.stat().st_uid == 0


def test_an_entry_moved_to_another_name_is_not_trusted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The tag covers the entry's name: a signed entry copied over another is a miss."""
    monkeypatch.setattr(cachesign, "_keys", {})
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    first, second = tmp_path / "c" / "format" / "a", tmp_path / "c" / "format" / "b"
    assert cachesign.write_entry(first, b"one") and cachesign.write_entry(second, b"two")
    second.write_bytes(first.read_bytes())
    assert cachesign.read_entry(first) == b"one" and cachesign.read_entry(second) is None


def test_the_parser_never_unpickles_lark_files_from_the_temporary_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lark's own cache lives in the temporary folder, which anyone on the machine can write:
    building the parser's table does not read it."""
    from lark import Lark

    from witgen.frontend import tables
    from witgen.frontend.larklexer import NoLexer
    from witgen.frontend.parser import _Builder

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    grammar = tables.grammar_text()
    Lark(grammar, parser="lalr", lexer=NoLexer, transformer=_Builder(), cache=True)  # names the file
    (planted,) = tmp_path.glob(".lark_cache_*")
    marker = tmp_path / "marker"
    first_line = planted.read_bytes().partition(b"\n")[0]
    planted.write_bytes(first_line + b"\n" + pickle.dumps(Payload(marker)))
    data = tables.build(grammar, _Builder())
    assert not marker.exists(), "the parser unpickled a file from the temporary folder"
    assert data[2], "no table was built"


def _exports_state(component: object) -> bool:
    return component.get_export_index("wamli:stateful/state") is not None  # type: ignore[attr-defined]


@pytest.mark.parametrize("style", ["checksum", "foreign-key", "garbage"])
def test_a_planted_compiled_component_is_never_deserialized(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stateful_wat_wasm: Path, echoer_wasm: Path, style: str
) -> None:
    from witgen.runtime.wasm import loader

    monkeypatch.setenv("WITGEN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    engine = loader.engine_for()
    assert _exports_state(loader.load(engine, stateful_wat_wasm))
    (artifact,) = (tmp_path / "cache" / "wasm").glob("*.cwasm")
    assert artifact.name == loader.cache_key(stateful_wat_wasm.read_bytes()) + ".cwasm"
    other = bytes(loader._compile(engine, echoer_wasm.read_bytes(), "echoer", None, cached=False).serialize())
    assert not _exports_state(loader.Component.deserialize(engine, other))  # it would be noticed
    if style == "checksum":  # the content digest anyone can compute
        bad = hashlib.sha256(other).digest() + other
    elif style == "foreign-key":
        bad = foreign_signed(artifact, other)
    else:
        bad = b"\0" * 64 + b"\n" + os.urandom(4096)
    artifact.write_bytes(bad)
    assert _exports_state(loader.load(engine, stateful_wat_wasm))
    assert artifact.read_bytes() != bad
    reread = loader._read_artifact(engine, artifact)
    assert reread is not None and _exports_state(reread)  # replaced with its own, signed


@pytest.mark.parametrize("style", ["unsigned", "foreign-key"])
def test_a_planted_bridge_component_is_never_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, style: str
) -> None:
    """A built guest component found in the cache is used only when this user's witgen
    stored it; otherwise the project is built (here a broken one, so the build fails fast)."""
    import json
    import shutil

    from witgen.bridge import build as bridge
    from witgen.bridge.plan import BridgeError
    from witgen.workflow.formatcache import write_entry

    beside = Path(sys.executable).parent / "componentize-py"
    if not beside.exists() and shutil.which("componentize-py") is None:
        pytest.skip("componentize-py is not installed (pip install 'witgen[bridge]')")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    files = {
        "componentize.json": json.dumps({"args": ["-d", "wit", "-w", "w"], "app": "app"}).encode(),
        "wit/w.wit": b"package t:t;\n\nworld w {\n  export run: func() -> not-a-type;\n}\n",
        "app.py": b"",
    }
    cache = tmp_path / "cache"
    entry = cache / "bridge" / f"{bridge.digest(files, bridge._version(bridge.componentize_py()))}.wasm"
    entry.parent.mkdir(parents=True)
    planted = b"\0asm\x0d\x00\x01\x00 planted"
    entry.write_bytes(foreign_signed(entry, planted) if style == "foreign-key" else planted)
    output = tmp_path / "out.wasm"
    with pytest.raises(BridgeError):
        bridge.build(files, output, cache=cache)
    assert not output.exists()
    assert write_entry(entry, planted)  # what this user's witgen stores is used
    assert bridge.build(files, output, cache=cache) is True and output.read_bytes() == planted
