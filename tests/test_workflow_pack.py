"""Cache packs: many entries in one signed file, read once and written once per run."""

from __future__ import annotations

from pathlib import Path

from witgen import cachesign
from witgen.workflow import pack
from witgen.workflow.formatcache import PackedFormatCache
from witgen.workflow.pack import Pack, pack_path


def test_entries_come_back_in_the_next_run_only_after_flush(tmp_path: Path) -> None:
    cache = PackedFormatCache(tmp_path, "out", namespace="one")
    cache["x=1"] = "x = 1\n"
    cache["y = 2"] = "y = 2\n"  # left as it was: stored as an empty value
    assert cache["x=1"] == "x = 1\n" and cache["y = 2"] == "y = 2\n"
    assert PackedFormatCache(tmp_path, "out", namespace="one").get("x=1") is None  # not written yet
    cache.flush()
    again = PackedFormatCache(tmp_path, "out", namespace="one")
    assert again.get("x=1") == "x = 1\n" and again.get("y = 2") == "y = 2\n"
    assert PackedFormatCache(tmp_path, "out", namespace="two").get("x=1") is None  # another black
    assert PackedFormatCache(tmp_path, "elsewhere", namespace="one").get("x=1") is None  # its own pack
    assert [p.name for p in (tmp_path / "format").iterdir()] == [pack_path(tmp_path / "format", "out").name]
    assert b"y = 2" not in (tmp_path / "format" / pack_path(tmp_path, "out").name).read_bytes()


def test_a_damaged_or_foreign_pack_reads_as_empty(tmp_path: Path) -> None:
    cache = PackedFormatCache(tmp_path, "out", namespace="n")
    cache["a"] = "b\n"
    cache.flush()
    [stored] = (tmp_path / "format").iterdir()
    data = stored.read_bytes()
    stored.write_bytes(data[:-3])  # torn
    assert PackedFormatCache(tmp_path, "out", namespace="n").get("a") is None
    body = data[65:]
    stored.write_bytes(cachesign.tag(b"k" * 32, f"format/{stored.name}", body) + b"\n" + body)
    assert PackedFormatCache(tmp_path, "out", namespace="n").get("a") is None
    stored.write_bytes(data)
    assert PackedFormatCache(tmp_path, "out", namespace="n").get("a") == "b\n"


def test_a_pack_signed_by_this_user_that_does_not_decode_is_empty(tmp_path: Path) -> None:
    path = pack_path(tmp_path / "ast", "x")
    assert cachesign.write_entry(path, b"\xc1 not msgpack")
    assert len(Pack(path)) == 0


def test_nothing_is_written_when_nothing_was_stored(tmp_path: Path) -> None:
    path = pack_path(tmp_path / "ast", "x")
    first = Pack(path)
    first.put("k", b"v")
    assert first.flush()
    written = path.stat().st_ino, path.read_bytes()  # a write replaces the file
    second = Pack(path)
    assert second.get("k") == b"v"
    second.put("k", b"v")  # the same value: nothing new
    assert second.flush() and (path.stat().st_ino, path.read_bytes()) == written


def test_unused_entries_are_kept_up_to_a_bound(tmp_path: Path) -> None:
    path = pack_path(tmp_path / "ast", "x")
    first = Pack(path)
    for i in range(pack._SPARE * 3):
        first.put(f"old{i}", b"o")
    assert first.flush()
    second = Pack(path)
    second.put("new", b"n")
    assert second.flush()
    kept = Pack(path).keys()
    assert "new" in kept and len(kept) == pack._SPARE + 1
    assert f"old{pack._SPARE * 3 - 1}" in kept and "old0" not in kept  # the most recent stay


def test_unused_entries_are_kept_up_to_a_quarter_of_the_used_size(tmp_path: Path) -> None:
    path = pack_path(tmp_path / "ast", "x")
    first = Pack(path)
    big = b"o" * pack._SPARE_BYTES
    for i in range(6):
        first.put(f"old{i}", big)
    assert first.flush()
    second = Pack(path)
    for i in range(8):
        second.put(f"new{i}", big)
    assert second.flush()
    kept = Pack(path).keys()
    assert kept == {*(f"new{i}" for i in range(8)), "old5", "old4"}


def test_an_unwritable_pack_only_costs_time(tmp_path: Path) -> None:
    (tmp_path / "format").write_text("a file where the cache folder goes")
    cache = PackedFormatCache(tmp_path, "out", namespace="n")
    cache["a"] = "b"
    cache.flush()
    assert PackedFormatCache(tmp_path, "out", namespace="n").get("a") is None
