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
    from witgen.provider.runner import Provider
    from witgen.runtime.nats import NatsBus

__all__ = ["Exports", "component_bus", "serve_exports"]

TARGET_ID = "target-id"


class Exports:
    """The provider's dispatch tables served on `{L}.{P}`."""

    def __init__(self, bus: NatsBus, servings: Sequence[Any]) -> None:
        self.bus = bus
        self.servings = list(servings)

    async def shutdown(self, grace: float) -> None:
        """Take no new calls; give those in flight `grace` s, then cancel them."""
        await self.bus.stop_serving(grace, cancel=True)

    async def close(self) -> None:
        for serving in self.servings:
            serving.close()
        self.servings.clear()


def _bus(provider: Provider) -> NatsBus:
    bus = provider.state.get("_witgen_bus")
    if bus is None:
        raise RuntimeError("the provider's bus is not attached yet")
    return bus  # type: ignore[no-any-return]


async def attach(provider: Provider) -> NatsBus:
    """The provider's endpoint `{L}.{P}` on its connection (made once)."""
    from witgen.runtime.nats import NatsBus

    bus = provider.state.get("_witgen_bus")
    if bus is None:
        bus = await NatsBus.attach(
            provider.nc,
            url=provider.host.nats_url,
            prefix=f"{provider.lattice}.{provider.provider_id}",
            source=provider.provider_id,
        )
        provider.state["_witgen_bus"] = bus
    return bus


async def serve_exports(provider: Provider, tables: Sequence[DispatchTable]) -> Exports:
    """Serve `tables` on `{L}.{P}` in queue group `{L}.{P}`."""
    bus = await attach(provider)
    return Exports(bus, [await bus.serve_async(table) for table in tables])


def component_bus(provider: Provider, component_id: str, *, timeout: float = 10.0) -> NatsBus:
    """A bus calling component `component_id` on the provider's connection."""
    return _bus(provider).endpoint(
        prefix=f"{provider.lattice}.{component_id}",
        source=provider.provider_id,
        link_name="",
        timeout=timeout,
        headers={TARGET_ID: component_id},
    )
