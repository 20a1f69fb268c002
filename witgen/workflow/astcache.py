"""A disk cache of parsed WIT files, of packages resolved in stage A, and of the parser's table.

After one file changed, re-rendering parses that file only (without importing Lark: the
table loads from here, see `witgen.frontend.tables`), and the packages whose files did
not change come back resolved in stage A (`witgen.resolver.loader.group_cache`).

An `ast.File` is a function of the file's path (its spans name it) and text, of
the parse options, and of the front end's code. The key is a digest of all of
them: the path, the text, the options, the generator fingerprint (witgen's
sources, grammar included, see `witgen.workflow.digest`), lark's version and
the interpreter's. An entry is a pickle signed with this user's key
(`witgen.cachesign`), which is checked before anything is unpickled: an entry that is
damaged, unreadable, or not written by this user's witgen (a shared or restored cache
folder) is a miss, and the file is parsed. The parser's table and the stage-A packages
are signed alike. Syntax errors are never cached: a file that fails to parse fails
again, with the same message.

Entries live in `<cache folder>/ast` (see `witgen.workflow.formatcache`): one file each
(the least recently used beyond `LIMIT` are removed), or, for a render of a target, one
pack for the target (`witgen.workflow.pack`), where a file's new parse supersedes its old.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

try:  # the C pickler alone: `pickle`'s Python module costs about 1.5 ms to import
    from _pickle import PicklingError, dumps, loads
except ImportError:  # pragma: no cover - an interpreter without it
    from pickle import PicklingError, dumps, loads

from witgen.frontend import ast, tables
from witgen.errors import Source
from witgen.resolver import loader
from witgen.resolver.loader import Parse
from witgen.workflow.digest import file_hash, generator_fingerprint
from witgen.workflow.formatcache import prune_lru, read_entry, write_entry
from witgen.workflow.pack import Pack, pack_path

LIMIT = 4000  # files: a large tree of packages has a few hundred

T = TypeVar("T")


def _lark_version() -> str:
    """lark's `__init__.py` (which holds its version), hashed without importing lark."""
    loaded = sys.modules.get("lark")
    spec = loaded.__spec__ if loaded is not None else None
    for finder in sys.meta_path if loaded is None else ():  # as importlib.util.find_spec, unimported
        spec = finder.find_spec("lark", None)
        if spec is not None:
            break
    if spec is None or spec.origin is None:
        return "none"
    try:
        return file_hash(Path(spec.origin).read_bytes())
    except OSError:
        return "unknown"


class AstCache:
    """Parsed files by a digest of their path, text, parse options and the front end."""

    def __init__(self, folder: Path, namespace: str | None = None, scope: str | None = None) -> None:
        """Entries are files in `folder/ast`, or, with a `scope`, one pack of that scope
        there (`witgen.workflow.pack`), written when the cache is pruned."""
        self.folder = folder / "ast"
        self._namespace = namespace
        self.pack = Pack(pack_path(self.folder, scope)) if scope is not None else None
        self.hits = 0
        self.stored = 0

    @property
    def namespace(self) -> str:
        if self._namespace is None:
            self._namespace = f"{generator_fingerprint()}\0{_lark_version()}\0{sys.version}"
        return self._namespace

    def key(self, source: Source, options: str) -> str:
        head = f"{self.namespace}\0{options}\0{source.path}\0".encode()
        return file_hash(head + source.text.encode("utf-8", "surrogatepass"))

    def get(self, key: str) -> ast.File | None:
        found = self._load(key, ast.File)
        if found is not None:
            self.hits += 1
        return found

    def put(self, key: str, file: ast.File, slot: str | None = None) -> None:
        """Keep a parsed file; `slot` (its path) supersedes the earlier parses of it in a pack."""
        self._store(key, file, slot)

    def get_group(self, key: str) -> loader.Group | None:
        """A package's stage-A result (`witgen.resolver.loader.group_cache`)."""
        return self._load(self._derived("group", key), loader.Group)

    def put_group(self, key: str, group: loader.Group) -> None:
        self._store(self._derived("group", key), group, f"group {group.main.name}")

    def _read(self, name: str) -> bytes | None:
        """The body of entry `name`, None when absent, damaged or unsigned."""
        return self.pack.get(name) if self.pack is not None else read_entry(self.folder / name)

    def _write(self, name: str, body: bytes, slot: str | None = None) -> bool:
        if self.pack is not None:
            self.pack.put(name, body, slot)
            return True
        return write_entry(self.folder / name, body)

    def _load(self, name: str, cls: type[T]) -> T | None:
        """The `cls` pickled as entry `name`; None when absent, damaged, unsigned or of
        another version (the signature is checked before anything is unpickled)."""
        body = self._read(name)
        if body is None:
            return None
        try:
            found = loads(body)
        except Exception:  # written by another version of a class: a miss
            return None
        return found if isinstance(found, cls) else None

    def _store(self, name: str, obj: object, slot: str | None = None) -> None:
        try:
            body = dumps(obj, protocol=-1)  # the highest
        except (PicklingError, RecursionError):  # a cache that cannot be written is only slower
            return
        if self._write(name, body, slot):
            self.stored += 1

    def get_tables(self, key: str) -> bytes | None:
        """The parser's table (`witgen.frontend.tables`), kept beside the files it parsed."""
        return self._read(self._derived("tables", key))

    def put_tables(self, key: str, data: bytes) -> None:
        if self._write(self._derived("tables", key), data, "tables"):
            self.stored += 1

    def _derived(self, kind: str, key: str) -> str:
        """The entry name of a table or a group: its kind, then a digest with the namespace."""
        return f"{kind}-" + file_hash(f"{self.namespace}\0{key}".encode())

    def wrap(self, parse: Parse) -> Parse:
        """`parse` with this cache in front of it."""

        def cached(source: Source, wat: bool = False, /) -> ast.File:
            key = self.key(source, f"wat={wat}")
            found = self.get(key)
            if found is not None:
                return found
            file = parse(source, wat)
            self.put(key, file, f"file {source.path}")
            return file

        return cached

    def prune(self, limit: int = LIMIT) -> None:
        """Write the pack, or remove the least recently used entries beyond `limit`, if
        this run stored any."""
        if self.pack is not None:
            self.pack.flush()
        elif self.stored:
            prune_lru(self.folder, limit)


@contextmanager
def installed(cache: AstCache | None) -> Iterator[None]:
    """While active, the resolver parses through `cache` (if any) and keeps its stage-A
    results there, and the parser keeps its table there."""
    if cache is None:
        yield
        return
    original, original_tables, original_groups = loader.parse, tables.table_cache, loader.group_cache
    loader.parse = cache.wrap(original)
    tables.table_cache = cache
    loader.group_cache = cache
    try:
        yield
    finally:
        loader.parse = original
        tables.table_cache = original_tables
        loader.group_cache = original_groups
        cache.prune()
