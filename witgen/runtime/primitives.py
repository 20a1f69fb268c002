"""Wire primitives of the value encoding (wire-format.md, section 1).

The codecs that `witgen.runtime.codec` builds are specialized per type; this module holds
the primitives their code calls.

Encoders append to a `bytearray`: `write_u32(buf, v)`. Decoders read from `bytes` at a
position and return the value and the next position: `read_u32(data, pos) -> (v, pos)`.
Built decoders inline the one-byte fast paths and index `data` directly, so a truncated
input surfaces as `IndexError` / `struct.error` inside them; every built function converts
those (and only those) with `wrap()`, so callers only ever see `CodecError`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

F32 = struct.Struct("<f")
F64 = struct.Struct("<d")
NAN32 = b"\x00\x00\xc0\x7f"
NAN64 = b"\x00\x00\x00\x00\x00\x00\xf8\x7f"

# The element budget of one decode. Elements that take bytes on the wire are bounded by
# the payload itself; elements that take none (empty tuples and records, `list<T, 0>`,
# a stream of nothing) are not, so a payload of n bytes may declare at most
# `ZERO_SIZE_PER_BYTE * n + ZERO_SIZE_BASE` of them, counted over all its lists at every
# nesting depth, fixed-length ones included. Read at each decode (`codec.set_element_limit`).
ZERO_SIZE_PER_BYTE = 4
ZERO_SIZE_BASE = 1 << 16


class CodecError(ValueError):
    """A value that cannot be encoded, or bytes that are not a valid encoding."""


class ElementLimitError(CodecError):
    """Bytes that declare more elements taking no bytes than their size allows."""


class Incomplete(CodecError):
    """Bytes that stop inside a value: invalid as a whole message, but a reader of a
    path whose bytes are still arriving waits for more instead."""


# Low-level exceptions that generated code converts to `CodecError`.
DECODE_ERRORS: tuple[type[Exception], ...] = (IndexError, struct.error, UnicodeDecodeError)
ENCODE_ERRORS: tuple[type[Exception], ...] = (
    TypeError,
    ValueError,
    AttributeError,
    OverflowError,
    struct.error,
    UnicodeEncodeError,
)


def trailing(count: int) -> CodecError:
    """The error for bytes left over after a whole message's value."""
    return CodecError(f"{count} trailing byte(s) after the value")


def wrap(exc: Exception, what: str = "") -> CodecError:
    """The `CodecError` to raise for a low-level exception caught in generated code."""
    if isinstance(exc, CodecError):
        return exc
    where = f" ({what})" if what else ""
    if isinstance(exc, (IndexError, struct.error)):
        return Incomplete(f"truncated input{where}")
    if isinstance(exc, UnicodeDecodeError):
        return CodecError(f"invalid UTF-8{where}")
    if isinstance(exc, UnicodeEncodeError):
        return CodecError(f"string is not valid Unicode (lone surrogate){where}")
    return CodecError(f"cannot encode{where}: {exc}")


# --------------------------------------------------------------------------- whole messages


def to_bytes(encode: Callable[[bytearray, T], None], value: T) -> bytes:
    """Encode one value with a generated `encode_*` function."""
    buf = bytearray()
    encode(buf, value)
    return bytes(buf)


def from_bytes(decode: Callable[[bytes, int], tuple[T, int]], data: bytes) -> T:
    """Decode exactly one value with a generated `decode_*` function (no trailing bytes)."""
    data = bytes(data)
    value, pos = decode(data, 0)
    if pos != len(data):
        raise CodecError(f"{len(data) - pos} trailing byte(s) after the value")
    return value


# --------------------------------------------------------------------------- LEB128 writers


def write_uleb(buf: bytearray, v: int) -> None:
    """Unsigned LEB128 of a non-negative int (no range check)."""
    while v >= 0x80:
        buf.append((v & 0x7F) | 0x80)
        v >>= 7
    buf.append(v)


def uleb(v: int) -> bytes:
    """Unsigned LEB128 of a non-negative int, as bytes (for encoders that join parts)."""
    buf = bytearray()
    write_uleb(buf, v)
    return bytes(buf)


# Each byte value as a one-byte `bytes` (for encoders that join parts).
BYTE = tuple(bytes((i,)) for i in range(256))


def write_sleb(buf: bytearray, v: int) -> None:
    """Signed LEB128 (no range check)."""
    while True:
        byte = v & 0x7F
        v >>= 7
        if (v == 0 and not byte & 0x40) or (v == -1 and byte & 0x40):
            buf.append(byte)
            return
        buf.append(byte | 0x80)


def _range(v: int, lo: int, hi: int, name: str) -> None:
    if type(v) is not int and not isinstance(v, int):
        raise CodecError(f"{name} must be an int, not {type(v).__name__}")
    if not lo <= v <= hi:
        raise CodecError(f"{v} is out of range for {name}")


def write_u8(buf: bytearray, v: int) -> None:
    _range(v, 0, 0xFF, "u8")
    buf.append(v)


def write_s8(buf: bytearray, v: int) -> None:
    _range(v, -0x80, 0x7F, "s8")
    buf.append(v & 0xFF)


def write_u16(buf: bytearray, v: int) -> None:
    _range(v, 0, 0xFFFF, "u16")
    write_uleb(buf, v)


def write_u32(buf: bytearray, v: int) -> None:
    _range(v, 0, 0xFFFF_FFFF, "u32")
    write_uleb(buf, v)


def write_u64(buf: bytearray, v: int) -> None:
    _range(v, 0, 0xFFFF_FFFF_FFFF_FFFF, "u64")
    write_uleb(buf, v)


def write_s16(buf: bytearray, v: int) -> None:
    _range(v, -0x8000, 0x7FFF, "s16")
    write_sleb(buf, v)


def write_s32(buf: bytearray, v: int) -> None:
    _range(v, -0x8000_0000, 0x7FFF_FFFF, "s32")
    write_sleb(buf, v)


def write_s64(buf: bytearray, v: int) -> None:
    _range(v, -0x8000_0000_0000_0000, 0x7FFF_FFFF_FFFF_FFFF, "s64")
    write_sleb(buf, v)


def write_bool(buf: bytearray, v: bool) -> None:
    if v is True:
        buf.append(1)
    elif v is False:
        buf.append(0)
    else:
        raise CodecError(f"bool expected, not {type(v).__name__}")


def write_f32(buf: bytearray, v: float) -> None:
    if v != v:
        buf += NAN32
    else:
        try:
            buf += F32.pack(v)
        except OverflowError:
            raise CodecError(f"{v} is out of range for f32") from None


def write_f64(buf: bytearray, v: float) -> None:
    buf += NAN64 if v != v else F64.pack(v)


def write_string(buf: bytearray, v: str) -> None:
    data = v.encode()
    write_uleb(buf, len(data))
    buf += data


def write_bytes(buf: bytearray, v: bytes) -> None:
    write_uleb(buf, len(v))
    buf += v


def write_char(buf: bytearray, v: str) -> None:
    if type(v) is not str or len(v) != 1 or 0xD800 <= ord(v) <= 0xDFFF:
        raise CodecError(f"a char must be one Unicode scalar value, not {v!r}")
    buf += v.encode()


def write_flags(buf: bytearray, v: int, size: int) -> None:
    buf += v.to_bytes(size, "little")


# --------------------------------------------------------------------------- LEB128 readers


def _read_uleb(data: bytes, pos: int, max_bytes: int, hi: int, name: str) -> tuple[int, int]:
    result = 0
    shift = 0
    for i in range(max_bytes):
        byte = data[pos + i]
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            if result > hi:
                raise CodecError(f"{name} out of range: {result}")
            return result, pos + i + 1
        shift += 7
    raise CodecError(f"LEB128 longer than {max_bytes} bytes for {name}")


def _read_sleb(data: bytes, pos: int, max_bytes: int, bits: int, name: str) -> tuple[int, int]:
    result = 0
    shift = 0
    for i in range(max_bytes):
        byte = data[pos + i]
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            if byte & 0x40:
                result -= 1 << shift
            if not -(1 << (bits - 1)) <= result < 1 << (bits - 1):
                raise CodecError(f"{name} out of range: {result}")
            return result, pos + i + 1
    raise CodecError(f"LEB128 longer than {max_bytes} bytes for {name}")


def read_u16(data: bytes, pos: int) -> tuple[int, int]:
    return _read_uleb(data, pos, 3, 0xFFFF, "u16")


def read_u32(data: bytes, pos: int) -> tuple[int, int]:
    return _read_uleb(data, pos, 5, 0xFFFF_FFFF, "u32")


def read_u64(data: bytes, pos: int) -> tuple[int, int]:
    return _read_uleb(data, pos, 10, 0xFFFF_FFFF_FFFF_FFFF, "u64")


def read_s16(data: bytes, pos: int) -> tuple[int, int]:
    return _read_sleb(data, pos, 3, 16, "s16")


def read_s32(data: bytes, pos: int) -> tuple[int, int]:
    return _read_sleb(data, pos, 5, 32, "s32")


def read_s64(data: bytes, pos: int) -> tuple[int, int]:
    return _read_sleb(data, pos, 10, 64, "s64")


def read_len(data: bytes, pos: int, min_size: int = 1) -> tuple[int, int]:
    """A ULEB128 length or count (u32), checked against the remaining input.

    `min_size` is the least number of bytes one element takes; 0 for elements that
    take none, whose count the caller charges to the element budget instead.
    """
    n, pos = _read_uleb(data, pos, 5, 0xFFFF_FFFF, "length")
    if n * min_size > len(data) - pos:
        raise Incomplete(f"length {n} exceeds the remaining {len(data) - pos} byte(s)")
    return n, pos


def element_budget(size: int) -> int:
    """How many elements that take no bytes a payload of `size` bytes may declare."""
    return ZERO_SIZE_PER_BYTE * size + ZERO_SIZE_BASE


def too_many_elements(size: int, left: int) -> ElementLimitError:
    """The error for a payload of `size` bytes whose budget went down to `left` (< 0)."""
    limit = element_budget(size)
    return ElementLimitError(
        f"the payload declares {limit - left} elements that take no bytes in {size} byte(s):"
        f" over the limit of {limit} ({ZERO_SIZE_PER_BYTE} per byte + {ZERO_SIZE_BASE})"
    )


def read_bool(data: bytes, pos: int) -> tuple[bool, int]:
    b = data[pos]
    if b > 1:
        raise CodecError(f"invalid bool byte 0x{b:02x}")
    return b == 1, pos + 1


def read_s8(data: bytes, pos: int) -> tuple[int, int]:
    b = data[pos]
    return (b - 0x100 if b >= 0x80 else b), pos + 1


def read_f32(data: bytes, pos: int) -> tuple[float, int]:
    return F32.unpack_from(data, pos)[0], pos + 4


def read_f64(data: bytes, pos: int) -> tuple[float, int]:
    return F64.unpack_from(data, pos)[0], pos + 8


def read_string(data: bytes, pos: int) -> tuple[str, int]:
    n = data[pos]
    if n < 0x80:
        pos += 1
    else:
        n, pos = read_len(data, pos)
    end = pos + n
    if end > len(data):
        raise Incomplete(f"string length {n} exceeds the remaining {len(data) - pos} byte(s)")
    return data[pos:end].decode(), end


def read_bytes(data: bytes, pos: int) -> tuple[bytes, int]:
    n = data[pos]
    if n < 0x80:
        pos += 1
    else:
        n, pos = read_len(data, pos)
    end = pos + n
    if end > len(data):
        raise Incomplete(f"byte length {n} exceeds the remaining {len(data) - pos} byte(s)")
    return data[pos:end], end


def read_char(data: bytes, pos: int) -> tuple[str, int]:
    lead = data[pos]
    if lead < 0x80:
        return chr(lead), pos + 1
    if 0xC2 <= lead < 0xE0:
        size = 2
    elif 0xE0 <= lead < 0xF0:
        size = 3
    elif 0xF0 <= lead < 0xF5:
        size = 4
    else:
        raise CodecError(f"invalid UTF-8 lead byte 0x{lead:02x} in char")
    end = pos + size
    if end > len(data):
        raise Incomplete("truncated char")
    # The strict UTF-8 codec rejects surrogates, overlong forms and > U+10FFFF.
    return data[pos:end].decode(), end


def read_fixed_bytes(data: bytes, pos: int, size: int) -> tuple[bytes, int]:
    end = pos + size
    if end > len(data):
        raise Incomplete(f"fixed list of {size} bytes exceeds the remaining input")
    return data[pos:end], end


def read_flags(data: bytes, pos: int, size: int, mask: int) -> tuple[int, int]:
    end = pos + size
    if end > len(data):
        raise Incomplete("truncated flags")
    v = int.from_bytes(data[pos:end], "little")
    if v & ~mask:
        raise CodecError(f"unknown flag bit(s) 0x{v & ~mask:x}")
    return v, end


def read_case(data: bytes, pos: int, count: int, what: str) -> tuple[int, int]:
    """A ULEB128 case index below `count`."""
    i = data[pos]
    if i < 0x80:
        pos += 1
    else:
        i, pos = _read_uleb(data, pos, 5, 0xFFFF_FFFF, "case index")
    if i >= count:
        raise CodecError(f"unknown case {i} of {what}")
    return i, pos


def read_tag(data: bytes, pos: int, what: str) -> int:
    """The `00`/`01` byte of an option, result, future or stream."""
    b = data[pos]
    if b > 1:
        raise CodecError(f"invalid {what} discriminant 0x{b:02x}")
    return b


def bad_case(i: int, what: str) -> CodecError:
    return CodecError(f"unknown case {i} of {what}")


def bad_value(v: object, what: str) -> CodecError:
    return CodecError(f"expected {what}, got {type(v).__name__}: {v!r}"[:300])


def pending(what: str) -> CodecError:
    return CodecError(f"a pending {what} can only be read inside a wRPC call (its value follows on its own path)")


def check_len(v: object, size: int, what: str) -> None:
    if len(v) != size:  # type: ignore[arg-type]
        raise CodecError(f"{what} needs exactly {size} elements")


# Built decoders create records with `new(Cls)` and assign the fields: it skips the
# call to the dataclass `__init__`, which only assigns them.
new = object.__new__
