"""The `witgen` console script (and `python -m witgen`).

A command line run is short, and most of it is importing modules (click's, witgen's) and
building what the run needs: many objects, few reference cycles. The cyclic garbage
collector would run every 700 new objects and find next to nothing; for the run, it runs
every `SHORT_RUN_THRESHOLD` instead, set before anything is imported (cyclic garbage is
still collected, only less often). A command that keeps running (`witgen host`) puts
Python's own thresholds back when it starts serving.
"""

from __future__ import annotations

import gc

SHORT_RUN_THRESHOLD = 50_000
DEFAULT_THRESHOLDS = gc.get_threshold()


def run() -> None:
    """The console entry point: `witgen.cli.run` with the short-run threshold."""
    gc.set_threshold(SHORT_RUN_THRESHOLD, *DEFAULT_THRESHOLDS[1:])
    from witgen.cli import run as cli_run

    cli_run()


def long_running() -> None:
    """Python's own collector thresholds again, for a process that serves."""
    gc.set_threshold(*DEFAULT_THRESHOLDS)
