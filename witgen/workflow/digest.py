"""Fingerprints of what a generated set depends on, cheap enough for the fast path.

The input digest covers everything that can change a target's output: the bytes
and relative paths of its WIT files, its options, the versions of witgen and
black, and the generator's own sources (grammar, templates, resolver, codegen),
so that a development checkout with an unchanged version number is still caught.
Computing it reads files and hashes them; it never imports lark, jinja2 or black.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from time import time_ns
from typing import Any

import witgen
from witgen import cachesign
from witgen.paths import data_dir
from witgen.workflow.config import Target

# Parts of the package that do not shape generated text (generating never imports them,
# which a test checks); templates and grammars are walked as roots of their own (an
# editable install maps them elsewhere).
_NOT_GENERATOR = {
    "cli", "workflow", "runtime", "bridge", "provider", "wave", "witout", "__pycache__", "templates", "grammars"
}
_GENERATOR_SUFFIXES = (".py", ".lark", ".jinja")


try:  # hashlib's import loads OpenSSL, a noticeable share of `check`'s start-up
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - an interpreter built without it
    from hashlib import blake2b


def file_hash(data: bytes) -> str:
    """The hash recorded for a file's bytes (BLAKE2b, 256 bits, hex)."""
    return blake2b(data, digest_size=32).hexdigest()


def black_version() -> str:
    """The installed black's version, read without importing black."""
    try:
        module: Any = importlib.import_module("_black_version")  # black's own, tiny
        return str(module.version)
    except ImportError:
        return "none"


_WIT_SUFFIXES = (".wit", ".wasm", ".wat")


def wit_files(wit: Path) -> list[Path]:
    """The WIT files a target reads: the file itself, or every `.wit` under the folder."""
    return [Path(path) for path, _ in wit_names(wit)]


def wit_names(wit: Path) -> list[tuple[str, str]]:
    """`wit_files` as (path, name): the name of a file below the folder is its POSIX path
    there; a target that is one file is named by its file name."""
    top = os.fspath(wit)
    if os.path.isfile(top):
        return [(top, wit.name)]
    found: list[tuple[str, str]] = []
    prefix = top if top.endswith(os.sep) else top + os.sep
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames.sort()
        below = "" if dirpath == top else dirpath[len(prefix) :].replace(os.sep, "/") + "/"
        found.extend((os.path.join(dirpath, f), below + f) for f in sorted(filenames) if f.endswith(_WIT_SUFFIXES))
    return found


def _tree_files(folder: str, prefix: str, skip: set[str], found: list[tuple[str, str]]) -> None:
    """Append (name below `prefix`, path) of every generator source under `folder`: its
    files by name, then its folders by name (not those in `skip`, nor linked ones)."""
    try:
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
    except OSError:  # as os.walk: a folder that cannot be listed holds nothing
        return
    folders = []
    for entry in entries:
        if entry.is_dir():
            if entry.name not in skip and not entry.is_symlink():
                folders.append(entry)
        elif entry.name.endswith(_GENERATOR_SUFFIXES):
            found.append((prefix + entry.name, entry.path))
    for entry in folders:
        _tree_files(entry.path, f"{prefix}{entry.name}/", skip, found)


_fingerprint: str | None = None


def generator_fingerprint() -> str:
    """A digest of witgen's version, black's version and the generator's sources."""
    global _fingerprint
    if _fingerprint is None:
        head = f"witgen {witgen.__version__}\nblack {black_version()}\n"
        _fingerprint = sources_digest(head, generator_sources(), cachesign.default_folder())
    return _fingerprint


def generator_sources() -> list[tuple[str, str]]:
    """(name, path) of every generator source: the package's own, then the templates and
    grammars, each named the same whether an installed wheel carries the data folders
    inside the package or a checkout keeps them beside it."""
    found: list[tuple[str, str]] = []
    _tree_files(os.path.dirname(witgen.__file__), "", _NOT_GENERATOR, found)
    for name in ("templates", "grammars"):
        _tree_files(str(data_dir(name)), f"{name}/", _NOT_GENERATOR, found)
    first: dict[str, str] = {}
    for rel, path in found:
        first.setdefault(rel, path)
    return list(first.items())


# A file changed this recently may change again within its file system's timestamp
# resolution without its status showing it: while one is, no memo is recorded.
RACY_NS = 2_000_000_000
MEMOS = 64  # memos kept: one per set of sources (an installation, a checkout's files)


def sources_digest(head: str, sources: list[tuple[str, str]], cache: Path | None) -> str:
    """A digest of `head` and the bytes of `sources` ((name, path) pairs).

    Hashing half a megabyte of sources is most of a short run's own work, so with a cache
    folder the digest is remembered (a signed entry, `witgen.cachesign`) beside the
    status of every file: device, inode, size, modification and change times. A file
    written since has another change time (the system sets it, `touch` cannot), so its
    status no longer matches and the files are read again; as git does for its index, a
    memo is recorded only when no file changed in the last `RACY_NS`, within which a second
    edit could keep every field of the status the same.
    """
    status = blake2b(head.encode(), digest_size=32)
    newest = 0
    for rel, path in sources:
        st = os.stat(path)
        status.update(f"{rel}\0{st.st_dev} {st.st_ino} {st.st_size} {st.st_mtime_ns} {st.st_ctime_ns}\n".encode())
        newest = max(newest, st.st_mtime_ns, st.st_ctime_ns)
    seen = status.hexdigest()
    memo = None
    if cache is not None:
        where = file_hash("\0".join(path for _, path in sources).encode())
        memo = cache / "fingerprint" / where
        recorded = cachesign.read_entry(memo)
        if recorded is not None and recorded[:64] == seen.encode():
            return recorded[64:].decode()
    h = blake2b(head.encode(), digest_size=32)
    for rel, path in sources:
        with open(path, "rb") as f:
            data = f.read()
        h.update(f"{rel}\0".encode())
        h.update(file_hash(data).encode())
    digest = h.hexdigest()
    if memo is not None and newest < time_ns() - RACY_NS:
        if cachesign.write_entry(memo, (seen + digest).encode()):
            cachesign.prune_oldest(memo.parent, MEMOS)  # one a source tree (an installation)
    return digest


def input_digest(target: Target, generator: str | None = None) -> str:
    """A digest of everything that determines `target`'s generated files."""
    h = blake2b(digest_size=32)
    generator = generator if generator is not None else generator_fingerprint()
    # Plain text (no JSON codec is imported on the fast path): the options' values are
    # strings, booleans and lists of strings, whose repr is exact.
    h.update(f"generator {generator}\n".encode())
    for name, value in sorted(target.options().items()):
        h.update(f"{name} {value!r}\n".encode())
    for path, name in wit_names(target.wit):
        h.update(f"\n{name}\0".encode())
        with open(path, "rb") as f:
            h.update(file_hash(f.read()).encode())
    return h.hexdigest()
