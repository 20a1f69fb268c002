"""Point an exported resource's destructor at a hook function of the same component.

componentize-py gives every exported resource a destructor that runs no Python, so
a bridge could not tell the provider that a caller dropped a handle. The bridge's
world exports one hook per resource (`witgen.bridge.resources`), a function taking
the resource's representation (`u32`), exactly as a destructor does. The component
takes the destructor from its core module by name (an alias of the core export
`<instance>#[dtor]<resource>`); the hook's core export has a name of the same length,
so renaming the alias, in place, makes the hook the destructor. Only aliases of the
outer component are looked at; the name must occur there exactly once.
"""

from __future__ import annotations

from collections.abc import Iterable

from witgen.bridge.plan import BridgeError

__all__ = ["retarget"]

ALIAS_SECTION = 6
PREAMBLE = 8  # `\0asm`, version and layer


def _leb(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _read_leb(data: bytes | bytearray, pos: int) -> tuple[int, int]:
    n = shift = 0
    while True:
        if pos >= len(data) or shift > 28:
            raise BridgeError("the built component is malformed (a section size does not decode)")
        byte = data[pos]
        pos += 1
        n |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return n, pos


def _alias_sections(data: bytes | bytearray) -> list[tuple[int, int]]:
    """(start, end) of every alias section of the outer component."""
    if data[:4] != b"\0asm" or len(data) < PREAMBLE:
        raise BridgeError("the built file is not a WebAssembly component")
    found, pos = [], PREAMBLE
    while pos < len(data):
        section = data[pos]
        size, start = _read_leb(data, pos + 1)
        if start + size > len(data):
            raise BridgeError("the built component is malformed (a section runs past its end)")
        if section == ALIAS_SECTION:
            found.append((start, start + size))
        pos = start + size
    return found


def retarget(data: bytes, renames: Iterable[tuple[str, str]]) -> bytes:
    """`data` with each destructor alias `old` renamed to the hook `new` (same length)."""
    out = bytearray(data)
    sections = _alias_sections(out)
    for old, new in renames:
        before, after = old.encode(), new.encode()
        if len(before) != len(after):
            raise BridgeError(f"the hook {new} is not as long as the destructor {old}")
        needle = _leb(len(before)) + before
        hits = []
        for start, end in sections:
            at = out.find(needle, start, end)
            while at != -1:
                hits.append(at + len(needle) - len(before))
                at = out.find(needle, at + 1, end)
        if len(hits) != 1:
            raise BridgeError(f"the built component has {len(hits)} destructors named {old} (expected one)")
        out[hits[0] : hits[0] + len(after)] = after
    return bytes(out)
