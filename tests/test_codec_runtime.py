"""The runtime-built codecs: built once from descriptions, readable in tracebacks, one API."""

from __future__ import annotations

import dataclasses
import enum
import traceback
from typing import TypeAlias

import pytest

from witgen.runtime import codec, compiler, wit
from witgen.runtime.values import Err, Ok, Some


@wit.record("point", {"x": wit.S32, "label": wit.Option(wit.STRING)})
@dataclasses.dataclass(slots=True)
class Point:
    x: int
    label: str | None


@wit.enum("color", ["red", "green"])
class Color(enum.Enum):
    RED = 0
    GREEN = 1


@dataclasses.dataclass(slots=True)
class ShapeDot:
    value: Point


@dataclasses.dataclass(slots=True)
class ShapeNone:
    pass


Shape: TypeAlias = ShapeDot | ShapeNone
wit.variant("shape", Shape, {"dot": (ShapeDot, Point), "none": (ShapeNone, None)})


def test_codec_of_a_class_and_of_a_description() -> None:
    c = codec.of(Point)
    assert c.encode(Point(-1, "a")) == bytes.fromhex("7f010161")
    assert c.decode(bytes.fromhex("7f010161")) == Point(-1, "a")
    assert codec.of(Point) is c  # built once
    assert codec.of(wit.List(wit.U32)).encode([1, 300]) == bytes.fromhex("0201ac02")
    nested = codec.of(wit.Option(wit.Option(wit.U8)))
    assert nested.decode(b"\x01\x00") == Some(None)
    assert codec.of(Shape).decode(codec.of(Shape).encode(ShapeDot(Point(3, None)))) == ShapeDot(Point(3, None))


def test_function_codecs() -> None:
    f = wit.Func("paint", {"p": Point, "c": Color}, wit.Result(None, wit.STRING))
    fc = codec.function(f)
    data = fc.encode_params(Point(1, None), Color.GREEN)
    assert data == bytes([1, 0, 1])
    assert fc.decode_params(data) == (Point(1, None), Color.GREEN)
    assert fc.encode_result(Err("no")) == b"\x01\x02no"
    assert fc.decode_result(b"\x00") == Ok(None)
    nothing = codec.function(wit.Func("ping"))
    assert nothing.encode_params() == b"" and nothing.encode_result(None) == b""
    with pytest.raises(codec.CodecError):
        nothing.decode_result(b"\x00")


def test_unknown_classes_are_refused() -> None:
    class Plain:
        pass

    with pytest.raises(TypeError, match="not a WIT type description"):
        codec.of(Plain)


def test_a_traceback_through_a_built_codec_shows_its_source() -> None:
    big = wit.List(Point)  # records inside lists are inlined: the error is in this code
    with pytest.raises(codec.CodecError) as caught:
        codec.of(big).encode([Point(1, None), Point("x", None)])  # type: ignore[arg-type]
    err = caught.value
    text = "".join(traceback.format_exception(err))
    assert 'File "<witgen codec message list<point> #' in text  # the whole-message encoder
    assert 'raise _c.wrap(exc, "list<point>") from None' in text  # the built line, printed
    # the statement that failed, in the exception the codec converted
    assert err.__context__ is not None
    failed = traceback.extract_tb(err.__context__.__traceback__)[-2:]
    lines = [fr.line or "" for fr in failed if fr.filename.startswith("<witgen codec")]
    assert lines and ("0x40" in lines[-1] or "write_s32" in lines[-1]), failed


def test_the_builder_writes_straight_line_code() -> None:
    encode, decode = compiler.build(wit.of(Point))
    assert encode.__name__ == "encode_point" and decode.__name__ == "decode_point"
    source = "".join(__import__("linecache").getlines(decode.__code__.co_filename))
    assert "def decode(b, p=0):" in source and "for " not in source  # no loop over a description


def test_deeply_nested_anonymous_types_build() -> None:
    """Nesting beyond Python's block limit splits into codecs of their own."""
    t: wit.Type = wit.U32
    value: object = 7
    for depth in range(80):
        t, value = (wit.List(t), [value]) if depth % 2 else (wit.Tuple(t, wit.BOOL), (value, True))
    c = codec.of(t)
    data = c.encode(value)
    assert c.decode(data) == value
    with pytest.raises(codec.CodecError):
        c.decode(data[:-1])


@wit.record("note", {"title": wit.STRING, "body": wit.Option(wit.List(wit.U8)), "tags": wit.List(wit.STRING)})
@dataclasses.dataclass(slots=True)
class Note:
    title: str
    body: bytes | None
    tags: list[str]


TEXT_ONLY = [
    (wit.of(Note), Note("", None, [])),
    (wit.of(Note), Note("é" * 70, b"\x00" * 127, ["x" * 128, "y" * 16383, "z" * 16384])),
    (wit.of(Note), Note("t", bytearray(b"ab"), ["☕"] * 200)),
    (wit.Tuple(wit.STRING, wit.List(wit.STRING)), ("a" * 300, ["b"] * 130)),
    (wit.Option(wit.STRING), "q" * 20000),
    (wit.List(wit.List(wit.U8)), [b"", b"\xff" * 200, memoryview(b"mv")]),
]


@pytest.mark.parametrize("t, value", TEXT_ONLY)
def test_text_only_messages_join_parts_into_the_same_bytes(t: wit.Type, value: object) -> None:
    """Types made of strings and bytes encode whole messages as joined parts: the bytes
    are those of the `bytearray` encoder, and decode back."""
    c = codec.of(t)
    buf = bytearray(b"head")
    c.encode_into(buf, value)
    message = c.encode(value)
    assert isinstance(message, bytes) and b"head" + message == bytes(buf)
    source = "".join(__import__("linecache").getlines(c.encode.__code__.co_filename))
    assert '"".join(parts)' in source and "buf" not in source
    decoded = c.decode(message)
    expected = value
    if isinstance(value, Note) and value.body is not None:
        expected = Note(value.title, bytes(value.body), value.tags)
    elif isinstance(value, list):
        expected = [bytes(x) for x in value]
    assert decoded == expected


@pytest.mark.parametrize(
    "t, bad",
    [
        (wit.of(Note), Note(3, None, [])),  # type: ignore[arg-type]
        (wit.of(Note), Note("t", "not bytes", [])),  # type: ignore[arg-type]
        (wit.of(Note), Note("t", None, ["ok", None])),  # type: ignore[list-item]
        (wit.List(wit.List(wit.U8)), [[1, 2]]),
    ],
)
def test_text_only_messages_refuse_bad_values_as_the_other_encoder_does(t: wit.Type, bad: object) -> None:
    c = codec.of(t)
    with pytest.raises(codec.CodecError):
        c.encode(bad)
    with pytest.raises(codec.CodecError):
        c.encode_into(bytearray(), bad)


def test_numbers_keep_the_bytearray_encoder() -> None:
    c = codec.of(Point)
    source = "".join(__import__("linecache").getlines(c.encode.__code__.co_filename))
    assert "bytearray()" in source and "parts" not in source


@pytest.mark.parametrize(
    "t, value, inline",
    [
        (wit.of(Note), Note("t", b"\x01", ["a"]), True),  # a record: one straight-line body
        (wit.of(Color), Color.GREEN, True),
        (wit.U32, 300, True),
        (wit.of(Shape), ShapeDot(Point(-1, "p")), False),  # a variant returns from each case
    ],
)
def test_whole_message_decoder_takes_exactly_one_value(t: wit.Type, value: object, inline: bool) -> None:
    c = codec.of(t)
    data = c.encode(value)
    for given in (data, bytearray(data), memoryview(data)):
        assert c.decode(given) == value  # type: ignore[arg-type]
    source = "".join(__import__("linecache").getlines(c.decode.__code__.co_filename))
    assert source.startswith("def whole(b):") and ("try:" in source) == inline
    with pytest.raises(codec.CodecError, match=r"^2 trailing byte\(s\) after the value$"):
        c.decode(data + b"\x00\x00")
    with pytest.raises(codec.CodecError):
        c.decode(data[:-1])
    assert c.decode_from(data + b"\x07", 0) == (value, len(data))
