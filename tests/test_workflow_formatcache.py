"""The disk cache of black's output: entries, namespaces, damage, pruning, and real renders."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from witgen.workflow import formatcache, render
from witgen.workflow.config import Target
from witgen.workflow.formatcache import FormatCache
from witgen.workflow.pack import Pack

ROOT = Path(__file__).resolve().parent.parent


def test_entries_round_trip_per_namespace(tmp_path: Path) -> None:
    cache = FormatCache(tmp_path, namespace="one")
    assert cache.get("x=1") is None
    cache["x=1"] = "x = 1\n"
    assert cache["x=1"] == "x = 1\n"
    assert FormatCache(tmp_path, namespace="one").get("x=1") == "x = 1\n"  # across runs
    assert FormatCache(tmp_path, namespace="two").get("x=1") is None  # another black or witgen
    del cache["x=1"]
    assert "x=1" not in cache


def test_damaged_entry_is_a_miss(tmp_path: Path) -> None:
    cache = FormatCache(tmp_path, namespace="n")
    cache["a"] = "a\n" * 100
    [entry] = (tmp_path / "format").iterdir()
    entry.write_bytes(entry.read_bytes()[:-7])  # torn
    assert cache.get("a") is None


def test_unwritable_cache_only_costs_time(tmp_path: Path) -> None:
    (tmp_path / "format").write_text("a file where the cache folder goes")
    cache = FormatCache(tmp_path, namespace="n")
    cache["a"] = "b"
    assert cache.get("a") is None


def test_prune_keeps_the_most_recently_used(tmp_path: Path) -> None:
    cache = FormatCache(tmp_path, namespace="n")
    for i in range(6):
        cache[f"k{i}"] = f"v{i}"
    for i, path in enumerate(sorted((tmp_path / "format").iterdir())):
        os.utime(path, ns=(i * 10**9, i * 10**9))
    oldest = sorted((tmp_path / "format").iterdir())[:2]
    cache.prune(limit=4)
    assert len(cache) == 4
    assert not any(p.exists() for p in oldest)


def test_folder_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WITGEN_CACHE_DIR", str(tmp_path / "c"))
    assert formatcache.default_folder() == tmp_path / "c"
    monkeypatch.setenv("WITGEN_CACHE_DIR", "")
    assert formatcache.default_folder() is None
    monkeypatch.delenv("WITGEN_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert formatcache.default_folder() == tmp_path / "xdg" / "witgen"


def test_warm_render_equals_black_and_calls_no_black(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import black

    wit = tmp_path / "wit"
    shutil.copytree(ROOT / "samples" / "stateful" / "wit", wit)
    target = Target("s", wit, tmp_path / "out", root=tmp_path)
    monkeypatch.setenv("WITGEN_CACHE_DIR", "")
    uncached = render.render_target(target)
    monkeypatch.setenv("WITGEN_CACHE_DIR", str(tmp_path / "cache"))
    assert render.render_target(target) == uncached  # cold: fills the cache
    [stored] = (tmp_path / "cache" / "format").iterdir()  # one pack for the target
    assert len(Pack(stored)) >= len([f for f in uncached if f.endswith(".py")]) - 1

    def no_black(*args: object, **kwargs: object) -> str:
        raise AssertionError("black ran on a warm cache")

    monkeypatch.setattr(black, "format_str", no_black)
    assert render.render_target(target) == uncached
    (wit / "stateful.wit").write_text((wit / "stateful.wit").read_text() + "\n// a comment\n")
    assert render.render_target(target) == uncached  # a comment changes no module text
