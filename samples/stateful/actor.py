"""The stateful actor: it holds immutable state and exports `state` and `model`.

The state is fixed when the actor is built (`ActorState` is frozen); the actor
only ever hands out copies of it. An actor built without state answers every
call with the WIT error value (`error { status-code: 404, .. }`), which is how
the application-level error path travels over the bus.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from samples.stateful.bindings.wamli_stateful import actor as actor_world
from samples.stateful.bindings.wamli_stateful.model import ExecutionTarget, Metadata, TensorType
from samples.stateful.bindings.wamli_stateful.state import Error
from witgen.runtime.dispatch import DispatchTable
from witgen.runtime.values import Err, Ok


@dataclass(frozen=True)
class ActorState:
    """What the actor holds: a blob (e.g. model weights), labels, and typed metadata."""

    data: bytes
    labels: tuple[str, ...]
    model_name: str
    graph_encoding: str
    target: ExecutionTarget
    tensor_type: TensorType
    dims_in: tuple[int, ...] = field(default=())
    dims_out: tuple[int, ...] = field(default=())


SAMPLE_STATE = ActorState(
    data=bytes(range(16)),
    labels=("mobilenet", "v2", "imagenet"),
    model_name="mobilenet-v2",
    graph_encoding="onnx",
    target=ExecutionTarget.CPU,
    tensor_type=TensorType.F32,
    dims_in=(1, 3, 224, 224),
    dims_out=(1, 1000),
)

NO_STATE = Error(status_code=404, status="Not Found", error="this actor holds no state")


class State:
    """`wamli:stateful/state`, the proof of concept's interface."""

    def __init__(self, state: ActorState | None) -> None:
        self._state = state

    def get_data(self) -> Ok[bytes] | Err[Error]:
        if self._state is None:
            return Err(NO_STATE)
        return Ok(self._state.data)

    def get_metadata(self) -> Ok[list[str]] | Err[Error]:
        if self._state is None:
            return Err(NO_STATE)
        return Ok(list(self._state.labels))


class Model:
    """`wamli:stateful/model`, the later form with typed metadata."""

    def __init__(self, state: ActorState | None) -> None:
        self._state = state

    def get_metadata(self) -> Ok[Metadata] | Err[Error]:
        s = self._state
        if s is None:
            return Err(NO_STATE)
        return Ok(
            Metadata(
                model_name=s.model_name,
                graph_encoding=s.graph_encoding,
                execution_target=s.target,
                tensor_type=s.tensor_type,
                tensor_dimensions_in=list(s.dims_in),
                tensor_dimensions_out=list(s.dims_out),
            )
        )


def dispatch_table(state: ActorState | None = SAMPLE_STATE) -> DispatchTable:
    """The actor's exports, `state` and `model`, ready to serve on a bus."""
    return actor_world.dispatch_table(state=State(state), model=Model(state))


def main(argv: list[str] | None = None) -> int:
    """`python -m samples.stateful.actor --nats URL --prefix P`: serve `state` and `model` over NATS."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="python -m samples.stateful.actor", description=main.__doc__)
    parser.add_argument("--no-state", action="store_true", help="an actor holding no state (answers errors)")
    try:
        from witgen.runtime.nats.main import add_arguments, serve_forever
    except ImportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    add_arguments(parser, required=True)
    args = parser.parse_args(argv)
    table = dispatch_table(None if args.no_state else SAMPLE_STATE)
    return serve_forever([table], args.nats, prefix=args.prefix, creds=args.creds, name=args.name)


if __name__ == "__main__":
    import sys

    sys.exit(main())
