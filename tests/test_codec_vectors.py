"""Golden vectors of the value encoding, derived by hand from wire-format.md section 1.

Every expected byte string below was worked out by hand from the rules of
section 1 (LEB128 groups of 7 bits, little-endian IEEE 754, UTF-8, bit sets),
never copied from witgen's output; the section's own examples come first,
literally. The codec under test is the generated one: `tests/wire/vectors.wit`
is generated in the test, its modules imported, and values go through
`witgen.wave.wire` (WAVE -> generated Python values -> generated encoder, and back).
A subset also runs through the `witgen wire` command.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from witgen.cli import main
from witgen.model import Resolve
from witgen.wave.wire import Bindings, Wire, WireError, load_wit, select

WIT = Path(__file__).parent / "wire" / "vectors.wit"
PREFIX = "test:vectors/kinds@1.0.0."


@pytest.fixture(scope="module")
def resolve() -> Resolve:
    try:
        from wit_loading import load_wit as load_for_tests
    except ImportError:
        return load_wit(WIT)
    return load_for_tests(WIT)


@pytest.fixture(scope="module")
def bindings(resolve: Resolve) -> Bindings:
    target = select(resolve, "type", PREFIX + "point")
    return Bindings(resolve, target.interface)


def engine(resolve: Resolve, bindings: Bindings, mode: str, name: str) -> Wire:
    return Wire(resolve, select(resolve, mode, PREFIX + name), bindings)  # type: ignore[arg-type]


# (type, WAVE value, encoding): encode(value) == hex and decode(hex) == value.
SECTION_1_EXAMPLES = [
    ("t-bool", "true", "01"),
    ("t-u8", "200", "c8"),
    ("t-s8", "-1", "ff"),
    ("t-u16", "300", "ac02"),
    ("t-u32", "300", "ac02"),
    ("t-u64", "300", "ac02"),
    ("t-s16", "-1", "7f"),
    ("t-s32", "64", "c000"),
    ("t-s64", "-129", "ff7e"),
    ("t-f32", "1.5", "0000c03f"),
    ("t-char", "'é'", "c3a9"),
    ("t-string", '"hi"', "026869"),
    ("u32s", "[1, 300]", "0201ac02"),
    ("color", "blue", "02"),  # the third case
    ("opt-u32", "some(5)", "0105"),
    ("res", 'ok("a")', "000161"),
    ("flags3", "{a, c}", "05"),
]

# Small values every width shares (those that fit), as unsigned and signed LEB128.
UNSIGNED_SMALL = [
    ("0", "00"),
    ("63", "3f"),
    ("64", "40"),
    ("127", "7f"),
    ("128", "8001"),
    ("16383", "ff7f"),
    ("16384", "808001"),
]
SIGNED_SMALL = [
    ("0", "00"),
    ("-1", "7f"),
    ("-64", "40"),
    ("-65", "bf7f"),
    ("63", "3f"),
    ("64", "c000"),
    ("127", "ff00"),
    ("128", "8001"),
    ("16383", "ffff00"),
    ("16384", "808001"),
]

INTEGERS = [
    # u8 and s8 are one raw byte.
    *[
        ("t-u8", v, h)
        for v, h in [
            ("0", "00"),
            ("255", "ff"),
            ("63", "3f"),
            ("64", "40"),
            ("127", "7f"),
            ("128", "80"),
        ]
    ],
    *[
        ("t-s8", v, h)
        for v, h in [
            ("0", "00"),
            ("-128", "80"),
            ("127", "7f"),
            ("-1", "ff"),
            ("-64", "c0"),
            ("-65", "bf"),
            ("63", "3f"),
            ("64", "40"),
        ]
    ],
    *[("t-u16", v, h) for v, h in [*UNSIGNED_SMALL, ("65535", "ffff03")]],
    *[("t-u32", v, h) for v, h in [*UNSIGNED_SMALL, ("4294967295", "ffffffff0f")]],
    *[
        ("t-u64", v, h)
        for v, h in [*UNSIGNED_SMALL, ("18446744073709551615", "ff" * 9 + "01")]
    ],
    *[
        ("t-s16", v, h)
        for v, h in [*SIGNED_SMALL, ("-32768", "80807e"), ("32767", "ffff01")]
    ],
    *[
        ("t-s32", v, h)
        for v, h in [
            *SIGNED_SMALL,
            ("-2147483648", "8080808078"),
            ("2147483647", "ffffffff07"),
        ]
    ],
    *[
        ("t-s64", v, h)
        for v, h in [
            *SIGNED_SMALL,
            ("-9223372036854775808", "80" * 9 + "7f"),
            ("9223372036854775807", "ff" * 9 + "00"),
        ]
    ],
]

# Values of the edge list that do not fit the width: encoding is refused.
OUT_OF_RANGE = [
    *[("t-u8", v) for v in ("-1", "-64", "-65", "256", "16383", "16384")],
    *[("t-s8", v) for v in ("128", "-129", "16383", "16384")],
    *[("t-u16", v) for v in ("-1", "-64", "-65", "65536")],
    *[("t-u32", v) for v in ("-1", "-64", "-65", "4294967296")],
    *[("t-u64", v) for v in ("-1", "-64", "-65", "18446744073709551616")],
    *[("t-s16", v) for v in ("32768", "-32769")],
    *[("t-s32", v) for v in ("2147483648", "-2147483649")],
    *[("t-s64", v) for v in ("9223372036854775808", "-9223372036854775809")],
]

FLOATS = [
    ("t-f32", "0", "00000000"),
    ("t-f32", "-0", "00000080"),
    ("t-f32", "nan", "0000c07f"),
    ("t-f32", "inf", "0000807f"),
    ("t-f32", "-inf", "000080ff"),
    ("t-f64", "1.5", "000000000000f83f"),
    ("t-f64", "-0", "0000000000000080"),
    ("t-f64", "nan", "000000000000f87f"),
    ("t-f64", "inf", "000000000000f07f"),
    ("t-f64", "-inf", "000000000000f0ff"),
]

TEXT = [
    ("t-char", "'A'", "41"),
    ("t-char", "'☃'", "e29883"),
    ("t-char", "'🌊'", "f09f8c8a"),  # astral: four bytes
    ("t-char", "'\\u{0}'", "00"),
    ("t-string", '""', "00"),
    ("t-string", '"é🌊"', "06c3a9f09f8c8a"),
    ("t-string", '"\\n"', "010a"),
    ("chars", "['a', '🌊']", "0261f09f8c8a"),
    ("strings", '["a", ""]', "02016100"),
]

COMPOUND = [
    ("u32s", "[]", "00"),
    ("bytes", "[]", "00"),
    ("bytes", "[" + ", ".join(["7"] * 300) + "]", "ac02" + "07" * 300),
    ("u32s", "[" + ", ".join(["300"] * 300) + "]", "ac02" + "ac02" * 300),
    ("point", '{x: -1, label: "hi"}', "7f026869"),
    ("also-point", '{x: -1, label: "hi"}', "7f026869"),
    ("again-point", '{x: 64, label: ""}', "c00000"),
    ("points", '[{x: 1, label: "a"}]', "01010161"),
    ("with-option", "{required: 1}", "0100"),
    ("with-option", "{required: 1, optional: some(2)}", "010102"),
    ("shape", "empty", "00"),
    ("shape", "circle(1.5)", "010000c03f"),
    ("shape", 'named("a")', "020161"),
    ("color", "red", "00"),
    ("color", "green", "01"),
    ("flags3", "{}", "00"),
    ("flags3", "{a, b, c}", "07"),
    ("flags8", "{f8}", "80"),
    ("flags8", "{f1, f2, f3, f4, f5, f6, f7, f8}", "ff"),
    ("flags9", "{}", "0000"),
    ("flags9", "{f9}", "0001"),
    ("flags9", "{f1, f9}", "0101"),
    ("flags16", "{f1, f16}", "0180"),
    ("flags17", "{f17}", "000001"),
    ("flags32", "{f1}", "01000000"),
    ("flags32", "{f32}", "00000080"),
    ("opt-u32", "none", "00"),
    ("opt-opt", "none", "00"),
    ("opt-opt", "some(none)", "0100"),
    ("opt-opt", "some(some(7))", "010107"),
    ("opt-alias", "none", "00"),
    ("opt-alias", "some(none)", "0100"),
    ("opt-alias", "some(some(3))", "010103"),
    ("res-opt", "ok(none)", "0000"),
    ("res-opt", "err(some(none))", "010100"),
    ("res", "err(7)", "0107"),
    ("res-ok", "ok(3)", "0003"),
    ("res-ok", "err", "01"),
    ("res-err", "ok", "00"),
    ("res-err", 'err("x")', "010178"),
    ("res-empty", "ok", "00"),
    ("res-empty", "err", "01"),
    ("pair", '(1, "a")', "010161"),
    ("counter-handle", "[1, 2]", "020102"),
    ("fixed", "[1, 2, 3]", "010203"),
    ("later", "5", "0105"),
    ("later-empty", "()", "01"),
    ("bytes-stream", "[1, 2]", "01020102"),
    (
        "nested",
        '[none, some(ok((blue, empty))), some(err(["e"]))]',
        "0300010002000101010165",
    ),
]

ALL = SECTION_1_EXAMPLES + INTEGERS + FLOATS + TEXT + COMPOUND


def _id(case: tuple[str, ...]) -> str:
    return f"{case[0]}={case[1][:24]}"


@pytest.mark.parametrize("case", ALL, ids=_id)
def test_encode(
    resolve: Resolve, bindings: Bindings, case: tuple[str, str, str]
) -> None:
    name, wave, hex_ = case
    assert engine(resolve, bindings, "type", name).encode(wave).hex() == hex_


@pytest.mark.parametrize("case", ALL, ids=_id)
def test_decode(
    resolve: Resolve, bindings: Bindings, case: tuple[str, str, str]
) -> None:
    name, wave, hex_ = case
    assert engine(resolve, bindings, "type", name).decode(bytes.fromhex(hex_)) == wave


@pytest.mark.parametrize("case", OUT_OF_RANGE, ids=_id)
def test_out_of_range_is_refused(
    resolve: Resolve, bindings: Bindings, case: tuple[str, str]
) -> None:
    name, wave = case
    with pytest.raises(WireError, match="out of range"):
        engine(resolve, bindings, "type", name).encode(wave)


# Non-canonical NaNs decode to NaN (and are written back canonical).
@pytest.mark.parametrize(
    ("name", "hex_"),
    [
        ("t-f32", "0100c07f"),
        ("t-f32", "ffffffff"),
        ("t-f64", "010000000000f87f"),
        ("t-f64", "ff" * 8),
    ],
)
def test_any_nan_decodes(
    resolve: Resolve, bindings: Bindings, name: str, hex_: str
) -> None:
    assert engine(resolve, bindings, "type", name).decode(bytes.fromhex(hex_)) == "nan"


# Section 1's hardening list: each must be a clean error.
HARDENING = [
    # truncated input
    ("t-u32", "", "truncated"),
    ("t-u32", "80", "truncated"),
    ("t-f32", "0000c0", "truncated"),
    ("t-f64", "00000000", "truncated"),
    ("point", "7f", "truncated"),
    ("pair", "01", "truncated"),
    ("flags17", "0000", "truncated"),
    ("fixed", "0102", "truncated"),
    # trailing bytes after the value
    ("t-u8", "0102", "trailing"),
    ("t-bool", "0100", "trailing"),
    ("t-string", "00ff", "trailing"),
    # LEB128 longer than the width allows
    ("t-u16", "80808000", "leb"),
    ("t-u32", "808080808000", "leb"),
    ("t-u64", "80" * 10 + "00", "leb"),
    ("t-s32", "808080808000", "leb"),
    ("t-s64", "80" * 10 + "00", "leb"),
    # value out of range for the type
    ("t-bool", "02", "range"),
    ("t-u16", "ffff07", "range"),
    ("t-u32", "ffffffff1f", "range"),
    ("t-u64", "ff" * 9 + "02", "range"),
    ("t-s32", "ffffffff0f", "range"),
    # a length that exceeds the remaining input
    ("t-string", "056869", "length"),
    ("t-string", "ffffffff0f", "length"),
    ("bytes", "ffffffff0f", "length"),
    ("u32s", "ffffffff0f", "length"),
    ("u32s", "0501", "length"),
    # invalid UTF-8
    ("t-string", "01ff", "utf8"),
    ("t-string", "03eda080", "utf8"),  # an encoded surrogate is not UTF-8
    ("t-string", "02c328", "utf8"),
    ("t-char", "ff", "utf8"),
    ("t-char", "c3", "utf8"),
    # a char that is a surrogate or above U+10FFFF
    ("t-char", "eda080", "char"),
    ("t-char", "f4908080", "char"),
    # unknown case or flag bit
    ("color", "03", "case"),
    ("shape", "03", "case"),
    ("opt-u32", "02", "case"),
    ("res", "02", "case"),
    ("flags3", "08", "flag"),
    ("flags9", "0002", "flag"),
    ("flags17", "000002", "flag"),
    # a pending future is not carried inline
    ("later", "00", "pending"),
]


# What the error must say, per kind of damage.
REASONS = {
    "truncated": "truncated|exceeds the remaining",
    "trailing": "trailing byte",
    "leb": "LEB128 longer",
    "range": "out of range|invalid bool",
    "length": "exceeds the remaining|truncated",
    "utf8": "UTF-8|truncated char",
    "char": "UTF-8|surrogate|scalar",
    "case": "unknown case|discriminant",
    "flag": "unknown flag",
    "pending": "pending",
}


@pytest.mark.parametrize("case", HARDENING, ids=lambda c: f"{c[0]}-{c[1][:16]}-{c[2]}")
def test_decode_hardening(
    resolve: Resolve, bindings: Bindings, case: tuple[str, str, str]
) -> None:
    name, hex_, why = case
    with pytest.raises(WireError, match=f"invalid encoding: .*({REASONS[why]})"):
        engine(resolve, bindings, "type", name).decode(bytes.fromhex(hex_))


# Calls carry the parameter tuple (no bytes for none) and the bare result.
CALLS = [
    (
        "params",
        "describe",
        '{x: 1, label: "a"}, green, ["t"]',
        "0101610101 0174".replace(" ", ""),
        '{x: 1, label: "a"}, green, ["t"]',
    ),
    ("result", "describe", 'ok("a")', "000161", 'ok("a")'),
    ("result", "describe", "err(9)", "0109", "err(9)"),
    ("params", "nothing", "", "", ""),
    ("result", "nothing", "()", "", "()"),
    ("params", "maybe", "", "0000", "none, none"),
    ("params", "maybe", "some(1)", "010100", "some(1), none"),
    ("result", "maybe", "none", "00", "none"),
    ("params", "counter", "7", "07", "7"),
    ("result", "counter", "[9]", "0109", "[9]"),
    ("params", "counter.add", "[1], 5", "010105", "[1], 5"),
    ("params", "counter.merge", "[1], [2]", "01010102", "[1], [2]"),
]


@pytest.mark.parametrize("case", CALLS, ids=lambda c: f"{c[0]}-{c[1]}-{c[3]}")
def test_calls(
    resolve: Resolve, bindings: Bindings, case: tuple[str, str, str, str, str]
) -> None:
    mode, func, wave, hex_, canonical = case
    wire = engine(resolve, bindings, mode, func)
    assert wire.encode(wave).hex() == hex_
    assert wire.decode(bytes.fromhex(hex_)) == canonical


def test_params_decode_hardening(resolve: Resolve, bindings: Bindings) -> None:
    with pytest.raises(WireError, match="invalid encoding"):
        engine(resolve, bindings, "params", "nothing").decode(b"\x00")
    with pytest.raises(WireError, match="invalid encoding"):
        engine(resolve, bindings, "params", "describe").decode(bytes.fromhex("0101"))


# --------------------------------------------------------------------------- the command


def run(*args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["wire", *args], input=stdin)
    return result.exit_code, result.stdout, result.stderr


CLI_VECTORS = [
    (["--type", PREFIX + "t-u16"], "300", "ac02"),
    (["--type", "test:vectors/kinds.t-s64"], "-129", "ff7e"),
    (["--type", PREFIX + "color"], "blue", "02"),
    (["--type", PREFIX + "flags9"], "{f1, f9}", "0101"),
    (["--type", PREFIX + "t-string"], '"é🌊"', "06c3a9f09f8c8a"),
    (["--type", "u8"], "200", "c8"),
    (["--type", "f32"], "1.5", "0000c03f"),
    (["--type", "list<option<u8>>"], "[some(1), none]", "02010100"),
    (["--type", "result<string, u8>"], 'ok("a")', "000161"),
    (["--type", "tuple<char, s32>"], "('é', 64)", "c3a9c000"),
    (["--params", PREFIX + "maybe"], "some(1), none", "010100"),
    (["--result", PREFIX + "describe"], "err(9)", "0109"),
    (["--params", PREFIX + "counter.add"], "[1], 5", "010105"),
]


@pytest.mark.parametrize(
    ("selector", "wave", "hex_"), CLI_VECTORS, ids=lambda x: str(x)[:30]
)
def test_cli_encode_decode(selector: list[str], wave: str, hex_: str) -> None:
    wit = ["--wit", str(WIT)]
    code, out, err = run("encode", *wit, *selector, "--", wave)
    assert (code, out, err) == (0, hex_ + "\n", "")
    spaced = " ".join(hex_[i : i + 2] for i in range(0, len(hex_), 2))
    code, out, err = run("decode", *wit, *selector, spaced)
    assert (code, out, err) == (0, wave + "\n", "")


def test_cli_decode_reads_raw_stdin() -> None:
    code, out, _ = run(
        "decode", "--type", "list<u32>", "-", stdin=bytes.fromhex("0201ac02")
    )
    assert (code, out) == (0, "[1, 300]\n")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["encode", "--type", "u8", "256"], "out of range"),
        (["encode", "--type", "u8", '"x"'], "invalid value type"),
        (
            ["encode", "--wit", str(WIT), "--type", PREFIX + "color", "purple"],
            'unknown case "purple"',
        ),
        (
            ["encode", "--wit", str(WIT), "--type", PREFIX + "point", "{x: 1}"],
            'missing field "label"',
        ),
        (["decode", "--type", "u32", "80"], "truncated"),
        (["decode", "--type", "u32", "0"], "truncated hex"),
        (["decode", "--type", "u32", "zz"], "invalid hex digit"),
        (["decode", "--type", "bool", "02"], "invalid encoding"),
        (
            ["encode", "--wit", str(WIT), "--type", PREFIX + "no-such", "1"],
            "unknown type `no-such`",
        ),
        (
            ["encode", "--wit", str(WIT), "--params", PREFIX + "no-such", "1"],
            "unknown function `no-such`",
        ),
        (
            ["encode", "--wit", str(WIT), "--type", "other:pkg/kinds.color", "red"],
            "no interface matches",
        ),
        (
            [
                "encode",
                "--wit",
                str(WIT),
                "--type",
                PREFIX.replace("1.0.0", "2.0.0") + "color",
                "red",
            ],
            "no interface matches",
        ),
        (["encode", "--type", "list<nope>", "[]"], "invalid type expression"),
    ],
    ids=lambda x: str(x)[:40],
)
def test_cli_bad_input_exits_1(args: list[str], needle: str) -> None:
    code, out, err = run(*args)
    assert code == 1, (out, err)
    assert out == ""
    assert err.startswith("error: ") and needle in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "args",
    [
        ["encode", "1"],  # no selector
        ["encode", "--type", "u8", "--params", "a:b/c.d", "1"],  # two selectors
        ["decode", "--type", "u8"],  # no HEX
        ["encode", "--wit", "/no/such/path", "--type", "u8", "1"],
    ],
)
def test_cli_usage_errors_exit_2(args: list[str]) -> None:
    code, _, _ = run(*args)
    assert code == 2
