"""`witgen call`: call one function of a provider over wRPC on NATS, typed from the WIT."""

from __future__ import annotations

import dataclasses
import logging
import math
import sys
from typing import TYPE_CHECKING, Any, NoReturn

import click

from witgen.cli.host_cmd import DEFAULT_MAX_MEMORY, memory_size
from witgen.cli.nats_options import NATS_HELP, servers_option
from witgen.runtime.urls import redact

if TYPE_CHECKING:
    from witgen.model import Type
    from witgen.wave.wire import Wire

MAX_TIMEOUT = 86400.0  # one day
DROP = "[drop]"  # FUNCTION `iface.[drop]res`: release a handle, as generated clients do


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {redact(message)}", err=True)
    sys.exit(1)


def _max_memory_option(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    return None if value is None else memory_size(ctx, param, value)


def _tcp_option(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """`--tcp HOST:PORT`, checked: a bad address is a usage error saying what is wrong."""
    from witgen.runtime.tcp.address import format_address, parse_address

    if value is None:
        return None
    try:
        return format_address(*parse_address(value))
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


def _timeout_option(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if not (math.isfinite(value) and 0 < value <= MAX_TIMEOUT):
        raise click.BadParameter(
            f"expected seconds, more than 0 and at most {MAX_TIMEOUT:g} (one day); got {value:g}", ctx, param
        )
    return value


@click.command(
    epilog="""
\b
FUNCTION: ns:pkg/iface[@version].function; resource members as iface.res.method,
constructors as iface.res; a function a world imports or exports itself by its
bare name. ARGS: one WAVE value per parameter (a handle as its bytes, [1, 2]).
Put `--` before a value that starts with `-`.

\b
Resources: a handle belongs to the caller it was issued to: give the same
--source-id to every call that uses it. Release it with iface.[drop]res HANDLE
(the drop generated clients send), e.g.
  witgen call --nats URL --wit wit --source-id me 'wasi:keyvalue/store.[drop]bucket' '[1, 2]'
Using a dropped handle fails with an invalid-handle error.

\b
Streams and futures (over --nats or --tcp): a stream argument is the WAVE
list of its items; a result is printed once its streams ended and its futures
resolved, or with --follow item by item, one line each, as they arrive.

\b
The result is printed as WAVE (nothing for a function without a result), exit 0,
also for an err(..) result. Exit 1: bad WAVE, a timeout, no responders, a
transport error; exit 2: usage (a wrong number of arguments, a bad --nats URL,
--timeout or --max-memory). Passwords in URLs are shown as ***.


With --component, --timeout is the guest time the call may take (time in its
imports does not count) and Ctrl-C stops the component at once: one line, exit 130.
"""
)
@click.option(
    "--nats",
    "url",
    metavar="URL[,URL...]",
    callback=servers_option,
    help=NATS_HELP,
)
@click.option(
    "--tcp",
    metavar="HOST:PORT",
    callback=_tcp_option,
    help="Call over wRPC's framed TCP instead, a provider listening on HOST:PORT (IPv6 as [::1]:7761).",
)
@click.option("--prefix", default="", help="Subject prefix of the provider, e.g. default.ollama.")
@click.option(
    "--wit",
    type=click.Path(exists=True, dir_okay=True),
    help="The WIT file or package folder that defines FUNCTION (with --component, default: its own).",
)
@click.option(
    "--timeout",
    default=10.0,
    show_default=True,
    type=float,
    callback=_timeout_option,
    help="Seconds to wait (more than 0, at most a day).",
)
@click.option("--source-id", default="", help="The caller id sent as `source-id` (per-caller handles).")
@click.option("--creds", type=click.Path(exists=True, dir_okay=False), help="NATS credentials file.")
@click.option(
    "--tls-ca", type=click.Path(exists=True, dir_okay=False), help="CA certificates to trust (tls://)."
)
@click.option(
    "--component",
    type=click.Path(dir_okay=False),
    help="Call an export of this Wasm component instead (its imports: --nats and --import).",
)
@click.option("--world", help="With --component: the world it targets (default: the one its exports match).")
@click.option(
    "--import", "imports", multiple=True, metavar="[LINK/]IFACE=PREFIX",
    help="With --component: where the provider of an imported interface serves on NATS.",
)
@click.option(
    "--max-memory", metavar="SIZE", callback=_max_memory_option,
    help=f"With --component: cap on each of its linear memories (256MiB, 1GiB, 64MB, bytes) [default: {DEFAULT_MAX_MEMORY}]",
)  # fmt: skip
@click.option(
    "--follow", is_flag=True,
    help="Print the items of a stream result one line each as they arrive (futures as they resolve).",
)  # fmt: skip
@click.argument("function")
@click.argument("args", nargs=-1)
def call(
    url: str | None,
    tcp: str | None,
    prefix: str,
    wit: str | None,
    timeout: float,
    source_id: str,
    creds: str | None,
    tls_ca: str | None,
    component: str | None,
    world: str | None,
    imports: tuple[str, ...],
    max_memory: int | None,
    follow: bool,
    function: str,
    args: tuple[str, ...],
) -> None:
    """Call FUNCTION with ARGS on the provider serving it over wRPC on NATS or TCP, or on a component."""
    from witgen.wave.wire import Wire, WireError

    if tcp is not None:
        if url is not None:
            raise click.UsageError("--nats and --tcp name two ways to reach the provider: pass one")
        if component is not None:
            raise click.UsageError("--tcp calls a provider; with --component, imports go over --nats")
        nats_only = (("--prefix", prefix), ("--source-id", source_id), ("--creds", creds), ("--tls-ca", tls_ca))
        given = [flag for flag, value in nats_only if value]
        if given:
            raise click.UsageError(
                f"{' and '.join(given)}: for --nats only (TCP carries no subjects, caller ids or credentials)"
            )
        url = f"tcp://{tcp}"
    if component is None:
        if url is None:
            raise click.UsageError("pass --nats URL (or --component FILE)")
        if imports or world or max_memory is not None:
            raise click.UsageError("--import, --world and --max-memory go with --component")
    elif prefix:
        raise click.UsageError("--prefix names a provider to call; with --component, route imports with --import")
    if wit is None:
        if component is None:
            raise click.UsageError("pass --wit, the WIT file or folder that defines FUNCTION")
        wit = component  # the interface the component declares

    if DROP in function:
        if component is not None:
            raise click.UsageError(f"{DROP}RESOURCE releases a handle of a provider: use --nats, not --component")
        assert url is not None
        instance, name, payload = _drop_call(wit, function, args)
        data = _call_provider(url, prefix, source_id, timeout, creds, tls_ca, instance, name, payload)
        if data:
            _fail(f"{instance}.{name} has no result, but {len(data)} byte(s) came back")
        return
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
    instance = target.instance(engine.resolve)
    name = target.function.item_name
    fc = engine.function_codec()
    if fc.has_async:
        if component is not None:
            _fail(f"{instance}.{name} has streams or futures: call it on a provider over --nats or --tcp")
        assert url is not None
        try:
            values = engine.args_values(args)
        except WireError as exc:
            _fail(str(exc))
        _call_with_values(engine, url, prefix, source_id, timeout, creds, tls_ca, values, follow)
        return
    if follow:
        raise click.UsageError(f"--follow prints streams and futures as they come; {function} has none")
    try:
        payload = engine.encode_args(args)
    except WireError as exc:
        _fail(str(exc))
    if component is not None:
        limits: dict[str, float | int] = {"deadline": timeout}
        if max_memory is not None:  # else the host's default, DEFAULT_MAX_MEMORY
            limits["max_memory"] = max_memory
        data = _call_component(component, wit, world, url, imports, creds, limits, instance, name, payload)
    else:
        assert url is not None
        data = _call_provider(url, prefix, source_id, timeout, creds, tls_ca, instance, name, payload)
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


def _call_with_values(
    engine: Wire,
    url: str,
    prefix: str,
    source_id: str,
    timeout: float,
    creds: str | None,
    tls_ca: str | None,
    args: list[Any],
    follow: bool,
) -> None:
    """Call a function with streams or futures and print its result (call_values.py)."""
    from witgen.cli import call_values
    from witgen.runtime.bus import BusError, BusTimeout
    from witgen.wave.printer import to_wave

    target = engine.target
    assert target.function is not None
    instance = target.instance(engine.resolve)
    name = target.function.item_name
    where = f" at {url[len('tcp://'):]}" if url.startswith("tcp://") else ""
    bus = _open_bus(url, prefix, source_id, timeout, creds, tls_ca)
    result = target.function.result

    def show(value: Any, ty: Type) -> str:
        return to_wave(engine.convert.from_py(value, ty), ty, engine.resolve)

    try:
        value = call_values.call(bus, instance, name, engine.function_codec(), args, timeout)
        if result is None:
            return
        found = call_values.pending_values(engine.resolve, value, result) if follow else []
        if found:
            call_values.follow(bus, found, show, click.echo)
        else:
            click.echo(show(value, result))
    except BusTimeout:
        _fail(f"timeout: no answer from {instance}.{name}{where} within {timeout:g} s")
    except BusError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        click.echo(f"interrupted: the call of {instance}.{name} was stopped", err=True)
        sys.exit(130)
    finally:
        bus.close(grace=0)


def _open_bus(
    url: str, prefix: str, source_id: str, timeout: float, creds: str | None, tls_ca: str | None
) -> Any:
    """A connected NATS or TCP bus for `url` (`tcp://HOST:PORT`), or exit 1 saying why."""
    from witgen.runtime.bus import BusError

    try:
        if url.startswith("tcp://"):
            from witgen.runtime.tcp import TcpBus

            return TcpBus.connect_sync(url[len("tcp://") :], timeout=timeout)
        from witgen.runtime.nats import NatsBus

        return NatsBus.connect_sync(url, prefix=prefix, source=source_id, timeout=timeout, creds=creds, tls_ca=tls_ca)
    except ImportError as exc:
        _fail(str(exc))
    except BusError as exc:
        _fail(f"transport error: {exc}")


def _drop_call(wit: str, function: str, args: tuple[str, ...]) -> tuple[str, str, bytes]:
    """`IFACE.[drop]RES HANDLE`: the instance, the wire name and the payload that release HANDLE."""
    from witgen.errors import WitError
    from witgen.model import Resource
    from witgen.runtime.resources import drop_name
    from witgen.wave.wire import Wire, WireError, load_wit, select

    iface, _, resource = function.partition(f".{DROP}")
    if not iface or not resource or DROP in resource:
        raise click.UsageError(f"{function!r}: to release a handle, name it IFACE.{DROP}RESOURCE")
    if len(args) != 1:
        raise click.UsageError(f"{function} takes 1 argument (the handle, as its bytes: [1, 2]), {len(args)} given")
    try:
        resolve = load_wit(wit)
        target = select(resolve, "type", f"{iface}.{resource}")
    except WitError as exc:
        text = exc.render()
        _fail(text if text.startswith(f"{wit} ") else f"cannot load {wit}: {text}")
    except WireError as exc:
        _fail(str(exc))
    instance = resolve.interface_id(target.interface)
    assert isinstance(target.type, int)
    if not isinstance(resolve.types[target.type].kind, Resource):
        _fail(f"`{resource}` in {instance} is not a resource: only resource handles are dropped")
    try:
        payload = Wire.open(None, "type", "list<u8>").encode(args[0])
    except WireError as exc:
        _fail(f"the handle must be its bytes, as witgen call prints it ([1, 2]): {exc}")
    return instance, drop_name(resource), payload


def _call_provider(
    url: str,
    prefix: str,
    source_id: str,
    timeout: float,
    creds: str | None,
    tls_ca: str | None,
    instance: str,
    name: str,
    payload: bytes,
) -> bytes:
    if url.startswith("tcp://"):
        return _call_tcp(url[len("tcp://") :], timeout, instance, name, payload)
    try:
        from witgen.runtime.bus import BusError
        from witgen.runtime.nats import NatsBus
    except ImportError as exc:
        _fail(str(exc))
    try:
        bus = NatsBus.connect_sync(
            url, prefix=prefix, source=source_id, timeout=timeout, creds=creds, tls_ca=tls_ca
        )
    except BusError as exc:
        _fail(f"transport error: {exc}")
    return _invoke(bus, instance, name, payload, timeout, "")


def _call_tcp(address: str, timeout: float, instance: str, name: str, payload: bytes) -> bytes:
    from witgen.runtime.tcp import TcpBus

    bus = TcpBus.connect_sync(address, timeout=timeout)
    return _invoke(bus, instance, name, payload, timeout, f" at {address}")


def _invoke(bus: Any, instance: str, name: str, payload: bytes, timeout: float, where: str) -> bytes:
    """One call on `bus`, closed after it; a timeout or a failed call is one error line."""
    from witgen.runtime.bus import BusError, BusTimeout

    try:
        data: bytes = bus.invoke(instance, name, payload, timeout=timeout)
    except BusTimeout:
        _fail(f"timeout: no answer from {instance}.{name}{where} within {timeout:g} s")
    except BusError as exc:
        _fail(str(exc))
    finally:
        bus.close(grace=0)
    return data


def _call_component(
    component: str,
    wit: str,
    world: str | None,
    url: str | None,
    imports: tuple[str, ...],
    creds: str | None,
    limits: dict[str, float | int],
    instance: str,
    name: str,
    payload: bytes,
) -> bytes:
    """Instantiate the component, call one export, return the encoded result; Ctrl-C: exit 130."""
    try:
        return _call_export(component, wit, world, url, imports, creds, limits, instance, name, payload)
    except KeyboardInterrupt:
        click.echo(f"interrupted: {component} was stopped", err=True)
        sys.exit(130)


def _call_export(
    component: str,
    wit: str,
    world: str | None,
    url: str | None,
    imports: tuple[str, ...],
    creds: str | None,
    limits: dict[str, float | int],
    instance: str,
    name: str,
    payload: bytes,
) -> bytes:
    from witgen.cli.host_cmd import Actor
    from witgen.runtime import codec
    from witgen.runtime.bus import BusError

    # The error line says what failed; the host's log lines (an instance made again) would repeat it.
    quiet = logging.getLogger("witgen.runtime")
    quiet.addHandler(logging.NullHandler())
    quiet.propagate = False
    timeout = limits["deadline"]
    actor = Actor(component, wit, world)
    exports = actor.host_class.EXPORTS
    key = next((i for i in exports if i == instance or i.partition("@")[0] == instance.partition("@")[0]), None)
    if key is None or name not in exports[key]:
        _fail(f"{component} does not export {instance}.{name}")
    bus = None
    if url is not None:
        from witgen.runtime.nats import NatsBus

        try:
            bus = NatsBus.connect_sync(url, timeout=timeout, creds=creds)
        except BusError as exc:
            _fail(f"transport error: {exc}")
    elif imports:
        raise click.UsageError("--import needs --nats URL")
    try:
        routes = actor.routes(bus, imports) if bus is not None else {}
        try:
            host = actor.build(bus, routes, **limits)
            fc = codec.function(exports[key][name])
            value = host.call(key, name, *fc.decode_params(payload))
            return fc.encode_result(value)
        except BusError as exc:
            _fail(str(exc))
    finally:
        if bus is not None:
            bus.close(grace=0)
