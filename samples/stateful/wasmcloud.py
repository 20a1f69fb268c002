"""The stateful provider under a wasmCloud 1.x host: it pulls each linked actor's state.

    python -m samples.stateful.provider --wasmcloud   # or no options, HostData on stdin

A link with this provider as its *source* (`wash link put <provider> <actor>
wamli stateful --interface state --interface model`) names an actor to pull
from: on the link put the provider calls the actor's `get-data` and
`get-metadata` over that source link (prefix `{lattice}.{actor}`, headers
`source-id`/`target-id`) and keeps the result; a link del forgets it. Health
reports how many actors' state it holds.
"""

from __future__ import annotations

import logging

from samples.stateful.provider import PulledState, pull_async
from witgen.provider import Link, Provider, run_provider
from witgen.runtime.bus import BusError
from witgen.runtime.values import Err

log = logging.getLogger("samples.stateful")


def _pulled(provider: Provider) -> dict[str, PulledState]:
    return provider.state.setdefault("pulled", {})  # type: ignore[no-any-return]


async def on_link_put(provider: Provider, link: Link) -> None:
    if link.is_target:
        return
    try:
        result = await pull_async(provider.component_bus(link.peer))
    except BusError as exc:  # not running yet, say: the next put of this link retries
        log.warning("cannot pull the state of %s: %s", link.peer, exc)
        return
    if isinstance(result, Err):
        log.warning("actor %s has no state to pull: %s", link.peer, result.value.error)
        return
    state = result.value
    _pulled(provider)[link.peer] = state
    log.info(
        "pulled state from %s: %d bytes, labels %s, model %s",
        link.peer,
        len(state.data),
        ",".join(state.labels),
        state.metadata.model_name,
    )


async def on_link_del(provider: Provider, link: Link) -> None:
    if not link.is_target and _pulled(provider).pop(link.peer, None) is not None:
        log.info("forgot the state of %s", link.peer)


def health(provider: Provider) -> tuple[bool, str]:
    return True, f"holding the state of {len(_pulled(provider))} actor(s)"


def main() -> None:
    run_provider(on_link_put=on_link_put, on_link_del=on_link_del, health=health)
