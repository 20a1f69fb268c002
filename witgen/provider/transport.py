"""wRPC for a provider under a host: its exports served, components called (`witgen.runtime.nats`).

Both share the provider's one NATS connection (the control plane's):
- exports: prefix `{L}.{P}`, queue group `{L}.{P}` (replicas on several hosts
  share the calls), as the Rust and Go SDKs serve them; each call runs with
  `witgen.runtime.context` set from its `source-id` and `link-name` headers;
- calls to a component: prefix `{L}.{component}`, no queue group, headers
  `source-id: {P}` and `target-id: {component}`, 10 s timeout by default.

At shutdown, calls in flight get `grace` seconds; the rest are cancelled and
their callers see the exchange close (the empty end of results, no value).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from witgen.runtime.dispatch import DispatchTable

if TYPE_CHECKING:
    from nats.aio.client import Client as NATS

    from witgen.runtime.nats import NatsBus

__all__ = ["Exports", "component_bus", "exports_for"]

TARGET_ID = "target-id"


class Exports:
    """The provider's endpoint `{L}.{P}` and the dispatch tables served on it."""

    def __init__(self, bus: NatsBus) -> None:
        self.bus = bus
        self.servings: list[Any] = []

    async def serve(self, tables: Sequence[DispatchTable]) -> None:
        """Serve `tables` on `{L}.{P}` in queue group `{L}.{P}`."""
        for table in tables:
            self.servings.append(await self.bus.serve_async(table))

    async def shutdown(self, grace: float) -> None:
        """Take no new calls; give those in flight `grace` s, then cancel them."""
        await self.bus.stop_serving(grace, cancel=True)

    async def close(self) -> None:
        for serving in self.servings:
            serving.close()
        self.servings.clear()


async def exports_for(nc: NATS, url: str, lattice: str, provider_id: str) -> Exports:
    """The provider's endpoint `{L}.{P}` on its connection, serving nothing yet."""
    from witgen.runtime.nats import NatsBus

    bus = await NatsBus.attach(nc, url=url, prefix=f"{lattice}.{provider_id}", source=provider_id)
    return Exports(bus)


def component_bus(
    bus: NatsBus, lattice: str, provider_id: str, component_id: str, *, timeout: float = 10.0
) -> NatsBus:
    """A bus calling component `component_id` on the provider's connection."""
    return bus.endpoint(
        prefix=f"{lattice}.{component_id}",
        source=provider_id,
        link_name="",
        timeout=timeout,
        headers={TARGET_ID: component_id},
    )
