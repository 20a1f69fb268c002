"""Syntax errors worded as the reference parser words them.

wit-parser is a hand-written recursive-descent parser: it says `expected X,
found Y` where X is the one thing its current function wanted. The LALR parser
knows the whole set of terminals it could shift; `syntax_error` maps that set
back to the reference wording: item starts and type positions get their fixed
phrases, and optional continuations (a `,` before the closing bracket, an
`@version`, an `as` or `with` clause, a `-> result`...) are dropped in favour of
the token the reference parser insists on.

Where: a phrase (`expected a type, ...`) comes from one of the reference
parser's rules and spans the token found; a single expected token comes from
its tokenizer and is reported at the token's start only (a one-character caret).
"""

from __future__ import annotations

from witgen.errors import WitError
from witgen.frontend.lexer import KEYWORDS, Scanner, Token

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
    "VDOT": "'.'",
    "SINCE": "an identifier",
    "UNSTABLE": "an identifier",
    "DEPRECATED": "an identifier",
    "EXTERNAL_ID": "an identifier",
    "$END": "eof",
}

# Continuations the reference parser tries with `eat` before insisting on something else.
_OPTIONAL = (
    "COMMA",
    "LPAR",
    "RARROW",
    "AT",
    "AS",
    "WITH",
    "COLON",
    "LT",
    "SLASH",
    "SEMI",
    "DOT",
    "MINUS",
    "PLUS",
)


# What the reference parser's rules expect, rather than its tokenizer: such an error spans
# the token found (`^-----`); a missing token is reported at a position (a lone `^`).
PHRASES = frozenset(
    {
        "`world`, `interface` or `use`",
        "`import`, `export`, `include`, `use`, or type definition",
        "`constructor` or identifier",
        "`type`, `resource` or `func`",
        "a type",
        "an identifier or string",
        "fixed-length",
    }
)


def describe(token_type: str) -> str:
    """How the reference parser names a token kind in `found ...`."""
    if token_type in _KEYWORD_TEXT:
        return f"keyword `{_KEYWORD_TEXT[token_type]}`"
    return _DESCRIBE.get(token_type, token_type)


def expectation(expected: set[str], previous: str) -> str:
    """The reference wording of what was expected, from the LALR parser's expected set."""
    after_version = "MINUS" in expected or "PLUS" in expected
    if after_version:
        # the reference parser has finished with the version: drop its continuations
        expected = expected - {"ID", "INTEGER", "MINUS", "PLUS", "VDOT"}
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
    if "ID" in expected or "SINCE" in expected:
        return "an identifier or string"
    if expected == {"INTEGER"} and previous == "COMMA":
        return "fixed-length"
    if "FUNC" in expected:
        return describe("FUNC")
    remaining = set(expected)
    for optional in _OPTIONAL:
        if len(remaining) > 1:
            remaining.discard(optional)
    if expected == {"LBRACE", "SEMI"} and not after_version:
        return describe("SEMI")  # `resource r` without a body
    if "LBRACE" in remaining:
        return describe("LBRACE")
    return describe(sorted(remaining)[0]) if remaining else "something else"


def syntax_error(token: Token, expected: set[str], scanner: Scanner) -> WitError:
    """The reference parser's diagnostic for `token`, where one of `expected` was needed."""
    start = scanner.eof if token.type == "$END" else token.start_pos
    previous = scanner.previous_type(start)
    if token.type == "ID" and "FUNC" in expected and previous in ("COLON", "STATIC"):
        # the reference reads the word where a function type starts as an identifier
        # (to see whether it is `async`), so a malformed one is reported first
        invalid = scanner.invalid.get(start)
        if invalid is not None:
            return invalid
    want = expectation(expected, previous)
    message = f"expected {want}, found {describe(token.type)}"
    if want in PHRASES and token.type != "$END":
        return WitError(message, scanner.span(start, token.end_pos))
    return WitError(message, scanner.point(start))
