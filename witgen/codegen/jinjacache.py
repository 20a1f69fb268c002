"""Compiled Jinja templates kept on disk, signed with this user's key."""

from __future__ import annotations

from pathlib import Path

import jinja2
import jinja2.bccache

from witgen import cachesign


class TemplateCache(jinja2.BytecodeCache):
    """Compiled templates on disk (keyed by name and source), signed with this user's key
    (`witgen.cachesign`): a compiled template is code that runs, so an entry that is
    damaged or that this user's witgen did not write is a miss, compiled again."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, bucket: jinja2.bccache.Bucket) -> Path:
        return self.folder / f"__jinja2_{bucket.key}.cache"

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        data = cachesign.read_entry(self._path(bucket))
        if data is None:
            return
        try:
            bucket.bytecode_from_string(data)
        except Exception:  # another Python's or jinja's: compile the template again
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        cachesign.write_entry(self._path(bucket), bucket.bytecode_to_string())  # best effort
