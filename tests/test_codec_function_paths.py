"""A function codec's one-call paths (`encode_args`, `encode_value`, `decode_value`) give
what its methods give, errors included, for every kind of result."""

from __future__ import annotations

import pytest

from witgen.runtime import codec, wit
from witgen.runtime.values import Err, Ok


def test_a_plain_result_goes_through_its_codec_directly() -> None:
    fc = codec.function(wit.Func("f", {"a": wit.STRING, "b": wit.U64}, wit.Result(wit.U64, wit.STRING)))
    assert fc.encode_args(("x", 300)) == fc.encode_params("x", 300)
    for value in (Ok(5), Ok(2**40), Err("no")):
        data = fc.encode_value(value)
        assert data == fc.encode_result(value)
        assert fc.decode_value(data) == fc.decode_result(data) == value
    # the direct path is the result's own compiled function, one call a message
    assert fc.encode_value == fc.result.encode and fc.decode_value == fc.result.decode  # type: ignore[union-attr]
    with pytest.raises(codec.CodecError):
        fc.decode_value(fc.encode_value(Ok(1)) + b"\x00")
    with pytest.raises(codec.CodecError):
        fc.encode_value(Ok(-1))


def test_no_result_and_async_results_keep_the_methods_checks() -> None:
    none = codec.function(wit.Func("g", {}))
    assert none.encode_args(()) == b"" and none.encode_value(None) == b"" and none.decode_value(b"") is None
    with pytest.raises(codec.CodecError):
        none.encode_value(1)
    with pytest.raises(codec.CodecError):
        none.decode_value(b"\x00")
    streaming = codec.function(wit.Func("h", {}, wit.Stream(wit.U8)))
    assert streaming.encode_value.__func__ is codec.FunctionCodec.encode_result  # type: ignore[attr-defined]
    assert streaming.decode_value.__func__ is codec.FunctionCodec.decode_result  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind, top", [(wit.U32, 2**32 - 1), (wit.U64, 2**64 - 1)])
def test_unsigned_numbers_up_to_three_bytes_inline_encode_as_leb128(kind: wit.Type, top: int) -> None:
    from witgen.runtime import primitives

    c = codec.of(wit.Tuple(kind, wit.U8))
    for n in (0, 1, 0x7F, 0x80, 0x81, 0x3FFF, 0x4000, 0x4001, 0x1FFFFF, 0x200000, 0x200001, top):
        expected = bytearray()
        primitives.write_uleb(expected, n)
        data = c.encode((n, 7))
        assert data == bytes(expected) + b"\x07", n
        assert c.decode(data) == (n, 7)
    for bad in (-1, top + 1, 200.0, 70000.5, "5", None):
        with pytest.raises(codec.CodecError):
            c.encode((bad, 7))
    assert c.encode((True, 7)) == b"\x01\x07"
    # truncated two- and three-byte numbers are incomplete; an over-long one is refused
    for cut in (b"\x80", b"\x80\x80", b"\x80\x80\x80"):
        with pytest.raises(codec.CodecError):
            c.decode(cut)
    with pytest.raises(codec.CodecError):
        c.decode(b"\xff" * 11 + b"\x00")
    assert c.decode(b"\x80\x80\x01\x09") == (1 << 14, 9)
