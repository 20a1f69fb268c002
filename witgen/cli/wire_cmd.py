"""`witgen wire encode|decode`: read and write bus traffic with the generated codec."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

if TYPE_CHECKING:
    from witgen.wave.wire import Mode, Wire

F = TypeVar("F", bound=Callable[..., Any])

SELECTOR_HELP = """
SELECTOR is one of:

\b
  --type ns:pkg/iface.name        a named type (ns:pkg/iface@1.2.3.name for a
                                  versioned package; the version is optional
                                  when only one version is loaded)
  --type 'list<option<u8>>'       a type expression over built-in types
  --params ns:pkg/iface.func      a function's parameters (resource members as
                                  iface.res.method, constructors as iface.res)
  --result ns:pkg/iface.func      a function's result

Values are WAVE text; --params takes the arguments separated by commas. Put
`--` before a value that starts with `-` (a negative number).
"""


def _selector(func: F) -> F:
    func = click.option(
        "--result", "result", metavar="FUNC", help="A function's result."
    )(func)
    func = click.option(
        "--params", "params", metavar="FUNC", help="A function's parameters."
    )(func)
    func = click.option(
        "--type", "type_", metavar="TYPE", help="A named type or a type expression."
    )(func)
    func = click.option(
        "--wit",
        type=click.Path(exists=True, dir_okay=True),
        help="The WIT file or package folder that defines the selector.",
    )(func)
    return func


def _pick(
    type_: str | None, params: str | None, result: str | None
) -> tuple[Mode, str]:
    options: list[tuple[Mode, str | None]] = [
        ("type", type_),
        ("params", params),
        ("result", result),
    ]
    given = [(m, s) for m, s in options if s]
    if len(given) != 1:
        raise click.UsageError("give exactly one of --type, --params or --result")
    return given[0]


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def _open(
    wit: str | None, type_: str | None, params: str | None, result: str | None
) -> Any:
    mode, selector = _pick(type_, params, result)
    from witgen.wave.wire import Wire, WireError

    try:
        return Wire.open(wit, mode, selector)
    except WireError as exc:
        _fail(str(exc))
    except Exception as exc:  # a generation failure (name collision, unsupported item)
        if type(exc).__name__ != "CodegenError":
            raise
        _fail(f"cannot generate bindings: {exc}")


@click.group(epilog=SELECTOR_HELP)
def wire() -> None:
    """Encode WAVE values to wire bytes and decode bytes to WAVE, with the generated codec."""


@wire.command(epilog=SELECTOR_HELP)
@_selector
@click.argument("value", nargs=-1, required=True)
def encode(
    wit: str | None,
    type_: str | None,
    params: str | None,
    result: str | None,
    value: tuple[str, ...],
) -> None:
    """Print the encoding of VALUE as lower-case hex."""
    from witgen.wave.wire import WireError

    engine = _open(wit, type_, params, result)
    try:
        data = engine.encode(" ".join(value))
    except WireError as exc:
        _fail(str(exc))
    click.echo(data.hex())


@wire.command(epilog=SELECTOR_HELP)
@_selector
@click.argument("hex_digits", metavar="HEX", nargs=-1, required=True)
def decode(
    wit: str | None,
    type_: str | None,
    params: str | None,
    result: str | None,
    hex_digits: tuple[str, ...],
) -> None:
    """Print the value encoded by HEX (spaces allowed; `-` reads raw bytes from stdin)."""
    from witgen.wave.wire import WireError, parse_hex

    engine = _open(wit, type_, params, result)
    try:
        if hex_digits == ("-",):
            data = sys.stdin.buffer.read()
        else:
            data = parse_hex(" ".join(hex_digits))
        text = engine.decode(data)
    except WireError as exc:
        _fail(str(exc))
    click.echo(text)
