"""The serve entry point: connect, serve dispatch tables under a prefix, drain on a signal.

    from witgen.runtime.nats.main import add_arguments, serve_forever

    parser = argparse.ArgumentParser()
    add_arguments(parser)                       # --nats URL --prefix P --creds FILE ...
    args = parser.parse_args()
    sys.exit(serve_forever([table], args.nats, prefix=args.prefix, creds=args.creds,
                           tls_ca=args.tls_ca, **limits(args)))

`serve_forever` answers wRPC invocations and plain request/reply calls for every
table until SIGINT or SIGTERM, then stops taking calls, lets those in flight
finish, drains the connection and returns 0. It prints one line to stderr once
it serves ("serving ... on URL under prefix P") and returns 1 with a one-line
message when it cannot connect.

`--tcp HOST:PORT` (instead of `--nats`) serves wRPC over framed TCP: it leaves
`tcp://HOST:PORT` in `args.nats`, and `serve_forever` given such a URL listens
there ("serving ... over TCP on HOST:PORT"; port 0 picks a free port). Unless logging is configured already, every
failed exchange logs one line to stderr (an exception with its last frame).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import traceback
from collections.abc import Sequence
from types import TracebackType

from witgen.runtime.bus import BusError
from witgen.runtime.dispatch import DispatchTable
from witgen.runtime.nats.bus import NatsBus
from witgen.runtime.wrpc.engine import DEFAULT_MAX_PARAMS
from witgen.runtime.wrpc.workers import DEFAULT_QUEUE, DEFAULT_WORKERS

__all__ = ["add_arguments", "limits", "serve", "serve_forever"]

READY = "serving"
SWITCH_INTERVAL = 0.001


class OneLineFormatter(logging.Formatter):
    """Log records on one line each; an exception as `Type: message at file:line`."""

    def formatException(
        self,
        ei: tuple[type[BaseException], BaseException, TracebackType | None]
        | tuple[None, None, None],
    ) -> str:
        exc, tb = ei[1], ei[2]
        if exc is None:
            return ""
        frames = traceback.extract_tb(tb) if tb is not None else []
        where = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
        return f"{type(exc).__name__}: {exc}{where}"

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace("\n", ": ")


def add_arguments(parser: argparse.ArgumentParser, *, required: bool = False) -> None:
    """The options of a serving process: --nats or --tcp, --prefix, --creds, --name, limits."""
    endpoint = parser.add_mutually_exclusive_group(required=required)
    endpoint.add_argument(
        "--nats",
        metavar="URL",
        help="serve on the NATS server at URL (nats://, tls://, ws:// or wss://; several, comma-separated, for a cluster)",
    )
    endpoint.add_argument(
        "--tcp",
        metavar="HOST:PORT",
        dest="nats",
        type=_tcp_endpoint,
        help="serve wRPC over framed TCP, listening on HOST:PORT (IPv6 as [::1]:7761; port 0: a free port)",
    )
    parser.add_argument("--prefix", default="", help="subject prefix, e.g. default.ollama (also the queue group)")
    parser.add_argument("--creds", metavar="FILE", help="NATS credentials file")
    parser.add_argument("--tls-ca", metavar="FILE", help="CA certificates to trust for tls:// URLs")
    parser.add_argument("--name", help="connection name shown by the NATS server")
    parser.add_argument(
        "--workers",
        type=_positive,
        default=DEFAULT_WORKERS,
        help=f"threads for sync provider methods running at once (default {DEFAULT_WORKERS})",
    )
    parser.add_argument(
        "--queue",
        type=_not_negative,
        default=DEFAULT_QUEUE,
        help=f"calls waiting for a thread before callers are told the provider is busy (default {DEFAULT_QUEUE})",
    )
    parser.add_argument(
        "--max-params",
        type=_positive,
        default=DEFAULT_MAX_PARAMS,
        metavar="BYTES",
        help=f"largest parameters a call may send (default {DEFAULT_MAX_PARAMS})",
    )


def _tcp_endpoint(text: str) -> str:
    from witgen.runtime.tcp.address import SCHEME, format_address, parse_address

    try:
        return SCHEME + format_address(*parse_address(text, listen=True))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive(text: str) -> int:
    value = _not_negative(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return value


def _not_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is negative")
    return value


async def serve(
    tables: Sequence[DispatchTable],
    url: str,
    *,
    prefix: str = "",
    creds: str | None = None,
    tls_ca: str | None = None,
    name: str | None = None,
    stop: asyncio.Event | None = None,
    workers: int = DEFAULT_WORKERS,
    queue: int = DEFAULT_QUEUE,
    max_params: int = DEFAULT_MAX_PARAMS,
) -> int:
    """`serve_forever` on the running loop; returns when `stop` is set or on a signal."""
    if url[:6].lower() == "tcp://":
        return await _serve_tcp(tables, url, prefix, creds, tls_ca, name, stop, workers, queue, max_params)
    try:
        bus = await NatsBus.connect(
            url,
            prefix=prefix,
            creds=creds,
            tls_ca=tls_ca,
            name=name,
            max_workers=workers,
            max_queued=queue,
            max_params=max_params,
        )
    except BusError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    _on_signals(loop, stop)
    try:
        for table in tables:
            await bus.serve_async(table)
        instances = ", ".join(i or "(world functions)" for t in tables for i in t.instances)
        where = f" under prefix {prefix}" if prefix else ""
        print(f"{READY} {instances} on {bus.url}{where}", file=sys.stderr, flush=True)
        await stop.wait()
    finally:
        await bus.close_async()
        _off_signals(loop)
    return 0


async def _serve_tcp(
    tables: Sequence[DispatchTable],
    url: str,
    prefix: str,
    creds: str | None,
    tls_ca: str | None,
    name: str | None,
    stop: asyncio.Event | None,
    workers: int,
    queue: int,
    max_params: int,
) -> int:
    from witgen.runtime.tcp.serve import serve_tcp

    given = (("--prefix", prefix), ("--creds", creds), ("--tls-ca", tls_ca), ("--name", name))
    unused = [flag for flag, value in given if value]
    if unused:
        print(
            f"error: {' and '.join(unused)} {'is' if len(unused) == 1 else 'are'} for --nats only"
            " (TCP has no subjects, credentials or connection names)",
            file=sys.stderr,
            flush=True,
        )
        return 2
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    _on_signals(loop, stop)
    try:
        return await serve_tcp(tables, url, stop=stop, ready=READY, workers=workers, queue=queue, max_params=max_params)
    finally:
        _off_signals(loop)


def _on_signals(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # not the main thread
            pass


def _off_signals(loop: asyncio.AbstractEventLoop) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.remove_signal_handler(sig)
        except (NotImplementedError, RuntimeError):
            pass


def serve_forever(
    tables: Sequence[DispatchTable],
    url: str,
    *,
    prefix: str = "",
    creds: str | None = None,
    tls_ca: str | None = None,
    name: str | None = None,
    switch_interval: float | None = SWITCH_INTERVAL,
    workers: int = DEFAULT_WORKERS,
    queue: int = DEFAULT_QUEUE,
    max_params: int = DEFAULT_MAX_PARAMS,
) -> int:
    """Serve `tables` on the NATS server at `url` (or over TCP for a `tcp://HOST:PORT`
    URL) until SIGINT/SIGTERM; the exit status.

    The process's GIL switch interval is lowered to `switch_interval` seconds
    (None: left as it is): sync provider methods run in worker threads, and with
    Python's default of 5 ms the connection's thread waits for them after every
    socket operation (a convoy that halves throughput under load).
    """
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(OneLineFormatter("%(name)s: %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.WARNING)
    if switch_interval is not None:
        sys.setswitchinterval(switch_interval)
    return asyncio.run(
        serve(
            tables,
            url,
            prefix=prefix,
            creds=creds,
            tls_ca=tls_ca,
            name=name,
            workers=workers,
            queue=queue,
            max_params=max_params,
        )
    )


def limits(args: argparse.Namespace) -> dict[str, int]:
    """The serving limits `add_arguments` read, as keyword arguments of `serve_forever`."""
    return {"workers": args.workers, "queue": args.queue, "max_params": args.max_params}
