"""wRPC over framed TCP (SPEC.md): `TcpBus`, the `Bus` protocol on one connection per call.

    frames.py    the bytes: version byte, header, frames of (path, data), witgen's error frame
    paths.py     frames of one direction -> a byte source per path
    client.py    `TcpCall`: the calling end of one invocation (the engine's `Outgoing`)
    server.py    `TcpListener` and `TcpIncoming`: the serving end (the engine's `Incoming`)
    bus.py       `TcpBus`, `TcpServing`
    serve.py     serving tables until a signal (the serve entry point's `--tcp`)
    address.py   `HOST:PORT` and `[IPv6]:PORT`

Standard library only (no extra to install).
"""

from __future__ import annotations

from witgen.runtime.tcp.address import format_address, parse_address
from witgen.runtime.tcp.bus import DEFAULT_TIMEOUT, TcpBus, TcpServing

__all__ = ["DEFAULT_TIMEOUT", "TcpBus", "TcpServing", "format_address", "parse_address"]
