"""WAVE (WebAssembly Value Encoding): text values typed by the resolved model.

Parsing goes in two steps. The Lark grammar `grammars/wave.lark` turns text into
an untyped tree of `Node`s (numbers, strings, labels, brackets) with character
spans; `Typer` then checks that tree against a WIT type of a `Resolve` and
builds a *WAVE value*, a neutral Python form of a component-model value:

    bool, u8..s64          bool, int
    f32, f64               float (f32 values are exactly representable floats)
    char, string           str (a char is one scalar value)
    list, fixed list       list
    tuple                  tuple
    record                 dict: field name -> value, in declaration order
    variant, enum          `CaseValue(name, payload)` (payload None for enums)
    option                 None or `Some(value)`
    result                 `Ok(value)` or `Err(value)` (value None without a payload)
    flags                  frozenset of flag names
    map                    list of (key, value) pairs, written `[(k, v), ...]`
    own, borrow            bytes (the opaque handle), written like `list<u8>`
    future, stream         the ready value (`future`) or the list of items (`stream`)

`witgen.wave.printer.to_wave` prints such a value canonically, the way the
reference implementation (wasm-wave) prints it. Errors are `WaveError`s, a
`WitError` whose span points into the WAVE text.
"""

from __future__ import annotations

import math
import re
import struct
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from typing import Any

from lark import Lark, Token, Tree
from lark.exceptions import (
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
)

from witgen.errors import Source, Span, WitError
from witgen.paths import data_dir
from witgen.model import (
    Alias,
    Enum,
    FixedList,
    Flags,
    Future,
    Handle,
    List,
    Map,
    Option,
    Param,
    Record,
    Resolve,
    Resource,
    Result,
    Stream,
    Tuple,
    Type,
    TypeKind,
    Variant,
)

KEYWORDS = frozenset({"true", "false", "inf", "nan", "some", "none", "ok", "err"})

INT_RANGES: dict[str, tuple[int, int]] = {
    "u8": (0, 2**8 - 1),
    "u16": (0, 2**16 - 1),
    "u32": (0, 2**32 - 1),
    "u64": (0, 2**64 - 1),
    "s8": (-(2**7), 2**7 - 1),
    "s16": (-(2**15), 2**15 - 1),
    "s32": (-(2**31), 2**31 - 1),
    "s64": (-(2**63), 2**63 - 1),
}


# The message of a value whose kind does not fit its type (the reference's wording).
TYPE_MISMATCH = "invalid value type"


class WaveError(WitError):
    """Invalid WAVE text, or a value that does not fit its type.

    For a `TYPE_MISMATCH`, `expected` is the type the value at `span` had to have."""

    expected: Type | None = None


# --------------------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class Some:
    """`some(value)` of an option (None is `none`)."""

    value: Any


@dataclass(frozen=True, slots=True)
class Ok:
    """`ok` of a result; `value` is None when the result has no ok payload."""

    value: Any = None


@dataclass(frozen=True, slots=True)
class Err:
    """`err` of a result; `value` is None when the result has no err payload."""

    value: Any = None


@dataclass(frozen=True, slots=True)
class CaseValue:
    """A variant case (with its payload, or None) or an enum case."""

    name: str
    payload: Any = None


# --------------------------------------------------------------------------- untyped tree


@dataclass(frozen=True, slots=True)
class Node:
    """One untyped value: `kind` is the grammar's alternative, `start`/`end` its span.

    `text` holds the token for numbers and labels (labels without `%`; `escaped`
    says whether it had one) and the decoded text for chars and strings;
    `items` the elements of tuples and lists, the flag labels of flags, the
    (label, value) fields of records, or the payload of a case.
    """

    kind: str
    start: int
    end: int
    text: str = ""
    items: tuple[Any, ...] = ()
    escaped: bool = False


@cache
def _parser() -> Lark:
    grammar = (
        (data_dir("grammars") / "wave.lark").read_text("utf-8")
    )
    return Lark(
        grammar,
        parser="lalr",
        start=["value", "items", "call_args"],
        propagate_positions=True,
        maybe_placeholders=False,
    )


_TOKEN_NAMES = {
    "LPAR": "ParenOpen",
    "RPAR": "ParenClose",
    "LSQB": "BracketOpen",
    "RSQB": "BracketClose",
    "LBRACE": "BraceOpen",
    "RBRACE": "BraceClose",
    "COMMA": "Comma",
    "COLON": "Colon",
    "LABEL": "LabelOrKeyword",
    "SOME": "LabelOrKeyword",
    "NONE": "LabelOrKeyword",
    "NUMBER": "Number",
    "STRING": "String",
    "MLSTRING": "MultilineString",
    "CHAR": "Char",
}


# Brackets nested deeper than this are an error (the reader and the codecs recurse).
MAX_NESTING = 300

_NESTING = re.compile(
    r'"""|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|[\[({]|[\])}]', re.S
)


def _check_nesting(source: Source) -> None:
    """Raise a WaveError at the first bracket that opens level MAX_NESTING + 1."""
    depth = 0
    text = source.text
    pos = 0
    while (m := _NESTING.search(text, pos)) is not None:
        token = m.group()
        pos = m.end()
        if token == '"""':  # a multiline string: skip to its end
            end = text.find('"""', pos)
            if end < 0:
                return
            pos = end + 3
        elif token in "[({":
            depth += 1
            if depth > MAX_NESTING:
                span = Span(source, m.start(), m.start() + 1)
                raise WaveError(
                    f"value nesting too deep (more than {MAX_NESTING} levels)", span
                )
        elif token in "])}":
            depth = max(depth - 1, 0)


def parse_untyped(text: str, start: str = "value", path: str = "<value>") -> Node:
    """Parse WAVE text into an untyped `Node` (`start`: value, items or call_args)."""
    source = Source(path, text)
    _check_nesting(source)
    try:
        tree = _parser().parse(text, start=start)
    except UnexpectedInput as exc:
        raise _syntax_error(exc, source) from None
    return _Builder(source).build(tree)


def _syntax_error(exc: UnexpectedInput, source: Source) -> WaveError:
    text = source.text
    if isinstance(exc, UnexpectedEOF) or (
        isinstance(exc, UnexpectedToken) and exc.token.type == "$END"
    ):
        return WaveError("unexpected end of input", Span(source, len(text), len(text)))
    if isinstance(exc, UnexpectedToken):
        tok = exc.token
        start = tok.start_pos or 0
        end = tok.end_pos if tok.end_pos is not None else start + len(tok)
        name = _TOKEN_NAMES.get(tok.type, tok.type)
        return WaveError(f"unexpected token: {name}", Span(source, start, end))
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream or 0
        if text.startswith('"""', pos):
            return _multiline_shape_error(text, pos, source) or WaveError(
                "invalid token", Span(source, pos, pos + 3)
            )
        return WaveError("invalid token", Span(source, pos, pos + 1))
    return WaveError("invalid input", None)


def _multiline_shape_error(text: str, pos: int, source: Source) -> WaveError | None:
    after = pos + 3
    if after < len(text) and text[after] not in "\r\n":
        return WaveError(
            'invalid multiline string: opening """ must be followed immediately by newline',
            Span(source, after, after + 1),
        )
    return None


_ESCAPE = re.compile(r"\\(?:u\{([0-9a-fA-F]+)\}|(.))", re.S)
_SIMPLE_ESCAPES = {"'": "'", '"': '"', "\\": "\\", "t": "\t", "n": "\n", "r": "\r"}


class _Builder:
    """Lark tree -> `Node`, decoding chars and strings decoding chars and strings."""

    def __init__(self, source: Source) -> None:
        self.source = source

    def error(self, message: str, start: int, end: int) -> WaveError:
        return WaveError(message, Span(self.source, start, end))

    def build(self, tree: Tree[Token]) -> Node:
        kind = str(tree.data)
        if kind == "value":  # unreachable: every alternative is aliased
            raise AssertionError(tree)
        if kind in ("items", "call_args"):
            inner = tree if kind == "items" else tree.children[0]
            assert isinstance(inner, Tree)
            start, end = _tree_span(tree)
            return Node("items", start, end, items=self.children(inner))
        start, end = _tree_span(tree)
        children = tree.children
        if kind in ("number", "string", "mlstring", "char"):
            tok = children[0]
            assert isinstance(tok, Token)
            return Node(kind, start, end, text=self.decode(kind, tok))
        if kind in ("tuple", "list"):
            items_tree = children[0]
            assert isinstance(items_tree, Tree)
            return Node(kind, start, end, items=self.children(items_tree))
        if kind == "empty_record":
            return Node("record", start, end)
        if kind == "record":
            fields = []
            for field in children:
                assert isinstance(field, Tree)
                name_tok, inner = field.children
                assert isinstance(name_tok, Token) and isinstance(inner, Tree)
                fields.append((self.label(name_tok), self.build(inner)))
            return Node("record", start, end, items=tuple(fields))
        if kind == "flags":
            labels = tuple(self.label(t) for t in children if isinstance(t, Token))
            return Node("flags", start, end, items=labels)
        if kind in ("case", "case_payload"):
            tok = children[0]
            assert isinstance(tok, Token)
            label = self.label(tok)
            payload: tuple[Any, ...] = ()
            if kind == "case_payload":
                inner = children[1]
                assert isinstance(inner, Tree)
                payload = (self.build(inner),)
            return Node(
                "case",
                start,
                end,
                text=label.text,
                items=payload,
                escaped=label.escaped,
            )
        raise AssertionError(kind)

    def children(self, items: Tree[Token]) -> tuple[Node, ...]:
        out = []  # a loop, not a generator: one frame less per level of nesting
        for c in items.children:
            if isinstance(c, Tree):
                out.append(self.build(c))
        return tuple(out)

    def label(self, tok: Token) -> Node:
        text = str(tok)
        start = tok.start_pos or 0
        escaped = text.startswith("%")
        name = text[1:] if escaped else text
        return Node("label", start, start + len(text), text=name, escaped=escaped)

    def decode(self, kind: str, tok: Token) -> str:
        raw = str(tok)
        start = tok.start_pos or 0
        if kind == "number":
            return raw
        if kind == "char":
            return self.unescape(raw[1:-1], start + 1)
        if kind == "string":
            return self.unescape(raw[1:-1], start + 1)
        return self.multiline(raw, start)

    def unescape(self, body: str, offset: int) -> str:
        def replace(match: re.Match[str]) -> str:
            pos = offset + match.start()
            if match.group(1) is not None:
                code = int(match.group(1), 16)
                if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                    raise self.error("invalid character escape", pos, pos + 1)
                return chr(code)
            simple = _SIMPLE_ESCAPES.get(match.group(2))
            if simple is None:
                raise self.error("invalid character escape", pos, pos + 1)
            return simple

        return _ESCAPE.sub(replace, body)

    def multiline(self, raw: str, start: int) -> str:
        body = raw[3:-3]
        body_start = start + 3
        if not body.startswith(("\n", "\r\n")):
            raise self.error(
                'invalid multiline string: opening """ must be followed immediately by newline',
                body_start,
                body_start + 1,
            )
        lines = body.replace("\r\n", "\n").split("\n")[1:]
        indent = lines[-1]
        if indent.strip(" "):
            close = start + len(raw) - 3
            raise self.error(
                'invalid multiline string: closing """ must be on a line preceded only by spaces',
                close,
                close + 3,
            )
        width = len(indent)
        content: list[str] = []
        pos = body_start + (2 if body.startswith("\r\n") else 1)
        for line in lines[:-1]:
            if line and not line.startswith(" " * width):
                raise self.error(
                    "invalid multiline string: line is indented less than the closing delimiter",
                    pos,
                    pos + len(line),
                )
            content.append(self.unescape(line[width:], pos + width))
            pos += len(line) + 1
        return "\n".join(content)


def _tree_span(tree: Tree[Token]) -> tuple[int, int]:
    meta = tree.meta
    if getattr(meta, "empty", True):
        return 0, 0
    return meta.start_pos, meta.end_pos


# --------------------------------------------------------------------------- typing


def parse_value(text: str, ty: Type, resolve: Resolve, path: str = "<value>") -> Any:
    """Parse one WAVE value of type `ty`."""
    node = parse_untyped(text, "value", path)
    return Typer(resolve, Source(path, text)).value(node, ty)


def parse_args(
    text: str,
    params: tuple[Param, ...],
    resolve: Resolve,
    path: str = "<args>",
    parens: bool = False,
) -> list[Any]:
    """Parse a function's arguments: WAVE values separated by commas.

    With `parens`, the text is a parenthesized list `(a, b)`. Trailing `option`
    parameters may be left out (they are `none`).
    """
    node = parse_untyped(text, "call_args" if parens else "items", path)
    return Typer(resolve, Source(path, text)).args(node, params)


class Typer:
    """Checks untyped `Node`s against WIT types and builds WAVE values."""

    def __init__(self, resolve: Resolve, source: Source) -> None:
        self.resolve = resolve
        self.source = source

    def error(self, message: str, node: Node) -> WaveError:
        return WaveError(message, Span(self.source, node.start, node.end))

    def kind(self, ty: Type) -> str | TypeKind:
        """The primitive name or the type kind of `ty`, aliases followed."""
        ty = self.resolve.dealias(ty)
        return ty if isinstance(ty, str) else self.resolve.types[ty].kind

    def args(self, node: Node, params: tuple[Param, ...]) -> list[Any]:
        items = node.items
        if len(items) > len(params):
            extra = items[len(params)]
            raise self.error("invalid params: more param(s) than expected", extra)
        out = [self.value(item, p.type) for item, p in zip(items, params)]
        for p in params[len(items) :]:
            if not isinstance(self.kind(p.type), Option):
                missing = sum(
                    1 for q in params if not isinstance(self.kind(q.type), Option)
                )
                if not items:
                    msg = f"invalid params: no params provided, but {missing} required"
                else:
                    msg = f"invalid params: missing parameter {p.name!r}"
                raise self.error(msg, node)
            out.append(None)
        return out

    def value(self, node: Node, ty: Type) -> Any:
        kind = self.kind(ty)
        try:
            if isinstance(kind, str):
                return self.primitive(node, kind)
            method = getattr(self, "t_" + type(kind).__name__.lower())
            return method(node, kind)
        except WaveError as exc:
            span = exc.span
            if exc.message == TYPE_MISMATCH and exc.expected is None and span is not None:
                if (span.start, span.end) == (node.start, node.end):
                    exc.expected = ty
            raise

    # -------------------------------------------------------------- primitives

    def primitive(self, node: Node, name: str) -> Any:
        if name == "bool":
            if node.kind == "case" and not node.escaped and not node.items:
                if node.text == "true":
                    return True
                if node.text == "false":
                    return False
            raise self.error(TYPE_MISMATCH, node)
        if name in INT_RANGES:
            if node.kind != "number" or not re.fullmatch(r"-?[0-9]+", node.text):
                raise self.error(TYPE_MISMATCH, node)
            lo, hi = INT_RANGES[name]
            digits = node.text.lstrip("-").lstrip("0")
            if len(digits) > 20:  # beyond every range, and beyond what int() reads
                shown = f"{node.text[:12]}...({len(node.text)} characters)"
                raise self.error(f"value out of range for {name}: {shown}", node)
            value = int(node.text)
            if not lo <= value <= hi:
                raise self.error(f"value out of range for {name}: {value}", node)
            return value
        if name in ("f32", "f64"):
            return self.float(node, name)
        if name == "char":
            if node.kind != "char" or len(node.text) != 1:
                raise self.error(TYPE_MISMATCH, node)
            return node.text
        if name == "string":
            if node.kind not in ("string", "mlstring"):
                raise self.error(TYPE_MISMATCH, node)
            return node.text
        raise self.error(f"{name} values have no WAVE form", node)

    def float(self, node: Node, name: str) -> float:
        if (
            node.kind == "case"
            and not node.escaped
            and not node.items
            and node.text in ("inf", "nan")
        ):
            text = node.text
        elif node.kind == "number":
            text = node.text
        else:
            raise self.error(TYPE_MISMATCH, node)
        if name == "f64":
            return float(text)
        return f32_from_text(text)

    # -------------------------------------------------------------- compound

    def t_list(self, node: Node, kind: List) -> Any:
        if node.kind != "list":
            raise self.error(TYPE_MISMATCH, node)
        return [self.value(item, kind.type) for item in node.items]

    def t_fixedlist(self, node: Node, kind: FixedList) -> Any:
        if node.kind != "list":
            raise self.error(TYPE_MISMATCH, node)
        if len(node.items) != kind.size:
            raise self.error(
                f"expected {kind.size} elements, got {len(node.items)}", node
            )
        return [self.value(item, kind.type) for item in node.items]

    def t_map(self, node: Node, kind: Map) -> Any:
        if node.kind != "list":
            raise self.error(TYPE_MISMATCH, node)
        out = []
        for item in node.items:
            if item.kind != "tuple" or len(item.items) != 2:
                raise self.error("expected a (key, value) tuple", item)
            out.append(
                (
                    self.value(item.items[0], kind.key),
                    self.value(item.items[1], kind.value),
                )
            )
        return out

    def t_tuple(self, node: Node, kind: Tuple) -> Any:
        if node.kind != "tuple":
            raise self.error(TYPE_MISMATCH, node)
        if len(node.items) != len(kind.types):
            raise self.error(
                f"expected a tuple of {len(kind.types)} values, got {len(node.items)}",
                node,
            )
        return tuple(self.value(item, t) for item, t in zip(node.items, kind.types))

    def t_record(self, node: Node, kind: Record) -> Any:
        if node.kind != "record":
            raise self.error(TYPE_MISMATCH, node)
        given: dict[str, Node] = {}
        for label, value in node.items:
            if label.text in given:
                raise self.error(f'duplicate field: "{label.text}"', label)
            given[label.text] = value
        out: dict[str, Any] = {}
        for field in kind.fields:
            value = given.pop(field.name, None)
            if value is not None:
                out[field.name] = self.value(value, field.type)
            elif isinstance(self.kind(field.type), Option):
                out[field.name] = None
            else:
                raise self.error(
                    f'error converting Wasm value: missing field "{field.name}"', node
                )
        if given:
            name = next(iter(given))
            raise self.error(
                f'error converting Wasm value: unknown field "{name}"', node
            )
        return out

    def t_flags(self, node: Node, kind: Flags) -> Any:
        if node.kind != "flags":
            raise self.error(TYPE_MISMATCH, node)
        names = {f.name for f in kind.flags}
        seen: set[str] = set()
        for label in node.items:
            if label.text in seen:
                raise self.error(f'duplicate flag: "{label.text}"', label)
            if label.text not in names:
                raise self.error(
                    f'error converting Wasm value: unknown case "{label.text}"', node
                )
            seen.add(label.text)
        return frozenset(seen)

    def case_label(self, node: Node) -> str:
        """The case name of a label node; keywords must be written with `%`."""
        if node.kind != "case" or (node.text in KEYWORDS and not node.escaped):
            raise self.error(TYPE_MISMATCH, node)
        return node.text

    def t_enum(self, node: Node, kind: Enum) -> Any:
        name = self.case_label(node)
        if node.items:
            raise self.error(TYPE_MISMATCH, node)
        if name not in {c.name for c in kind.cases}:
            raise self.error(
                f'error converting Wasm value: unknown case "{name}"', node
            )
        return CaseValue(name)

    def t_variant(self, node: Node, kind: Variant) -> Any:
        name = self.case_label(node)
        for case in kind.cases:
            if case.name == name:
                return CaseValue(name, self.payload(node, name, case.type))
        raise self.error(f'error converting Wasm value: unknown case "{name}"', node)

    def payload(self, node: Node, name: str, ty: Type | None) -> Any:
        if ty is None:
            if node.items:
                raise self.error(
                    f'error converting Wasm value: unexpected payload for "{name}" case',
                    node,
                )
            return None
        if not node.items:
            raise self.error(
                f'error converting Wasm value: missing payload for "{name}" case', node
            )
        return self.value(node.items[0], ty)

    def keyword(self, node: Node) -> str | None:
        if node.kind == "case" and not node.escaped:
            return node.text
        return None

    def nests(self, ty: Type | None) -> bool:
        """True when a payload of this type forbids the flat (unwrapped) form."""
        return ty is None or isinstance(self.kind(ty), Option | Result)

    def t_option(self, node: Node, kind: Option) -> Any:
        word = self.keyword(node)
        if word == "none":
            if node.items:
                raise self.error(
                    'error converting Wasm value: unexpected payload for "none" case',
                    node,
                )
            return None
        if word == "some":
            return Some(self.payload(node, "some", kind.type))
        if self.nests(kind.type):
            raise self.error(TYPE_MISMATCH, node)
        return Some(self.value(node, kind.type))

    def t_result(self, node: Node, kind: Result) -> Any:
        word = self.keyword(node)
        if word == "ok":
            return Ok(self.payload(node, "ok", kind.ok))
        if word == "err":
            return Err(self.payload(node, "err", kind.err))
        if self.nests(kind.ok):
            raise self.error(TYPE_MISMATCH, node)
        assert kind.ok is not None
        return Ok(self.value(node, kind.ok))

    def t_handle(self, node: Node, kind: Handle) -> Any:
        return self.handle(node)

    def handle(self, node: Node) -> bytes:
        if node.kind != "list":
            raise self.error(
                "invalid value type: a handle is written as a list of bytes", node
            )
        return bytes(self.primitive(item, "u8") for item in node.items)

    def t_future(self, node: Node, kind: Future) -> Any:
        if kind.type is None:
            if node.kind != "tuple" or node.items:
                raise self.error(
                    "invalid value type: a ready `future` is written `()`", node
                )
            return None
        return self.value(node, kind.type)

    def t_stream(self, node: Node, kind: Stream) -> Any:
        if node.kind != "list":
            raise self.error(TYPE_MISMATCH, node)
        if kind.type is None:
            for item in node.items:
                if item.kind != "tuple" or item.items:
                    raise self.error(
                        "invalid value type: items of a `stream` are `()`", item
                    )
            return [None] * len(node.items)
        return [self.value(item, kind.type) for item in node.items]

    def t_resource(self, node: Node, kind: Resource) -> Any:
        raise self.error("a resource is passed by handle (own<R> or borrow<R>)", node)

    def t_alias(self, node: Node, kind: Alias) -> Any:  # dealias() never returns one
        return self.value(node, kind.type)


# --------------------------------------------------------------------------- f32


def f32(x: float) -> float:
    """`x` rounded to the nearest f32 (C cast rounding; infinity on overflow)."""
    try:
        return float(struct.unpack("<f", struct.pack("<f", x))[0])
    except OverflowError:
        return math.copysign(math.inf, x)


_F32_MAX = float(struct.unpack("<f", b"\xff\xff\x7f\x7f")[0])
_F32_PAST = 2.0**128  # where the next f32 would be if the exponent went on


def _f32_step(y: float, toward: float) -> float:
    """The f32 next to finite `y` toward `toward`; +-2**128 stands for the one past the largest."""
    if abs(y) == _F32_PAST:
        return math.copysign(_F32_MAX, y)
    bits = struct.unpack("<I", struct.pack("<f", y))[0]
    up = toward > y
    if y == 0:
        bits = 1 if up else 0x80000001
    elif (y > 0) == up:
        bits += 1
    else:
        bits -= 1
    if bits & 0x7FFFFFFF == 0x7F800000:
        return math.copysign(_F32_PAST, y)
    return float(struct.unpack("<f", struct.pack("<I", bits))[0])


def f32_from_text(text: str) -> float:
    """A decimal number (or `inf`, `-inf`, `nan`) rounded once, correctly, to f32."""
    x = float(text)
    y = f32(x)
    if math.isnan(x) or math.isinf(x) or x == y:
        return y
    # Parsing to f64 first rounds twice; that only matters when x lands exactly
    # halfway between two f32 values, and then the exact decimal decides.
    near = math.copysign(_F32_PAST, x) if math.isinf(y) else y
    other = _f32_step(near, x)
    if (near + other) / 2 == x:
        exact = Fraction(text)
        if exact != Fraction(x):
            pick = other if (exact > Fraction(x)) == (other > near) else near
            return math.copysign(math.inf, pick) if abs(pick) == _F32_PAST else pick
    return y
