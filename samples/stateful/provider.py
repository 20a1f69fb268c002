"""The stateful provider: it pulls the actor's immutable state over the bus.

The proof of concept's provider offloads the actor's state: it calls the actor's
exported `get-data` and `get-metadata` (both interfaces) through the generated
clients and keeps what it gets. An error value from the actor stops the pull and
is returned as is. `pull` is the synchronous form, `pull_async` the asyncio one.
"""

from __future__ import annotations

from dataclasses import dataclass

from samples.stateful.bindings.wamli_stateful.model import Metadata
from samples.stateful.bindings.wamli_stateful.provider import (
    ModelAsyncClient,
    ModelClient,
    StateAsyncClient,
    StateClient,
)
from samples.stateful.bindings.wamli_stateful.state import Error
from witgen.runtime.bus import Bus
from witgen.runtime.values import Err, Ok

__all__ = ["ModelClient", "PulledState", "StateClient", "pull", "pull_async"]


@dataclass(frozen=True)
class PulledState:
    """Everything the provider pulled from one actor."""

    data: bytes
    labels: tuple[str, ...]
    metadata: Metadata


def pull(bus: Bus) -> Ok[PulledState] | Err[Error]:
    """Pull the actor's state through both interfaces; the first error value wins."""
    state, model = StateClient(bus), ModelClient(bus)
    data = state.get_data()
    if isinstance(data, Err):
        return data
    labels = state.get_metadata()
    if isinstance(labels, Err):
        return labels
    metadata = model.get_metadata()
    if isinstance(metadata, Err):
        return metadata
    return Ok(PulledState(data.value, tuple(labels.value), metadata.value))


async def pull_async(bus: Bus) -> Ok[PulledState] | Err[Error]:
    """`pull` for a provider running on asyncio."""
    state, model = StateAsyncClient(bus), ModelAsyncClient(bus)
    data = await state.get_data()
    if isinstance(data, Err):
        return data
    labels = await state.get_metadata()
    if isinstance(labels, Err):
        return labels
    metadata = await model.get_metadata()
    if isinstance(metadata, Err):
        return metadata
    return Ok(PulledState(data.value, tuple(labels.value), metadata.value))


def main(argv: list[str] | None = None) -> None:
    """`--wasmcloud` (or no options with stdin not a terminal): run under a wasmCloud host."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if args == ["--wasmcloud"] or (not args and not sys.stdin.isatty()):
        from samples.stateful.wasmcloud import main as wasmcloud_main

        wasmcloud_main()
    print("usage: python -m samples.stateful.provider --wasmcloud", file=sys.stderr)
    sys.exit(2)


if __name__ == "__main__":
    main()
