"""`witgen check`: exit 1 when generated bindings are not what `generate` would write now.

Unchanged inputs and outputs end on the fast path (a digest comparison against
the manifest): no parsing, no formatting, no import of lark, jinja2 or black.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from witgen.cli import Command, ending
from witgen.cli.generate_cmd import Printer, error_boundary, resolve_targets, show, target_options
from witgen.workflow import check as checking
from witgen.workflow import render
from witgen.workflow.digest import input_digest

EXAMPLES = """\b
Examples:
  witgen check                 # every [tool.witgen] target; exit 1 if any is stale
  witgen check --diff          # also print a unified diff of each difference
  witgen check --full          # always render and compare, skipping the fast path
  witgen check wit -o bindings # one WIT folder against the package ./bindings

Exit status: 0 fresh, 1 stale (or invalid WIT, config or I/O error), 2 usage error.
"""


@click.command(cls=Command, epilog=EXAMPLES)
@target_options
@click.option("--diff", "show_diff", is_flag=True, help="Print a unified diff of every difference.")
@click.option("--full", is_flag=True, help="Render and compare even when the digests match.")
def check(
    path: Path | None,
    out: Path | None,
    worlds: tuple[str, ...],
    exports: tuple[str, ...],
    imports: tuple[str, ...],
    features: str | None,
    all_features: bool,
    parts: str | None,
    target_names: tuple[str, ...],
    config: Path | None,
    quiet: bool,
    verbose: bool,
    show_diff: bool,
    full: bool,
) -> None:
    """Check that generated bindings are fresh: list changed, missing and extra files.

    Catches hand edits, changed WIT, and output of another witgen or black
    version. Nothing is written.
    """
    ending.mark_clean()
    printer = Printer(quiet, verbose)
    stale = 0
    with error_boundary(printer):
        targets = resolve_targets(
            path, out, worlds, features, all_features, parts, target_names, config, exports, imports
        )
        for target in targets:
            inputs = input_digest(target)
            where = show(target.out)
            if not full and checking.is_fresh(target.out, inputs):
                printer.info(f"{target.name}: fresh (digest) -> {where}", fg="green")
                continue
            report = checking.compare(target.out, render.render_target(target), inputs)
            if report.fresh:
                printer.info(f"{target.name}: fresh ({len(report.unchanged)} files compared) -> {where}", fg="green")
                for rel in report.unchanged:
                    printer.detail(f"  unchanged: {show(target.out / rel)}")
                continue
            stale += 1
            printer.info(f"{target.name}: stale -> {where}", fg="red", bold=True)
            if report.interrupted:
                printer.info("  an interrupted generate left its journal")
            for kind, rels in (("changed", report.changed), ("missing", report.missing), ("extra", report.extra)):
                for rel in rels:
                    # The file list is the point of the command: -q keeps it.
                    click.echo(f"  {kind}: {show(target.out / rel)}", color=printer.color)
            errors, warnings = report.plan.problems(show, f"{target.name}: ")
            for line in errors + warnings:  # what generate would refuse or keep
                printer.warning(line)
            if show_diff:
                for rel, (old, new) in report.texts.items():
                    label = show(target.out / rel)
                    for line in checking.unified_diff(label, old, new).splitlines(keepends=True):
                        header = line.startswith(("--- ", "+++ "))
                        fg = None if header else {"+": "green", "-": "red", "@": "cyan"}.get(line[:1])
                        click.secho(line, fg=fg, bold=header, nl=False, color=printer.color)
    if stale:
        printer.info(f"{stale} of {len(targets)} target(s) stale: run `witgen generate`", fg="red")
        sys.exit(1)
