"""The control plane a wasmCloud 1.x host drives a provider with (plain NATS, no queue groups).

Subjects, under `wasmbus.rpc.{L}.` (`L` the lattice, `P` the provider id):

    {XPUB}.linkdefs.put    link definition JSON (XPUB: the provider's xkey public key;
                           `{P}.linkdefs.put` when HostData carries no xkey)   no reply
    {P}.linkdefs.del       link definition JSON without config or secrets     no reply
    {P}.health             empty                         reply {"healthy":true,"message":..}
    {P}.config.update      the full merged config, JSON object of strings     no reply
    {P}.default.shutdown   {"host_id": "N..."}           reply `shutting down`, then exit

A message that does not parse is logged (one line, never a secret's value) and
ignored; the subscriptions keep serving. Each subject has its own subscription,
so a slow link handler never delays a health reply. What the provider does on
each event is `Events`' business (`witgen.provider.runner.Provider`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from witgen.provider.hostdata import HostData, HostDataError, LinkDefinition, decode_json
from witgen.provider.links import Link, Links
from witgen.provider.secrets import SecretError, XKeys

__all__ = ["ControlPlane", "Events", "subjects"]

log = logging.getLogger("witgen.provider")


class Events(Protocol):
    """What the provider does when the host tells it something."""

    async def link_put(self, link: Link, previous: Link | None) -> None: ...

    async def link_del(self, link: Link) -> None: ...

    async def config_update(self, config: dict[str, str]) -> None: ...

    def health(self) -> tuple[bool, str]: ...

    async def shutdown(self) -> None:
        """Finish or cancel calls in flight and stop serving (before the reply)."""
        ...


def subjects(host: HostData, xkey_public: str | None) -> dict[str, str]:
    """The control subjects of this provider, by purpose."""
    base = f"wasmbus.rpc.{host.lattice}."
    p = host.provider_key
    return {
        "link_put": f"{base}{xkey_public or p}.linkdefs.put",
        "link_del": f"{base}{p}.linkdefs.del",
        "health": f"{base}{p}.health",
        "config": f"{base}{p}.config.update",
        "shutdown": f"{base}{p}.default.shutdown",
    }


class ControlPlane:
    """Subscriptions to the host's control subjects, turning messages into `Events` calls."""

    def __init__(
        self,
        nc: Any,  # nats.aio.client.Client
        host: HostData,
        links: Links,
        xkeys: XKeys | None,
        events: Events,
        on_stop: Callable[[], None],
    ) -> None:
        self.nc = nc
        self.host = host
        self.links = links
        self.xkeys = xkeys
        self.events = events
        self.on_stop = on_stop
        self.subjects = subjects(host, xkeys.public_key if xkeys else None)
        self._subs: list[Any] = []
        self.stopping = False

    async def start(self) -> None:
        """Subscribe, then apply the links HostData carried (as if each had been put).

        Health is left to `answer_health`, once the exports are served: a provider
        that answers health answers calls too.
        """
        handlers: dict[str, Callable[[Any], Awaitable[None]]] = {
            "link_put": self._link_put,
            "link_del": self._link_del,
            "config": self._config,
            "shutdown": self._shutdown,
        }
        for purpose, handler in handlers.items():
            await self._subscribe(purpose, handler)
        await self.nc.flush()
        for definition in self.host.link_definitions:
            await self.apply_put(definition)

    async def answer_health(self) -> None:
        """Subscribe to health requests."""
        await self._subscribe("health", self._health)
        await self.nc.flush()

    async def _subscribe(self, purpose: str, handler: Callable[[Any], Awaitable[None]]) -> None:
        subject = self.subjects[purpose]
        self._subs.append(await self.nc.subscribe(subject, cb=_guarded(purpose, handler)))

    async def stop(self) -> None:
        for sub in self._subs:
            try:
                await sub.unsubscribe()
            except Exception:  # the connection may already be closed
                pass
        self._subs.clear()

    # ------------------------------------------------------------------ links

    async def apply_put(self, definition: LinkDefinition) -> None:
        """Hold a link put by the host (a repeated put updates it)."""
        is_target = self.links.side(definition)
        if is_target is None:
            log.debug("link %s does not involve this provider: ignored", definition.describe())
            return
        sealed = definition.target_secrets if is_target else definition.source_secrets
        try:
            what = "target_secrets" if is_target else "source_secrets"
            secrets = self.xkeys.open(sealed, what) if self.xkeys else _no_keys(sealed, what)
        except SecretError as exc:
            log.error("link %s: %s; link not applied", definition.describe(), exc)
            return
        link = Link(
            definition=definition,
            is_target=is_target,
            config=dict(definition.target_config if is_target else definition.source_config),
            secrets=secrets,
        )
        previous = self.links.put(link)
        log.info(
            "link %s %s (config keys: %s; secrets: %s)",
            definition.describe(),
            "updated" if previous else "added",
            ", ".join(sorted(link.config)) or "none",
            ", ".join(sorted(link.secrets)) or "none",
        )
        await self.events.link_put(link, previous)

    async def _link_put(self, msg: Any) -> None:
        definition = LinkDefinition.from_json(_json(msg.data, "link put"), "link put")
        await self.apply_put(definition)

    async def _link_del(self, msg: Any) -> None:
        definition = LinkDefinition.from_json(_json(msg.data, "link del"), "link del")
        removed = self.links.delete(definition)
        if removed is None:
            log.info("link del for %s: no such link, ignored", definition.describe())
            return
        log.info("link %s deleted", definition.describe())
        await self.events.link_del(removed)

    # ------------------------------------------------------------------ health, config

    async def _health(self, msg: Any) -> None:
        healthy, message = self.events.health()
        body: dict[str, Any] = {"healthy": healthy}
        if message:
            body["message"] = message
        if msg.reply:
            await msg.respond(json.dumps(body).encode())

    async def _config(self, msg: Any) -> None:
        data = _json(msg.data, "config update")
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in data.items()
        ):
            raise HostDataError("config update: expected a JSON object of strings")
        log.info("config updated (keys: %s)", ", ".join(sorted(data)) or "none")
        await self.events.config_update(dict(data))

    # ------------------------------------------------------------------ shutdown

    async def _shutdown(self, msg: Any) -> None:
        data = _json(msg.data, "shutdown")
        host_id = data.get("host_id") if isinstance(data, dict) else None
        if not isinstance(host_id, str):
            raise HostDataError('shutdown: expected {"host_id": "..."}')
        if host_id != self.host.host_id:
            log.debug("shutdown for host %s, not this one: ignored", host_id)
            return
        if self.stopping:
            return
        self.stopping = True
        log.info("shutdown requested by host %s", host_id)
        await self.events.shutdown()
        if msg.reply:
            await msg.respond(b"shutting down")
            try:
                await self.nc.flush(timeout=1)
            except Exception:
                pass
        self.on_stop()


def _no_keys(sealed: bytes | None, what: str) -> dict[str, Any]:
    if sealed is None:
        return {}
    raise SecretError(f"{what}: sealed, but HostData has no provider_xkey_private_key")


def _json(data: bytes, what: str) -> Any:
    return decode_json(data, what)


def _guarded(
    purpose: str, handler: Callable[[Any], Awaitable[None]]
) -> Callable[[Any], Awaitable[None]]:
    async def run(msg: Any) -> None:
        try:
            await handler(msg)
        except HostDataError as exc:
            log.warning("ignored a malformed control message on %s: %s", msg.subject, exc)
        except Exception:
            log.exception("control message on %s (%s) failed", msg.subject, purpose)

    return run
