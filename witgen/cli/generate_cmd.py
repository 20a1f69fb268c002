"""`witgen generate`: write bindings for one PATH, or for every `[tool.witgen]` target.

Also home of what `generate` and `check` share: target selection, the
user-facing printer and the error boundary. Nothing here imports lark, jinja2 or
black; `witgen.workflow.render` does, when a target is rendered.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from witgen.cli import Command, ending
from witgen.workflow import check, render, writer
from witgen.workflow.config import (
    DEFAULT_PARTS,
    ConfigError,
    Target,
    UnknownTarget,
    check_parts,
    find_pyproject,
    load_config,
    parse_list,
    select,
)
from witgen.workflow.digest import input_digest

F = TypeVar("F", bound=Callable[..., Any])


def _not_empty(ctx: click.Context, param: click.Parameter, value: str | None) -> Path | None:
    """A path parameter as a Path; an empty one is a usage error (Path('') is the current folder)."""
    if value is None:
        return None
    if not value.strip():
        raise click.BadParameter("must not be empty", ctx=ctx, param=param)
    return Path(value)


def target_options(func: F) -> F:
    """The options that pick targets, shared by generate and check."""
    decorators = [
        click.argument("path", required=False, type=click.Path(), callback=_not_empty),
        click.option("-o", "--out", type=click.Path(), callback=_not_empty, help="Output folder (with PATH)."),
        click.option("-w", "--world", "worlds", multiple=True, help="World to generate (repeatable)."),
        click.option(
            "--export",
            "exports",
            multiple=True,
            metavar="IFACE",
            help="Interface to provide, as a world exporting it would (repeatable).",
        ),
        click.option(
            "--import",
            "imports",
            multiple=True,
            metavar="IFACE",
            help="Interface to call, as a world importing it would (repeatable).",
        ),
        click.option("--features", help="Comma-separated @unstable features to enable."),
        click.option("--all-features", is_flag=True, help="Enable every @unstable feature."),
        click.option("--parts", help="Comma-separated parts: types, provider, client, host (default: all but host)."),
        click.option("-t", "--target", "target_names", multiple=True, help="Configured target to use (repeatable)."),
        click.option(
            "--config",
            type=click.Path(path_type=Path, dir_okay=False, exists=True),
            help="pyproject.toml to read (default: the nearest one with [tool.witgen]).",
        ),
        click.option("-q", "--quiet", is_flag=True, help="Print errors only."),
        click.option("-v", "--verbose", is_flag=True, help="List every file."),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def resolve_targets(
    path: Path | None,
    out: Path | None,
    worlds: tuple[str, ...],
    features: str | None,
    all_features: bool,
    parts: str | None,
    target_names: tuple[str, ...],
    config: Path | None,
    exports: tuple[str, ...] = (),
    imports: tuple[str, ...] = (),
) -> list[Target]:
    """The targets a command line asks for: PATH -o OUT, or the configured ones."""
    if path is not None:
        if out is None:
            raise click.UsageError("PATH needs -o/--out OUT")
        if target_names or config:
            raise click.UsageError("PATH cannot be combined with --target or --config")
        try:
            chosen = check_parts(parse_list(parts)) if parts is not None else DEFAULT_PARTS
        except ConfigError as exc:
            raise click.BadParameter(str(exc), param_hint="--parts") from None
        target = Target(
            out.as_posix(),
            path,
            out,
            worlds,
            parse_list(features),
            all_features,
            chosen,
            Path.cwd(),
            exports,
            imports,
        )
        return [target]
    options = {
        "-o": out,
        "--world": worlds,
        "--export": exports,
        "--import": imports,
        "--features": features,
        "--all-features": all_features,
        "--parts": parts,
    }
    given = [name for name, value in options.items() if value]
    if given:
        raise click.UsageError(f"{given[0]} needs PATH; configured targets take their options from pyproject.toml")
    pyproject = config or find_pyproject(Path.cwd())
    if pyproject is None:
        raise click.UsageError("no PATH given and no pyproject.toml with [tool.witgen] found")
    try:
        return select(load_config(pyproject), target_names)
    except UnknownTarget as exc:
        raise click.UsageError(str(exc)) from None


class Printer:
    """User-facing output: -q/-v levels, colour that honours NO_COLOR."""

    def __init__(self, quiet: bool, verbose: bool) -> None:
        self.quiet = quiet
        self.verbose = verbose and not quiet
        self.color: bool | None = False if os.environ.get("NO_COLOR") else None

    def info(self, text: str, **style: Any) -> None:
        if not self.quiet:
            click.secho(text, color=self.color, **style)

    def detail(self, text: str, **style: Any) -> None:
        if self.verbose:
            click.secho(text, color=self.color, **style)

    def error(self, text: str) -> None:
        click.secho("error: ", fg="red", bold=True, nl=False, err=True, color=self.color)
        click.echo(text, err=True, color=self.color)

    def warning(self, text: str) -> None:
        if not self.quiet:
            click.secho("warning: ", fg="yellow", bold=True, nl=False, err=True, color=self.color)
            click.echo(text, err=True, color=self.color)


def show(path: Path) -> str:
    """A path as the user most likely wants to read it: relative to the current folder.

    Links inside it are named as such, not by where they lead.
    """
    here = Path.cwd().resolve()
    for spelling in (Path(os.path.abspath(path)), path.resolve()):
        try:
            return spelling.relative_to(here).as_posix() or "."
        except ValueError:
            pass
    return str(path)


@contextmanager
def error_boundary(printer: Printer) -> Iterator[None]:
    """Invalid input, a generator failure or an I/O error: a message and exit 1, no traceback."""
    try:
        yield
    except (ConfigError, render.RenderError, writer.WriteError) as exc:
        for line in str(exc).splitlines():
            printer.error(line)
        sys.exit(1)
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        printer.error(f"{where}{exc.strerror or exc}")
        sys.exit(1)


EXAMPLES = """\b
Examples:
  witgen generate                      # every [tool.witgen] target in pyproject.toml
  witgen generate -t stateful -v       # one configured target, listing each file
  witgen generate wit -o bindings      # a WIT folder into the package ./bindings
  witgen generate wit/proxy.wit -o out -w proxy --features beta
  witgen generate wit -o kv --export wasi:keyvalue/store   # provide an interface no world exports
  witgen generate --dry-run            # show what would change, write nothing

Exit status: 0 done, 1 invalid WIT, config or I/O error, 2 usage error.
"""


@click.command(cls=Command, epilog=EXAMPLES)
@target_options
@click.option("--dry-run", is_flag=True, help="Report what would change; write nothing.")
@click.option("--full", is_flag=True, help="Render even when the digests say nothing changed.")
def generate(
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
    dry_run: bool,
    full: bool,
) -> None:
    """Write Python bindings for PATH into OUT, or for every configured target.

    Every target is rendered in memory first; files are then replaced
    atomically. Only files still as witgen wrote them are ever overwritten or
    deleted, and never through a symbolic link inside OUT: a changed file in
    the way stops the run, one that is no longer generated is kept.
    A target whose inputs and files match its manifest is skipped unrendered.

    --export and --import generate the provider or the client side of interfaces
    that no world exports or imports, in OUT/exports.py (OUT/imports.py without
    --export), as a world made of them would; only the worlds given with --world
    are generated besides.
    """
    ending.mark_clean()
    printer = Printer(quiet, verbose)
    with error_boundary(printer):
        targets = resolve_targets(
            path, out, worlds, features, all_features, parts, target_names, config, exports, imports
        )
        plans = []
        for target in targets:
            inputs = input_digest(target)
            if not full and check.is_fresh(target.out, inputs):
                manifest = writer.Manifest.read(target.out) if printer.verbose else None
                for rel in sorted(manifest.files if manifest is not None else ()):
                    printer.detail(f"  unchanged: {show(target.out / rel)}")
                printer.info(f"{target.name}: unchanged (digest) -> {show(target.out)}", fg="green")
                continue
            plans.append((target, writer.plan(target.out, render.render_target(target), inputs)))
        # Before any target is written: every file in the way of every target.
        refused = [line for target, plan in plans for line in plan.problems(show, f"{target.name}: ")[0]]
        if refused:
            raise writer.WriteError("\n".join(refused))
        for target, plan in plans:
            for line in plan.problems(show, f"{target.name}: ")[1]:
                printer.warning(line)
            if not dry_run:
                writer.apply(plan, show, f"{target.name}: ")
            report_plan(printer, target, plan, dry_run)


def report_plan(printer: Printer, target: Target, plan: writer.Plan, dry_run: bool) -> None:
    verb = ("would write", "would delete") if dry_run else ("written", "deleted")
    if printer.quiet:
        return
    for rel in plan.write if printer.verbose else ():
        printer.detail(f"  {verb[0]}: {show(target.out / rel)}", fg="yellow")
    for rel in plan.delete if printer.verbose else ():
        printer.detail(f"  {verb[1]}: {show(target.out / rel)}", fg="red")
    for rel in plan.unchanged if printer.verbose else ():
        printer.detail(f"  unchanged: {show(target.out / rel)}")
    summary = f"{len(plan.write)} {verb[0]}, {len(plan.unchanged)} unchanged"
    if plan.delete:
        summary += f", {len(plan.delete)} {verb[1]}"
    if plan.interrupted:
        summary += ", interrupted run completed" if not dry_run else ", interrupted run to complete"
    printer.info(f"{target.name}: {summary} -> {show(target.out)}", fg="green" if plan.clean else "yellow")
