"""`witgen bridge`: build the component that connects a wasmCloud 2.x workload to NATS."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click

PREFIX = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")


def wash_config(output: Path | None, prefix: str, expose: bool) -> str:
    """The `.wash/config.yaml` entries a `wash dev` session needs for the bridge.

    `prefix` is the one exposed interfaces are served under. `workload` is a top-level
    key: wash ignores it under `dev`."""
    wrpc = f"{prefix}.wrpc.0.0.1" if prefix else "wrpc.0.0.1"
    name = output.stem if output is not None else "bridge"
    lines = [
        "dev:",
        "  data_nats_url: nats://127.0.0.1:4222   # the NATS server the Python side uses",
        "  components:",
        f"    - name: {name}",
        f"      file: {output if output is not None else 'bridge.wasm'}",
    ]
    if expose:
        lines += ["workload:", "  config:", f'    subscriptions: "{wrpc}.>"']
    return "\n".join(lines)


@click.command("bridge")
@click.option("--wit", "wit_dir", required=True, type=click.Path(path_type=Path), help="WIT package folder or file.")
@click.option("--prefix", default="", help="NATS subject prefix of the Python providers (and of --expose).")
@click.option("--expose-prefix", default=None, help="NATS subject prefix for --expose (default: --prefix).")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="The component to write (.wasm).")
@click.option("--provide", multiple=True, metavar="IFACE", help="Export IFACE, answered by a Python provider.")
@click.option("--expose", multiple=True, metavar="IFACE", help="Serve IFACE of a sibling component over wRPC.")
@click.option("--emit-source", type=click.Path(path_type=Path), help="Write the guest project here.")
@click.option("--timeout-ms", default=30000, show_default=True, type=click.IntRange(1, 2**32 - 1))
@click.option("--max-payload", default=1024 * 1024, show_default=True, type=click.IntRange(64),
              help="NATS max payload in bytes (larger messages are refused).")  # fmt: skip
def bridge(
    wit_dir: Path,
    prefix: str,
    expose_prefix: str | None,
    output: Path | None,
    provide: tuple[str, ...],
    expose: tuple[str, ...],
    emit_source: Path | None,
    timeout_ms: int,
    max_payload: int,
) -> None:
    """Generate and build a bridge component for a wasmCloud 2.x host.

    \b
    --provide IFACE  components of the workload call IFACE; each call travels as a
                     plain NATS request on PREFIX.rr.0.0.1.<instance>.<function>
                     to a Python provider; resources hold the provider's handles
                     and a drop sends <instance>.[drop]<resource>
    --expose IFACE   a sibling component's IFACE is served as wRPC on
                     E.wrpc.0.0.1.<instance>.<function> (witgen clients,
                     `witgen call`), E the --expose-prefix (default PREFIX);
                     the workload subscribes to E.wrpc.0.0.1.>
    """
    from witgen.bridge import BridgeError, Settings, make_bridge
    from witgen.errors import WitError

    if output is None and emit_source is None:
        raise click.UsageError("give -o FILE.wasm, --emit-source DIR, or both")
    for option, value in (("--prefix", prefix), ("--expose-prefix", expose_prefix)):
        if value and not PREFIX.match(value):
            raise click.UsageError(f"{option} {value!r} is not a NATS subject prefix (tokens separated by dots)")
    try:
        make_bridge(wit_dir, Settings(prefix, timeout_ms, max_payload, expose_prefix), list(provide), list(expose),
                    output=output, emit_source=emit_source)  # fmt: skip
    except WitError as exc:
        click.echo(f"error: {exc.render()}", err=True)
        sys.exit(1)
    except BridgeError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        where = getattr(exc, "filename", None) or wit_dir
        click.echo(f"error: {where}: {reason}", err=True)
        sys.exit(1)
    if emit_source is not None:
        click.echo(f"wrote the guest project to {emit_source}", err=True)
    if output is not None:
        click.echo(f"wrote {output}", err=True)
        click.echo("# wash dev: .wash/config.yaml entries for this bridge")
        click.echo(wash_config(output, prefix if expose_prefix is None else expose_prefix, bool(expose)))
