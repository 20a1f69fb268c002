"""The wasmCloud 0.x MessagePack payloads (wire-format.md, section 4), built from descriptions."""

from __future__ import annotations

from typing import Any

import msgpack
import pytest
import wasm_llm as llm
import wasm_world as ww
from hypothesis import given, settings
from hypothesis import strategies as st

from test_wasm_convert import values
from witgen.runtime import legacy
from witgen.runtime.codec import CodecError
from witgen.runtime.values import Err, Ok, Some


def test_records_are_camelcase_maps_and_results_one_key_maps() -> None:
    request = llm.ChatRequest("echo:latest", [llm.Message("user", "hi")])
    chat = legacy.legacy_function(llm.LLM_FUNCTIONS["chat"])
    assert msgpack.unpackb(chat.encode_params(request)) == {
        "model": "echo:latest", "messages": [{"role": "user", "content": "hi"}]
    }  # fmt: skip
    error = llm.StatusError(404, "404 Not Found", "gone")
    assert msgpack.unpackb(chat.encode_result(Err(error))) == {
        "Err": {"statusCode": 404, "status": "404 Not Found", "errorMessage": "gone"}
    }
    assert chat.decode_result(chat.encode_result(Err(error))) == Err(error)
    assert legacy.of(ww.KINDS["enum"][1]).to_plain(ww.Color.GREEN) == "Green"
    assert legacy.of(ww.KINDS["variant"][1]).to_plain(ww.ShapeRect(ww.Point(1, 2))) == {"Rect": {"x": 1, "y": 2}}
    assert legacy.of(ww.KINDS["variant"][1]).to_plain(ww.ShapeEmpty()) == "Empty"
    assert legacy.of(ww.KINDS["flags"][1]).to_plain(ww.Perms.READ | ww.Perms.EXEC) == ["read", "exec"]
    assert legacy.of(ww.KINDS["result-err"][1]).to_plain(Ok(None)) == {"Ok": None}


def test_several_parameters_travel_as_a_map_none_as_nil() -> None:
    from witgen.runtime import wit

    f = legacy.legacy_function(wit.Func("add", {"left-side": wit.U32, "right": wit.U32}, wit.U32))
    assert msgpack.unpackb(f.encode_params(1, 2)) == {"leftSide": 1, "right": 2}
    assert f.decode_params(msgpack.packb({"leftSide": 3, "right": 4})) == (3, 4)
    with pytest.raises(CodecError, match="parameter 'right' is missing"):
        f.decode_params(msgpack.packb({"leftSide": 3}))
    assert msgpack.unpackb(legacy.legacy_function(llm.LLM_FUNCTIONS["list"]).encode_params()) is None


@pytest.mark.parametrize("kind", list(ww.KINDS))
def test_every_kind_round_trips(kind: str) -> None:
    codec = legacy.of(ww.KINDS[kind][1])

    @settings(max_examples=30, deadline=None)
    @given(values(ww.KINDS[kind][1]))
    def round_trip(value: Any) -> None:
        if value == Some(None):  # nil, as serde writes Some(None) of Option<Option<T>>: lossy
            assert codec.decode(codec.encode(value)) is None
            return
        assert codec.decode(codec.encode(value)) == value

    round_trip()


@given(st.binary(max_size=20))
def test_arbitrary_bytes_decode_or_fail_with_codec_error(data: bytes) -> None:
    chat = legacy.legacy_function(llm.LLM_FUNCTIONS["chat"])
    try:
        chat.decode_params(data)
    except CodecError:
        pass
