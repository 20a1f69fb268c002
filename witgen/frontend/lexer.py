"""The WIT tokenizer: one regular expression over the whole text (`findall`), its tokens
checked and handed to the LALR parser one at a time.

It mirrors the reference tokenizer (wit-parser's `lex.rs`):

* the whole text is first checked for control codes and bidirectional overrides;
* whitespace and comments are skipped; the comments right before a token are
  kept in `Scanner.comments`, keyed by that token's start offset, so that the
  parser can attach them as docs to the item the token starts (a run of line
  comments is kept as one range: its lines are the comments);
* an identifier is a run of `[letter_][letter digit _ -]*`; the words of
  `KEYWORDS` become keyword tokens, anything else is an `ID` that must be
  kebab-case: a bad one is noted in `Scanner.invalid` and raised only if the
  parser takes it (elsewhere the syntax error comes first, as in wit-parser);
* `%name` is an `EXPLICIT_ID` and is never a keyword;
* the name right after an item's `@` becomes SINCE, UNSTABLE, DEPRECATED or
  EXTERNAL_ID (anything else is `unknown attribute`);
* a version (`@1.2.3-pre+build`, `version = 1.2.3`) is chomped as wit-parser
  does (integers, identifiers, `-`, and a `.` only if one of those follows:
  such a `.` is a VDOT) and checked against semver where it ends;
* type nesting (`<`) and package nesting (`package .. {`) are bounded as in
  the reference parser;
* a plain `@since(version = X.Y.Z)` or `@deprecated(version = X.Y.Z)` (spaces and tabs
  only, a version without pre-release or build) is one GATE token whose value is the
  version: the eleven tokens it stands for need none of the checks above. So is a plain
  version (`1.2.3`, valid semver, nothing after it) right after `@` or `=`: one VERSION
  token. The parser reads a file again with `fast_gates=False` when it stops at either.

As in the reference, an error of the tokenizer proper (a bad character,
identifier, string or comment) is at a position (`Scanner.point`, a one-character
caret), while the checks of its parser rules (attributes, versions, nesting)
underline the token.

Token values are the text as written (a string literal keeps its quotes).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from functools import cache

from msgspec import Struct

from witgen.errors import Source, Span, WitError, rust_char

KEYWORDS: dict[str, str] = {
    word: word.upper().replace("-", "_")
    for word in (
        "as async bool borrow char constructor enum export f32 f64 flags from func future "
        "import include interface list map option own package record resource result "
        "s16 s32 s64 s8 static stream string tuple type u16 u32 u64 u8 use variant with world "
        "error-context"
    ).split()
}
KEYWORDS["_"] = "UNDERSCORE"

PUNCTUATION: dict[str, str] = {
    "=": "EQUALS",
    ",": "COMMA",
    ":": "COLON",
    ";": "SEMI",
    "(": "LPAR",
    ")": "RPAR",
    "{": "LBRACE",
    "}": "RBRACE",
    "<": "LT",
    ">": "GT",
    "*": "STAR",
    "->": "RARROW",
    "/": "SLASH",
    ".": "DOT",
    "@": "AT",
    "-": "MINUS",
    "+": "PLUS",
}

ATTRIBUTES: dict[str, str] = {
    "since": "SINCE",
    "unstable": "UNSTABLE",
    "deprecated": "DEPRECATED",
    "external-id": "EXTERNAL_ID",
}

_GATE_KEYS = {"SINCE": "version", "DEPRECATED": "version", "UNSTABLE": "feature"}

MAX_TYPE_NESTING = 100
MAX_PACKAGE_NESTING = 100

# Group 1 is the whitespace before a token (each run in one step), group 2 the token,
# whose first character says its kind (`_KINDS`): `findall` reads a whole text in one call,
# and a token's offsets are the lengths before it. Order matters: a gate before `@`,
# comments before `/`, `->` before `-`. (No named groups: an alternative that starts with a
# character or a class is passed over without a jump when the text does not start with it.)
# An identifier is an XID_Start (or `_`) and XID_Continues or `-`s; the expression takes
# ASCII word characters and any non-ASCII ones, which `_keylike` then cuts to the true end.
# Written as complements within ASCII: spelled `[A-Za-z_\x80-\U0010ffff]`, the class makes
# `re` build tables over every code point, over 10 ms of import time.
_WORD = (
    r"[^\x00-\x40\x5b-\x5e\x60\x7b-\x7f]"  # A-Z a-z _ or non-ASCII
    r"[^\x00-\x2c\x2e\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f]*"  # and 0-9 -
)
# A gate in one token: `@since` or `@deprecated` and a version that is valid semver (at most
# 19 digits a number, below u64::MAX) with nothing after its patch number.
_PLAIN_NUMBER = r"(?:0|[1-9][0-9]{0,18})"
_GATE = (
    r"@(?:since|deprecated)\([ \t]*version[ \t]*=[ \t]*"
    rf"{_PLAIN_NUMBER}\.{_PLAIN_NUMBER}\.{_PLAIN_NUMBER}[ \t]*\)"
)
# A plain version in one token, valid semver as above: nothing but a `.` right after it, and
# no `-` or `+` (a pre-release or build) nor `/` (a comment, which may come before one) next.
_VERSION = (
    rf"{_PLAIN_NUMBER}\.{_PLAIN_NUMBER}\.{_PLAIN_NUMBER}(?![\w-])(?![ \t\r\n]*[-+/])"
)


@cache
def _token_pattern(gates: bool) -> re.Pattern[str]:
    """The token expression, with plain gates and versions whole or not (compiled when first
    asked for: each takes most of a millisecond)."""
    return re.compile(
        r"([ \t\n]*+(?:\r\n[ \t\n]*+)*+)("  # whitespace
        rf"{_WORD}"  # ID
        + (f"|{_GATE}" if gates else "")  # GATE
        + (f"|{_VERSION}" if gates else "")  # VERSION
        + r"|->|[=,:;(){}<>*.@+-]|/(?![/*])"  # PUNCT
        r"|//[^\n]*(?:[ \t\n]*+(?:\r\n[ \t\n]*+)*+//[^\n]*)*+"  # LINE: a run of them
        r"|/\*"  # BLOCK
        r"|[0-9]+"  # INTEGER
        rf"|%(?:{_WORD})?"  # EXPLICIT_ID
        r'|"[ !#-\[\]-~]*"|"'  # STRING: a plain one whole, or its start
        r"|\Z"  # EOF
        r"|.)",  # BAD
        re.S,
    )


# Where a token ends elsewhere than its match (a block comment, a string with escapes,
# an identifier with non-ASCII letters, a gate read as `@`), the text is read again from
# there: `findall` up to this many times, then match by match (`_pairs`), so that a text
# made of such tokens still takes linear time.
_MAX_REREADS = 4
# A long text is read a window at a time, so that the pairs held at once stay few: a window
# of at least this many characters, ended after a line break that no token spans (the next
# line starts with neither whitespace nor a comment).
_WINDOW = 1 << 16
_WINDOW_END = r"\n(?=[ \t]*[^\s/])"
# A token's kind by its first character (a non-ASCII one starts an ID; `/` is a
# SLASH or starts a comment)
_KINDS: dict[str, str] = {chr(c): "BAD" for c in range(128)}
_KINDS.update(dict.fromkeys("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_", "ID"))
_KINDS.update(dict.fromkeys("0123456789", "INTEGER"))
_KINDS.update({"@": "@", "/": "/", "%": "EXPLICIT_ID", '"': "STRING"})
# a keyword's or a punctuation mark's type, by its text (the other tokens go by `_KINDS`)
_FIXED: dict[str, str] = {**KEYWORDS, **PUNCTUATION}
# (the expressions of rare cases here are compiled by `re`, and kept in its cache, when first
# used: compiling them all at import would cost every run)
_BLOCK_DELIM = r"/\*|\*/"
_STRING_STOP = r'["\\\x00-\x1f\x7f]'
_HEX = frozenset("0123456789abcdefABCDEF")
_BIDI = "\u202a-\u202e\u2066-\u2069"
_DISCOURAGED = "\u0149\u0673\u0f77\u0f79\u17a3\u17a4\u17b4\u17b5"
# (compiled by the first text that is not plain ASCII: the class takes most of a millisecond)
_INVALID = f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI}{_DISCOURAGED}]"
_ASCII_ALLOWED = bytes(range(0x20, 0x7F)) + b"\t\n\r"
_ID_PART = r"[a-z0-9]+|[A-Z0-9]+"
_KEBAB = re.compile(
    r"[a-z][a-z0-9]*(?:-(?:[a-z0-9]+|[A-Z0-9]+))*|[A-Z][A-Z0-9]*(?:-(?:[a-z0-9]+|[A-Z0-9]+))*"
)
# The tokens that stand for several (see the module's docs), each with the last two of those:
# the scanner goes on as after them, and the parser reads the file again token by token
# when it stops at one.
STANDS_FOR: dict[str, tuple[str, str]] = {
    "GATE": ("INTEGER", "RPAR"),  # `1.2.3` `)`
    "VERSION": ("VDOT", "INTEGER"),  # `.` `3`
}
# the tokens the scanner keeps count of (type and package nesting, versions)
_TRACKED = frozenset({"LT", "GT", "LBRACE", "RBRACE", "SEMI", "DOT", "PACKAGE"})
_VERSION_PARTS = frozenset({"INTEGER", "VDOT", "MINUS", "PLUS", "ID"})
_VERSION_PART = r"(?:[ \t\n]|\r\n)*[\w-]"


def _window_end(text: str, pos: int) -> int:
    """Where a read of `text` from `pos` stops (see `_WINDOW`)."""
    if len(text) - pos <= _WINDOW:
        return len(text)
    m = re.compile(_WINDOW_END).search(text, pos + _WINDOW)
    return len(text) if m is None else m.end()


def _pairs(pattern: re.Pattern[str], text: str, pos: int, stop: int) -> Iterator[tuple[str, str]]:
    """What `pattern.findall(text, pos, stop)` returns, one match at a time."""
    for m in pattern.finditer(text, pos, stop):
        yield m[1], m[2]


def validate_id(name: str, span: Span) -> None:
    """Raise unless `name` is kebab-case: `-`-separated parts, each all lower or all upper case.

    As wit-parser's `validate_id`: the first part starts with a letter; digits may
    appear anywhere else; the first letter of a part sets its case.
    """
    for index, part in enumerate(name.split("-")):
        if not part:
            raise WitError("identifiers must have characters between '-'s", span)
        if re.fullmatch(_ID_PART, part) is not None and (index or not part[0].isdigit()):
            continue
        if index == 0 and not (part[0].isascii() and part[0].isalpha()):
            raise WitError(f"invalid character in identifier {rust_char(part[0])}", span)
        upper: bool | None = None
        for ch in part:
            if ch.isascii() and ch.isdigit():
                continue
            if ch.isascii() and ch.isalpha() and upper in (None, ch.isupper()):
                upper = ch.isupper()
                continue
            raise WitError(f"invalid character in identifier {rust_char(ch)}", span)


# XID_Continue since Unicode 15.1, which this Python's tables may predate: ZWNJ, ZWJ and
# the two katakana middle dots.
_XID_CONTINUE_15_1 = frozenset("\u200c\u200d\u30fb\uff65")


def _keylike(text: str, start: int, end: int) -> int:
    """The end of the identifier that starts at `start`, which the token regex ran to `end`.

    wit-parser takes XID_Start or `_` to start an identifier and XID_Continue or
    `-` to go on (Python's `str.isidentifier` has the same tables); returns
    `start` when the first character cannot start one.
    """
    if not text[start].isidentifier():
        return start
    pos = start + 1
    while pos < end:
        ch = text[pos]
        if ch >= "\x80" and ch not in _XID_CONTINUE_15_1 and not ("a" + ch).isidentifier():
            break
        pos += 1
    return pos


class Token(Struct, frozen=True, gc=False):
    """A token: its terminal name, its text, and its character offsets."""

    type: str
    value: str
    start_pos: int
    end_pos: int


class Scanner:
    """Tokenizes one source; `comments` maps a token's start offset to the comments before it."""

    def __init__(self, source: Source, fast_gates: bool = True) -> None:
        self.source = source
        self.fast_gates = fast_gates
        self.comments: dict[int, list[tuple[int, int]]] = {}
        text = source.text
        # (an ASCII text without control codes is told in one pass over its bytes)
        clean = text.isascii() and not text.encode().translate(None, _ASCII_ALLOWED)
        bad = None if clean else re.search(_INVALID, text)
        if bad is not None:
            ch = bad.group()
            span = Span(source, bad.start(), bad.start())
            escaped = f"EscapeUnicode(EscapeIterInner('\\u{{{ord(ch):x}}}'))"
            if ch in _DISCOURAGED:
                raise WitError(f"Codepoint {escaped} is discouraged by Unicode", span)
            if ord(ch) >= 0x202A:
                raise WitError(f"Input contains bidirectional override codepoint {escaped}", span)
            raise WitError(f"Control code '\\u{{{ord(ch):x}}}'", span)
        self.start = 1 if text.startswith("\ufeff") else 0
        self.eof = len(text)
        # identifiers that are not kebab-case, by offset: an error once the parser takes one
        self.invalid: dict[int, WitError] = {}
        self.versions: set[str] = set()  # the versions found to be semver

    def previous_type(self, start: int) -> str:
        """The type of the token before the one at `start` (the last one produced, or EOF)."""
        # Only errors ask, so the tokens are read again rather than noted as they go.
        previous = ""
        for token in Scanner(self.source, self.fast_gates).tokens():
            if token.start_pos >= start:
                break
            previous = token.type
        return STANDS_FOR[previous][1] if previous in STANDS_FOR else previous

    def span(self, start: int, end: int) -> Span:
        return Span(self.source, start, end)

    def point(self, start: int) -> Span:
        """The span of a tokenizer or parser error: a position, rendered with a one-character caret."""
        return Span(self.source, start, start)

    def tokens(self, last: Token | None = None) -> Iterator[Token]:
        """Yield the tokens up to the end of the text, then `last` if given; raise WitError
        on bad input."""
        text = self.source.text
        pattern = _token_pattern(self.fast_gates)
        fixed = _FIXED
        tracked = _TRACKED
        stands_for = STANDS_FOR
        comments = self.comments
        pending: list[tuple[int, int]] = []
        prev = before = ""  # types of the previous token and of the one before it
        type_depth = 0
        package_pending = False
        braces: list[bool] = []  # True for a brace that opens a nested package
        package_depth = 0
        # Where in a version we are: 0 outside, 1 in `1.2.3` (after `@` or `=`), 2 right
        # after it, 3 in `-pre` or `+build`. Identifiers in 1 and 3 need not be kebab-case.
        version = 0
        version_dots = version_start = version_end = 0
        version_build = False
        kebab: set[str] = set()  # identifiers seen to be kebab-case
        max_type_nesting = MAX_TYPE_NESTING
        kinds = _KINDS
        plain = text.isascii()  # (then no identifier is cut short by `_keylike`)
        end = self.start
        rereads = 0
        stop = -1  # where the current window ends
        while True:  # a read of the text from `end` on
            if end >= stop:  # (a read again within a window keeps its end)
                stop = _window_end(text, end)
            pairs: Iterable[tuple[str, str]]
            if rereads < _MAX_REREADS:
                pairs = pattern.findall(text, end, stop)
            else:
                pairs = _pairs(pattern, text, end, stop)
            reread = False  # set where a token ends elsewhere than its match
            for space, value in pairs:
                start = end + len(space)
                end = start + len(value)
                typ = fixed.get(value)  # a keyword or a punctuation mark
                if typ is None:
                    try:
                        kind = kinds.get(value[0], "ID")
                    except IndexError:  # the end of the text
                        kind = "EOF"
                    if kind == "ID":
                        if not plain and not value.isascii():
                            word_end = end
                            end = _keylike(text, start, end)
                            if end == start:
                                ch = text[start]
                                raise WitError(f"unexpected character {rust_char(ch)}", self.point(start))
                            reread = end != word_end
                            value = text[start:end]
                            typ = KEYWORDS.get(value)  # (one cut short to a keyword)
                        if typ is None:
                            typ = "ID"
                            if prev == "AT" and before not in ("ID", "EXPLICIT_ID"):
                                typ = ATTRIBUTES.get(value, "")
                                if not typ:
                                    if _KEBAB.fullmatch(value) is None:  # read as an identifier first
                                        validate_id(value, self.point(start))
                                    raise WitError(f"unknown attribute `{value}`", self.span(start, end))
                            else:
                                if value not in kebab and version != 1 and version != 3:
                                    if _KEBAB.fullmatch(value) is None:
                                        self._invalid_id(value, start, end)
                                    else:
                                        kebab.add(value)
                                if prev == "LPAR" and before in _GATE_KEYS:
                                    self._gate_key(value, start, end, _GATE_KEYS[before])
                    elif kind == "@":  # a whole gate (`@` alone is punctuation)
                        if prev == "ID" or prev == "EXPLICIT_ID" or (
                            type_depth >= max_type_nesting and (prev == "LT" or prev == "COMMA")
                        ):
                            # read as `@` and what follows it: after a name (a version's `@`),
                            # or where a type must start (the checks token by token)
                            typ = "AT"
                            value = "@"
                            end = start + 1
                            reread = True
                        else:  # its value is the version
                            typ = "GATE"
                            value = value[value.index("=") + 1 : -1].strip(" \t")
                    elif kind == "/":  # comments (`/` alone is punctuation)
                        if value == "/*":  # a block comment
                            end = self._block_comment(start)
                            pending.append((start, end))
                            rereads += 1
                            break
                        pending.append((start, end))
                        continue
                    elif kind == "INTEGER":
                        typ = "INTEGER"
                        if not version and (prev == "AT" or prev == "EQUALS"):
                            if "." in value:  # a plain version, where one starts
                                typ = "VERSION"
                            else:
                                version = 1
                                version_dots = 0
                                version_start = start
                        elif "." in value:  # not where a version starts: its first number
                            value = value[: value.index(".")]
                            end = start + len(value)
                            reread = True
                    elif kind == "EXPLICIT_ID":
                        if not plain and not value.isascii():
                            word_end = end
                            end = max(_keylike(text, start + 1, end), start + 1)
                            reread = end != word_end
                            value = text[start:end]
                        typ = "EXPLICIT_ID"
                        if _KEBAB.fullmatch(value, 1) is None:
                            self._invalid_id(value[1:], start, end)
                        if prev == "LPAR" and before in _GATE_KEYS:
                            self._gate_key(value[1:], start, end, _GATE_KEYS[before])
                    elif kind == "STRING":
                        if value == '"':  # one the expression does not take whole: checked here
                            end = self._string(start)
                            value = text[start:end]
                            reread = True
                        typ = "STRING_LIT"
                    elif kind == "EOF":
                        if start < len(text):  # the end of a window: read the next one
                            break
                        if version == 2 or version == 3:
                            self._check_version(version_start, version_end)
                        if pending:
                            comments[start] = pending
                        self.eof = start
                        if last is not None:
                            yield last
                        return
                    else:
                        raise WitError(f"unexpected character {rust_char(value)}", self.point(start))
                if typ not in tracked:
                    pass
                elif typ == "LT":
                    type_depth += 1
                elif typ == "GT":
                    type_depth = max(type_depth - 1, 0)
                elif typ == "LBRACE":
                    braces.append(package_pending)
                    if package_pending:
                        package_depth += 1
                    package_pending = False
                elif typ == "RBRACE":
                    if braces and braces.pop():
                        package_depth -= 1
                elif typ == "SEMI":
                    package_pending = False
                elif typ == "DOT":
                    if version == 1:
                        typ = "VDOT"
                        version_dots += 1
                    elif version == 3 and re.compile(_VERSION_PART).match(text, end):
                        typ = "VDOT"
                elif typ == "PACKAGE":
                    # at the top level, only an attribute's `)` comes right before `package`
                    misplaced = prev == "RPAR" and (not braces or braces[-1])
                    if misplaced or package_depth >= MAX_PACKAGE_NESTING:
                        # (after what the checks of the tokens before raise)
                        if version == 2 or version == 3:
                            self._check_version(version_start, version_end)
                        if type_depth >= max_type_nesting and (prev == "LT" or prev == "COMMA"):
                            raise WitError("type nesting too deep", self.span(start, end))
                        if misplaced:
                            message = "cannot place attributes on nested packages"
                            raise WitError(message, self.span(start, end))
                        raise WitError("package nesting too deep", self.span(start, end))
                    package_pending = True
                if not version:
                    pass
                elif version == 1:
                    if typ == "INTEGER" and version_dots == 2:
                        version = 2
                        version_end = end
                    elif typ != "INTEGER" and typ != "VDOT" and typ != "ID":
                        version = 0
                elif version == 2:
                    if typ == "MINUS" or typ == "PLUS":
                        version = 3
                        version_build = typ == "PLUS"
                    else:
                        version = 0
                        self._check_version(version_start, version_end)
                elif version == 3:
                    if typ not in _VERSION_PARTS:
                        version = 0
                        self._check_version(version_start, version_end)
                    elif typ == "PLUS":
                        if version_build:  # a second `+` is not part of the version
                            version = 0
                            self._check_version(version_start, version_end)
                        version_build = True
                    elif typ != "VDOT":
                        version_end = end
                if type_depth >= max_type_nesting and (prev == "LT" or prev == "COMMA"):
                    # a type starting inside 100 open `<`s is the 101st level
                    if typ != "GT" and typ != "INTEGER" and typ != "UNDERSCORE":
                        raise WitError("type nesting too deep", self.span(start, end))
                if pending:
                    comments[start] = pending
                    pending = []
                if typ in stands_for:  # as after the tokens it stands for
                    before, prev = stands_for[typ]
                else:
                    before = prev
                    prev = typ
                yield Token(typ, value, start, end)
                if reread:
                    rereads += 1
                    break

    def _gate_key(self, name: str, start: int, end: int, key: str) -> None:
        """Raise unless `name`, an identifier right after a gate's `(`, is its key `key`."""
        if name != key:
            if start in self.invalid:  # read as an identifier first
                raise self.invalid[start]
            raise WitError(f"expected `{key}`, found `{name}`", self.span(start, end))

    def _invalid_id(self, name: str, start: int, end: int) -> None:
        """Note why an identifier is not kebab-case; the parser raises it if it uses the token."""
        try:
            validate_id(name, self.point(start))
        except WitError as exc:
            self.invalid[start] = exc

    def _check_version(self, start: int, end: int) -> None:
        text = self.source.text[start:end]
        if text not in self.versions:
            check_version(text, self.span(start, end))
            self.versions.add(text)

    def _block_comment(self, start: int) -> int:
        """The end offset of the (nested) block comment opened at `start`."""
        text = self.source.text
        depth = 1
        pos = start + 2
        search = re.compile(_BLOCK_DELIM).search
        while depth:
            m = search(text, pos)
            if m is None:
                raise WitError("unterminated block comment", self.point(start))
            depth += 1 if m.group() == "/*" else -1
            pos = m.end()
        return pos

    def _string(self, start: int) -> int:
        """The end offset of the string literal opened at `start` (checked as wit-parser does)."""
        text = self.source.text
        pos = start + 1
        stop = re.compile(_STRING_STOP).search
        while True:
            m = stop(text, pos)
            if m is None:
                raise WitError("unexpected end of file", self.point(len(text)))
            at = m.start()
            ch = m.group()
            if ch == '"':
                try:
                    _unescape_bytes(text[start : m.end()]).decode("utf-8")
                except UnicodeDecodeError as exc:
                    if exc.reason == "unexpected end of data":
                        reason = f"incomplete utf-8 byte sequence from index {exc.start}"
                    else:
                        size = exc.end - exc.start
                        reason = f"invalid utf-8 sequence of {size} bytes from index {exc.start}"
                    raise WitError(f"invalid UTF-8: {reason}", self.point(start)) from None
                return m.end()
            if ch == "\\":
                pos = self._escape(at + 1)
                continue
            if text.startswith("\r\n", at):
                ch = "\n"  # wit-parser reads `\r\n` as one `\n`
            raise WitError(f"invalid string character {rust_char(ch)}", self.point(at))

    def _escape(self, pos: int) -> int:
        """The offset after the escape whose letter is at `pos` (after a backslash)."""
        text = self.source.text

        def char_at(p: int) -> str:
            if p >= len(text):
                raise WitError("unexpected end of file", self.point(len(text)))
            return "\n" if text.startswith("\r\n", p) else text[p]

        def after(p: int) -> int:
            return p + (2 if text.startswith("\r\n", p) else 1)

        ch = char_at(pos)
        if ch in "\"'tnr\\":
            return pos + 1
        if ch == "u":
            p = after(pos)
            if char_at(p) != "{":
                raise WitError("expected character '{'", self.point(p))
            p = after(p)
            value, p = self._hex_number(p)
            if value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
                raise WitError(f"invalid unicode value {value:#x}", self.point(pos))
            if char_at(p) != "}":
                raise WitError("expected character '}'", self.point(p))
            return after(p)
        if ch in _HEX:
            p = after(pos)
            if char_at(p) not in _HEX:
                raise WitError(f"invalid hex digit {rust_char(char_at(p))}", self.point(p))
            return after(p)
        raise WitError(f"invalid string escape {rust_char(ch)}", self.point(pos))

    def _hex_number(self, pos: int) -> tuple[int, int]:
        """The value of the hex digits (with `_`s) at `pos`, and the offset after them."""
        text = self.source.text
        if pos >= len(text):
            raise WitError("unexpected end of file", self.point(len(text)))
        first = pos
        if text[pos] not in _HEX:
            ch = "\n" if text.startswith("\r\n", pos) else text[pos]
            raise WitError(f"invalid hex digit {rust_char(ch)}", self.point(pos))
        value = int(text[pos], 16)
        pos += 1
        underscore = False
        while True:
            if pos < len(text) and text[pos] == "_":
                underscore = True
                pos += 1
                continue
            if pos >= len(text):
                raise WitError("unexpected end of file", self.point(len(text)))
            if text[pos] not in _HEX:
                break
            underscore = False
            value = value * 16 + int(text[pos], 16)
            if value > 0xFFFFFFFF:
                raise WitError("number is too big to fit in a u32", self.point(pos))
            pos += 1
        if underscore:
            raise WitError("trailing underscore in number", self.point(first))
        return value, pos


def unescape(literal: str) -> str:
    """The value of a checked string literal (quotes included in `literal`)."""
    return _unescape_bytes(literal).decode("utf-8")


def _unescape_bytes(literal: str) -> bytes:
    """The bytes a string literal stands for (`\\NN` is one byte, as in wit-parser)."""
    body = literal[1:-1].replace("\r\n", "\n")
    if "\\" not in body:
        return body.encode("utf-8")
    out = bytearray()
    i = 0
    simple = {"t": "\t", "n": "\n", "r": "\r", '"': '"', "'": "'", "\\": "\\"}
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out += ch.encode("utf-8")
            i += 1
            continue
        nxt = body[i + 1 : i + 2]
        if nxt in simple:
            out += simple[nxt].encode()
            i += 2
        elif nxt == "u":
            close = body.index("}", i)
            out += chr(int(body[i + 3 : close].replace("_", ""), 16)).encode("utf-8")
            i = close + 1
        else:
            out.append(int(body[i + 1 : i + 3], 16))
            i += 3
    return bytes(out)


# --------------------------------------------------------------------------- WAT


# Top-level WebAssembly-text fields: after `(`, the reference reads one of these as WAT.
_WAT_FIELDS = frozenset(
    "module component core func type import export memory table global data elem start "
    "rec tag instance alias canon".split()
)
_WAT_BLANK = r"(?:[ \t\n\r]+|;;[^\n]*)*"
_BLOCK_WAT = r"\(;|;\)"
_WAT_WORD = r"[0-9A-Za-z!#$%&'*+\-./:<=>?@\\^_`|~]+"


def _wat_skip(text: str, pos: int) -> int | None:
    """The offset past WAT whitespace and comments at `pos`; None at an unclosed `(;`."""
    while True:
        m = re.compile(_WAT_BLANK).match(text, pos)
        assert m is not None
        pos = m.end()
        if not text.startswith("(;", pos):
            return pos
        depth, pos = 1, pos + 2
        while depth:
            m = re.compile(_BLOCK_WAT).search(text, pos)
            if m is None:
                return None
            depth += 1 if m.group() == "(;" else -1
            pos = m.end()


def wat_error(source: Source) -> WitError | None:
    """The reference's error for a file it reads as WebAssembly text, where witgen can tell it.

    Given a file (not a package folder), the reference takes it for WAT when its
    first WAT token is `(`; anything but a module field after that `(` is then
    `expected valid module field`. None when the file is WIT, or when the WAT
    parser would go further (a real field keyword) and say something else.
    """
    text = source.text
    pos = _wat_skip(text, 0)
    if pos is None or not text.startswith("(", pos):
        return None
    pos = _wat_skip(text, pos + 1)
    if pos is None or text.startswith("@", pos):
        return None  # an unclosed comment or an annotation: other WAT errors
    word = re.compile(_WAT_WORD).match(text, pos)
    if word is not None and word.group() in _WAT_FIELDS:
        return None
    return WitError("expected valid module field", Span(source, pos, pos))


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
        if pos - start > 20 or int(text[start:pos]) >= 2**64:
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
    after = "patch version number"
    for sep, what in (("-", "pre-release identifier"), ("+", "build metadata")):
        if pos < n and text[pos] == sep:
            pos += 1
            after = what
            while True:
                start = pos
                while pos < n and (
                    text[pos].isascii() and (text[pos].isalnum() or text[pos] == "-")
                ):
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
        raise fail(f"unexpected character {text[pos]!r} after {after}")
