"""Many cache entries in one file, read once and written at most once per run.

A run of `generate` looks up and stores hundreds of small entries (formatted chunks,
parsed files). Kept one file each, creating those files costs more than computing
most of them. A pack holds the entries of one scope (one output folder, say) as one
msgpack map of key -> value, each value sealed with this user's key (`witgen.cachesign.seal`,
over the pack's name, the entry's key and its value). An entry is checked when a run first
looks it up, so a run pays for the entries it reads, not for the whole pack: one that is
damaged, moved to another key or pack, or that this user's witgen did not write, reads as
absent, and the run stores it anew. What is not sealed (the order of the entries, their
slots, the generation) decides only which entries are kept and dropped, never what a
look-up returns; a file that does not decode, or of another format, reads as empty.

Keys are digests of everything that decides their value, chosen by the caller; the
pack only decides which of them are kept. An entry may name a slot (the module or the
file it is the text of): storing an entry in a slot supersedes the entries an earlier
run stored there, which are dropped when the pack is written, unless this run used
them too. Every other entry the run did not use is kept, the most recently stored
first, while the pack stays within four times the size of what the run used (and
`MIN_BYTES`), so that entries of modules and files that did not change stay warm and a
pack never grows without bound.

A run that changed little writes only what changed: a delta beside the pack (`.<name>.delta`,
its entries sealed alike) with the entries stored since the pack was written and the keys
dropped since. It names the pack it extends by a random generation the pack carries, so a
delta never applies to another pack. The pack is written whole again, and the delta removed,
once the delta would hold more than half the pack's bytes, or drop more than half. Until
then, entries only looked up keep their place in the pack's order of use.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from witgen import cachesign
from witgen.workflow.digest import file_hash

LIMIT = 1000  # packs per kind of cache: one per output folder or command
MIN_BYTES = 4 << 20  # a pack keeps entries the run did not use up to this size, at least


_PACK = b"witgen pack 1\n"  # what a pack file starts with
_DELTA = b"witgen delta 1\n"


class _Body(msgspec.Struct, array_like=True):
    """A pack's contents: key -> sealed value, oldest first, and the slot of each slotted key.
    Read, the sealed values are views into the file's bytes: an entry is copied only when
    a run uses it."""

    entries: dict[str, memoryview]
    slots: dict[str, str]
    generation: str = ""  # what a delta names to extend this pack


class _Delta(msgspec.Struct, array_like=True):
    """What changed since the pack of `generation` was written: entries stored (sealed, with
    their slots, None for none) and keys dropped."""

    generation: str
    entries: dict[str, memoryview]
    slots: dict[str, str | None]
    dropped: list[str]


_decoder = msgspec.msgpack.Decoder(_Body)
_delta_decoder = msgspec.msgpack.Decoder(_Delta)
_encoder = msgspec.msgpack.Encoder()


def prune_lru(folder: Path, limit: int) -> None:
    """Remove the least recently used entries of a cache folder beyond `limit`, with their
    deltas (best effort)."""
    for path in cachesign.prune_oldest(folder, limit):
        try:
            os.unlink(delta_path(Path(path)))
        except OSError:
            pass


def delta_path(path: Path) -> Path:
    """Where the delta of the pack (or entry) at `path` lives."""
    return path.with_name(f".{path.name}.delta")


def read_entry(path: Path) -> bytes | None:
    """The body of a cache entry, or None when it is absent, unreadable, damaged or not
    signed with this user's key (`witgen.cachesign`); reading one marks it recently used."""
    body = cachesign.read_entry(path)
    if body is None:
        return None
    try:
        os.utime(path)  # recently used: pruned last
    except OSError:
        pass
    return body


def pack_path(folder: Path, scope: str) -> Path:
    """The pack of `scope` (any text naming what it serves) in `folder`."""
    return folder / f"pack-{file_hash(scope.encode())}"


def _read(path: Path, start: bytes) -> memoryview | None:
    """What follows `start` in the file at `path`, None when it is absent, unreadable or
    of another format; reading one marks it recently used."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    if not data.startswith(start):
        return None
    try:
        os.utime(path)  # recently used: pruned last
    except OSError:
        pass
    return memoryview(data)[len(start) :]


class Pack:
    """The entries of one scope: loaded on creation, each checked on its first look-up,
    written by `flush`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._key = cachesign.cache_key(path.parent.parent)  # None: nothing is read or written
        self._name = f"{path.parent.name}/{path.name}\0"  # what a seal binds an entry to, with its key
        self._old = _Body({}, {})
        data = _read(path, _PACK) if self._key is not None else None
        self._found = data is not None  # else a flush creates the pack (or replaces a damaged one)
        if data is not None:
            try:
                self._old = _decoder.decode(data)
            except msgspec.DecodeError:  # damaged: empty
                pass
        # The pack as its file holds it, before the delta: what a new delta is relative to.
        self._base = _Body(dict(self._old.entries), dict(self._old.slots), self._old.generation)
        self._apply_delta()
        self._values: dict[str, bytes] = {}  # entries looked up (and found sound) or stored by this run
        self._used: dict[str, memoryview] = {}  # the same, sealed
        self._slots: dict[str, str] = {}  # slot of each entry this run used or stored
        self._filled: set[str] = set()  # slots this run stored into
        self.stored = 0

    def _apply_delta(self) -> None:
        """Bring the pack up to date with its delta, if one extends it."""
        if not self._old.generation:
            return
        data = _read(delta_path(self.path), _DELTA)
        if data is None:
            return
        try:
            delta = _delta_decoder.decode(data)
        except msgspec.DecodeError:
            return
        if delta.generation != self._old.generation:
            return
        old = self._old
        for key in delta.dropped:
            old.entries.pop(key, None)
            old.slots.pop(key, None)
        for key, value in delta.entries.items():
            old.entries.pop(key, None)  # stored again: the most recent
            old.entries[key] = value
        for key, slot in delta.slots.items():
            if slot is None:
                old.slots.pop(key, None)
            elif key in old.entries:
                old.slots[key] = slot

    def get(self, key: str) -> bytes | None:
        found = self._values.get(key)
        if found is None and self._key is not None:
            sealed = self._old.entries.get(key)
            if sealed is None:
                return None
            found = cachesign.unseal(self._key, self._name + key, sealed)
            if found is None:  # not sealed by this user's witgen for this place: absent, and dropped
                del self._old.entries[key]
                self._old.slots.pop(key, None)
                return None
            self._values[key] = found
            self._used[key] = sealed
            if key in self._old.slots:
                self._slots[key] = self._old.slots[key]
        return found

    def put(self, key: str, value: bytes, slot: str | None = None) -> None:
        """Store `value` under `key`, superseding what earlier runs stored in `slot`."""
        if self.get(key) != value:
            self._values[key] = value
            if self._key is not None:
                self._used[key] = memoryview(cachesign.seal(self._key, self._name + key, value))
            self.stored += 1
        if slot is not None:
            self._filled.add(slot)
            if self._slots.get(key) != slot:
                self._slots[key] = slot
                self.stored += 1

    def discard(self, key: str) -> bool:
        """Forget `key`; whether it was there."""
        found = self._values.pop(key, None) is not None
        self._used.pop(key, None)
        found = self._old.entries.pop(key, None) is not None or found
        if found:
            self.stored += 1
        return found

    def keys(self) -> set[str]:
        """Every key the pack holds now (some perhaps not sound: `get` tells)."""
        return self._values.keys() | self._old.entries.keys()

    def __len__(self) -> int:
        return len(self.keys())

    def flush(self) -> bool:
        """Write the pack if this run stored anything; False when it could not be written."""
        if not self.stored:
            return True
        if self._key is None:
            return False
        superseded = self._filled
        room = max(4 * sum(map(len, self._used.values())), MIN_BYTES)
        kept: list[str] = []
        old = self._old
        for key in reversed(old.entries):  # the most recently stored last in the old pack
            value = old.entries[key]
            if key in self._used or old.slots.get(key) in superseded:
                continue
            if room < len(value):
                break
            kept.append(key)
            room -= len(value)
        entries = {key: old.entries[key] for key in reversed(kept)}
        entries.update(self._used)
        slots = {key: old.slots[key] for key in kept if key in old.slots}
        slots.update(self._slots)
        body = _Body(entries, slots, self._base.generation)
        if self._write_delta(body):
            self._forget_run(body)
            return True
        body.generation = os.urandom(8).hex()
        written = cachesign.replace_file(self.path, _PACK + _encoder.encode(body))
        if written:
            try:  # the delta of the pack replaced, which names another generation
                os.unlink(delta_path(self.path))
            except OSError:
                pass
            self._forget_run(body)
            self._base = _Body(dict(entries), dict(slots), body.generation)
            if not self._found:  # only a new pack adds to the folder: only then can it outgrow LIMIT
                prune_lru(self.path.parent, LIMIT)
            self._found = True
        return written

    def _forget_run(self, body: _Body) -> None:
        """After a write: `body` is what the pack holds, and this run has used nothing yet."""
        self._old, self._values, self._used, self._slots, self._filled, self.stored = body, {}, {}, {}, set(), 0

    def _write_delta(self, body: _Body) -> bool:
        """Write `body` as a delta of the pack on disk, when that is small enough to pay."""
        base = self._base
        if not (self._found and base.generation):
            return False
        size = sum(map(len, base.entries.values()))
        # A value the pack's file holds is the very view read from it (a value stored since
        # is another object): told apart by identity, not by comparing bytes.
        stored = {k: v for k, v in body.entries.items() if base.entries.get(k) is not v}
        dropped = [k for k in base.entries if k not in body.entries]
        slots: dict[str, str | None] = {k: body.slots.get(k) for k in stored}
        for key, slot in body.slots.items():
            if key not in stored and base.slots.get(key) != slot:
                slots[key] = slot
        if any(key not in body.slots and key not in stored for key in base.slots if key in body.entries):
            return False  # a slot forgotten without the entry: rare, written whole
        if 2 * sum(map(len, stored.values())) > size or 2 * sum(len(base.entries[k]) for k in dropped) > size:
            return False
        delta = _Delta(base.generation, stored, slots, dropped)
        return cachesign.replace_file(delta_path(self.path), _DELTA + _encoder.encode(delta))
