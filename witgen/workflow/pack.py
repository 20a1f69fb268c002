"""Many cache entries in one signed file, read once and written at most once per run.

A run of `generate` looks up and stores hundreds of small entries (formatted chunks,
parsed files). Kept one file each, creating those files costs more than computing
most of them. A pack holds the entries of one scope (one output folder, say) as one
msgpack map of key -> bytes, signed as a whole with this user's key
(`witgen.cachesign`): a pack that is damaged, or that this user's witgen did not
write, reads as empty, and the run stores everything anew.

Keys are digests of everything that decides their value, chosen by the caller; the
pack only decides which of them are kept. When a run stored something, the pack is
written again with the entries that run used or stored, then, up to as many again
and a quarter of their size, the entries it did not use (the most recently stored
first), so that switching back and forth between two versions of an input stays
warm while a pack never grows without bound.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from witgen import cachesign
from witgen.workflow.digest import file_hash

LIMIT = 1000  # packs per kind of cache: one per output folder or command
_SPARE = 256  # unused entries kept: as many as the used ones, at least this many,
_SPARE_BYTES = 1 << 16  # and of at most a quarter of their size, at least this

_decoder = msgspec.msgpack.Decoder(dict[str, bytes])
_encoder = msgspec.msgpack.Encoder()


def prune_lru(folder: Path, limit: int) -> None:
    """Remove the least recently used entries of a cache folder beyond `limit` (best effort)."""
    try:
        entries = [e for e in os.scandir(folder) if not e.name.startswith(".")]
        if len(entries) <= limit:
            return
        entries.sort(key=lambda e: e.stat().st_mtime_ns)
        for entry in entries[: len(entries) - limit]:
            os.unlink(entry.path)
    except OSError:
        pass


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


class Pack:
    """The entries of one scope: loaded on creation, written by `flush`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._old: dict[str, bytes] = {}
        body = read_entry(path)
        if body is not None:
            try:
                self._old = _decoder.decode(body)
            except msgspec.DecodeError:  # written by another version: empty
                self._old = {}
        self._used: dict[str, bytes] = {}  # entries looked up or stored by this run
        self.stored = 0

    def get(self, key: str) -> bytes | None:
        found = self._used.get(key)
        if found is None:
            found = self._old.get(key)
            if found is not None:
                self._used[key] = found
        return found

    def put(self, key: str, value: bytes) -> None:
        if self.get(key) != value:
            self._used[key] = value
            self.stored += 1

    def discard(self, key: str) -> bool:
        """Forget `key`; whether it was there."""
        found = self._used.pop(key, None) is not None
        found = self._old.pop(key, None) is not None or found
        if found:
            self.stored += 1
        return found

    def keys(self) -> set[str]:
        """Every key the pack holds now."""
        return self._used.keys() | self._old.keys()

    def __len__(self) -> int:
        return len(self.keys())

    def flush(self) -> bool:
        """Write the pack if this run stored anything; False when it could not be written."""
        if not self.stored:
            return True
        keep = dict(self._used)
        count = max(len(keep), _SPARE)
        size = max(sum(map(len, keep.values())) // 4, _SPARE_BYTES)
        for key in reversed(self._old):  # the most recently stored last in the old pack
            value = self._old[key]
            if count <= 0 or size < len(value):
                break
            if key not in keep:
                keep[key] = value
                count -= 1
                size -= len(value)
        ordered = {k: keep[k] for k in reversed(keep) if k not in self._used}
        ordered.update(self._used)
        written = cachesign.write_entry(self.path, _encoder.encode(ordered))
        if written:
            self._old, self._used, self.stored = ordered, {}, 0
            prune_lru(self.path.parent, LIMIT)
        return written
