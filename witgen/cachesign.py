"""Cache entries that only this user's witgen can have written: a keyed digest checked on read.

Caches hold things that run (pickled syntax trees, compiled templates, compiled Wasm) or
that become generated code (formatted text). A cache folder can be shared, restored by CI
or written by someone else, so an entry is used only when its tag, a keyed BLAKE2b (a MAC of its own, without
OpenSSL's import) of its name and body, matches under this user's key. An entry without a valid tag (damaged,
written by an older witgen, or planted) reads as absent: the caller computes the value
again and writes the entry anew.

The key is 32 random bytes in `$XDG_CONFIG_HOME/witgen/cache-key`, else
`~/.config/witgen/cache-key`: outside the cache folder, so that whoever can write the cache
cannot replace it. It is trusted only as a regular file owned by this user that no one else
can read or write, and never when it lies inside the cache folder; an unusable key is
replaced. A fresh home (a CI runner) makes a fresh key, which only means a cold cache. When
no key can be had, nothing is read from or written to the cache.
"""

from __future__ import annotations

import os
import stat
from _operator import _compare_digest as compare_digest  # hmac's, without importing hmac
from pathlib import Path

try:  # hashlib's import loads OpenSSL, a noticeable share of a short run
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - an interpreter built without it
    from hashlib import blake2b

__all__ = [
    "KEY_SIZE", "SEAL_SIZE", "cache_key", "default_folder", "key_path", "prune_oldest", "read_entry", "replace_file",
    "seal", "tag", "unseal", "write_entry",
]

KEY_SIZE = 32
_TAG_HEX = 64  # an entry is the tag in hex, a newline, then the body

# (cache folder, $XDG_CONFIG_HOME, $HOME) -> the key, or None when there is none to trust.
_keys: dict[tuple[str, str | None, str | None], bytes | None] = {}


def default_folder() -> Path | None:
    """The cache folder from the environment, or None when caching is off."""
    configured = os.environ.get("WITGEN_CACHE_DIR")
    if configured is not None:
        return Path(configured) if configured else None
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "witgen"


def key_path() -> Path | None:
    """Where this user's cache key lives (None: no home to keep it in)."""
    xdg = os.environ.get("XDG_CONFIG_HOME")
    try:
        base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".config"
    except RuntimeError:  # no home directory
        return None
    return base / "witgen" / "cache-key"


def cache_key(folder: Path) -> bytes | None:
    """The key that signs the entries of the cache at `folder`, made on first use;
    None when there is none to trust (then the cache is neither read nor written)."""
    environ = os.environ
    memo = (str(folder), environ.get("XDG_CONFIG_HOME"), environ.get("HOME"))
    if memo in _keys:
        return _keys[memo]
    path = key_path()
    key = None
    if path is not None and not _inside(path, folder):
        key = _read_key(path) or _make_key(path)
    if key is None:
        import logging

        logging.getLogger("witgen.cache").debug(
            "no private cache key at %s: the cache in %s is not used", path, folder
        )
    _keys[memo] = key
    return key


def tag(key: bytes, name: str, body: bytes) -> bytes:
    """The keyed digest of an entry: its name (which binds it to its place) and body."""
    head = name.encode()
    h = blake2b(len(head).to_bytes(4, "big"), digest_size=_TAG_HEX // 2, key=key, person=b"witgen cache")
    h.update(head)
    h.update(body)
    return h.hexdigest().encode()


SEAL_SIZE = 32  # the tag in front of a sealed value


def _entry_tag(key: bytes, name: str, body: bytes | memoryview) -> bytes:
    head = name.encode()
    h = blake2b(len(head).to_bytes(4, "big"), digest_size=SEAL_SIZE, key=key, person=b"witgen entry")
    h.update(head)
    h.update(body)
    return h.digest()


def seal(key: bytes, name: str, body: bytes) -> bytes:
    """`body` behind its keyed digest over `name` and `body` (raw, `SEAL_SIZE` bytes): one
    of many values in a file (`witgen.workflow.pack`), each checked only when it is used."""
    return _entry_tag(key, name, body) + body


def unseal(key: bytes, name: str, sealed: bytes | memoryview) -> bytes | None:
    """The body `seal` put behind its tag, or None when the tag is not the one this key
    gives for `name` and that body."""
    body = sealed[SEAL_SIZE:]
    if len(sealed) < SEAL_SIZE or not compare_digest(sealed[:SEAL_SIZE], _entry_tag(key, name, body)):
        return None
    return bytes(body)


def read_entry(path: Path) -> bytes | None:
    """The body of the entry at `path` (`<cache>/<kind>/<name>`), or None when it is
    absent, unreadable, or not signed with this user's key."""
    key = cache_key(path.parent.parent)
    if key is None:
        return None
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    if len(data) <= _TAG_HEX or data[_TAG_HEX] != 0x0A:
        return None
    body = data[_TAG_HEX + 1 :]
    if not compare_digest(data[:_TAG_HEX], tag(key, f"{path.parent.name}/{path.name}", body)):
        return None
    return body


def write_entry(path: Path, body: bytes) -> bool:
    """Store a signed entry, never torn (`replace_file`). False when it cannot be written
    (a cache that cannot be written is only slower)."""
    key = cache_key(path.parent.parent)
    if key is None:
        return False
    return replace_file(path, tag(key, f"{path.parent.name}/{path.name}", body) + b"\n" + body)


def replace_file(path: Path, data: bytes) -> bool:
    """Write `data` at `path`, never torn: an old file is removed, then the new one renamed
    into place. False when it cannot be written."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "xb") as f:
            f.write(data)
        try:  # renamed over an old entry, the new one's data is written out at once (ext4's auto_da_alloc)
            os.unlink(path)  # a reader in between finds no entry: a miss
        except FileNotFoundError:
            pass
        os.replace(tmp, path)
        return True
    except OSError:
        try:
            tmp.unlink()
        except OSError:
            pass
        return False


def prune_oldest(folder: Path, limit: int) -> list[str]:
    """Remove the least recently used entries of a cache folder beyond `limit` (files whose
    names do not start with `.`, by modification time); the paths removed (best effort)."""
    removed: list[str] = []
    try:
        entries = [e for e in os.scandir(folder) if not e.name.startswith(".")]
        if len(entries) <= limit:
            return removed
        entries.sort(key=lambda e: e.stat().st_mtime_ns)
        for entry in entries[: len(entries) - limit]:
            os.unlink(entry.path)
            removed.append(entry.path)
    except OSError:
        pass
    return removed


def _inside(path: Path, folder: Path) -> bool:
    """Whether `path` lies in `folder` (a key there could be replaced with the cache)."""
    try:
        return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(folder))
    except (OSError, ValueError):
        return True


def _read_key(path: Path) -> bytes | None:
    """The key at `path` if it is a regular file of this user's that no one else can use."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if (
            not stat.S_ISREG(st.st_mode)
            or st.st_uid != os.getuid()
            or st.st_mode & 0o077
            or st.st_size != KEY_SIZE
        ):
            return None
        key = os.read(fd, KEY_SIZE + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    return key if len(key) == KEY_SIZE else None


def _make_key(path: Path) -> bytes | None:
    """A new key at `path` (readable by this user only), or the one another process made
    first; an unusable file there is replaced. None when it cannot be written."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, os.urandom(KEY_SIZE))
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)  # never over a key another process has just made
        except FileExistsError:
            if (found := _read_key(path)) is not None:
                return found
            os.replace(tmp, path)  # an unusable file: replaced by this key
        except OSError:  # a file system without hard links
            os.replace(tmp, path)
    except OSError:
        return None
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass
    return _read_key(path)
