"""wRPC framing (SPEC.md, "Framed stream specification"), the bytes of one connection.

Caller to provider, once: the version byte `00`, then the header `instance` and
`name` (two component-model strings). Then, both ways, frames:

    len(path) path[0] ... path[n-1] len(data) data      (every integer LEB128, u32)

A frame carries the bytes of one path (`()` the root value, `(i, ...)` an async
value nested in it); frame boundaries need not follow value boundaries. A frame
with empty data ends its path (the wRPC Go peers' rule); a half-close ends every
path of that direction.

witgen adds one frame the specification does not define: a provider that fails a
call sends `ERROR_PATH` (a path no value can have in that direction) with the
error's kind and message as two strings. Peers that do not know it stop reading
the call, which fails it there too. A producer of a future or stream that fails
ends its path the same way, on `ERROR_PATH + path` (either direction).

`FrameParser` reads all this incrementally from the bytes as they arrive and
raises `FrameError` on anything malformed; `encode_*` write it.
"""

from __future__ import annotations

from witgen.runtime.wrpc.transport import Path

__all__ = [
    "ERROR_PATH",
    "FrameError",
    "FrameParser",
    "MAX_NAME",
    "MAX_PATH",
    "VERSION",
    "decode_error",
    "encode_error",
    "encode_frame",
    "encode_preamble",
]

VERSION = 0
# Results travel on paths that start with 0 (a function has one result): this one is free.
ERROR_PATH: Path = (0xFFFF_FFFF,)
MAX_PATH = 64  # indices in one path
MAX_NAME = 4096  # bytes of an instance or function name
_U32 = 0xFFFF_FFFF


class FrameError(ValueError):
    """Bytes that are not wRPC framing; the message says what and where."""


def _leb(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _string(text: str) -> bytes:
    data = text.encode()
    return _leb(len(data)) + data


def encode_preamble(instance: str, function: str) -> bytes:
    """The version byte and the header a caller starts its connection with."""
    return bytes([VERSION]) + _string(instance) + _string(function)


def encode_frame(path: Path, data: bytes) -> bytes:
    """One frame: `path`, then `data` as a byte list."""
    if not path:
        return b"\x00" + _leb(len(data)) + data
    return b"".join((_leb(len(path)), *map(_leb, path), _leb(len(data)), data))


def encode_error(kind: str, message: str, path: Path = ()) -> bytes:
    """The frame a provider ends a failed call with, or a failed value at `path`."""
    return encode_frame(ERROR_PATH + path, _string(kind) + _string(message))


def decode_error(data: bytes) -> tuple[str, str]:
    """(kind, message) of an error frame's data; `FrameError` when it is not one."""
    kind, at = _read_string(data, 0, "the error kind")
    message, at = _read_string(data, at, "the error message")
    if at != len(data):
        raise FrameError(f"{len(data) - at} byte(s) after the error message")
    return kind, message


def _read_string(data: bytes, at: int, what: str) -> tuple[str, int]:
    size, at = _read_u32(data, at, what)
    if size is None or at + size > len(data):
        raise FrameError(f"{what} is cut short")
    try:
        return data[at : at + size].decode(), at + size
    except UnicodeDecodeError:
        raise FrameError(f"{what} is not UTF-8") from None


def _read_u32(data: bytes | bytearray, at: int, what: str) -> tuple[int | None, int]:
    """A LEB128 u32 at `at`: (value, next offset), or (None, at) when the bytes stop first."""
    value = 0
    shift = 0
    end = len(data)
    i = at
    while i < end:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            if value > _U32:
                raise FrameError(f"{what}: {value} does not fit in 32 bits")
            return value, i
        shift += 7
        if shift >= 35:
            raise FrameError(f"{what}: a LEB128 integer longer than 5 bytes")
    return None, at


class FrameParser:
    """Frames out of a byte stream, as it arrives (`feed`), one direction of a connection.

    With `header=True` the stream starts with the version byte and the header
    (`header` is then `(instance, function)` once read). `max_data` bounds one
    frame's data, so a peer cannot make this buffer what it announces.
    """

    __slots__ = ("_buf", "_want_header", "header", "max_data", "offset")

    def __init__(self, *, header: bool, max_data: int) -> None:
        self._buf = bytearray()
        self._want_header = header
        self.header: tuple[str, str] | None = None
        self.max_data = max_data
        self.offset = 0  # bytes consumed so far (for messages)

    @property
    def pending(self) -> int:
        """Bytes received that do not make a whole frame yet."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[tuple[Path, bytes]]:
        """The frames `data` completes, in order; `FrameError` at the first malformed one.

        The call that completes the header returns no frames: what follows it is parsed
        by the next call (`feed(b"")` for what arrived already), so that a malformed
        frame is told apart from a malformed header.
        """
        buf = self._buf
        buf += data
        frames: list[tuple[Path, bytes]] = []
        if self._want_header:
            at = self._header(buf)
            if at:
                del buf[:at]
                self.offset += at
            return frames
        at = 0
        end = len(buf)
        while at < end:
            found = self._frame(buf, at)
            if found is None:
                break
            path, data_at, size = found
            frames.append((path, bytes(buf[data_at : data_at + size])))
            at = data_at + size
        if at:
            del buf[:at]
            self.offset += at
        return frames

    def _header(self, buf: bytearray) -> int:
        """Bytes of the complete preamble at the start of `buf`, or 0 while it is incomplete."""
        if not buf:
            return 0
        if buf[0] != VERSION:
            raise FrameError(f"unsupported version byte 0x{buf[0]:02x} (wRPC framing starts with 0x00)")
        names: list[str] = []
        at = 1
        for what in ("the instance name", "the function name"):
            size, next_at = _read_u32(buf, at, what)
            if size is None:
                return 0
            if size > MAX_NAME:
                raise FrameError(f"{what} is {size} bytes long (at most {MAX_NAME})")
            if next_at + size > len(buf):
                return 0
            try:
                names.append(bytes(buf[next_at : next_at + size]).decode())
            except UnicodeDecodeError:
                raise FrameError(f"{what} is not UTF-8") from None
            at = next_at + size
        self.header = (names[0], names[1])
        self._want_header = False
        return at

    def _frame(self, buf: bytearray, at: int) -> tuple[Path, int, int] | None:
        """(path, where its data starts, data size) of the frame at `at`, or None if incomplete."""
        where = f"the frame at byte {self.offset + at}"
        count, i = _read_u32(buf, at, f"{where}: its path length")
        if count is None:
            return None
        if count > MAX_PATH:
            raise FrameError(f"{where}: a path of {count} indices (at most {MAX_PATH})")
        path: list[int] = []
        for _ in range(count):
            index, i = _read_u32(buf, i, f"{where}: its path")
            if index is None:
                return None
            path.append(index)
        size, i = _read_u32(buf, i, f"{where}: its data length")
        if size is None:
            return None
        if size > self.max_data:
            raise FrameError(f"{where}: {size} bytes of data (at most {self.max_data})")
        if i + size > len(buf):
            return None
        return tuple(path), i, size

    def finish(self) -> None:
        """The stream ended: `FrameError` if it stopped inside the header or a frame."""
        if self._want_header:
            raise FrameError(
                "the connection ended before the invocation header"
                if not self._buf
                else "the connection ended inside the invocation header"
            )
        if self._buf:
            raise FrameError(f"the connection ended inside a frame ({len(self._buf)} bytes of it arrived)")
