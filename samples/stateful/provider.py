"""The stateful provider: it pulls the actor's immutable state over the bus.

The proof of concept's provider offloads the actor's state: it calls the actor's
exported `get-data` and `get-metadata` (both interfaces) through the clients and
keeps what it gets. An error value from the actor stops the pull and is returned
as is.
"""

from __future__ import annotations

from dataclasses import dataclass

from samples.stateful.bindings.wamli_stateful import model as model_bindings
from samples.stateful.bindings.wamli_stateful import state as state_bindings
from samples.stateful.bindings.wamli_stateful.model import Metadata
from samples.stateful.bindings.wamli_stateful.state import Error
from samples.wiring import call
from witgen.runtime.bus import Bus, Client
from witgen.runtime.values import Err, Ok


class StateClient(Client):
    """Calls `wamli:stateful/state`."""

    INSTANCE = "wamli:stateful/state"

    def get_data(self) -> Ok[bytes] | Err[Error]:
        result: Ok[bytes] | Err[Error] = call(self, state_bindings.FUNCTIONS, "get-data")
        return result

    def get_metadata(self) -> Ok[list[str]] | Err[Error]:
        result: Ok[list[str]] | Err[Error] = call(self, state_bindings.FUNCTIONS, "get-metadata")
        return result


class ModelClient(Client):
    """Calls `wamli:stateful/model`."""

    INSTANCE = "wamli:stateful/model"

    def get_metadata(self) -> Ok[Metadata] | Err[Error]:
        result: Ok[Metadata] | Err[Error] = call(self, model_bindings.FUNCTIONS, "get-metadata")
        return result


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
