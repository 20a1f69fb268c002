"""Log lines safe from what peers send: escaped text, and a limit on how many."""

from __future__ import annotations

import logging
import time

__all__ = ["Throttled", "printable"]


def printable(text: str, limit: int = 200) -> str:
    """`text` safe for one log line: control and bidirectional characters escaped, cut."""
    if text.isascii() and text.isprintable():
        return text if len(text) <= limit else text[:limit] + "..."
    out = "".join(c if c.isprintable() and c.isascii() else ascii(c)[1:-1] for c in text)
    return out if len(out) <= limit else out[:limit] + "..."


class Throttled:
    """Warnings on `logger`: at most `burst` per `period` seconds, then one line counting the rest."""

    def __init__(self, logger: logging.Logger, what: str, burst: int = 20, period: float = 10.0) -> None:
        self.logger = logger
        self.what = what
        self.burst = burst
        self.period = period
        self._start = -period
        self._count = 0
        self._dropped = 0

    def warning(self, text: str, *args: object) -> None:
        now = time.monotonic()
        if now - self._start >= self.period:
            if self._dropped:
                self.logger.warning(
                    "%d more %s in the last %g s were not logged", self._dropped, self.what, self.period
                )
            self._start, self._count, self._dropped = now, 0, 0
        if self._count < self.burst:
            self._count += 1
            self.logger.warning(text, *args)
        else:
            self._dropped += 1
