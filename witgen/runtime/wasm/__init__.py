"""Real Wasm components hosted from Python with wasmtime-py (`pip install 'witgen[wasm]'`).

- `loader`: the engine, compiled artifacts cached on disk, epoch deadlines.
- `convert`: wasmtime-py component values <-> witgen values, built from type descriptions.
- `host`: `ComponentHost`, one instance with its imports routed to providers or a bus.
"""

from witgen.runtime.wasm.convert import ConversionError, UnsupportedType
from witgen.runtime.wasm.host import ComponentHost, WasiOptions
from witgen.runtime.wasm.loader import ComponentLoadError, engine_for, load

__all__ = [
    "ComponentHost",
    "ComponentLoadError",
    "ConversionError",
    "UnsupportedType",
    "WasiOptions",
    "engine_for",
    "load",
]
