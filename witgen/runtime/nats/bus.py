"""`NatsBus`: the `Bus` protocol on a NATS connection, speaking wRPC.

    bus = await NatsBus.connect("nats://127.0.0.1:4222", prefix="default.ollama")
    await bus.invoke_async("ollama:llm/llm", "chat", payload)     # asyncio
    bus = NatsBus.connect_sync("nats://127.0.0.1:4222")            # its own loop thread
    bus.invoke("ollama:llm/llm", "chat", payload)                  # sync, from any thread
    serving = bus.serve(table)                                     # answer calls

A bus is one endpoint: a connection, a subject prefix (`<lattice>.<target>` in
wasmCloud), a source id sent as the `source-id` header (none when empty) and a
default timeout (10 s, wasmCloud's invocation timeout). `endpoint(...)` makes
another endpoint on the same connection.

The URL may name several servers (`nats://a:4222,nats://b:4222`, or a list), as
for a NATS cluster: the connection goes to one and, once connected, reconnects
forever to any of them. Calls in flight when the connection is lost end with a
`TransportError` at once; they are not retried (a call need not be idempotent).

The exchange itself is the engine's (`witgen.runtime.wrpc`); this module keeps
the connection's lifecycle and what its endpoints share.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
from collections.abc import Coroutine, Mapping
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from witgen.runtime.bus import BusError, TransportError
from witgen.runtime.dispatch import DispatchTable
from witgen.runtime.nats.client import check_subject, header_block
from witgen.runtime.nats.connection import open_connection, watch
from witgen.runtime.nats.subjects import (
    ANSWER_HEADER,
    LINK_NAME,
    SOURCE_ID,
    TIMEOUT_HEADER,
    WRPC,
    check_prefix,
    invocation_subject,
)
from witgen.runtime.nats.transport import DEFAULT_MAX_RESULT, NatsCaller, NatsResponder
from witgen.runtime.urls import describe, split_servers
from witgen.runtime.wrpc import engine
from witgen.runtime.wrpc.loop import LoopThread
from witgen.runtime.wrpc.routes import Routes
from witgen.runtime.wrpc.workers import DEFAULT_QUEUE, DEFAULT_WORKERS, Workers

if TYPE_CHECKING:
    from nats.aio.client import Client as NATS

__all__ = ["DEFAULT_TIMEOUT", "Limits", "NatsBus", "NatsServing"]

log = logging.getLogger("witgen.runtime.nats")

DEFAULT_TIMEOUT = 10.0
T = TypeVar("T")


class Limits:
    """What a serving connection allows (the provider's declared needs)."""

    __slots__ = ("workers", "queue", "max_params", "max_result")

    def __init__(
        self,
        workers: int = DEFAULT_WORKERS,
        queue: int = DEFAULT_QUEUE,
        max_params: int = engine.DEFAULT_MAX_PARAMS,
        max_result: int = DEFAULT_MAX_RESULT,
    ) -> None:
        if workers < 1 or queue < 0 or max_params < 1 or max_result < 1:
            raise ValueError("workers, max_params and max_result must be positive, the queue not negative")
        self.workers = workers
        self.queue = queue
        self.max_params = max_params
        self.max_result = max_result


class _Link:
    """What endpoints of one connection share."""

    def __init__(self, nc: NATS, url: str, limits: Limits) -> None:
        self.nc = nc
        self.url = url  # the servers, passwords redacted
        self.loop = asyncio.get_running_loop()
        self.thread_id = threading.get_ident()
        self.owner: LoopThread | None = None
        self.caller = NatsCaller(nc, limits.max_result)
        self.responders: dict[str, NatsResponder] = {}
        self.limits = limits
        self.workers: Workers | None = None
        self.lock = asyncio.Lock()
        self.closed = False
        self.watchdog = self.loop.create_task(watch(nc))

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the connection's loop from another thread and wait for it."""
        if threading.get_ident() == self.thread_id:
            coro.close()
            raise BusError(
                "a synchronous call on the bus's own event loop would wait for itself:"
                " use the async form there"
            )
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    async def responder(self, prefix: str) -> NatsResponder:
        async with self.lock:
            found = self.responders.get(prefix)
            if found is None:
                if self.workers is None:
                    self.workers = Workers(self.limits.workers, self.limits.queue)
                server = engine.Server(Routes(), self.workers, max_params=self.limits.max_params)
                found = NatsResponder(self.nc, prefix, server)
                await found.start()
                self.responders[prefix] = found
            return found

    async def close(self, grace: float) -> None:
        if self.closed:
            return
        self.closed = True
        for responder in self.responders.values():
            await responder.stop(grace)
            routes = responder.server.routes
            for table in list(routes.tables):
                routes.remove(table)
                table.handles.release_all()
        try:
            await self.nc.drain()
        except Exception as exc:
            log.debug("drain failed: %s", exc)
            await self.nc.close()
        self.watchdog.cancel()
        self.caller.fail_all("the connection was closed")
        if self.workers is not None:
            self.workers.shutdown()


class NatsServing:
    """A dispatch table served on a NATS endpoint; `close()` stops serving it."""

    def __init__(self, responder: NatsResponder, table: DispatchTable) -> None:
        self.responder = responder
        self.table = table

    def close(self) -> None:
        self.responder.server.routes.remove(self.table)
        self.table.handles.release_all()

    def __enter__(self) -> NatsServing:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class NatsBus:
    """One endpoint on a NATS lattice (see the module docstring)."""

    __slots__ = (
        "_link",
        "prefix",
        "_source",
        "link_name",
        "timeout",
        "_headers",
        "_extra",
        "_subjects",
        "_timed",
    )

    def __init__(
        self,
        link: _Link,
        *,
        prefix: str = "",
        source: str = "",
        link_name: str = "",
        timeout: float | None = DEFAULT_TIMEOUT,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self._link = link
        try:
            self.prefix = check_prefix(prefix)
        except ValueError as exc:
            raise BusError(str(exc)) from None
        self._source = source
        self.link_name = link_name
        self.timeout = timeout
        # Extra headers sent with every call (wasmCloud's `target-id`, say).
        self._extra = dict(headers or {})
        sent = dict(self._extra)
        if source:
            sent[SOURCE_ID] = source
        if link_name:
            sent[LINK_NAME] = link_name
        self._headers = sent
        self._subjects: dict[tuple[str, str], str] = {}
        # Per timeout: the headers of a call and their block as sent.
        self._timed: dict[float | None, tuple[dict[str, str] | None, bytes | None]] = {}

    def __repr__(self) -> str:
        return f"<NatsBus {self._link.url} prefix={self.prefix!r} source={self._source!r}>"

    # ------------------------------------------------------------------ connecting

    @classmethod
    async def connect(
        cls,
        url: str | Sequence[str] = "nats://127.0.0.1:4222",
        *,
        prefix: str = "",
        source: str = "",
        link_name: str = "",
        timeout: float | None = DEFAULT_TIMEOUT,
        creds: str | None = None,
        tls: ssl.SSLContext | None = None,
        tls_ca: str | None = None,
        name: str | None = None,
        max_workers: int = DEFAULT_WORKERS,
        max_queued: int = DEFAULT_QUEUE,
        max_params: int = engine.DEFAULT_MAX_PARAMS,
        max_result: int = DEFAULT_MAX_RESULT,
        reconnect_wait: float = 1.0,
        connect_timeout: float = 2.0,
    ) -> NatsBus:
        """Connect on the running loop; `TransportError` when no server is reachable.

        `url` is one server, a comma-separated list or a list (a cluster). `creds`
        is a NATS credentials file; a `tls://` URL uses TLS (with `tls`, or the
        system's default context, trusting `tls_ca` too when given). Serving
        endpoints run sync provider methods on at most `max_workers` threads with
        `max_queued` calls waiting (then `ProviderBusy`), and refuse parameters
        over `max_params` bytes; calls refuse results over `max_result` bytes.
        """
        try:
            servers = split_servers(url)
        except ValueError as exc:
            raise TransportError(str(exc)) from None
        try:
            limits = Limits(max_workers, max_queued, max_params, max_result)
            check_prefix(prefix)
        except ValueError as exc:
            raise BusError(str(exc)) from None
        shown = describe(servers)
        link: _Link | None = None

        def lost() -> None:
            # Answers published while the connection was down are gone: end those calls now
            # rather than at their timeout (they are not retried: they may have run).
            if link is not None:
                link.caller.fail_all(f"the connection to {shown} was lost during the call")

        nc = await open_connection(
            servers,
            describe=shown,
            creds=creds,
            tls=tls,
            tls_ca=tls_ca,
            name=name,
            reconnect_wait=reconnect_wait,
            connect_timeout=connect_timeout,
            disconnected=lost,
        )
        link = _Link(nc, shown, limits)
        await link.caller.start()
        return cls(link, prefix=prefix, source=source, link_name=link_name, timeout=timeout)

    @classmethod
    async def attach(
        cls,
        nc: NATS,
        *,
        url: str = "",
        prefix: str = "",
        source: str = "",
        link_name: str = "",
        timeout: float | None = DEFAULT_TIMEOUT,
        max_workers: int = DEFAULT_WORKERS,
        max_queued: int = DEFAULT_QUEUE,
        max_params: int = engine.DEFAULT_MAX_PARAMS,
    ) -> NatsBus:
        """A bus on a nats-py client connected by the caller (its own auth, say).

        Call it on the client's loop; closing the bus drains the client.
        """
        shown = describe([url]) if url else describe([nc.connected_url.geturl()]) if nc.connected_url else ""
        link = _Link(nc, shown, Limits(max_workers, max_queued, max_params))
        await link.caller.start()
        return cls(link, prefix=prefix, source=source, link_name=link_name, timeout=timeout)

    @classmethod
    def connect_sync(cls, url: str = "nats://127.0.0.1:4222", **options: Any) -> NatsBus:
        """`connect` on a new event loop in a daemon thread, for synchronous users."""
        owner = LoopThread("witgen-nats")
        try:
            bus: NatsBus = asyncio.run_coroutine_threadsafe(
                cls.connect(url, **options), owner.loop
            ).result()
        except BaseException:
            owner.stop()
            raise
        bus._link.owner = owner
        return bus

    def endpoint(
        self,
        *,
        prefix: str | None = None,
        source: str | None = None,
        link_name: str | None = None,
        timeout: float | None = -1.0,
        headers: Mapping[str, str] | None = None,
    ) -> NatsBus:
        """Another endpoint on this connection (what is not given stays as it is)."""
        return NatsBus(
            self._link,
            prefix=self.prefix if prefix is None else prefix,
            source=self._source if source is None else source,
            link_name=self.link_name if link_name is None else link_name,
            timeout=self.timeout if timeout == -1.0 else timeout,
            headers=self._extra if headers is None else headers,
        )

    @property
    def source(self) -> str:
        return self._source

    @property
    def url(self) -> str:
        return self._link.url

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop the connection runs on."""
        return self._link.loop

    @property
    def connected(self) -> bool:
        return bool(self._link.nc.is_connected)

    # ------------------------------------------------------------------ calling

    def invoke(
        self, instance: str, function: str, payload: bytes, *, timeout: float | None = None
    ) -> bytes:
        """Call and wait, from any thread but the connection's loop."""
        return self._link.run(self.invoke_async(instance, function, payload, timeout=timeout))

    async def invoke_async(
        self, instance: str, function: str, payload: bytes, *, timeout: float | None = None
    ) -> bytes:
        """Call from asyncio (any loop: another loop's call hops to the connection's)."""
        link = self._link
        if asyncio.get_running_loop() is not link.loop:
            return await asyncio.wrap_future(
                asyncio.run_coroutine_threadsafe(
                    self.invoke_async(instance, function, payload, timeout=timeout), link.loop
                )
            )
        if link.closed:
            raise TransportError("the bus is closed", instance, function)
        if type(payload) is not bytes:
            payload = bytes(payload)
        subject = self._subjects.get((instance, function))
        if subject is None:
            subject = self._subject(instance, function)
            if len(self._subjects) < 4096:
                self._subjects[(instance, function)] = subject
        timed = self._timed.get(timeout)
        if timed is None:
            headers = self._headers_for(self.timeout if timeout is None else timeout)
            try:
                timed = (headers, header_block(headers) if headers else None)
            except Exception as exc:
                raise TransportError(f"cannot send the call's headers: {exc}", instance, function) from None
            if len(self._timed) < 64:
                self._timed[timeout] = timed
        return await engine.call(
            link.caller.open(subject, timed[0], block=timed[1]),
            instance,
            function,
            payload,
            self.timeout if timeout is None else timeout,
        )

    async def open_call(self, instance: str, function: str) -> tuple[Any, float | None]:
        """The calling end of an invocation with futures or streams, and its timeout
        (for `witgen.runtime.wrpc.client`; on the connection's loop)."""
        link = self._link
        if link.closed:
            raise TransportError("the bus is closed", instance, function)
        subject = self._subject(instance, function)
        headers = self._headers_for(self.timeout, whole=False)
        return link.caller.open(subject, headers, nested=True), self.timeout

    def _subject(self, instance: str, function: str) -> str:
        subject = invocation_subject(self.prefix, instance, function, WRPC)
        try:
            return check_subject(subject)
        except Exception:
            raise TransportError(f"cannot call {subject!r}: not a valid NATS subject", instance, function) from None

    def _headers_for(self, timeout: float | None, *, whole: bool = True) -> dict[str, str]:
        """The headers of an invocation: the endpoint's, the timeout, and, for a call
        without async values (`whole`), the offer to take the answer as one message."""
        headers = dict(self._headers)
        if timeout is not None and timeout > 0:
            headers[TIMEOUT_HEADER] = str(max(1, round(timeout * 1000)))
        if whole:
            headers[ANSWER_HEADER] = "whole"
        return headers

    # ------------------------------------------------------------------ serving

    async def serve_async(self, table: DispatchTable) -> NatsServing:
        """Answer calls to `table` under this endpoint's prefix (wRPC and request/reply)."""
        if asyncio.get_running_loop() is not self._link.loop:
            return await asyncio.wrap_future(
                asyncio.run_coroutine_threadsafe(self.serve_async(table), self._link.loop)
            )
        responder = await self._link.responder(self.prefix)
        responder.server.routes.add(table)
        await self._link.nc.flush()  # the subscriptions are in place when this returns
        return NatsServing(responder, table)

    def serve(self, table: DispatchTable) -> NatsServing:
        """`serve_async` from a thread other than the connection's loop."""
        return self._link.run(self.serve_async(table))

    # ------------------------------------------------------------------ closing

    async def stop_serving(self, grace: float, *, cancel: bool = False) -> None:
        """Take no new calls on this connection; give those in flight `grace` s.

        With `cancel`, calls still running then are cancelled: their callers see
        the exchange close (end of results without a value).
        """
        for responder in list(self._link.responders.values()):
            await responder.stop(grace, cancel=cancel)

    async def close_async(self, grace: float = 10.0) -> None:
        """Stop serving (calls in flight finish, at most `grace` s), drain, disconnect."""
        if asyncio.get_running_loop() is not self._link.loop:
            await asyncio.wrap_future(
                asyncio.run_coroutine_threadsafe(self.close_async(grace), self._link.loop)
            )
            return
        await self._link.close(grace)

    def close(self, grace: float = 10.0) -> None:
        """`close_async` from another thread; stops the bus's own loop thread."""
        link = self._link
        if not link.closed:
            link.run(self.close_async(grace))
        if link.owner is not None:
            link.owner.stop()
            link.owner = None

    def __enter__(self) -> NatsBus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

