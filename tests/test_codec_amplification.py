"""Decoding work is bounded by the input: elements that take no bytes on the wire (empty
tuples and records, `list<T, 0>`, streams of nothing) count against a budget that grows
with the payload's size, at every nesting depth and across the functions of a codec.

The work a decode does is counted as the lines the built codec runs (a trace function
that stops the decode past a ceiling), so a refused payload is shown to be refused
before it loops, without timing anything.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any, TypeAlias

import pytest
from click.testing import CliRunner

from witgen.cli import main
from witgen.runtime import codec, primitives, wit
from witgen.wave.wire import Wire, WireError


class TooMuchWork(Exception):
    """Raised by the trace function when a decode runs past its line ceiling."""


@contextmanager
def line_ceiling(lines: int) -> Iterator[list[int]]:
    """Count the lines the built codecs run; stop the decode past `lines`."""
    counted = [0]

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line":
            counted[0] += 1
            if counted[0] > lines:
                raise TooMuchWork(f"more than {lines} lines of codec run")
        return local

    def on_call(frame: FrameType, event: str, arg: Any) -> Any:
        return local if frame.f_code.co_filename.startswith("<witgen codec") else None

    before = sys.gettrace()
    sys.settrace(on_call)
    try:
        yield counted
    finally:
        sys.settrace(before)


def uleb(n: int) -> bytes:
    buf = bytearray()
    primitives.write_uleb(buf, n)
    return bytes(buf)


def limit(size: int) -> int:
    return primitives.element_budget(size)


# Lines of codec run per element, at most, in the types below.
LINES_PER_ELEMENT = 8


def refused(t: wit.Type, data: bytes) -> codec.ElementLimitError:
    """The error decoding `data` as `t` raises, checked to come before the decode did
    more work than the elements its budget allows."""
    c = codec.of(t)
    lines = LINES_PER_ELEMENT * limit(len(data)) + 1000
    with line_ceiling(lines), pytest.raises(codec.ElementLimitError) as whole:
        c.decode(data)
    with line_ceiling(lines), pytest.raises(codec.ElementLimitError) as at_position:
        c.decode_from(data, 0)
    assert str(whole.value) == str(at_position.value)
    return whole.value


# --------------------------------------------------------------------------- the payloads


@wit.record("empty", {})
@dataclasses.dataclass(slots=True)
class Empty:
    pass


def test_lists_of_empty_lists_declaring_millions_in_902_bytes_are_refused() -> None:
    # 300 inner lists of 65536 empty tuples each: 19.7 million elements from 902 bytes.
    data = uleb(300) + uleb(65536) * 300
    assert len(data) == 902
    err = refused(wit.List(wit.List(wit.Tuple())), data)
    assert isinstance(err, codec.CodecError)
    message = str(err)
    assert "902 byte(s)" in message and f"over the limit of {limit(902)}" in message
    assert "\n" not in message


def test_a_huge_count_of_zero_size_elements_in_five_bytes_is_refused() -> None:
    for element in (wit.Tuple(), Empty, wit.List(wit.U32, 0), wit.Tuple(wit.Tuple(), Empty)):
        message = str(refused(wit.List(element), uleb(0xFFFF_FFFF)))
        assert "declares 4294967295 elements" in message and "5 byte(s)" in message


def test_a_fixed_list_of_4294967295_empty_lists_on_an_empty_payload_is_refused() -> None:
    message = str(refused(wit.List(wit.List(wit.U32, 0), 4294967295), b""))
    assert "declares 4294967295 elements" in message and "in 0 byte(s)" in message


# --------------------------------------------------------------------------- nested variants


def test_fixed_lists_nested_in_fixed_lists_are_counted_at_every_depth() -> None:
    # Each level alone stays under the limit; together they declare 2**32 elements.
    inner = wit.List(wit.List(wit.U32, 0), 65536)
    refused(wit.List(inner, 65536), b"")
    refused(wit.List(wit.List(wit.List(Empty, 256), 256), 256), b"")


def test_fixed_lists_inside_a_list_of_bytes_count_per_element() -> None:
    # Every element takes one byte but declares 1000 empty lists.
    t = wit.List(wit.Tuple(wit.U8, wit.List(wit.List(wit.U8, 0), 1000)))
    n = 1000
    refused(t, uleb(n) + bytes(n))


def test_zero_size_lists_inside_zero_size_lists() -> None:
    t = wit.List(wit.List(wit.List(wit.Tuple(), 1000)))
    refused(t, uleb(10_000) + uleb(10_000) * 3)


def test_streams_and_maps_of_nothing_are_counted() -> None:
    refused(wit.Stream(None), b"\x01" + uleb(0xFFFF_FFFF))
    refused(wit.Stream(wit.Tuple()), b"\x01" + uleb(0xFFFF_FFFF))
    refused(wit.Map(wit.Tuple(), wit.Tuple()), uleb(0xFFFF_FFFF))


@dataclasses.dataclass(slots=True)
class BoxMany:
    value: list[tuple[()]]


@dataclasses.dataclass(slots=True)
class BoxNone:
    pass


Box: TypeAlias = BoxMany | BoxNone
wit.variant("box", Box, {"many": (BoxMany, wit.List(wit.Tuple())), "none": (BoxNone, None)})


def test_the_budget_is_shared_with_the_functions_a_codec_calls() -> None:
    # Each variant is decoded by its own function, each list is under the limit alone.
    each = limit(0) - 1
    data = uleb(20) + (b"\x00" + uleb(each)) * 20
    refused(wit.List(Box), data)
    assert codec.of(wit.List(Box)).decode(uleb(1) + b"\x00" + uleb(each)) == [BoxMany([()] * each)]

    deep: wit.Type = wit.List(wit.Tuple())
    for _ in range(8):  # deeper than one function nests blocks: codecs of their own
        deep = wit.Option(deep)
    data = uleb(20) + (b"\x01" * 8 + uleb(each)) * 20
    refused(wit.List(deep), data)


# --------------------------------------------------------------------------- legitimate payloads


@wit.record("pixel", {"r": wit.U8, "g": wit.U8, "tag": wit.Option(wit.STRING)})
@dataclasses.dataclass(slots=True)
class Pixel:
    r: int
    g: int
    tag: str | None


def test_large_lists_of_bytes_and_records_still_decode() -> None:
    blob = codec.of(wit.List(wit.U8))
    data = bytes(range(256)) * 4096
    assert blob.decode(blob.encode(data)) == data

    pixels = [Pixel(i % 256, 255 - i % 256, None if i % 3 else str(i)) for i in range(200_000)]
    many = codec.of(wit.List(Pixel))
    assert many.decode(many.encode(pixels)) == pixels

    table = {str(i): i for i in range(70_000)}
    dictionary = codec.of(wit.Map(wit.STRING, wit.U32))
    assert dictionary.decode(dictionary.encode(table)) == table


def test_zero_size_elements_within_the_limit_still_decode() -> None:
    # A few zero-size elements for each byte.
    per_byte = primitives.ZERO_SIZE_PER_BYTE
    t = codec.of(wit.List(wit.Tuple(wit.U8, wit.List(wit.List(wit.U32, 0), per_byte))))
    value: list[tuple[int, list[list[int]]]] = [(i % 256, [[]] * per_byte) for i in range(100_000)]
    assert t.decode(t.encode(value)) == value

    # One list of empty tuples: exactly the limit of its payload, then one more.
    empties = codec.of(wit.List(wit.Tuple()))
    size = len(uleb(limit(3)))
    assert empties.decode(uleb(limit(size))) == [()] * limit(size)
    refused(wit.List(wit.Tuple()), uleb(limit(size) + 1))


def test_the_limit_is_configurable() -> None:
    t = wit.List(wit.List(wit.U32, 0))
    data = uleb(1000)
    defaults = primitives.ZERO_SIZE_PER_BYTE, primitives.ZERO_SIZE_BASE
    previous = codec.set_element_limit(per_byte=0, base=100)
    try:
        assert previous == defaults
        message = str(refused(t, data))
        assert "over the limit of 100" in message
        codec.set_element_limit(per_byte=0, base=1000)
        assert codec.of(t).decode(data) == [[]] * 1000
        with pytest.raises(ValueError, match="non-negative"):
            codec.set_element_limit(per_byte=-1, base=0)
    finally:
        codec.set_element_limit(*previous)
    assert (primitives.ZERO_SIZE_PER_BYTE, primitives.ZERO_SIZE_BASE) == defaults


# --------------------------------------------------------------------------- witgen wire


def test_wire_decode_refuses_the_payloads_with_one_line() -> None:
    wire = Wire.open(None, "type", "list<list<u32, 0>, 4294967295>")
    assert isinstance(wire.target.type, int)
    wire.bindings.type_codec(wire.target.type)  # built before the lines are counted
    with line_ceiling(2000), pytest.raises(WireError) as caught:
        wire.decode(b"")
    assert "invalid encoding" in str(caught.value) and "over the limit" in str(caught.value)

    nested = Wire.open(None, "type", "list<list<list<u32, 0>>>")
    data = uleb(300) + uleb(65536) * 300
    with line_ceiling(LINES_PER_ELEMENT * limit(902) + 1000), pytest.raises(WireError) as caught:
        nested.decode(data)
    assert "902 byte(s)" in str(caught.value)


def test_wire_cli_prints_one_line_for_a_refused_payload() -> None:
    args = ["wire", "decode", "--type", "list<list<u32, 0>, 4294967295>", ""]
    with line_ceiling(100_000):
        result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "over the limit" in result.stderr
    assert "Traceback" not in result.stderr
