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
