"""What a command shows while a component compiles: one line, and on a terminal the time it takes.

    load(engine, path, progress=CompileReport())

A compile that is still running after `NOTICE_AFTER` seconds gets one line on stderr, e.g.
`compiling app.wasm (18 MB) for this machine; the next start uses the cache`; a quick one
says nothing. When stderr is a terminal, a second line then counts the seconds, rewritten in
place and cleared when the compile ends; elsewhere (logs, pipes) the one line is all.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from witgen.runtime.wasm.loader import Compiling

__all__ = ["NOTICE_AFTER", "CompileReport", "notice", "size_text"]

NOTICE_AFTER = 1.0  # seconds: quicker compiles need no explanation
SPINNER = "|/-\\"
CLEAR_LINE = "\r\x1b[K"


def size_text(size: int) -> str:
    """A byte count for people: `18 MB`, `21 kB`, `900 bytes`."""
    if size >= 1_000_000:
        return f"{size / 1_000_000:.0f} MB"
    if size >= 1_000:
        return f"{size / 1_000:.0f} kB"
    return f"{size} bytes"


def notice(compiling: Compiling) -> str:
    """The line that says what is happening and what the next start will do."""
    after = "the next start uses the cache" if compiling.cached else "the cache is off: the next start compiles again"
    return f"compiling {compiling.where} ({size_text(compiling.size)}) for this machine; {after}"


class CompileReport:
    """A `load` progress callback that writes to `stream` (default: stderr)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream
        self.noticed = False
        self.ticking = False  # a progress line is on the terminal
        self.ticks = 0

    def __call__(self, compiling: Compiling) -> None:
        stream = self.stream if self.stream is not None else sys.stderr
        if compiling.done:
            if self.ticking:
                stream.write(CLEAR_LINE)
                stream.flush()
                self.ticking = False
            return
        if compiling.elapsed < NOTICE_AFTER:
            return
        if not self.noticed:
            self.noticed = True
            stream.write(notice(compiling) + "\n")
            stream.flush()
        if _is_terminal(stream):
            frame = SPINNER[self.ticks % len(SPINNER)]
            self.ticks += 1
            stream.write(f"{CLEAR_LINE}{frame} {compiling.elapsed:.0f} s")
            stream.flush()
            self.ticking = True


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a replaced or closed stream
        return False
