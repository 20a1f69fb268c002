"""Syntax errors worded as the reference parser words them.

wit-parser is a hand-written recursive-descent parser: it says `expected X,
found Y` where X is the one thing its current function wanted. The LALR parser
knows the whole set of terminals it could shift; `syntax_error` maps that set
back to the reference wording: item starts and type positions get their fixed
phrases, and optional continuations (a `,` before the closing bracket, an
`@version`, an `as` or `with` clause, a `-> result`...) are dropped in favour of
the token the reference parser insists on.

Also here: `check_version`, semver validation with the messages of Rust's
`semver` crate.
"""

from __future__ import annotations

from witgen.errors import Span, WitError
from witgen.lexer import KEYWORDS, Scanner, Token

_KEYWORD_TEXT = {typ: word for word, typ in KEYWORDS.items()}

_DESCRIBE = {
    "ID": "an identifier",
    "EXPLICIT_ID": "an '%' identifier",
    "INTEGER": "an integer",
    "STRING_LIT": "a string literal",
    "EQUALS": "'='",
    "COMMA": "','",
    "COLON": "':'",
    "SEMI": "';'",
    "LPAR": "'('",
    "RPAR": "')'",
    "LBRACE": "'{'",
    "RBRACE": "'}'",
    "LT": "'<'",
    "GT": "'>'",
    "DOT": "'.'",
    "STAR": "`*`",
    "RARROW": "`->`",
    "SLASH": "`/`",
    "AT": "`@`",
    "MINUS": "`-`",
    "PLUS": "`+`",
    "SINCE": "an identifier",
    "UNSTABLE": "an identifier",
    "DEPRECATED": "an identifier",
    "EXTERNAL_ID": "an identifier",
    "$END": "eof",
}

# Continuations the reference parser tries with `eat` before insisting on something else.
_OPTIONAL = ("COMMA", "RARROW", "AT", "AS", "WITH", "COLON", "LT", "SLASH", "SEMI", "DOT", "MINUS", "PLUS")


def describe(token_type: str) -> str:
    """How the reference parser names a token kind in `found ...`."""
    if token_type in _KEYWORD_TEXT:
        return f"keyword `{_KEYWORD_TEXT[token_type]}`"
    return _DESCRIBE.get(token_type, token_type)


def expectation(expected: set[str], previous: str) -> str:
    """The reference wording of what was expected, from the LALR parser's expected set."""
    if "INTERFACE" in expected and "WORLD" in expected:
        return "`world`, `interface` or `use`"
    if "IMPORT" in expected:
        return "`import`, `export`, `include`, `use`, or type definition"
    if "CONSTRUCTOR" in expected:
        return "`constructor` or identifier"
    if "RECORD" in expected:
        return "`type`, `resource` or `func`"
    if "U8" in expected:
        return "a type"
    if "ID" in expected:
        return "an identifier or string"
    if expected == {"INTEGER"} and previous == "COMMA":
        return "fixed-length"
    if "FUNC" in expected:
        return describe("FUNC")
    remaining = set(expected)
    for optional in _OPTIONAL:
        if len(remaining) > 1:
            remaining.discard(optional)
    if "LBRACE" in remaining:
        return describe("LBRACE")
    return describe(sorted(remaining)[0]) if remaining else "something else"


def syntax_error(token: Token, expected: set[str], scanner: Scanner) -> WitError:
    """The reference parser's diagnostic for `token`, where one of `expected` was needed."""
    if token.type == "$END":
        start = scanner.eof
        span = Span(scanner.source, start, start)
    else:
        start = token.start_pos
        span = Span(scanner.source, start, token.end_pos)
    previous = scanner.previous_type(start)
    want = expectation(expected, previous)
    return WitError(f"expected {want}, found {describe(token.type)}", span)


# --------------------------------------------------------------------------- semver


def check_version(text: str, span: Span) -> None:
    """Raise WitError unless `text` is a semver version (messages of Rust's `semver` crate)."""
    pos = 0
    n = len(text)

    def fail(message: str) -> WitError:
        return WitError(message, span)

    def number(what: str) -> None:
        nonlocal pos
        start = pos
        while pos < n and text[pos].isascii() and text[pos].isdigit():
            pos += 1
        if pos == start:
            if pos >= n:
                raise fail(f"unexpected end of input while parsing {what} version number")
            raise fail(f"unexpected character {text[pos]!r} while parsing {what} version number")
        if pos - start > 1 and text[start] == "0":
            raise fail(f"invalid leading zero in {what} version number")
        if int(text[start:pos]) >= 2**64:
            raise fail(f"value of {what} version number exceeds u64::MAX")

    def dot(after: str) -> None:
        nonlocal pos
        if pos >= n:
            raise fail(f"unexpected end of input while parsing {after} version number")
        if text[pos] != ".":
            raise fail(f"unexpected character {text[pos]!r} after {after} version number")
        pos += 1

    number("major")
    dot("major")
    number("minor")
    dot("minor")
    number("patch")
    for sep, what in (("-", "pre-release identifier"), ("+", "build metadata")):
        if pos < n and text[pos] == sep:
            pos += 1
            while True:
                start = pos
                while pos < n and (text[pos].isascii() and (text[pos].isalnum() or text[pos] == "-")):
                    pos += 1
                part = text[start:pos]
                if not part:
                    raise fail(f"empty identifier segment in {what}")
                if sep == "-" and part.isdigit() and len(part) > 1 and part[0] == "0":
                    raise fail(f"invalid leading zero in {what}")
                if pos < n and text[pos] == ".":
                    pos += 1
                    continue
                break
    if pos < n:
        after = "patch version number" if pos and text[pos - 1].isdigit() else "version"
        raise fail(f"unexpected character {text[pos]!r} after {after}")
