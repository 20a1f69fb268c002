"""`witgen call`: call one function of a provider over wRPC on NATS, typed from the WIT."""

from __future__ import annotations

import dataclasses
import sys
from typing import NoReturn

import click


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


@click.command(
    epilog="""
\b
FUNCTION: ns:pkg/iface[@version].function; resource members as iface.res.method,
constructors as iface.res. ARGS: one WAVE value per parameter (a handle as its
bytes, [1, 2]). Put `--` before a value that starts with `-`.

\b
The result is printed as WAVE (nothing for a function without a result), exit 0,
also for an err(..) result. Exit 1: bad WAVE, a timeout, no responders, a
transport error; exit 2: usage (a wrong number of arguments).
"""
)
@click.option("--nats", "url", required=True, metavar="URL", help="The NATS server (nats:// or tls://).")
@click.option("--prefix", default="", help="Subject prefix of the provider, e.g. default.ollama.")
@click.option(
    "--wit",
    required=True,
    type=click.Path(exists=True, dir_okay=True),
    help="The WIT file or package folder that defines FUNCTION.",
)
@click.option("--timeout", default=10.0, show_default=True, type=float, help="Seconds to wait.")
@click.option("--source-id", default="", help="The caller id sent as `source-id` (per-caller handles).")
@click.option("--creds", type=click.Path(exists=True, dir_okay=False), help="NATS credentials file.")
@click.argument("function")
@click.argument("args", nargs=-1)
def call(
    url: str,
    prefix: str,
    wit: str,
    timeout: float,
    source_id: str,
    creds: str | None,
    function: str,
    args: tuple[str, ...],
) -> None:
    """Call FUNCTION with ARGS on the provider serving it over wRPC on NATS."""
    from witgen.wave.wire import Wire, WireError

    try:
        engine = Wire.open(wit, "params", function)
    except WireError as exc:
        _fail(str(exc))
    except Exception as exc:  # a generation failure (name collision, unsupported item)
        if type(exc).__name__ != "CodegenError":
            raise
        _fail(f"cannot generate bindings: {exc}")
    target = engine.target
    assert target.function is not None
    if len(args) != len(target.params):
        names = ", ".join(p.name for p in target.params) or "none"
        raise click.UsageError(
            f"{function} takes {len(target.params)} argument(s) ({names}), {len(args)} given"
        )
    try:
        payload = engine.encode_args(args)
    except WireError as exc:
        _fail(str(exc))
    instance = engine.resolve.interface_id(target.interface)
    name = target.function.item_name
    try:
        from witgen.runtime.bus import BusError, BusTimeout
        from witgen.runtime.nats import NatsBus
    except ImportError as exc:
        _fail(str(exc))
    try:
        bus = NatsBus.connect_sync(url, prefix=prefix, source=source_id, timeout=timeout, creds=creds)
    except BusError as exc:
        _fail(f"transport error: {exc}")
    try:
        data = bus.invoke(instance, name, payload, timeout=timeout)
    except BusTimeout:
        _fail(f"timeout: no answer from {instance}.{name} within {timeout:g} s")
    except BusError as exc:
        _fail(str(exc))
    finally:
        bus.close(grace=0)
    if target.function.result is None:
        if data:
            _fail(f"{instance}.{name} has no result, but {len(data)} byte(s) came back")
        return
    result = Wire(engine.resolve, dataclasses.replace(target, mode="result"), engine.bindings)
    try:
        text = result.decode(data)
    except WireError as exc:
        _fail(f"the result does not decode: {exc}")
    click.echo(text)
