"""The wire codec API: encode and decode values of described WIT types.

    from witgen.runtime import codec
    data = codec.of(ChatRequest).encode(request)        # bytes
    request = codec.of(ChatRequest).decode(data)         # exactly one value
    codec.of(wit.List(wit.U32)).encode([1, 300])         # anonymous types too

`of(t)` takes a described class (a generated record, enum, flags, resource class or
variant union) or any `witgen.runtime.wit.Type`. Functions: `codec.function(f)` gives
the parameter and result codecs of a `wit.Func` (parameters travel as one tuple).

Codecs are built on first use by `witgen.runtime.compiler` (straight-line code per type,
compiled once) and raise only `CodecError`: on values that do not fit the type, and on
bytes that are not exactly one valid encoding (wire-format.md, section 1).

Decoding work is bounded by the input: elements that take no bytes on the wire (empty
tuples and records, `list<T, 0>`) may number at most `per_byte * len(data) + base` in
one decode, over all its lists and depths; past it a decode raises `ElementLimitError`
(a `CodecError`). `set_element_limit(per_byte, base)` changes the limit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

from witgen.runtime import primitives, wit
from witgen.runtime.compiler import Decoder, Encoder, build, has_async, message_decoder, message_encoder
from witgen.runtime.primitives import CodecError, ElementLimitError, Incomplete

__all__ = [
    "Codec",
    "CodecError",
    "ElementLimitError",
    "FunctionCodec",
    "Incomplete",
    "function",
    "has_async",
    "of",
    "set_element_limit",
]

T = TypeVar("T")


class Codec(Generic[T]):
    """Encoder and decoder of one WIT type: `encode(value) -> bytes`, `decode(data)`."""

    __slots__ = ("type", "write", "read", "encode", "decode")

    def __init__(self, t: wit.Type) -> None:
        self.type = t
        self.write: Encoder
        self.read: Decoder
        self.write, self.read = build(t)
        # Compiled whole-message functions, one Python call per message:
        # `encode(value) -> bytes` with its own buffer, and `decode(data) -> value`, exactly
        # one value from `data` (trailing bytes are a `CodecError`).
        self.encode: Callable[[T], bytes] = message_encoder(t)
        self.decode: Callable[[bytes], T] = message_decoder(t)

    def __repr__(self) -> str:
        return f"<codec {self.type.wit}>"

    def decode_from(self, data: bytes, pos: int = 0) -> tuple[T, int]:
        """One value at `pos` of `data`, and the position after it."""
        return self.read(data, pos)

    def encode_into(self, buf: bytearray, value: T) -> None:
        """Append the encoding of `value` to `buf`."""
        self.write(buf, value)


@overload
def of(t: type[T]) -> Codec[T]: ...
@overload
def of(t: Any) -> Codec[Any]: ...
def of(t: Any) -> Codec[Any]:
    """The codec of a described class or union, or of a `wit.Type`."""
    desc = wit.of(t)
    return wit.cached(desc, "codec-api", lambda: Codec[Any](desc))


class FunctionCodec:
    """The codecs of one function: its parameter tuple and its result.

    `has_async`: parameters or result hold futures or streams; their pending values are
    registered with (encoding) or read through (decoding) `asyncvalues.CURRENT`, and
    travel on paths: parameter `i` at `(i, ...)`, the result at `(0, ...)`.
    """

    __slots__ = ("func", "params", "result", "has_async", "_result_at", "encode_args", "encode_value", "decode_value")

    def __init__(self, func: wit.Func) -> None:
        self.func = func
        self.params: Codec[tuple[Any, ...]] = of(func.param_types)
        self.result: Codec[Any] | None = None if func.result is None else of(func.result)
        self.has_async = has_async(func.param_types) or has_async(func.result)
        # The result as the one-element tuple it travels as, so that its paths start at 0.
        self._result_at: Codec[tuple[Any]] | None = (
            of(wit.Tuple(func.result)) if func.result is not None and has_async(func.result) else None
        )
        # The fastest function for each direction, one Python call a message: `encode_args(args)`
        # (the parameter tuple), `encode_value(value)` and `decode_value(data)` (the result).
        self.encode_args: Callable[[tuple[Any, ...]], bytes] = self.params.encode
        plain = self.result is not None and self._result_at is None
        self.encode_value: Callable[[Any], bytes] = self.result.encode if plain else self.encode_result  # type: ignore[union-attr]
        self.decode_value: Callable[[bytes], Any] = self.result.decode if plain else self.decode_result  # type: ignore[union-attr]

    def encode_params(self, *args: Any) -> bytes:
        """The parameters as they travel (no parameters: no bytes)."""
        return self.params.encode(args)

    def decode_params(self, data: bytes) -> tuple[Any, ...]:
        return self.params.decode(data)

    def encode_result(self, value: Any) -> bytes:
        """The result as it travels (no result: no bytes, and `value` must be None)."""
        if self.result is None:
            if value is not None:
                raise CodecError(f"{self.func.name} has no result, but returned {type(value).__name__}")
            return b""
        if self._result_at is not None:
            return self._result_at.encode((value,))
        return self.result.encode(value)

    def decode_result(self, data: bytes) -> Any:
        if self.result is None:
            if data:
                raise CodecError(f"{len(data)} trailing byte(s) after the value")
            return None
        if self._result_at is not None:
            return self._result_at.decode(data)[0]
        return self.result.decode(data)


def function(func: wit.Func) -> FunctionCodec:
    """The parameter and result codecs of `func` (built once)."""
    return wit.cached(func, "codec", lambda: FunctionCodec(func))


def set_element_limit(per_byte: int, base: int) -> tuple[int, int]:
    """Let one decode of n bytes declare up to `per_byte * n + base` elements that take no
    bytes (for every codec of this process); returns the previous `(per_byte, base)`."""
    if per_byte < 0 or base < 0:
        raise ValueError(f"the element limit takes non-negative numbers, not {per_byte} per byte + {base}")
    previous = primitives.ZERO_SIZE_PER_BYTE, primitives.ZERO_SIZE_BASE
    primitives.ZERO_SIZE_PER_BYTE, primitives.ZERO_SIZE_BASE = per_byte, base
    return previous
