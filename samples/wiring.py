"""Dispatch operations and client calls built from generated function codecs.

Generated modules export `FUNCTIONS`: wire name -> `FunctionCodecs`. These two
helpers turn those into `Operation`s for a `DispatchTable` and into client calls,
for the samples' hand-held wiring.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from witgen.runtime.bus import Client
from witgen.runtime.codec import CodecError, FunctionCodecs
from witgen.runtime.dispatch import Call, Operation


def operations(functions: Mapping[str, FunctionCodecs], methods: Mapping[str, str]) -> list[Operation]:
    """One operation per `wire name -> Python method name` of `methods`."""
    ops = []
    for wire, method in methods.items():
        fc = functions[wire]

        def decode(call: Call, payload: bytes, fc: FunctionCodecs = fc) -> tuple[Any, ...]:
            args, pos = fc.decode_params(payload, 0)
            if pos != len(payload):
                raise CodecError(f"{len(payload) - pos} trailing byte(s) after the parameters")
            return args

        def encode(call: Call, value: Any, fc: FunctionCodecs = fc) -> bytearray:
            buf = bytearray()
            fc.encode_result(buf, value)
            return buf

        def bind(impl: Any, method: str = method) -> Any:
            return getattr(impl, method)

        ops.append(Operation(wire, decode, bind, encode))
    return ops


def _decode_result(fc: FunctionCodecs, data: bytes) -> Any:
    value, pos = fc.decode_result(data, 0)
    if pos != len(data):
        raise CodecError(f"{len(data) - pos} trailing byte(s) after the result")
    return value


def call(client: Client, functions: Mapping[str, FunctionCodecs], wire: str, *args: Any) -> Any:
    """Encode `args`, invoke `wire` through the client's bus, decode the result."""
    fc = functions[wire]
    buf = bytearray()
    fc.encode_params(buf, *args)
    return client._call(wire, bytes(buf), lambda data: _decode_result(fc, data))
