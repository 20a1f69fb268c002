"""`witgen fmt [PATH...]`: format WIT files in place, or check / show what would change."""

from __future__ import annotations

import difflib
import sys
from pathlib import Path

import click


@click.command("fmt")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--check", is_flag=True, help="Write nothing; exit 1 listing files that would change."
)
@click.option("--diff", "show_diff", is_flag=True, help="Write nothing; print a unified diff.")
@click.option("--deps", is_flag=True, help="Also format the files under deps/ folders.")
def fmt(paths: tuple[Path, ...], check: bool, show_diff: bool, deps: bool) -> None:
    """Format the WIT files PATHS (files or folders; default: the current folder).

    Comments and layout choices are kept; a file that does not parse, or whose
    package would resolve differently, is left untouched (exit 1).
    """
    from witgen.witout.files import format_files, wit_files, write_atomic

    files = wit_files(list(paths) or [Path(".")], deps)
    report = format_files(files)
    failed = False
    would_change = 0
    for outcome in report.outcomes:
        if outcome.error is not None:
            click.echo(f"error: {outcome.error}", err=True)
            failed = True
            continue
        if not outcome.changed:
            continue
        would_change += 1
        if show_diff:
            click.echo(
                "".join(
                    difflib.unified_diff(
                        outcome.before.splitlines(keepends=True),
                        outcome.after.splitlines(keepends=True),
                        f"{outcome.path}",
                        f"{outcome.path} (formatted)",
                    )
                ),
                nl=False,
            )
        if check:
            click.echo(f"would reformat {outcome.path}")
        elif not show_diff:
            try:
                write_atomic(outcome.path, outcome.after)
            except OSError as exc:
                click.echo(f"error: failed to write {outcome.path}: {exc.strerror}", err=True)
                failed = True
                continue
            click.echo(f"reformatted {outcome.path}")
    total = len(report.outcomes)
    verb = "would be reformatted" if check or show_diff else "reformatted"
    click.echo(f"{would_change} of {total} WIT files {verb}", err=True)
    if failed or (check and would_change):
        sys.exit(1)
