"""Files below one folder, reached without ever following a symbolic link.

A path is walked from the folder's descriptor one name at a time, each opened
with O_NOFOLLOW: a link anywhere on it, to a file or to a folder, made before or
during a run, stops the walk with `LinkInTheWay` instead of leading out of the
folder. The folder itself is opened as named, links included: it is the one
the user chose. Paths are relative POSIX paths already checked to be plain
(no `..`, not absolute).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# POSIX flags; where a platform lacks them, opening below the folder fails instead (no dir_fd there either).
O_NOFOLLOW: int = getattr(os, "O_NOFOLLOW", 0)
O_CLOEXEC: int = getattr(os, "O_CLOEXEC", 0)
_DIRECTORY: int = getattr(os, "O_DIRECTORY", 0)
_NONBLOCK: int = getattr(os, "O_NONBLOCK", 0)  # a FIFO planted in the folder must not hang a read
_FOLDER_FLAGS = os.O_RDONLY | _DIRECTORY | O_NOFOLLOW | O_CLOEXEC
_NOT_FOLLOWED = (errno.ELOOP, errno.ENOTDIR, errno.EMLINK)  # what opening a link with O_NOFOLLOW gives


class LinkInTheWay(Exception):
    """A symbolic link on a path below the folder; `rel` names the link itself."""

    def __init__(self, rel: str) -> None:
        super().__init__(rel)
        self.rel = rel


class NotAFile(Exception):
    """Something other than what a path needs: a folder or a socket for a file, a file for a folder.

    `rel` names it; `what` completes "`rel` is ...".
    """

    def __init__(self, rel: str, what: str) -> None:
        super().__init__(f"{rel} is {what}")
        self.rel = rel
        self.what = what


def _is_link(name: str, folder_fd: int) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=folder_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


class Folder:
    """An open folder; every path given to its methods is relative to it."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    @staticmethod
    @contextmanager
    def opened(path: Path) -> Iterator[Folder]:
        fd = os.open(path, os.O_RDONLY | _DIRECTORY | O_CLOEXEC)
        try:
            yield Folder(fd)
        finally:
            os.close(fd)

    def _walk(self, names: list[str], create: bool) -> int | None:
        """A descriptor of the folder at `names`, or None when one is missing and not created."""
        fd = os.dup(self.fd)
        try:
            for depth, name in enumerate(names, 1):
                try:
                    inner = os.open(name, _FOLDER_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        os.close(fd)
                        return None
                    try:
                        os.mkdir(name, dir_fd=fd)
                    except FileExistsError:
                        pass  # made meanwhile: opened (and checked) below
                    inner = os.open(name, _FOLDER_FLAGS, dir_fd=fd)
                except OSError as exc:
                    if exc.errno not in _NOT_FOLLOWED:
                        raise
                    rel = "/".join(names[:depth])
                    if _is_link(name, fd):
                        raise LinkInTheWay(rel) from None
                    raise NotAFile(rel, "a file where witgen needs a folder") from None
                os.close(fd)
                fd = inner
            return fd
        except BaseException:
            os.close(fd)
            raise

    @contextmanager
    def parent(self, rel: str, create: bool = False) -> Iterator[tuple[int, str] | None]:
        """The descriptor of the folder holding `rel` and `rel`'s last name; None when that folder is absent."""
        *names, last = rel.split("/")
        fd = self._walk(names, create)
        try:
            yield None if fd is None else (fd, last)
        finally:
            if fd is not None:
                os.close(fd)

    def read(self, rel: str) -> bytes | None:
        """The bytes of the regular file `rel`, or None when there is none."""
        with self.parent(rel) as at:
            if at is None:
                return None
            folder_fd, name = at
            try:
                fd = os.open(name, os.O_RDONLY | O_NOFOLLOW | _NONBLOCK | O_CLOEXEC, dir_fd=folder_fd)
            except FileNotFoundError:
                return None
            except OSError as exc:
                if exc.errno in _NOT_FOLLOWED and _is_link(name, folder_fd):
                    raise LinkInTheWay(rel) from None
                raise
            with os.fdopen(fd, "rb") as file:
                mode = os.fstat(file.fileno()).st_mode
                if stat.S_ISDIR(mode):
                    raise NotAFile(rel, "a folder where witgen generates a file")
                if not stat.S_ISREG(mode):
                    raise NotAFile(rel, "not a regular file; witgen generates one there")
                return file.read()

    def unlink(self, rel: str) -> None:
        """Remove the file (or link) `rel` itself, if there; nothing when its folder is not there."""
        try:
            with self.parent(rel) as at:
                if at is not None:
                    os.unlink(at[1], dir_fd=at[0])
        except (FileNotFoundError, LinkInTheWay, NotAFile):
            pass

    def prune(self, rel: str) -> None:
        """Remove the folder `rel` and then each folder above it, while they are empty."""
        names = rel.split("/") if rel else []
        while names:
            try:
                with self.parent("/".join(names)) as at:
                    if at is None:
                        return
                    os.rmdir(at[1], dir_fd=at[0])
            except (OSError, LinkInTheWay, NotAFile):
                return
            names.pop()

    def fsync(self, rel: str) -> None:
        """Flush the folder `rel` ('' is this folder) to disk, if it is there."""
        try:
            fd = self._walk(rel.split("/") if rel else [], create=False)
        except (LinkInTheWay, NotAFile):
            return
        if fd is not None:
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
