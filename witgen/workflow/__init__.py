"""The daily workflow around the generator: config, crash-safe writing, freshness checks.

Data flows one way: `config` turns `[tool.witgen]` (or command-line options) into
`Target`s; a renderer turns a target into an in-memory map of relative POSIX
path -> file text; `writer` puts that map on disk atomically under a journal
and a manifest; `check` compares it with disk. `digest` fingerprints inputs and
outputs so that `check` can skip rendering when nothing changed.

None of these modules imports lark, jinja2 or black: the renderer does, lazily.
"""

from __future__ import annotations

import sys


def import_msgspec() -> None:
    """Import msgspec as it runs where typing_extensions is not installed, one of its
    supported set-ups: its type hints then come from `typing`, which reads every annotation
    of witgen's structs, and a run does not import typing_extensions (about 7% of what a
    `generate` after one changed WIT file spends). Nothing changes when either is loaded
    already; typing_extensions imports as usual afterwards."""
    if "msgspec" in sys.modules or "typing_extensions" in sys.modules:
        return
    sys.modules["typing_extensions"] = None  # type: ignore[assignment]  # imports of it fail
    try:
        import msgspec  # noqa: F401
    finally:
        del sys.modules["typing_extensions"]
