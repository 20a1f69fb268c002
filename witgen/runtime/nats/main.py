"""The serve entry point: connect, serve dispatch tables under a prefix, drain on a signal.

    from witgen.runtime.nats.main import add_arguments, serve_forever

    parser = argparse.ArgumentParser()
    add_arguments(parser)                       # --nats URL --prefix P --creds FILE ...
    args = parser.parse_args()
    sys.exit(serve_forever([table], args.nats, prefix=args.prefix, creds=args.creds))

`serve_forever` answers wRPC invocations and plain request/reply calls for every
table until SIGINT or SIGTERM, then stops taking calls, lets those in flight
finish, drains the connection and returns 0. It prints one line to stderr once
it serves ("serving ... on URL under prefix P") and returns 1 with a one-line
message when it cannot connect.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence

from witgen.runtime.bus import BusError
from witgen.runtime.dispatch import DispatchTable
from witgen.runtime.nats.bus import NatsBus

__all__ = ["add_arguments", "serve", "serve_forever"]

READY = "serving"
SWITCH_INTERVAL = 0.001


def add_arguments(parser: argparse.ArgumentParser, *, required: bool = False) -> None:
    """The options of a NATS-serving process: --nats, --prefix, --creds, --name."""
    parser.add_argument(
        "--nats", metavar="URL", required=required, help="serve on the NATS server at URL (nats:// or tls://)"
    )
    parser.add_argument("--prefix", default="", help="subject prefix, e.g. default.ollama (also the queue group)")
    parser.add_argument("--creds", metavar="FILE", help="NATS credentials file")
    parser.add_argument("--name", help="connection name shown by the NATS server")


async def serve(
    tables: Sequence[DispatchTable],
    url: str,
    *,
    prefix: str = "",
    creds: str | None = None,
    name: str | None = None,
    stop: asyncio.Event | None = None,
) -> int:
    """`serve_forever` on the running loop; returns when `stop` is set or on a signal."""
    try:
        bus = await NatsBus.connect(url, prefix=prefix, creds=creds, name=name)
    except BusError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # not the main thread
            pass
    try:
        for table in tables:
            await bus.serve_async(table)
        instances = ", ".join(i or "(world functions)" for t in tables for i in t.instances)
        where = f" under prefix {prefix}" if prefix else ""
        print(f"{READY} {instances} on {url}{where}", file=sys.stderr, flush=True)
        await stop.wait()
    finally:
        await bus.close_async()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.remove_signal_handler(sig)
            except (NotImplementedError, RuntimeError):
                pass
    return 0


def serve_forever(
    tables: Sequence[DispatchTable],
    url: str,
    *,
    prefix: str = "",
    creds: str | None = None,
    name: str | None = None,
    switch_interval: float | None = SWITCH_INTERVAL,
) -> int:
    """Serve `tables` on the NATS server at `url` until SIGINT/SIGTERM; the exit status.

    The process's GIL switch interval is lowered to `switch_interval` seconds
    (None: left as it is): sync provider methods run in worker threads, and with
    Python's default of 5 ms the connection's thread waits for them after every
    socket operation (a convoy that halves throughput under load).
    """
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    if switch_interval is not None:
        sys.setswitchinterval(switch_interval)
    return asyncio.run(serve(tables, url, prefix=prefix, creds=creds, name=name))
