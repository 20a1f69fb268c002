"""Running a provider under a wasmCloud 1.x host: HostData in, control plane, exports served.

    run_provider(tables, on_link_put=..., ...)   # reads stdin, never returns
    await serve_provider(host, tables, ...)       # the same from asyncio; returns the exit code

Order at start: logging (stderr, HostData's format and level), the NATS
connection, the control subscriptions and the links HostData carried (replayed
as puts, as the SDKs do), then the exports served on `{L}.{P}` in queue group
`{L}.{P}`, so that no call arrives before its link is known, and last the
health subscription: a provider that answers health serves. There is no ready
signal. The process ends with 0 after a shutdown
for its own host, or on SIGTERM/SIGINT; with 1 and one line on stderr when
HostData is unusable or NATS cannot be reached.

Hooks (`on_link_put`, `on_link_del`, `on_config`) may be sync or async; they run
as tasks of the provider's event loop (sync ones in a worker thread), so a slow
hook never holds up health replies or other control messages.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import IO, Any, NoReturn

from witgen.provider.control import ControlPlane
from witgen.provider.hostdata import HostData, HostDataError, read_host_data
from witgen.provider.links import Link, Links
from witgen.provider.nkeys import NkeyError
from witgen.provider.secrets import SecretError, XKeys
from witgen.runtime import context
from witgen.runtime.dispatch import DispatchTable
from witgen.runtime.urls import describe, redact

__all__ = ["Provider", "run_provider", "serve_provider"]

log = logging.getLogger("witgen.provider")

SHUTDOWN_GRACE = 0.2  # seconds calls in flight get to finish before they are cancelled

Tables = DispatchTable | Iterable[DispatchTable]
TablesArg = Tables | Callable[["Provider"], Tables]
Hook = Callable[..., Any]


class Provider:
    """A provider running under a host: what the hooks and `tables` factory receive."""

    def __init__(self, host: HostData, nc: Any, links: Links) -> None:
        self.host = host
        self.nc = nc
        self.links = links
        self.config: dict[str, str] = dict(host.config)  # the latest merged config
        # Provider-level secrets arrive in plaintext: `host.secrets`.
        self.state: dict[str, Any] = {}  # for the application's own use
        self._buses: dict[tuple[str, float], Any] = {}
        self.exports: Any = None  # witgen.provider.transport.Exports, once connected

    @property
    def lattice(self) -> str:
        return self.host.lattice

    @property
    def provider_id(self) -> str:
        return self.host.provider_key

    def __repr__(self) -> str:
        return f"<Provider {self.provider_id!r} on lattice {self.lattice!r}>"

    def component_bus(self, component_id: str, *, timeout: float = 10.0) -> Any:
        """A bus reaching component `component_id` (prefix `{L}.{component}`, headers
        `source-id: {P}`, `target-id: {component}`), for the generated clients."""
        if self.exports is None:
            raise RuntimeError("the provider is not connected yet")
        from witgen.provider.transport import component_bus

        bus = self._buses.get((component_id, timeout))
        if bus is None:
            bus = component_bus(
                self.exports.bus, self.lattice, self.provider_id, component_id, timeout=timeout
            )
            self._buses[(component_id, timeout)] = bus
        return bus


async def _call_hook(hook: Hook | None, *args: Any) -> None:
    if hook is None:
        return
    if inspect.iscoroutinefunction(hook):
        await hook(*args)
        return
    result = await asyncio.to_thread(context.run_in_context(hook, *args))
    if inspect.isawaitable(result):
        await result


class _Events:
    """`control.Events` for one provider: hooks, health, shutdown."""

    def __init__(
        self,
        provider: Provider,
        serving: Any,
        hooks: Mapping[str, Hook | None],
    ) -> None:
        self.provider = provider
        self.serving = serving
        self.hooks = hooks
        self.tasks: set[asyncio.Task[None]] = set()

    def _spawn(self, what: str, hook: Hook | None, *args: Any) -> None:
        if hook is None:
            return

        async def run() -> None:
            try:
                await _call_hook(hook, self.provider, *args)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s hook failed", what)

        task = asyncio.get_running_loop().create_task(run())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def link_put(self, link: Link, previous: Link | None) -> None:
        self._spawn("link put", self.hooks.get("on_link_put"), link)

    async def link_del(self, link: Link) -> None:
        self._spawn("link del", self.hooks.get("on_link_del"), link)

    async def config_update(self, config: dict[str, str]) -> None:
        self.provider.config = config
        self._spawn("config update", self.hooks.get("on_config"), config)

    def health(self) -> tuple[bool, str]:
        check = self.hooks.get("health")
        if check is None:
            return True, ""
        try:
            healthy, message = check(self.provider)
            return bool(healthy), str(message)
        except Exception as exc:
            return False, f"health check raised {type(exc).__name__}"

    async def shutdown(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        if self.serving is not None:
            await self.serving.shutdown(SHUTDOWN_GRACE)


async def serve_provider(
    host: HostData,
    tables: TablesArg = (),
    *,
    on_link_put: Hook | None = None,
    on_link_del: Hook | None = None,
    on_config: Hook | None = None,
    health: Callable[[Provider], tuple[bool, str]] | None = None,
    handle_signals: bool = True,
) -> int:
    """Run the provider until shutdown; return the process exit code."""
    try:
        xkeys = (
            XKeys(host.provider_xkey_private_key, host.host_xkey_public_key)
            if host.provider_xkey_private_key
            else None
        )
    except (SecretError, NkeyError) as exc:
        log.error("HostData: %s", exc)
        return 1
    from witgen.provider.connect import connect

    try:
        nc = await connect(host)
    except HostDataError as exc:
        log.error("%s", exc)
        return 1
    except Exception as exc:
        log.error(
            "cannot connect to NATS at %s: %s", describe(host.nats_url), redact(str(exc)) or type(exc).__name__
        )
        return 1
    links = Links(host.provider_key)
    provider = Provider(host, nc, links)
    context.set_resolver(links.context)
    stop = asyncio.Event()
    serving = None
    control = None
    try:
        from witgen.provider.transport import exports_for

        # The bus first (link hooks may call components), then the control plane
        # and the links HostData carried, then the exports: a call never arrives
        # before its link is known.
        serving = provider.exports = await exports_for(
            provider.nc, provider.host.nats_url, provider.lattice, provider.provider_id
        )
        events = _Events(
            provider,
            serving,
            {"on_link_put": on_link_put, "on_link_del": on_link_del, "on_config": on_config, "health": health},
        )
        control = ControlPlane(nc, host, links, xkeys, events, stop.set)
        await control.start()
        made = tables(provider) if callable(tables) else tables
        table_list = [made] if isinstance(made, DispatchTable) else list(made)
        await serving.serve(table_list)
        await control.answer_health()
        log.info(
            "provider %s serving on lattice %s (%s)",
            host.provider_key,
            host.lattice,
            ", ".join(i or "<world>" for t in table_list for i in t.instances) or "no exports",
        )
        loop = asyncio.get_running_loop()
        if handle_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        if not control.stopping:
            log.info("stopping")
            await events.shutdown()
        return 0
    finally:
        context.set_resolver(None)
        if control is not None:
            await control.stop()
        if serving is not None:
            await serving.close()
            try:
                await serving.bus.close_async(0)
            except Exception as exc:
                log.debug("closing the bus: %s", exc)
        try:
            await nc.close()
        except Exception:
            pass


def run_provider(
    tables: TablesArg = (),
    *,
    on_link_put: Hook | None = None,
    on_link_del: Hook | None = None,
    on_config: Hook | None = None,
    health: Callable[[Provider], tuple[bool, str]] | None = None,
    stdin: IO[bytes] | None = None,
) -> NoReturn:
    """Read HostData from stdin, serve until the host shuts the provider down, exit."""
    from witgen.provider import logs

    try:
        host = read_host_data(stdin)
    except HostDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    logs.configure(
        structured=host.structured_logging,
        level=host.log_level,
        fields={"provider": host.provider_key, "instance": host.instance_id},
    )
    try:
        code = asyncio.run(
            serve_provider(
                host,
                tables,
                on_link_put=on_link_put,
                on_link_del=on_link_del,
                on_config=on_config,
                health=health,
            )
        )
    except KeyboardInterrupt:
        code = 0
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        # A sync call cancelled at shutdown still runs in its worker thread; the
        # interpreter would wait for it at exit, and the host kills what lingers.
        os._exit(code)
    sys.exit(code)
