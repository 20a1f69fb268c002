"""The serving side of wRPC over NATS, and the plain request/reply leg beside it.

Per connection and prefix three subscriptions, whatever the number of calls:
`[<prefix>.]wrpc.0.0.1.>` and `[<prefix>.]rr.0.0.1.>` in the queue group named
after the prefix (replicas share the load), and the server's own inbox
`<inbox>.>` for parameters continued on `R_s.params`.

A wRPC exchange (wire-format.md, section 3): handshake (an empty message to
`R_c`, reply `R_s`), run the operation, publish the result to `R_c.results` in
chunks of at most max payload, then an empty message. A failure (unknown
operation, parameters that do not decode, an invalid handle, a provider that
raises) closes the exchange as wRPC's writer does when dropped: the empty end
of results with no value before it, carrying the reason in the `witgen-error`
header. Parameters cut at max payload (or an empty invocation payload followed
by the parameters) are read from `R_s.params` until its empty message.

Request/reply: the body is the whole parameter tuple; the one reply is `00` +
the encoded result, or `01` + a UTF-8 error message.

Synchronous provider methods run in a bounded thread pool, async ones on the
connection's loop; the connection keeps serving meanwhile. The caller's
identity for per-caller resource handles is the `source-id` header ("" when
absent).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any

from witgen.runtime.bus import BusError, BusTimeout, InvalidPayload, ProviderFailure, UnknownOperation
from witgen.runtime.dispatch import BoundOperation, DispatchTable
from witgen.runtime.nats.caller import error_kind
from witgen.runtime.nats.subjects import (
    ERROR_HEADER,
    ERROR_KIND_HEADER,
    RR,
    SOURCE_ID,
    WRPC,
    Routes,
    base_subject,
    queue_group,
)

if TYPE_CHECKING:
    from nats.aio.client import Client as NATS
    from nats.aio.msg import Msg

__all__ = ["Responder"]

log = logging.getLogger("witgen.runtime.nats")

# An invocation payload this close to max payload may have been cut by the caller.
_CUT_SLACK = 4096


class Responder:
    """Serves the dispatch tables of one prefix on one connection."""

    def __init__(
        self, nc: NATS, prefix: str, pool: Executor, continuation_timeout: float = 10.0
    ) -> None:
        self.nc = nc
        self.prefix = prefix
        self.routes = Routes()
        self.pool = pool
        self.continuation_timeout = continuation_timeout
        self.inbox = nc.new_inbox()
        self._wrpc = base_subject(prefix, WRPC)
        self._rr = base_subject(prefix, RR)
        self._ids = itertools.count(1)
        self._waiting: dict[str, asyncio.Queue[bytes]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._subs: list[Any] = []

    async def start(self) -> None:
        group = queue_group(self.prefix)
        nc = self.nc
        unlimited: dict[str, Any] = {"pending_msgs_limit": -1, "pending_bytes_limit": -1}
        self._subs = [
            await nc.subscribe(self._wrpc + ".>", queue=group, cb=self._on_invocation, **unlimited),
            await nc.subscribe(self._rr + ".>", queue=group, cb=self._on_request, **unlimited),
            await nc.subscribe(self.inbox + ".>", cb=self._on_params, **unlimited),
        ]

    async def stop(self, grace: float = 10.0) -> None:
        """Take no new calls; let those in flight finish (at most `grace` seconds)."""
        subs, self._subs = self._subs, []
        for sub in subs[:2]:
            try:
                await sub.unsubscribe()
            except Exception as exc:  # the connection is gone already
                log.debug("unsubscribing failed: %s", exc)
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace)
        for sub in subs[2:]:
            try:
                await sub.unsubscribe()
            except Exception as exc:
                log.debug("unsubscribing failed: %s", exc)

    # ------------------------------------------------------------------ dispatch

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(
        self, table: DispatchTable, bound: BoundOperation, payload: bytes, source: str
    ) -> bytes:
        if getattr(bound, "is_async", False):
            return await table.run_async(bound, payload, source)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bytes] = loop.create_future()

        def work() -> None:
            try:
                result = table.run(bound, payload, source)
            except BaseException as exc:
                loop.call_soon_threadsafe(_settle_error, future, exc)
            else:
                loop.call_soon_threadsafe(_settle, future, result)

        self.pool.submit(work)
        return await future

    # ------------------------------------------------------------------ wRPC

    async def _on_invocation(self, msg: Msg) -> None:
        if not msg.reply:
            log.warning("%s: an invocation without a reply subject, ignored", msg.subject)
            return
        self._spawn(self._exchange(msg))

    async def _exchange(self, msg: Msg) -> None:
        nc = self.nc
        reply = msg.reply
        results = reply + ".results"
        tail = msg.subject[len(self._wrpc) + 1 :]
        route = self.routes.find(tail)
        headers = msg.headers
        source = headers.get(SOURCE_ID, "") if headers else ""
        payload = msg.data
        sid = str(next(self._ids))
        queue: asyncio.Queue[bytes] | None = None
        if route is not None and (not payload or len(payload) >= nc.max_payload - _CUT_SLACK):
            queue = self._waiting[sid] = asyncio.Queue()
        try:
            await nc.publish(reply, b"", reply=f"{self.inbox}.{sid}")  # the handshake
            if route is None:
                instance, function = self.routes.split(tail)
                raise UnknownOperation("no such operation in this provider", instance, function)
            table, bound = route
            try:
                result = await self._run(table, bound, payload, source)
            except InvalidPayload:
                if queue is None:
                    raise
                # Cut parameters: the rest follows on R_s.params, then an empty message.
                payload += await self._rest(queue, bound)
                result = await self._run(table, bound, payload, source)
        except BusError as exc:
            await self._fail(results, exc)
            return
        except Exception as exc:  # the connection failed under us
            log.warning("%s: exchange abandoned: %s", msg.subject, exc)
            return
        finally:
            if queue is not None:
                del self._waiting[sid]
        try:
            size = nc.max_payload
            if len(result) <= size:
                if result:
                    await nc.publish(results, result)
            else:
                for at in range(0, len(result), size):
                    await nc.publish(results, result[at : at + size])
            await nc.publish(results, b"")
        except Exception as exc:
            log.warning("%s: cannot send the results: %s", msg.subject, exc)

    async def _rest(self, queue: asyncio.Queue[bytes], bound: BoundOperation) -> bytes:
        parts: list[bytes] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.continuation_timeout
        while True:
            try:
                chunk = await asyncio.wait_for(queue.get(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                raise BusTimeout(
                    f"the rest of the parameters did not arrive within {self.continuation_timeout:g} s",
                    bound.instance,
                    bound.name,
                ) from None
            if not chunk:
                return b"".join(parts)
            parts.append(chunk)

    async def _fail(self, results: str, exc: BusError) -> None:
        if not isinstance(exc, ProviderFailure):  # the dispatch table logged that one
            log.warning("%s", exc)
        headers = {ERROR_HEADER: exc.message, ERROR_KIND_HEADER: error_kind(exc)}
        try:
            await self.nc.publish(results, b"", headers=headers)
        except Exception as err:
            log.warning("%s: cannot close the exchange: %s", exc.operation, err)

    async def _on_params(self, msg: Msg) -> None:
        sid, _, leg = msg.subject[len(self.inbox) + 1 :].partition(".")
        queue = self._waiting.get(sid)
        if queue is not None and leg == "params":
            queue.put_nowait(msg.data)

    # ------------------------------------------------------------------ request/reply

    async def _on_request(self, msg: Msg) -> None:
        if not msg.reply:
            log.warning("%s: a request without a reply subject, ignored", msg.subject)
            return
        self._spawn(self._request(msg))

    async def _request(self, msg: Msg) -> None:
        tail = msg.subject[len(self._rr) + 1 :]
        route = self.routes.find(tail)
        headers = msg.headers
        source = headers.get(SOURCE_ID, "") if headers else ""
        try:
            if route is None:
                instance, function = self.routes.split(tail)
                raise UnknownOperation("no such operation in this provider", instance, function)
            result = await self._run(route[0], route[1], msg.data, source)
            if len(result) + 1 > self.nc.max_payload:
                raise ProviderFailure(
                    f"the result ({len(result)} bytes) exceeds the max payload: use wRPC",
                    route[1].instance,
                    route[1].name,
                )
            answer = b"\x00" + result
        except BusError as exc:
            if not isinstance(exc, ProviderFailure) or "max payload" in exc.message:
                log.warning("%s", exc)
            answer = b"\x01" + str(exc).encode()
        try:
            await self.nc.publish(msg.reply, answer)
        except Exception as exc:
            log.warning("%s: cannot reply: %s", msg.subject, exc)


def _settle(future: asyncio.Future[bytes], result: bytes) -> None:
    if not future.done():
        future.set_result(result)


def _settle_error(future: asyncio.Future[bytes], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
