"""`witgen parse PATH`: resolve WIT and print it as JSON, as WIT text, or as a short summary."""

from __future__ import annotations

import sys

import click

from witgen import model


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
    from witgen.resolver import load

    try:
        resolve = load(path, _features(features), all_features)
    except WitError as exc:
        click.echo(f"error: {exc.render()}", err=True)
        sys.exit(1)
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        click.echo(f"error: failed to read {path}: {reason}", err=True)
        sys.exit(1)
    if as_wit:
        from witgen.witout import print_wit

        try:
            text = print_wit(resolve)
        except ValueError as exc:
            click.echo(f"error: cannot print {path} as WIT: {exc}", err=True)
            sys.exit(1)
        click.echo(text, nl=False)
        return
    click.echo(resolve.to_json() if as_json else summary(resolve))
