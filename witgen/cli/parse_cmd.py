"""`witgen parse PATH`: resolve WIT and print it as JSON, as WIT text, or as a short summary."""

from __future__ import annotations

import sys

import click

from witgen import model
from witgen.cli import ending


def summary(resolve: model.Resolve) -> str:
    """A few lines per package: its interfaces and worlds, root package marked."""
    lines: list[str] = []
    for pid, pkg in enumerate(resolve.packages):
        mark = " (root)" if pid == resolve.root else ""
        lines.append(f"package {pkg.name}{mark}")
        for name, iid in pkg.interfaces.items():
            iface = resolve.interfaces[iid]
            lines.append(
                f"  interface {name}: {len(iface.types)} types, {len(iface.functions)} functions"
            )
        for name, wid in pkg.worlds.items():
            world = resolve.worlds[wid]
            lines.append(
                f"  world {name}: {len(world.imports)} imports, {len(world.exports)} exports"
            )
    return "\n".join(lines)


def _features(values: tuple[str, ...]) -> list[str]:
    return [f.strip() for v in values for f in v.split(",") if f.strip()]


@click.command("parse")
@click.argument("path", type=click.Path(dir_okay=True, file_okay=True))
@click.option(
    "--json", "as_json", is_flag=True, help="Print the resolved graph as wasm-tools does."
)
@click.option(
    "--wit", "as_wit", is_flag=True, help="Print the resolved packages as WIT, as wasm-tools does."
)
@click.option(
    "--features",
    multiple=True,
    metavar="A,B",
    help="Enable @unstable features (comma-separated; may be repeated).",
)
@click.option("--all-features", is_flag=True, help="Enable every @unstable feature.")
def parse(
    path: str, as_json: bool, as_wit: bool, features: tuple[str, ...], all_features: bool
) -> None:
    """Resolve the WIT file or package folder PATH (with its deps/), or read the WIT of a
    Wasm component or encoded WIT package (PATH.wasm; PATH.wat with wasmtime installed)."""
    if as_json and as_wit:
        raise click.UsageError("--json and --wit cannot be used together")
    from witgen.errors import WitError

    try:
        resolve = _load(path, _features(features), all_features)
    except WitError as exc:
        click.echo(f"error: {exc.render()}", err=True)
        sys.exit(1)
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        click.echo(f"error: failed to read {path}: {reason}", err=True)
        sys.exit(1)
    ending.mark_clean()
    if as_wit:
        from witgen.witout import print_wit

        try:
            text = print_wit(resolve)
        except ValueError as exc:
            click.echo(f"error: cannot print {path} as WIT: {exc}", err=True)
            sys.exit(1)
        click.echo(text, nl=False)
        return
    if as_json:
        _write(resolve.to_json() + "\n")
        return
    click.echo(summary(resolve))


def _load(path: str, features: list[str], all_features: bool) -> model.Resolve:
    """`witgen.resolver.load` through the caches `generate` uses: the parser's table
    (no Lark import), parsed files and stage-A packages, each keyed by what it is
    made of and signed with this user's key (`witgen.workflow.astcache`)."""
    from witgen.resolver import load
    from witgen.workflow.astcache import AstCache, installed
    from witgen.workflow.formatcache import default_folder

    folder = default_folder()
    with installed(AstCache(folder) if folder is not None else None):
        return load(path, features, all_features)


def _write(text: str) -> None:
    """Write `text` to standard output as UTF-8 bytes at once (one write, no encoder per line)."""
    out = sys.stdout
    out.flush()
    try:
        out.buffer.write(text.encode("utf-8"))
    except AttributeError:  # a text-only stream (a test's capture)
        out.write(text)
