"""Is an output folder what `generate` would write now?

`is_fresh` is the fast path: the manifest's input digest equals the digest of
the current inputs, and every file it lists still has its recorded hash. It
reads and hashes files and nothing else. `compare` is the full path: the
rendered set against disk, file by file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from witgen.workflow.confined import Folder, LinkInTheWay, NotAFile
from witgen.workflow.digest import file_hash
from witgen.workflow.writer import (
    JOURNAL,
    MANIFEST,
    TMP_SUFFIX,
    Manifest,
    Plan,
    is_generated,
    opened,
    plan,
)


def is_fresh(out: Path, inputs: str) -> bool:
    """True when `out` provably holds what the inputs generate, without rendering."""
    with opened(out) as folder:
        if folder is None:
            return False
        manifest = Manifest.load(folder, inputs)
        if manifest is None or os.path.lexists(out / JOURNAL):
            return False
        try:
            for rel, digest in manifest.files.items():
                data = folder.read(rel)
                if data is None or file_hash(data) != digest:
                    return False
        except (LinkInTheWay, NotAFile):
            return False
    return True


class Report:
    """How an output folder differs from a fresh render."""

    def __init__(self, out: Path, plan: Plan) -> None:
        self.out = out
        self.plan = plan  # what generate would do, with its problems
        self.changed: list[str] = []
        self.missing: list[str] = []
        self.extra: list[str] = []
        self.unchanged = list(plan.unchanged)
        self.interrupted = plan.interrupted
        # For --diff: relative path -> (text on disk or None, rendered text or None).
        self.texts: dict[str, tuple[str | None, str | None]] = {}

    @property
    def fresh(self) -> bool:
        return not (self.changed or self.missing or self.extra or self.interrupted)


def compare(out: Path, files: Mapping[str, str], inputs: str) -> Report:
    """Compare a rendered set with disk: changed, missing and extra files."""
    result = plan(out, files, inputs)
    report = Report(out, result)
    with opened(out) as folder:
        for rel in sorted([*result.write, *result.conflicts]):
            data = _peek(folder, rel)
            in_the_way = rel in result.conflicts  # a link too, whose target is not read
            (report.changed if in_the_way or data is not None else report.missing).append(rel)
            report.texts[rel] = (_text(data), files[rel])
        edited = [rel for rel in result.kept if result.reasons[rel].kind != "link"]
        extra = {*result.delete, *edited} | (set(_generated_files(out)) - set(files))
        for rel in sorted(extra):
            report.extra.append(rel)
            report.texts[rel] = (_text(_peek(folder, rel)), None)
    return report


def _peek(folder: Folder | None, rel: str) -> bytes | None:
    """The bytes of a plain file at `rel`, without following links; None for anything else."""
    try:
        return None if folder is None else folder.read(rel)
    except (LinkInTheWay, NotAFile):
        return None


def _text(data: bytes | None) -> str | None:
    return None if data is None else data.decode("utf-8", errors="replace")


def _generated_files(out: Path) -> list[str]:
    """Files under `out` that carry witgen's header, whether or not a manifest lists them."""
    found = []
    for dirpath, dirnames, filenames in os.walk(out):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for name in filenames:
            if name in (MANIFEST, JOURNAL) or name.endswith(TMP_SUFFIX):
                continue
            path = Path(dirpath) / name
            if path.is_symlink() or not path.is_file():
                continue  # what a link points at is not in the output folder
            with path.open("rb") as fh:
                head = fh.read(64)
            if is_generated(head):
                found.append(path.relative_to(out).as_posix())
    return found


def unified_diff(label: str, old: str | None, new: str | None) -> str:
    """A unified diff from the file on disk (`a/`) to the rendered file (`b/`)."""
    import difflib

    lines = difflib.unified_diff(
        (old or "").splitlines(keepends=True),
        (new or "").splitlines(keepends=True),
        fromfile="/dev/null" if old is None else f"a/{label}",
        tofile="/dev/null" if new is None else f"b/{label}",
    )
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)
