"""Serving dispatch tables over TCP until told to stop (the serve entry point's `--tcp`)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence

from witgen.runtime.dispatch import DispatchTable
from witgen.runtime.errors import BusError
from witgen.runtime.tcp.address import parse_address
from witgen.runtime.tcp.bus import TcpBus
from witgen.runtime.wrpc.engine import DEFAULT_MAX_PARAMS
from witgen.runtime.wrpc.workers import DEFAULT_QUEUE, DEFAULT_WORKERS

__all__ = ["serve_tcp"]


async def serve_tcp(
    tables: Sequence[DispatchTable],
    address: str,
    *,
    stop: asyncio.Event,
    ready: str = "serving",
    workers: int = DEFAULT_WORKERS,
    queue: int = DEFAULT_QUEUE,
    max_params: int = DEFAULT_MAX_PARAMS,
    grace: float = 10.0,
) -> int:
    """Listen on `address` (`HOST:PORT`, `tcp://` allowed) and answer calls until `stop`
    is set; print `<ready> <instances> over TCP on HOST:PORT` to stderr once listening.
    The exit status: 0, or 1 with one line on stderr when it cannot listen."""
    try:
        host, port = parse_address(address, listen=True)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    bus = await TcpBus.connect((host, port), max_workers=workers, max_queued=queue, max_params=max_params)
    try:
        try:
            for table in tables:
                await bus.serve_async(table)
        except BusError as exc:
            print(f"error: {exc}", file=sys.stderr, flush=True)
            return 1
        instances = ", ".join(i or "(world functions)" for t in tables for i in t.instances)
        print(f"{ready} {instances} over TCP on {bus.address}", file=sys.stderr, flush=True)
        await stop.wait()
    finally:
        await bus.close_async(grace)
    return 0
