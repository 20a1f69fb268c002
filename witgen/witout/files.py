"""Formatting files safely: which files, what they mean before and after, atomic writes.

A file is formatted only if it parses; the result is kept only if it parses to
the same syntax tree (spans aside) and its package resolves to the same JSON
(`wasm-tools component wit --json`'s) with the formatted text in place of the
original. The package of a file is its folder (with `deps/`), or the root
package folder for a file under `deps/`; a file that does not resolve as part of
a folder (a folder of single-file packages) is resolved on its own.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from msgspec import Struct

from witgen.errors import Source, Span, WitError
from witgen.frontend import ast
from witgen.frontend.parser import parse_file
from witgen.witout.formatter import format_source


@dataclass(slots=True)
class Outcome:
    """One file: its text before and after, or why it was refused."""

    path: Path
    before: str = ""
    after: str = ""
    error: str | None = None

    @property
    def changed(self) -> bool:
        return self.error is None and self.before != self.after


@dataclass(slots=True)
class Report:
    outcomes: list[Outcome] = field(default_factory=list)


def wit_files(paths: list[Path], deps: bool) -> list[Path]:
    """The `.wit` files named or found under `paths` (sorted per folder; `deps/` only if `deps`)."""
    found: dict[Path, None] = {}
    for path in paths:
        if path.is_dir():
            for folder, subdirs, names in os.walk(path):
                subdirs[:] = sorted(d for d in subdirs if deps or d != "deps")
                for name in sorted(names):
                    if name.endswith(".wit"):
                        found[Path(folder) / name] = None
        else:
            found[path] = None
    return list(found)


def _syntax_key(node: Any) -> Any:
    """A syntax tree with its spans left out: equal keys, equal meaning."""
    if isinstance(node, Span):
        return None
    if isinstance(node, Struct):
        return (
            type(node).__name__,
            tuple(
                _syntax_key(getattr(node, name))
                for name in node.__struct_fields__
                if not isinstance(getattr(node, name), Span)
            ),
        )
    if isinstance(node, (list, tuple)):
        return tuple(_syntax_key(x) for x in node)
    return node


def package_root(path: Path) -> Path:
    """The folder whose package (with `deps/`) a `.wit` file belongs to."""
    folder = path.resolve().parent
    if folder.name == "deps":
        return folder.parent
    if folder.parent.name == "deps":
        return folder.parent.parent
    return folder


def _resolve_json(
    target: Path, overrides: dict[str, str], parsed: dict[tuple[str, str], ast.File]
) -> dict[str, Any] | None:
    """The resolved JSON (as data) of `target` with the texts of `overrides` (by path), with every
    feature enabled, or, if that is invalid, with none; None if both are invalid.

    `parsed` holds syntax trees already made, by (absolute path, text): those files are
    not parsed again."""
    from witgen.resolver import loader

    original = loader.parse

    def parse(source: Source, wat: bool = False, /) -> ast.File:
        path = os.path.abspath(source.path)
        text = overrides.get(path, source.text)
        tree = parsed.get((path, text))
        if tree is None:
            tree = original(Source(source.path, text), wat)
            parsed[(path, text)] = tree
        return tree

    loader.parse = parse
    try:
        for all_features in (True, False):
            try:
                value = loader.load(target, (), all_features).to_json_value()
                return {"all_features": all_features, "resolve": value}
            except WitError:
                continue
        return None
    except (OSError, UnicodeDecodeError):
        return None
    finally:
        loader.parse = original


def format_files(files: list[Path]) -> Report:
    """Format `files` in memory; an outcome per file, with `error` set where it is refused."""
    report = Report()
    by_root: dict[Path, list[Outcome]] = {}
    parsed: dict[tuple[str, str], ast.File] = {}
    for path in files:
        outcome = Outcome(path)
        report.outcomes.append(outcome)
        try:
            with open(path, encoding="utf-8", newline="") as f:
                outcome.before = f.read()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            outcome.error = f"failed to read {path}: {reason}"
            continue
        try:
            source = Source(str(path), outcome.before)
            tree = parse_file(source)
            outcome.after = format_source(source)
            if not outcome.changed:
                continue
            again = parse_file(Source(str(path), outcome.after))
        except WitError as exc:
            outcome.error = exc.render()
            continue
        if _syntax_key(again) != _syntax_key(tree):
            outcome.error = f"formatting {path} would change its meaning; not written"
            continue
        absolute = os.path.abspath(path)
        parsed[(absolute, outcome.before)] = tree
        parsed[(absolute, outcome.after)] = again
        by_root.setdefault(package_root(path), []).append(outcome)
    for root, outcomes in by_root.items():
        _check_resolved(root, outcomes, parsed)
    return report


def _check_resolved(
    root: Path, outcomes: list[Outcome], parsed: dict[tuple[str, str], ast.File]
) -> None:
    """Refuse every outcome of a package whose resolved JSON the formatting would change."""
    overrides = {os.path.abspath(o.path): o.after for o in outcomes}
    before = _resolve_json(root, {}, parsed)
    if before is not None:
        if _resolve_json(root, overrides, parsed) != before:
            for o in outcomes:
                o.error = f"formatting {o.path} would change the package's meaning; not written"
        return
    for o in outcomes:  # not a package folder: each file is a package of its own
        alone = _resolve_json(o.path, {}, parsed)
        if alone is not None and _resolve_json(o.path, overrides, parsed) != alone:
            o.error = f"formatting {o.path} would change its meaning; not written"


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` by `text` (its mode kept): readers see the old file or the new one."""
    mode = path.stat().st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def changed(report: Report) -> Iterator[Outcome]:
    return (o for o in report.outcomes if o.changed)
