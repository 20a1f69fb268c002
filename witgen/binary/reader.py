"""Reading the WebAssembly binary format: LEB128 numbers, names, sections.

Every read is bounds-checked; a malformed binary raises `BinaryError`, whose one-line
message names the byte offset and the section being read.
"""

from __future__ import annotations

from typing import NoReturn

from witgen.errors import WitError

MAGIC = b"\0asm"
COMPONENT_VERSION = b"\x0d\x00\x01\x00"
MODULE_VERSION = b"\x01\x00\x00\x00"

# Component-level section ids and what they are called in messages.
COMPONENT_SECTIONS = {
    0: "custom",
    1: "core module",
    2: "core instance",
    3: "core type",
    4: "component",
    5: "instance",
    6: "alias",
    7: "type",
    8: "canonical function",
    9: "start",
    10: "import",
    11: "export",
    12: "value",
}

# Ceilings on counts read from the binary (those of the reference parser), so that a
# corrupt length fails at once instead of looping for a long time.
MAX_ITEMS = 1_000_000


class BinaryError(WitError):
    """A binary that is malformed or uses what the decoder does not support.

    The message is one line: characters a binary's names may hold that do not print
    (line breaks among them) are shown escaped."""

    def __init__(self, message: str) -> None:
        super().__init__(printable(message))


def printable(text: str) -> str:
    """`text` with the characters that do not print shown as escapes (`\\n`)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class Reader:
    """A cursor over `data[pos:end]`; `section` names what is being read, for errors."""

    __slots__ = ("data", "pos", "end", "section")

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None, section: str = "header"):
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end
        self.section = section

    # ------------------------------------------------------------------ errors

    def fail(self, message: str, at: int | None = None) -> NoReturn:
        where = self.pos if at is None else at
        raise BinaryError(f"{message} at byte offset {where} (in the {self.section} section)")

    # ------------------------------------------------------------------ primitives

    def at_end(self) -> bool:
        return self.pos >= self.end

    def u8(self) -> int:
        if self.pos >= self.end:
            self.fail("unexpected end of data")
        byte = self.data[self.pos]
        self.pos += 1
        return byte

    def peek(self) -> int:
        if self.pos >= self.end:
            self.fail("unexpected end of data")
        return self.data[self.pos]

    def raw(self, size: int) -> bytes:
        if size > self.end - self.pos:
            self.fail(f"{size} bytes needed, {self.end - self.pos} left")
        start = self.pos
        self.pos += size
        return self.data[start : self.pos]

    def u32(self) -> int:
        start = self.pos
        result = 0
        shift = 0
        while True:
            byte = self.u8()
            if shift == 28 and byte & 0x70:
                self.fail("invalid var_u32: integer too large", start)
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result
            shift += 7
            if shift > 28:
                self.fail("invalid var_u32: integer representation too long", start)

    def s33(self) -> int:
        start = self.pos
        result = 0
        shift = 0
        while True:
            byte = self.u8()
            result |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
            if shift >= 35:
                self.fail("invalid var_s33: integer representation too long", start)
        if result & (1 << (shift - 1)):
            result -= 1 << shift
        if not -(1 << 32) <= result < (1 << 32):
            self.fail("invalid var_s33: integer too large", start)
        return result

    def u64(self) -> int:
        start = self.pos
        result = 0
        shift = 0
        while True:
            byte = self.u8()
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result
            shift += 7
            if shift > 63:
                self.fail("invalid var_u64: integer representation too long", start)

    def count(self, what: str) -> int:
        """A vector length; checked against what the remaining bytes can hold."""
        start = self.pos
        n = self.u32()
        if n > MAX_ITEMS or n > self.end - self.pos:
            self.fail(f"{what} count of {n} is too large", start)
        return n

    def string(self) -> str:
        start = self.pos
        size = self.u32()
        data = self.raw(size)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            self.fail("malformed UTF-8 encoding", start)

    def sub(self, size: int, section: str) -> Reader:
        """A reader over the next `size` bytes (which this reader skips)."""
        if size > self.end - self.pos:
            self.fail(f"section of {size} bytes is out of bounds")
        inner = Reader(self.data, self.pos, self.pos + size, section)
        self.pos += size
        return inner

    def expect_end(self) -> None:
        if self.pos != self.end:
            self.fail("unexpected content in the section after its items")


def header_kind(data: bytes) -> str:
    """`component`, `module`, or a BinaryError for anything else."""
    reader = Reader(data)
    if len(data) < 8 or data[:4] != MAGIC:
        reader.fail("not a WebAssembly binary: magic header not detected", 0)
    version = data[4:8]
    if version == COMPONENT_VERSION:
        return "component"
    if version == MODULE_VERSION:
        return "module"
    reader.fail(f"unknown binary version or layer: 0x{version.hex()}", 4)
