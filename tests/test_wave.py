"""WAVE parsing and printing beyond the wasm-wave corpus: the spec's own examples
(WAVE.md), float digits, f32 rounding, and errors that point at the text."""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import pytest

from witgen.model import Resolve
from witgen.wave.reader import (
    CaseValue,
    Err,
    Ok,
    Some,
    WaveError,
    f32_from_text,
    parse_args,
    parse_value,
)
from witgen.wave.printer import format_float, quote_char, quote_string, to_wave
from witgen.wave.wire import load_wit

WIT = """
package test:wave;

interface t {
  record example { must-have: u8, optional: option<u8> }
  record all-optional { optional: option<u8> }
  variant response { empty, body(list<u8>), err(string) }
  enum status { ok, not-found }
  flags perms { read, write, exec }
  resource thing;
  type a = tuple<u8, string>;
  type b = list<char>;
  type c = option<u8>;
  type d = result<u8>;
  type e = result<_, string>;
  type f = result;
  type g = option<option<u8>>;
  type h = result<option<u8>, string>;
  type i = map<string, u32>;
  type j = own<thing>;
  type k = list<u8, 2>;
  type l = f32;
  type m = f64;
  type n = string;
  type o = char;
  fa: func(a: option<u8>, b: option<u8>, c: option<u8>);
  ga: func(x: u8, y: option<u8>);
}
"""


@pytest.fixture(scope="module")
def resolve(tmp_path_factory: pytest.TempPathFactory) -> Resolve:
    path = tmp_path_factory.mktemp("wave") / "t.wit"
    path.write_text(WIT)
    return load_wit(path)


def ty(resolve: Resolve, name: str) -> int:
    iface = next(i for i in resolve.interfaces if i.name == "t")
    return iface.types[name]


def canon(resolve: Resolve, name: str, text: str) -> str:
    t = ty(resolve, name)
    return to_wave(parse_value(text, t, resolve), t, resolve)


# Examples of WAVE.md, with the canonical form the reference prints.
@pytest.mark.parametrize(
    ("name", "text", "want"),
    [
        ("a", '("abc", 123)'[0:0] + '(123, "abc")', '(123, "abc")'),
        ("b", "[]", "[]"),
        ("b", "['a', 'b', 'c']", "['a', 'b', 'c']"),
        ("example", "{must-have: 123}", "{must-have: 123}"),
        ("example", "{must-have: 123, optional: none,}", "{must-have: 123}"),
        (
            "example",
            "{optional: some(1), must-have: 2}",
            "{must-have: 2, optional: some(1)}",
        ),
        ("all-optional", "{:}", "{:}"),
        ("all-optional", "{optional: none}", "{:}"),
        ("all-optional", "{%optional: 5}", "{optional: some(5)}"),
        ("response", "empty", "empty"),
        ("response", "body([79, 75])", "body([79, 75])"),
        ("response", '%err("oops")', '%err("oops")'),
        ("status", "%ok", "%ok"),
        ("status", "not-found", "not-found"),
        ("c", "123", "some(123)"),
        ("c", "some(123)", "some(123)"),
        ("d", "123", "ok(123)"),
        ("e", "ok", "ok"),
        ("e", 'err("oops")', 'err("oops")'),
        ("f", "ok", "ok"),
        ("f", "err", "err"),
        ("perms", "{write, read,}", "{read, write}"),
        ("perms", "{}", "{}"),
        ("g", "some(none)", "some(none)"),
        ("g", "some(some(1))", "some(some(1))"),
        ("h", "ok(none)", "ok(none)"),
        ("i", '[("a", 1), ("b", 2)]', '[("a", 1), ("b", 2)]'),
        ("j", "[1, 2]", "[1, 2]"),
        ("k", "[1, 2]", "[1, 2]"),
        ("n", '"""\nA single line\n"""', '"A single line"'),
        (
            "n",
            '"""\n    Indentation determined\n      by ending delimiter\n  """',
            '"  Indentation determined\\n    by ending delimiter"',
        ),
        (
            "n",
            '"""\n  Must escape carriage return at end of line: \\r\n'
            '  Must break up double quote triplets: ""\\""\n  """',
            '"Must escape carriage return at end of line: \\r\\nMust break up double quote'
            ' triplets: \\"\\"\\"\\""',
        ),
        (
            "n",
            '"\\u{7f}\\u{1b}x"',
            '"\\u{7f}\\u{1b}x"',
        ),  # control characters stay escaped
        ("o", "'☃︎'"[0:2] + "'", "'☃'"),
        ("n", '"a" // a comment', '"a"'),
    ],
)
def test_canonical(resolve: Resolve, name: str, text: str, want: str) -> None:
    assert canon(resolve, name, text) == want


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("g", "1", "invalid value type"),  # no flat some around an option
        ("h", "none", "invalid value type"),  # no flat ok when ok is an option
        ("f", "5", "invalid value type"),
        ("status", "ok", "invalid value type"),  # keywords need `%` as cases
        ("status", "gone", 'unknown case "gone"'),
        ("example", "{must-have: 1, extra: 2}", 'unknown field "extra"'),
        ("a", "(1)", "expected a tuple of 2 values, got 1"),
        ("k", "[1, 2, 3]", "expected 2 elements, got 3"),
        ("i", '["a"]', "expected a (key, value) tuple"),
        ("l", "1e", "unexpected token: LabelOrKeyword"),
        ("l", "-nan", "invalid token"),
        ("b", "['a' 'b']", "unexpected token: Char"),
    ],
)
def test_rejected(resolve: Resolve, name: str, text: str, message: str) -> None:
    with pytest.raises(WaveError) as info:
        parse_value(text, ty(resolve, name), resolve)
    assert message in info.value.message


def test_error_points_at_the_value(resolve: Resolve) -> None:
    with pytest.raises(WaveError) as info:
        parse_value("[1, 2, 300]", ty(resolve, "j"), resolve, path="<arg>")
    rendered = info.value.render()
    assert rendered.splitlines() == [
        "value out of range for u8: 300",
        "     --> <arg>:1:8",
        "      |",
        "    1 | [1, 2, 300]",
        "      |        ^--",
    ]


def test_trailing_none_arguments_may_be_left_out(resolve: Resolve) -> None:
    iface = next(i for i in resolve.interfaces if i.name == "t")
    f = iface.functions["fa"]
    for text in ("some(1)", "some(1), none", "some(1), none, none"):
        assert parse_args(text, f.params, resolve) == [Some(1), None, None]
    g = iface.functions["ga"]
    assert parse_args("7", g.params, resolve) == [7, None]
    with pytest.raises(WaveError, match="missing parameter 'x'|1 required"):
        parse_args("", g.params, resolve)
    with pytest.raises(WaveError, match="more param"):
        parse_args("1, 2, 3", g.params, resolve)


def test_value_forms(resolve: Resolve) -> None:
    assert parse_value("body([1])", ty(resolve, "response"), resolve) == CaseValue(
        "body", [1]
    )
    assert parse_value("not-found", ty(resolve, "status"), resolve) == CaseValue(
        "not-found"
    )
    assert parse_value("ok(none)", ty(resolve, "h"), resolve) == Ok(None)
    assert parse_value('err("x")', ty(resolve, "h"), resolve) == Err("x")
    assert parse_value("{exec, read}", ty(resolve, "perms"), resolve) == {
        "read",
        "exec",
    }


# Float digits: the shortest that read back, in plain notation (as Rust prints).
@pytest.mark.parametrize(
    ("value", "width", "want"),
    [
        (0.1, 64, "0.1"),
        (1e21, 64, "1000000000000000000000"),
        (1e-7, 64, "0.0000001"),
        (-2.5, 64, "-2.5"),
        (-0.0, 64, "-0"),
        (100.0, 64, "100"),
        (5e-324, 64, "0." + "0" * 323 + "5"),
        (float.fromhex("0x1.99999ap-4"), 32, "0.1"),  # the f32 nearest 0.1
        (16777216.0, 32, "16777216"),
        (
            float.fromhex("0x1p-149"),
            32,
            "0." + "0" * 44 + "1",
        ),  # smallest f32 subnormal
        (math.inf, 32, "inf"),
        (-math.inf, 64, "-inf"),
        (math.nan, 32, "nan"),
    ],
)
def test_format_float(value: float, width: int, want: str) -> None:
    assert format_float(value, width) == want


def test_f32_rounds_once() -> None:
    one_up = 1 + 2.0**-23
    # Exactly halfway between 1 and the next f32: ties to even.
    assert f32_from_text("1.000000059604644775390625") == 1.0
    # A hair above halfway: parsing to f64 first would land on the midpoint and
    # round down; the exact decimal rounds up.
    assert f32_from_text("1.000000059604644775390625000001") == one_up
    assert f32_from_text("1.000000059604644775390624999999") == 1.0
    # Overflow: past the midpoint between the largest f32 and 2**128 is infinity.
    midpoint = 2**128 - 2**103
    assert f32_from_text(str(midpoint)) == math.inf  # a tie goes to the even 2**128
    assert f32_from_text(str(midpoint - 1)) == float.fromhex("0x1.fffffep127")
    assert f32_from_text("3.4028234664e38") == float.fromhex("0x1.fffffep127")
    assert f32_from_text("-1e39") == -math.inf
    assert f32_from_text("1e-46") == 0.0


def test_quoting() -> None:
    assert quote_char("'") == "'\\''"
    assert quote_char('"') == "'\\\"'"
    assert quote_char("\x00") == "'\\u{0}'"
    assert quote_string("a\tb\\") == '"a\\tb\\\\"'
    assert quote_string("🌊") == '"🌊"'
