"""The stateful actor as a real Wasm component, built with componentize-py.

    componentize-py -d samples/stateful/wit -w actor componentize -p samples/stateful/component app -o actor.wasm

It exports `wamli:stateful/state` and `wamli:stateful/model`; its state (the same as
`samples.stateful.actor.SAMPLE_STATE`) is built in: componentize-py runs this module at
build time and snapshots it. `wit_world` is the guest bindings componentize-py generates.
"""

from wit_world import exports
from wit_world.exports import model

DATA = bytes(range(16))
LABELS = ("mobilenet", "v2", "imagenet")
METADATA = model.Metadata(
    model_name="mobilenet-v2",
    graph_encoding="onnx",
    execution_target=model.ExecutionTarget.CPU,
    tensor_type=model.TensorType.F32,
    tensor_dimensions_in=[1, 3, 224, 224],
    tensor_dimensions_out=[1, 1000],
)


class State(exports.State):
    def get_data(self) -> bytes:
        return DATA

    def get_metadata(self) -> list[str]:
        return list(LABELS)


class Model(exports.Model):
    def get_metadata(self) -> model.Metadata:
        return METADATA
