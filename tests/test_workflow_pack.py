"""Cache packs: many entries in one signed file, read once and written once per run."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

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


def test_a_damaged_pack_or_one_of_another_format_reads_as_empty(tmp_path: Path) -> None:
    cache = PackedFormatCache(tmp_path, "out", namespace="n")
    cache["a"] = "b\n"
    cache.flush()
    [stored] = (tmp_path / "format").iterdir()
    data = stored.read_bytes()
    stored.write_bytes(data[:-3])  # torn
    assert PackedFormatCache(tmp_path, "out", namespace="n").get("a") is None
    assert cachesign.write_entry(stored, data)  # a whole-file signature: an older format
    assert PackedFormatCache(tmp_path, "out", namespace="n").get("a") is None
    stored.write_bytes(data)
    assert PackedFormatCache(tmp_path, "out", namespace="n").get("a") == "b\n"


def read_raw(path: Path) -> tuple[dict[str, bytes], dict[str, str], str]:
    """A pack's entries (sealed), slots and generation, read as anyone can."""
    start = b"witgen pack 1\n"
    data = path.read_bytes()
    assert data.startswith(start)
    entries, slots, generation = msgspec.msgpack.decode(data[len(start) :])
    return entries, slots, generation


def write_raw(path: Path, entries: dict[str, bytes], slots: dict[str, str], generation: str) -> None:
    path.write_bytes(b"witgen pack 1\n" + msgspec.msgpack.encode([entries, slots, generation]))


def test_each_entry_is_checked_on_its_own(tmp_path: Path) -> None:
    """A forged, swapped or foreign entry reads as absent; the sound ones around it are served."""
    path = pack_path(tmp_path / "ast", "x")
    first = Pack(path)
    for name in "abcde":
        first.put(name, name.encode() * 10)
    assert first.flush()
    entries, slots, generation = read_raw(path)
    seal = cachesign.SEAL_SIZE
    entries["a"] = entries["a"][:seal] + b"A" * 10  # forged value, its old seal
    entries["b"], entries["c"] = entries["c"], entries["b"]  # swapped
    entries["d"] = cachesign.seal(b"k" * 32, f"ast/{path.name}\0d", b"dddddddddd")  # another key's seal
    entries["f"] = cachesign.seal(b"k" * 32, f"ast/{path.name}\0f", b"planted")  # planted
    write_raw(path, entries, slots, generation)
    again = Pack(path)
    assert [again.get(k) for k in "abcdef"] == [None, None, None, None, b"e" * 10, None]
    other = pack_path(tmp_path / "ast", "y")  # a sound entry of one pack, moved into another
    write_raw(other, {"e": read_raw(path)[0]["e"]}, {}, "")
    assert Pack(other).get("e") is None
    again.put("a", b"a" * 10)  # the run stores anew what it found unsound
    assert again.flush()
    final = Pack(path)
    assert final.get("a") == b"a" * 10 and final.get("e") == b"e" * 10
    assert final.get("b") is None and final.keys() >= {"a", "e"}


def test_an_unsound_entry_in_a_delta_reads_as_absent(tmp_path: Path) -> None:
    path = written_pack(tmp_path, "k", 10, b"v" * 100)
    second = Pack(path)
    second.put("new", b"n" * 10)  # small: written as a delta
    assert second.flush() and pack.delta_path(path).exists()
    assert Pack(path).get("new") == b"n" * 10
    delta = pack.delta_path(path)
    start = b"witgen delta 1\n"
    generation, entries, delta_slots, dropped = msgspec.msgpack.decode(delta.read_bytes()[len(start) :])
    entries["new"] = entries["new"][: cachesign.SEAL_SIZE] + b"N" * 10
    delta.write_bytes(start + msgspec.msgpack.encode([generation, entries, delta_slots, dropped]))
    third = Pack(path)
    assert third.get("new") is None and third.get("k3") == b"v" * 100


def test_a_pack_of_this_format_that_does_not_decode_is_empty(tmp_path: Path) -> None:
    path = pack_path(tmp_path / "ast", "x")
    path.parent.mkdir(parents=True)
    for junk in (b"\xc1 not msgpack", msgspec.msgpack.encode([{"k": 1}, {}, ""]), b"\x91" * 100_000):
        path.write_bytes(b"witgen pack 1\n" + junk)
        found = Pack(path)
        assert len(found) == 0
        found.put("k", b"v")
        assert found.flush() and Pack(path).get("k") == b"v"


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


def written_pack(tmp_path: Path, prefix: str, count: int, value: bytes) -> Path:
    """A pack of `count` entries `<prefix><i>` holding `value`, written."""
    path = pack_path(tmp_path / "ast", "x")
    first = Pack(path)
    for i in range(count):
        first.put(f"{prefix}{i}", value)
    assert first.flush()
    return path


def test_unused_entries_are_kept_up_to_a_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pack, "MIN_BYTES", 1000)
    path = written_pack(tmp_path, "old", 30, b"o" * 100)
    second = Pack(path)
    second.put("new", b"n" * 200)  # used: 200 bytes and a seal; unused ones kept up to max(4 * that, 1000)
    assert second.flush()
    kept = Pack(path).keys()
    room = max(4 * (200 + cachesign.SEAL_SIZE), 1000) // (100 + cachesign.SEAL_SIZE)  # entries sealed, as stored
    assert room == 7
    assert kept == {"new", *(f"old{i}" for i in range(30 - room, 30))}  # the most recent stay


def test_an_entry_stored_in_a_slot_supersedes_the_earlier_ones(tmp_path: Path) -> None:
    """A module's new text replaces its old ones; entries of other slots, and entries this
    run used, stay."""
    path = pack_path(tmp_path / "format", "x")
    first = Pack(path)
    first.put("a1", b"module a, first", slot="a")
    first.put("a1-view", b"module a, first (by its views)", slot="a")
    first.put("b1", b"module b", slot="b")
    first.put("chunk", b"a chunk")
    assert first.flush()
    second = Pack(path)
    assert second.get("a1-view") is not None  # used: stays
    second.put("a2", b"module a, second", slot="a")
    assert second.flush()
    assert Pack(path).keys() == {"a1-view", "a2", "b1", "chunk"}
    third = Pack(path)
    assert third.get("b1") is not None  # a lookup fills no slot
    third.put("c", b"module c", slot="c")
    assert third.flush()
    assert Pack(path).keys() == {"a1-view", "a2", "b1", "chunk", "c"}


def test_an_unwritable_pack_only_costs_time(tmp_path: Path) -> None:
    (tmp_path / "format").write_text("a file where the cache folder goes")
    cache = PackedFormatCache(tmp_path, "out", namespace="n")
    cache["a"] = "b"
    cache.flush()
    assert PackedFormatCache(tmp_path, "out", namespace="n").get("a") is None


def test_the_folder_keeps_the_most_recent_packs_up_to_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new pack prunes the least recently used ones; rewriting a pack adds none."""
    import os

    monkeypatch.setattr(pack, "LIMIT", 3)
    folder = tmp_path / "ast"
    for i in range(4):
        p = Pack(pack_path(folder, f"scope{i}"))
        p.put("k", b"v")
        assert p.flush()
        os.utime(p.path, ns=(i * 10**9, i * 10**9))
    names = {pack_path(folder, f"scope{i}").name for i in range(4)}
    assert {e.name for e in folder.iterdir()} == names - {pack_path(folder, "scope0").name}
    again = Pack(pack_path(folder, "scope1"))
    again.put("k2", b"v2")
    assert again.flush()
    assert len(list(folder.iterdir())) == 3 and Pack(pack_path(folder, "scope1")).get("k2") == b"v2"


def test_a_small_change_is_written_as_a_delta_beside_the_pack(tmp_path: Path) -> None:
    path = pack_path(tmp_path / "ast", "x")
    first = Pack(path)
    for i in range(10):
        first.put(f"k{i}", b"v" * 100, slot=f"s{i}")
    assert first.flush()
    written = path.stat().st_ino, path.read_bytes()
    second = Pack(path)
    second.put("new", b"n" * 50, slot="s3")  # supersedes k3
    assert second.flush()
    assert (path.stat().st_ino, path.read_bytes()) == written and pack.delta_path(path).exists()
    third = Pack(path)
    assert third.keys() == {"new", *(f"k{i}" for i in range(10) if i != 3)} and third.get("new") == b"n" * 50
    third.put("big", b"b" * 2000)  # more than half the pack: written whole, the delta removed
    assert third.flush()
    assert path.read_bytes() != written[1] and not pack.delta_path(path).exists()
    assert Pack(path).keys() == {"new", "big", *(f"k{i}" for i in range(10) if i != 3)}


def test_a_delta_of_another_generation_is_ignored(tmp_path: Path) -> None:
    path = pack_path(tmp_path / "ast", "x")
    first = Pack(path)
    first.put("a", b"a" * 100)
    assert first.flush()
    second = Pack(path)
    second.put("b", b"b")
    assert second.flush()
    old_delta = pack.delta_path(path).read_bytes()
    third = Pack(path)
    assert third.discard("b")
    third.put("c", b"c" * 1000)  # written whole: a new generation
    assert third.flush() and not pack.delta_path(path).exists()
    pack.delta_path(path).write_bytes(old_delta)  # signed, but for the pack it replaced
    assert Pack(path).keys() == {"a", "c"}


def test_deltas_read_as_packs_written_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Any run of stores, lookups and discards leaves the same entries and slots either way
    (while the bound on unused entries keeps them all: a delta leaves looked-up entries
    where they were in the pack, so the bound may later drop others)."""
    import random

    rng = random.Random(7)
    paths = (pack_path(tmp_path / "a", "x"), pack_path(tmp_path / "b", "x"))
    deltas = 0
    for run in range(60):
        ops = [(rng.choice("pgd"), f"k{rng.randrange(40)}", bytes([rng.randrange(3)]) * rng.randrange(1, 300),
                rng.choice([None, None, f"s{rng.randrange(6)}"])) for _ in range(rng.randrange(1, 8))]
        for path in paths:
            p = Pack(path)
            for op, key, value, slot in ops:
                if op == "p":
                    p.put(key, value, slot)
                elif op == "g":
                    p.get(key)
                else:
                    p.discard(key)
            if path is paths[1]:
                monkeypatch.setattr(Pack, "_write_delta", lambda self, body: False)
            p.flush()
            monkeypatch.undo()
        a, b = Pack(paths[0]), Pack(paths[1])
        assert {k: a.get(k) for k in a.keys()} == {k: b.get(k) for k in b.keys()}, run
        assert {k: a._old.slots.get(k) for k in a.keys()} == {k: b._old.slots.get(k) for k in b.keys()}, run
        deltas += pack.delta_path(paths[0]).exists()
    assert deltas > 10
