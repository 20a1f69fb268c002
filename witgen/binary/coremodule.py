"""Core modules: their `component-type` custom sections describe the component they become."""

from __future__ import annotations

from witgen import model
from witgen.binary.reader import BinaryError, Reader


def component_type_sections(data: bytes) -> list[str]:
    """The names of the `component-type*` custom sections of the core module `data`."""
    r = Reader(data, 8, len(data), "header")
    found: list[str] = []
    while not r.at_end():
        r.section = "header"
        sid = r.u8()
        sec = r.sub(r.u32(), "custom" if sid == 0 else f"core section {sid}")
        if sid == 0:
            name = sec.string()
            if name.startswith("component-type"):
                found.append(name)
    return found


def decode_module(data: bytes) -> model.Resolve:
    """A core module is read only to say what to do with it: it has no WIT of its own."""
    sections = component_type_sections(data)
    if not sections:
        raise BinaryError(
            "input is a core wasm module with no `component-type*` custom sections meaning "
            "that there is not WIT information; is the information not embedded or is this "
            "supposed to be a component?"
        )
    raise BinaryError(
        "input is a core wasm module with WIT in its `component-type` custom sections; make "
        "it a component first: wasm-tools component new MODULE.wasm -o COMPONENT.wasm"
    )
