"""`NatsBus`: the `Bus` protocol on a NATS connection, speaking wRPC.

    bus = await NatsBus.connect("nats://127.0.0.1:4222", prefix="default.ollama")
    await bus.invoke_async("ollama:llm/llm", "chat", payload)     # asyncio
    bus = NatsBus.connect_sync("nats://127.0.0.1:4222")            # its own loop thread
    bus.invoke("ollama:llm/llm", "chat", payload)                  # sync, from any thread
    serving = bus.serve(table)                                     # answer calls

A bus is one endpoint: a connection, a subject prefix (`<lattice>.<target>` in
wasmCloud), a source id sent as the `source-id` header (none when empty) and a
default timeout (10 s, wasmCloud's invocation timeout). `endpoint(...)` makes
another endpoint on the same connection. The connection reconnects forever
after losing its server; calls in flight then end with their timeout.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from witgen.runtime.bus import BusError, TransportError
from witgen.runtime.dispatch import DispatchTable
from witgen.runtime.nats.caller import Caller
from witgen.runtime.nats.responder import Responder
from witgen.runtime.nats.subjects import LINK_NAME, SOURCE_ID, WRPC, invocation_subject

if TYPE_CHECKING:
    from nats.aio.client import Client as NATS

__all__ = ["DEFAULT_TIMEOUT", "NatsBus", "NatsServing"]

log = logging.getLogger("witgen.runtime.nats")

DEFAULT_TIMEOUT = 10.0
T = TypeVar("T")


class _LoopThread:
    """An event loop running in a daemon thread (for synchronous users)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="witgen-nats", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        if not self.thread.is_alive():
            self.loop.close()


class _Link:
    """What endpoints of one connection share."""

    def __init__(self, nc: NATS, url: str, max_workers: int) -> None:
        self.nc = nc
        self.url = url
        self.loop = asyncio.get_running_loop()
        self.thread_id = threading.get_ident()
        self.owner: _LoopThread | None = None
        self.caller = Caller(nc)
        self.responders: dict[str, Responder] = {}
        self.pool = ThreadPoolExecutor(max_workers, thread_name_prefix="witgen-provider")
        self.lock = asyncio.Lock()
        self.closed = False

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the connection's loop from another thread and wait for it."""
        if threading.get_ident() == self.thread_id:
            coro.close()
            raise BusError(
                "a synchronous call on the bus's own event loop would wait for itself:"
                " use the async form there"
            )
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    async def responder(self, prefix: str) -> Responder:
        async with self.lock:
            found = self.responders.get(prefix)
            if found is None:
                found = Responder(self.nc, prefix, self.pool)
                await found.start()
                self.responders[prefix] = found
            return found

    async def close(self, grace: float) -> None:
        if self.closed:
            return
        self.closed = True
        for responder in self.responders.values():
            await responder.stop(grace)
            for table in list(responder.routes.tables):
                responder.routes.remove(table)
                table.handles.release_all()
        try:
            await self.nc.drain()
        except Exception as exc:
            log.debug("drain failed: %s", exc)
            await self.nc.close()
        self.caller.fail_all("the connection was closed")
        self.pool.shutdown(wait=False, cancel_futures=True)


class NatsServing:
    """A dispatch table served on a NATS endpoint; `close()` stops serving it."""

    def __init__(self, responder: Responder, table: DispatchTable) -> None:
        self.responder = responder
        self.table = table

    def close(self) -> None:
        self.responder.routes.remove(self.table)
        self.table.handles.release_all()

    def __enter__(self) -> NatsServing:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class NatsBus:
    """One endpoint on a NATS lattice (see the module docstring)."""

    __slots__ = ("_link", "prefix", "_source", "link_name", "timeout", "_headers")

    def __init__(
        self,
        link: _Link,
        *,
        prefix: str = "",
        source: str = "",
        link_name: str = "",
        timeout: float | None = DEFAULT_TIMEOUT,
    ) -> None:
        self._link = link
        self.prefix = prefix.strip(".")
        self._source = source
        self.link_name = link_name
        self.timeout = timeout
        headers = {}
        if source:
            headers[SOURCE_ID] = source
        if link_name:
            headers[LINK_NAME] = link_name
        self._headers = headers or None

    def __repr__(self) -> str:
        return f"<NatsBus {self._link.url} prefix={self.prefix!r} source={self._source!r}>"

    # ------------------------------------------------------------------ connecting

    @classmethod
    async def connect(
        cls,
        url: str = "nats://127.0.0.1:4222",
        *,
        prefix: str = "",
        source: str = "",
        link_name: str = "",
        timeout: float | None = DEFAULT_TIMEOUT,
        creds: str | None = None,
        tls: ssl.SSLContext | None = None,
        name: str | None = None,
        max_workers: int = 16,
        reconnect_wait: float = 1.0,
        connect_timeout: float = 2.0,
    ) -> NatsBus:
        """Connect on the running loop; `TransportError` when the server is unreachable.

        `creds` is a NATS credentials file; a `tls://` URL uses TLS (with `tls`, or
        the system's default context).
        """
        from nats.aio.client import Client

        nc = Client()

        connected = False

        async def on_error(exc: Exception) -> None:
            # Before the first connect succeeds, the one TransportError below says it all.
            level = logging.WARNING if connected else logging.DEBUG
            log.log(level, "nats: %s", str(exc) or type(exc).__name__)

        async def on_disconnect() -> None:
            log.info("nats: disconnected from %s", url)

        async def on_reconnect() -> None:
            log.info("nats: reconnected to %s", url)

        options: dict[str, Any] = {
            "servers": [url],
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
        if tls is None and url.startswith("tls://"):
            tls = ssl.create_default_context()
        if tls is not None:
            options["tls"] = tls
        try:
            await nc.connect(**options)
        except Exception as exc:
            try:
                await nc.close()
            except Exception:
                pass
            raise TransportError(f"cannot connect to {url}: {_reason(exc)}") from None
        nc.options["max_reconnect_attempts"] = -1  # once connected, reconnect forever
        connected = True
        link = _Link(nc, url, max_workers)
        await link.caller.start()
        return cls(link, prefix=prefix, source=source, link_name=link_name, timeout=timeout)

    @classmethod
    def connect_sync(cls, url: str = "nats://127.0.0.1:4222", **options: Any) -> NatsBus:
        """`connect` on a new event loop in a daemon thread, for synchronous users."""
        owner = _LoopThread()
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
    ) -> NatsBus:
        """Another endpoint on this connection (what is not given stays as it is)."""
        return NatsBus(
            self._link,
            prefix=self.prefix if prefix is None else prefix,
            source=self._source if source is None else source,
            link_name=self.link_name if link_name is None else link_name,
            timeout=self.timeout if timeout == -1.0 else timeout,
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
        return await link.caller.call(
            invocation_subject(self.prefix, instance, function, WRPC),
            instance,
            function,
            payload,
            self._headers,
            self.timeout if timeout is None else timeout,
        )

    # ------------------------------------------------------------------ serving

    async def serve_async(self, table: DispatchTable) -> NatsServing:
        """Answer calls to `table` under this endpoint's prefix (wRPC and request/reply)."""
        if asyncio.get_running_loop() is not self._link.loop:
            return await asyncio.wrap_future(
                asyncio.run_coroutine_threadsafe(self.serve_async(table), self._link.loop)
            )
        responder = await self._link.responder(self.prefix)
        responder.routes.add(table)
        await self._link.nc.flush()  # the subscriptions are in place when this returns
        return NatsServing(responder, table)

    def serve(self, table: DispatchTable) -> NatsServing:
        """`serve_async` from a thread other than the connection's loop."""
        return self._link.run(self.serve_async(table))

    # ------------------------------------------------------------------ closing

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


def _reason(exc: BaseException) -> str:
    text = str(exc)
    if not text or text == "nats: no servers available for connection":
        return "no server answers there" if not text else text
    return text
