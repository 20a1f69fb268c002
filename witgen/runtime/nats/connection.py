"""Opening a NATS connection that survives what any client on the server can send.

nats-py's header parser raises on a malformed header block (an empty block, or
`XXXX\\r\\n\\r\\n`), and the exception ends the connection's read loop: the
process stays up, deaf, until the stale-connection check reconnects minutes
later. Connections witgen opens parse header blocks defensively (a malformed
block is dropped, the message delivered without headers, one throttled log
line; client.py), and a watchdog restarts a read loop that ended while connected:
the client reconnects within a second and goes on.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from witgen.runtime.errors import TransportError

if TYPE_CHECKING:
    from nats.aio.client import Client as NATS

__all__ = ["WATCH_INTERVAL", "client_class", "open_connection", "watch"]

log = logging.getLogger("witgen.runtime.nats")

WATCH_INTERVAL = 0.5


def client_class() -> type[NATS]:
    """nats-py's client with a header parser that cannot end its read loop, and direct
    subscriptions and publishing for witgen's own use (client.py)."""
    from witgen.runtime.nats.client import WitgenClient

    return WitgenClient


async def watch(nc: NATS, interval: float = WATCH_INTERVAL) -> None:
    """Until `nc` closes: reconnect when its read loop ended while it seemed connected."""
    from nats.errors import UnexpectedEOF

    while not nc.is_closed:
        await asyncio.sleep(interval)
        reading = getattr(nc, "_reading_task", None)
        if nc.is_connected and reading is not None and reading.done():
            log.warning("nats: the connection stopped reading; reconnecting")
            try:
                await nc._process_op_err(UnexpectedEOF())
            except Exception as exc:  # pragma: no cover - depends on nats-py internals
                log.warning("nats: cannot reconnect: %s", exc)


async def open_connection(
    servers: Sequence[str],
    *,
    describe: str,
    creds: str | None = None,
    tls: ssl.SSLContext | None = None,
    tls_ca: str | None = None,
    name: str | None = None,
    reconnect_wait: float = 1.0,
    connect_timeout: float = 2.0,
    disconnected: Callable[[], None] | None = None,
) -> NATS:
    """A connected client to one of `servers`; `TransportError` when none answers.

    `describe` names the servers in messages (passwords redacted). Once connected
    the client reconnects forever, to any of the servers it knows; `disconnected`
    is called each time the connection is lost.
    """
    nc = client_class()()
    connected = False
    first_errors: list[Exception] = []

    async def on_error(exc: Exception) -> None:
        # Before the first connect succeeds, the one TransportError below says it all.
        if not connected:
            first_errors.append(exc)
        level = logging.WARNING if connected else logging.DEBUG
        log.log(level, "nats: %s", str(exc) or type(exc).__name__)

    async def on_disconnect() -> None:
        log.info("nats: disconnected from %s", describe)
        if disconnected is not None and connected:
            disconnected()

    async def on_reconnect() -> None:
        log.info("nats: reconnected to %s", describe)

    options: dict[str, Any] = {
        "servers": list(servers),
        "name": name,
        "allow_reconnect": True,
        "max_reconnect_attempts": 1,  # the first connect fails fast; see below
        "reconnect_time_wait": reconnect_wait,
        "connect_timeout": connect_timeout,
        "error_cb": on_error,
        "disconnected_cb": on_disconnect,
        "reconnected_cb": on_reconnect,
    }
    if creds:
        options["user_credentials"] = creds
    if tls is None and (any(s.startswith("tls://") for s in servers) or tls_ca):
        try:
            tls = ssl.create_default_context(cafile=tls_ca)
        except (OSError, ssl.SSLError) as exc:
            raise TransportError(f"cannot read the CA file {tls_ca}: {exc}") from None
    if tls is not None:
        options["tls"] = tls
    # nats-py may wait without end on a second attempt after a failed TLS handshake.
    limit = len(servers) * (2 * connect_timeout + reconnect_wait) + 1
    try:
        await asyncio.wait_for(nc.connect(**options), limit)
    except Exception as exc:
        try:
            await nc.close()
        except Exception:
            pass
        if isinstance(exc, TimeoutError):
            reason = _reason(first_errors[0]) if first_errors else f"no answer within {limit:g} s"
        else:
            reason = _reason(first_errors[0] if first_errors and "no servers" in str(exc) else exc)
        raise TransportError(f"cannot connect to {describe}: {reason}") from None
    nc.options["max_reconnect_attempts"] = -1  # once connected, reconnect forever
    connected = True
    return nc


def _reason(exc: BaseException) -> str:
    from witgen.runtime.urls import redact

    text = str(exc)
    if not text or text == "nats: no servers available for connection":
        return "no server answers there" if not text else text
    return redact(text)
