"""Whether the running command may end the process at once (see `witgen.cli.run`)."""

from __future__ import annotations

clean = False


def mark_clean() -> None:
    """Called by a command that starts no threads and leaves no file open: once it
    exits, nothing remains to be finalized."""
    global clean
    clean = True
