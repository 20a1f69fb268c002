"""The calling side of wRPC over NATS: one wildcard subscription per connection.

Every call gets an inbox `R_c = <inbox>.<n>` under the connection's own inbox
`<inbox>`, whose single subscription `<inbox>.>` receives both the handshake (on
`R_c`) and the results (on `R_c.results`) of every call in flight:

    PUB <invocation subject> R_c  <parameters, cut at the server's max payload>
    MSG R_c  reply R_s            handshake -> PUB R_s.params <rest>...; PUB R_s.params ""
    MSG R_c.results <chunk>...    results, then an empty message: end of results

An end of results that carries the `witgen-error` header (or a no-responders
status) raises the matching `BusError`; a timeout raises `BusTimeout`.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import TYPE_CHECKING, Any

from witgen.runtime.bus import (
    BusError,
    BusTimeout,
    InvalidHandle,
    InvalidPayload,
    ProviderFailure,
    TransportError,
    UnknownOperation,
)
from witgen.runtime.nats.subjects import ERROR_HEADER, ERROR_KIND_HEADER, header_size

if TYPE_CHECKING:
    from nats.aio.client import Client as NATS
    from nats.aio.msg import Msg

__all__ = ["Caller", "ERROR_KINDS", "error_kind"]

# `witgen-error-kind` header value <-> the error the caller raises.
ERROR_KINDS: dict[str, type[BusError]] = {
    "unknown-operation": UnknownOperation,
    "invalid-payload": InvalidPayload,
    "invalid-handle": InvalidHandle,
    "provider-failure": ProviderFailure,
    "timeout": BusTimeout,
    "transport": TransportError,
}


def error_kind(exc: BusError) -> str:
    """The header value naming `exc`'s class (its nearest known base)."""
    for kind, cls in ERROR_KINDS.items():
        if isinstance(exc, cls):
            return kind
    return "provider-failure"


class _Exchange:
    __slots__ = ("future", "instance", "function", "rest", "chunks")

    def __init__(
        self, future: asyncio.Future[bytes], instance: str, function: str, rest: bytes
    ) -> None:
        self.future = future
        self.instance = instance
        self.function = function
        self.rest = rest  # parameter bytes beyond the server's max payload
        self.chunks: list[bytes] = []


def _expire(ex: _Exchange, timeout: float) -> None:
    if not ex.future.done():
        ex.future.set_exception(
            BusTimeout(f"no result within {timeout:g} s", ex.instance, ex.function)
        )


class Caller:
    """Calls made on one NATS connection (see the module docstring)."""

    def __init__(self, nc: NATS) -> None:
        self.nc = nc
        self.inbox = nc.new_inbox()
        self._skip = len(self.inbox) + 1
        self._pending: dict[str, _Exchange] = {}
        self._ids = itertools.count(1)
        self._sub: Any = None

    async def start(self) -> None:
        self._sub = await self.nc.subscribe(
            self.inbox + ".>", cb=self._on_message, pending_msgs_limit=-1, pending_bytes_limit=-1
        )

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    async def call(
        self,
        subject: str,
        instance: str,
        function: str,
        payload: bytes,
        headers: dict[str, str] | None,
        timeout: float | None,
    ) -> bytes:
        """One wRPC exchange; the encoded result, or a `BusError`."""
        loop = asyncio.get_running_loop()
        cid = str(next(self._ids))
        future: asyncio.Future[bytes] = loop.create_future()
        cut = self.nc.max_payload - header_size(headers)
        rest = b""
        if len(payload) > cut:
            payload, rest = payload[:cut], payload[cut:]
        ex = _Exchange(future, instance, function, rest)
        self._pending[cid] = ex
        timer = loop.call_later(timeout, _expire, ex, timeout) if timeout else None
        try:
            try:
                await self.nc.publish(subject, payload, reply=f"{self.inbox}.{cid}", headers=headers)
            except Exception as exc:
                raise TransportError(
                    f"cannot publish the call: {_describe(exc)}", instance, function
                ) from None
            return await future
        finally:
            del self._pending[cid]
            if timer is not None:
                timer.cancel()

    def fail_all(self, error: str) -> None:
        """End every call in flight with a `TransportError` (the connection closed)."""
        for ex in list(self._pending.values()):
            if not ex.future.done():
                ex.future.set_exception(TransportError(error, ex.instance, ex.function))

    async def _on_message(self, msg: Msg) -> None:
        cid, dot, leg = msg.subject[self._skip :].partition(".")
        ex = self._pending.get(cid)
        if ex is None or ex.future.done():
            return  # a late message of a call that timed out or was cancelled
        if leg == "results":
            data = msg.data
            if data:
                ex.chunks.append(data)
                return
            headers = msg.headers
            if headers and ERROR_HEADER in headers:
                cls = ERROR_KINDS.get(headers.get(ERROR_KIND_HEADER, ""), ProviderFailure)
                ex.future.set_exception(
                    cls(
                        f"results ended without a value ({headers[ERROR_HEADER]})",
                        ex.instance,
                        ex.function,
                    )
                )
            elif len(ex.chunks) == 1:
                ex.future.set_result(ex.chunks[0])
            else:
                ex.future.set_result(b"".join(ex.chunks))
            return
        if dot:
            return  # nested result paths (futures, streams) are not used
        headers = msg.headers
        if headers and headers.get("Status") == "503":
            ex.future.set_exception(
                UnknownOperation(
                    "no responders: nothing on the lattice serves this operation",
                    ex.instance,
                    ex.function,
                )
            )
            return
        reply = msg.reply
        if not reply:
            return
        # The handshake: send what did not fit, then close the parameter stream.
        params = reply + ".params"
        nc = self.nc
        try:
            if ex.rest:
                rest, ex.rest = ex.rest, b""
                size = nc.max_payload
                for at in range(0, len(rest), size):
                    await nc.publish(params, rest[at : at + size])
            await nc.publish(params, b"")
        except Exception as exc:
            if not ex.future.done():
                ex.future.set_exception(
                    TransportError(
                        f"cannot send the parameters: {_describe(exc)}", ex.instance, ex.function
                    )
                )


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if text.startswith("nats") else f"{type(exc).__name__}: {text}"
