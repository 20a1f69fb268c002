"""The component binary format's small pieces: names, sorts, type references, core types.

These readers return plain values (indices are still local to the component being
read); `witgen.binary.component` gives them meaning.
"""

from __future__ import annotations

from msgspec import Struct

from witgen.binary.reader import Reader
from witgen.binary.types import PRIMITIVE_BYTES

# A value type as written: a primitive's name or a type index.
RawValType = str | int


class ExternName(Struct, frozen=True):
    name: str
    implements: str | None = None
    version_suffix: str | None = None
    external_id: str | None = None


class TypeRef(Struct, frozen=True):
    """`sort` module, func, value, type-eq, type-sub-resource, instance or component."""

    sort: str
    index: int = 0
    value: RawValType | None = None


SORTS = {0x01: "func", 0x02: "value", 0x03: "type", 0x04: "component", 0x05: "instance"}


def sort(r: Reader) -> str:
    """A component sort; core sorts come back as `core-<kind>`."""
    at = r.pos
    byte = r.u8()
    if byte == 0x00:
        core = r.u8()
        kinds = {0x00: "func", 0x01: "table", 0x02: "memory", 0x03: "global", 0x04: "tag"}
        if core == 0x11:
            return "module"
        if core == 0x10:
            return "core-type"
        if core == 0x12:
            return "core-instance"
        if core in kinds:
            return f"core-{kinds[core]}"
        r.fail(f"invalid leading byte (0x{core:x}) for core sort", at + 1)
    found = SORTS.get(byte)
    if found is None:
        r.fail(f"invalid leading byte (0x{byte:x}) for component external kind", at)
    return found


def extern_name(r: Reader) -> ExternName:
    at = r.pos
    tag = r.u8()
    if tag not in (0x00, 0x01, 0x02):
        r.fail(f"invalid leading byte (0x{tag:x}) for component name", at)
    name = r.string()
    if tag != 0x02:
        return ExternName(name)
    options: dict[int, str] = {}
    for _ in range(r.count("name option")):
        opt_at = r.pos
        opt = r.u8()
        if opt not in (0x00, 0x01, 0x02):
            r.fail(f"invalid leading byte (0x{opt:x}) for name option", opt_at)
        if opt in options:
            r.fail("duplicate option in name", opt_at)
        options[opt] = r.string()
    return ExternName(name, options.get(0), options.get(1), options.get(2))


def valtype(r: Reader) -> RawValType:
    byte = r.peek()
    prim = PRIMITIVE_BYTES.get(byte)
    if prim is not None:
        r.pos += 1
        return prim
    at = r.pos
    index = r.s33()
    if index < 0:
        r.fail("invalid value type", at)
    return index


def optional_valtype(r: Reader) -> RawValType | None:
    at = r.pos
    flag = r.u8()
    if flag == 0x00:
        return None
    if flag == 0x01:
        return valtype(r)
    r.fail(f"invalid leading byte (0x{flag:x}) for optional component value type", at)


def type_ref(r: Reader) -> TypeRef:
    kind = sort(r)
    if kind == "module":
        return TypeRef("module", r.u32())
    if kind == "value":
        return TypeRef("value", value=valtype(r))
    if kind == "type":
        at = r.pos
        bound = r.u8()
        if bound == 0x00:
            return TypeRef("type-eq", r.u32())
        if bound == 0x01:
            return TypeRef("type-sub-resource")
        r.fail(f"invalid leading byte (0x{bound:x}) for type bound", at)
    if kind.startswith("core-"):
        r.fail(f"{kind[5:]} is not a valid component type reference", r.pos - 1)
    return TypeRef(kind, r.u32())


def result_list(r: Reader) -> RawValType | None:
    at = r.pos
    tag = r.u8()
    if tag == 0x00:
        return valtype(r)
    if tag == 0x01:
        zero = r.u8()
        if zero != 0x00:
            r.fail(f"invalid leading byte (0x{zero:x}) for number of results", r.pos - 1)
        return None
    r.fail(f"invalid leading byte (0x{tag:x}) for component function results", at)


# --------------------------------------------------------------------------- core types


def skip_core_type(r: Reader) -> None:
    """A core type (a module type or a GC type group), read and discarded."""
    at = r.pos
    byte = r.peek()
    if byte == 0x00:
        r.pos += 1
        if r.peek() != 0x50:
            r.fail("invalid leading byte for non-final sub type", r.pos)
        _skip_rec_group(r)
        return
    if byte == 0x50:
        r.pos += 1
        for _ in range(r.count("module type declaration")):
            decl_at = r.pos
            decl = r.u8()
            if decl == 0x00:  # import
                r.string()
                r.string()
                _skip_core_type_ref(r)
            elif decl == 0x01:
                _skip_rec_group(r)
            elif decl == 0x02:  # outer alias
                if r.u8() != 0x10 or r.u8() != 0x01:
                    r.fail("invalid outer alias in module type", decl_at)
                r.u32()
                r.u32()
            elif decl == 0x03:  # export
                r.string()
                _skip_core_type_ref(r)
            else:
                r.fail(f"invalid leading byte (0x{decl:x}) for type definition", decl_at)
        return
    _skip_rec_group(r)
    if r.pos == at:
        r.fail("invalid core type", at)


def _skip_rec_group(r: Reader) -> None:
    if r.peek() == 0x4E:
        r.pos += 1
        for _ in range(r.count("rec group type")):
            _skip_sub_type(r)
    else:
        _skip_sub_type(r)


def _skip_sub_type(r: Reader) -> None:
    at = r.pos
    byte = r.peek()
    if byte in (0x50, 0x4F):
        r.pos += 1
        for _ in range(r.count("supertype")):
            r.u32()
    byte = r.peek()
    if byte in (0x4D, 0x4C):  # shared / descriptor prefixes are not supported
        r.fail("unsupported core type", at)
    byte = r.u8()
    if byte == 0x60:  # func
        for _ in range(r.count("param")):
            _skip_core_valtype(r)
        for _ in range(r.count("result")):
            _skip_core_valtype(r)
    elif byte == 0x5F:  # struct
        for _ in range(r.count("field")):
            _skip_storage_type(r)
            r.u8()
    elif byte == 0x5E:  # array
        _skip_storage_type(r)
        r.u8()
    elif byte == 0x5D:  # cont
        r.s33()
    else:
        r.fail(f"invalid leading byte (0x{byte:x}) for core type", at)


def _skip_storage_type(r: Reader) -> None:
    if r.peek() in (0x78, 0x77):
        r.pos += 1
        return
    _skip_core_valtype(r)


def _skip_core_valtype(r: Reader) -> None:
    at = r.pos
    byte = r.u8()
    if byte in (0x7F, 0x7E, 0x7D, 0x7C, 0x7B):
        return
    if byte in (0x63, 0x64):  # (ref null? heaptype)
        r.s33()
        return
    if 0x69 <= byte <= 0x74:  # abstract heap type shorthands
        return
    r.fail(f"invalid leading byte (0x{byte:x}) for value type", at)


def _skip_core_type_ref(r: Reader) -> None:
    at = r.pos
    kind = r.u8()
    if kind == 0x00 or kind == 0x04:  # func, tag
        if kind == 0x04:
            r.u8()
        r.u32()
    elif kind == 0x01:  # table
        _skip_core_valtype(r)
        _skip_limits(r)
    elif kind == 0x02:  # memory
        _skip_limits(r)
    elif kind == 0x03:  # global
        _skip_core_valtype(r)
        r.u8()
    else:
        r.fail(f"invalid leading byte (0x{kind:x}) for external kind", at)


def _skip_limits(r: Reader) -> None:
    flags = r.u8()
    r.u64()
    if flags & 0x01:
        r.u64()
    if flags & 0x08:
        r.u32()


# --------------------------------------------------------------------------- canonical functions

# Canonical functions other than `lift` only add core functions; their layouts, so that
# they can be stepped over. Letters: u = u32, b = byte, o = options, r = result list,
# v = core value type.
_CANON_LAYOUTS = {
    0x02: "u", 0x03: "u", 0x04: "u", 0x24: "", 0x25: "", 0x09: "ro", 0x05: "", 0x0A: "vu",
    0x0B: "vu", 0x06: "b", 0x0D: "", 0x0E: "u", 0x0F: "uo", 0x10: "uo", 0x11: "ub", 0x12: "ub",
    0x13: "u", 0x14: "u", 0x15: "u", 0x16: "uo", 0x17: "uo", 0x18: "ub", 0x19: "ub", 0x1A: "u",
    0x1B: "u", 0x1C: "o", 0x1D: "o", 0x1E: "", 0x1F: "", 0x20: "bu", 0x21: "bu", 0x22: "",
    0x23: "", 0x26: "", 0x27: "uu", 0x28: "", 0x29: "b", 0x0C: "b", 0x2A: "b", 0x2B: "b",
    0x2C: "b", 0x2D: "b", 0x40: "u", 0x41: "uu", 0x42: "",
}  # fmt: skip


def canonical(r: Reader) -> int | None:
    """One canonical function: the type index of a `lift`, None for the others."""
    at = r.pos
    op = r.u8()
    if op in (0x00, 0x01):
        sub = r.u8()
        if sub != 0x00:
            r.fail(f"invalid leading byte (0x{sub:x}) for canonical function", at + 1)
        r.u32()
        _skip_options(r)
        return r.u32() if op == 0x00 else None
    layout = _CANON_LAYOUTS.get(op)
    if layout is None:
        r.fail(f"invalid leading byte (0x{op:x}) for canonical function", at)
    for letter in layout:
        if letter == "u":
            r.u32()
        elif letter == "b":
            r.u8()
        elif letter == "o":
            _skip_options(r)
        elif letter == "r":
            result_list(r)
        else:
            _skip_core_valtype(r)
    return None


def _skip_options(r: Reader) -> None:
    for _ in range(r.count("canonical option")):
        at = r.pos
        opt = r.u8()
        if opt in (0x03, 0x04, 0x05, 0x07, 0x08):
            r.u32()
        elif opt not in (0x00, 0x01, 0x02, 0x06, 0x09):
            r.fail(f"invalid leading byte (0x{opt:x}) for canonical option", at)
