"""`witgen parse --json`: through the caches `generate` uses, never stale, printed as wasm-tools prints.

No run imports Lark (the parser's table ships with witgen); a second run loads the parsed
files and the resolved packages from the cache; an edited file is parsed again; and the output is byte for byte the
output without a cache, and the JSON `json.dumps(..., indent=2, ensure_ascii=False)` writes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from witgen import model
from witgen.resolver import load

ROOT = Path(__file__).resolve().parent.parent

TYPES = """package demo:shop@1.0.0;

/// Things for sale: "quoted", back\\slash, tab\there, é, 😀, line\u2028separator.
interface types {
    /// One item.
    record item { name: string, price: u32 }
    variant outcome { ok(item), missing, failed(string) }
    enum size { small, large }
    flags tags { new, sale }
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
    (folder / "types.wit").write_text(TYPES, encoding="utf-8")
    (folder / "world.wit").write_text(WORLD, encoding="utf-8")
    return folder


def parse_json(package: Path, cache: str) -> tuple[bytes, bool]:
    """`witgen parse --json package` in a fresh process: its output, and whether it imported Lark."""
    env = dict(os.environ, WITGEN_CACHE_DIR=cache)
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "witgen", "parse", "--json", str(package)],
        capture_output=True,
        env=env,
        check=True,
    )
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.decode().splitlines()}
    return proc.stdout, "lark" in imported


def test_runs_keep_their_work_in_the_cache_without_lark_and_print_the_same(tmp_path: Path) -> None:
    package = shop(tmp_path / "shop")
    cache = str(tmp_path / "cache")
    uncached, uncached_lark = parse_json(package, "")
    first, first_lark = parse_json(package, cache)
    entries = sorted(p.name for p in (tmp_path / "cache" / "ast").iterdir())
    second, second_lark = parse_json(package, cache)
    assert not (uncached_lark or first_lark or second_lark)
    assert first == second == uncached
    assert any(name.startswith("tables-") for name in entries)
    assert any(name.startswith("group-") for name in entries)
    assert sorted(p.name for p in (tmp_path / "cache" / "ast").iterdir()) == entries  # nothing new


def test_an_edited_file_is_parsed_again(tmp_path: Path) -> None:
    package = shop(tmp_path / "shop")
    cache = str(tmp_path / "cache")
    before, _ = parse_json(package, cache)
    types = package / "types.wit"
    types.write_text(TYPES.replace("/// One item.", "/// One item, edited."), encoding="utf-8")
    after, _ = parse_json(package, cache)
    uncached, _ = parse_json(package, "")
    assert b"One item, edited." in after and b"One item, edited." not in before
    assert after == uncached


def test_json_is_what_json_dumps_writes_and_reads_back(tmp_path: Path) -> None:
    packages = [shop(tmp_path / "shop")]
    packages += sorted(p / "wit" for p in (ROOT / "samples").iterdir() if (p / "wit").is_dir())
    for package in packages:
        resolve = load(package)
        text = resolve.to_json()
        assert text == json.dumps(resolve.to_json_value(), indent=2, ensure_ascii=False), package
        assert model.Resolve.from_json(text).to_json() == text
    assert "😀, line\u2028separator" in load(packages[0]).to_json()
