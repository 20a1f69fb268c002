"""A disk cache of black's output, so that re-rendering unchanged modules costs no formatting.

black is most of a render's time, and for one black version and mode its output
is a function of the unformatted text. The code generator formats each top-level
chunk of a module on its own; the cache maps a chunk's text to the formatted
one, so that a changed WIT file costs the formatting of the chunks it changed
only. The key is a digest of the text and of black's version and mode
(`witgen.codegen.render.CACHE_NAMESPACE`), so a change to either starts a new
namespace.

Location: `$WITGEN_CACHE_DIR`, else `$XDG_CACHE_HOME/witgen`, else
`~/.cache/witgen`; `WITGEN_CACHE_DIR=""` turns the cache off. Entries are written
atomically and signed with this user's key (`witgen.cachesign`): formatted text becomes
generated code, so an entry that is damaged, or that this user's witgen did not write,
is a miss. `FormatCache` keeps one file per entry (the least recently used beyond `LIMIT`
are removed); `PackedFormatCache`, which rendering a target uses, keeps a target's entries
in one pack (`witgen.workflow.pack`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, MutableMapping
from pathlib import Path

from witgen import cachesign
from witgen.cachesign import default_folder
from witgen.workflow.digest import file_hash
from witgen.workflow.pack import Pack, pack_path, prune_lru, read_entry

__all__ = ["FormatCache", "PackedFormatCache", "default_folder", "prune_lru", "read_entry", "write_entry"]

LIMIT = 20000  # chunks: a large package has a few hundred


def write_entry(path: Path, body: bytes) -> bool:
    """Store a signed cache entry atomically; False when it cannot be written (a cache
    that cannot be written is only slower)."""
    return cachesign.write_entry(path, body)


class FormatCache(MutableMapping[str, str]):
    """Unformatted chunk text -> formatted text, one file per entry.

    The default namespace is black's version and mode, read when the cache is
    first used (that imports the code generator, and black with it).
    """

    def __init__(self, folder: Path, namespace: str | None = None) -> None:
        self.folder = folder / "format"
        self._namespace = namespace.encode() if namespace is not None else None
        self.stored = 0

    @property
    def namespace(self) -> bytes:
        if self._namespace is None:
            from witgen.codegen.render import CACHE_NAMESPACE

            self._namespace = CACHE_NAMESPACE.encode()
        return self._namespace

    def _path(self, text: str) -> Path:
        return self.folder / file_hash(self.namespace + b"\0" + text.encode())

    def __getitem__(self, text: str) -> str:
        body = read_entry(self._path(text))
        if body is None:
            raise KeyError(text)
        return body.decode()

    def __setitem__(self, text: str, formatted: str) -> None:
        if write_entry(self._path(text), formatted.encode()):
            self.stored += 1

    def __delitem__(self, text: str) -> None:
        try:
            self._path(text).unlink()
        except FileNotFoundError:
            raise KeyError(text) from None

    def __iter__(self) -> Iterator[str]:
        raise TypeError("a FormatCache cannot list its keys (it stores digests of them)")

    def __len__(self) -> int:
        try:
            return sum(1 for entry in os.scandir(self.folder) if not entry.name.startswith("."))
        except OSError:
            return 0

    def prune(self, limit: int = LIMIT) -> None:
        """Remove the least recently used entries beyond `limit`, if this run stored any."""
        if self.stored:
            prune_lru(self.folder, limit)


class PackedFormatCache(MutableMapping[str, str]):
    """Unformatted chunk text -> formatted text, kept in one pack per scope
    (`witgen.workflow.pack`): read once when created, written once by `flush`.

    Keys are digests of black's version and mode with the text, as in `FormatCache`.
    Text that formatting left as it was (with its final newline added) is stored as an
    empty value, so that the pack holds each such chunk once.
    """

    def __init__(self, folder: Path, scope: str, namespace: str | None = None) -> None:
        self._cache = FormatCache(folder, namespace)
        self.pack = Pack(pack_path(self._cache.folder, scope))

    def _key(self, text: str) -> str:
        return file_hash(self._cache.namespace + b"\0" + text.encode())

    def __getitem__(self, text: str) -> str:
        value = self.pack.get(self._key(text))
        if value is None:
            raise KeyError(text)
        return text + "\n" if not value else value[1:].decode()

    def __setitem__(self, text: str, formatted: str) -> None:
        self.store(text, formatted)

    def store(self, text: str, formatted: str, slot: str | None = None) -> None:
        """Store an entry, superseding what earlier runs stored in `slot` (`witgen.workflow.pack`)."""
        value = b"" if formatted == text + "\n" else b"=" + formatted.encode()
        self.pack.put(self._key(text), value, slot)

    def __delitem__(self, text: str) -> None:
        if not self.pack.discard(self._key(text)):
            raise KeyError(text)

    def __iter__(self) -> Iterator[str]:
        raise TypeError("a PackedFormatCache cannot list its keys (it stores digests of them)")

    def __len__(self) -> int:
        return len(self.pack)

    def flush(self) -> None:
        """Write what this run stored (best effort: a cache that cannot be written is only slower)."""
        self.pack.flush()
