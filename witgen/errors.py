"""Diagnostics: every error about user input is data with a span, rendered in one place.

The rendering is the one people know from wasm-tools:

    type `bar` does not exist
         --> wit/types.wit:5:14
          |
        5 |   type foo = bar;
          |              ^--
"""

from __future__ import annotations

from msgspec import Struct


class Source:
    """One input file: its path as the user gave it, and its text.

    Equal only to itself. Pickled as a constructor call (`__reduce__`), which unpickles
    several times faster than by state."""

    __slots__ = ("path", "text", "_line_starts")

    def __init__(self, path: str, text: str, _line_starts: list[int] | None = None) -> None:
        self.path = path
        self.text = text
        self._line_starts = [] if _line_starts is None else _line_starts

    def __repr__(self) -> str:
        return f"Source(path={self.path!r}, text={self.text!r})"

    def __reduce__(self) -> tuple[type[Source], tuple[str, str, list[int]]]:
        return Source, (self.path, self.text, self._line_starts)

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based line and column of a character offset (the column in UTF-8 bytes, as wasm-tools)."""
        if not self._line_starts:
            starts = [0]
            for i, ch in enumerate(self.text):
                if ch == "\n":
                    starts.append(i + 1)
            self._line_starts = starts
        lo, hi = 0, len(self._line_starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self._line_starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        start = self._line_starts[lo]
        return lo + 1, len(self.text[start:offset].encode()) + 1

    def line_text(self, line: int) -> str:
        self.line_col(0)
        start = self._line_starts[line - 1]
        end = self.text.find("\n", start)
        text = self.text[start:] if end < 0 else self.text[start:end]
        return text.removesuffix("\r")


class Span(Struct, frozen=True, gc=False):
    """A half-open range of character offsets in one source.

    Not tracked by the garbage collector: a span refers only to its source, which
    refers to no span, so spans are never part of a cycle.
    """

    source: Source
    start: int
    end: int

    def text(self) -> str:
        return self.source.text[self.start : self.end]


class WitError(Exception):
    """Invalid input. The only exception witgen's front end lets escape.

    `message` is the first line people see; `span` says where; `prefix` is
    context added by the loader (`failed to parse package: wit: `).
    """

    def __init__(self, message: str, span: Span | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.span = span
        self.hint = hint
        self.prefix = ""

    def with_prefix(self, prefix: str) -> WitError:
        self.prefix = prefix + self.prefix
        return self

    def render(self) -> str:
        """The full diagnostic, without a leading `error: `."""
        body = render_diagnostic(self.message, self.span)
        if self.hint:
            body += f"\n  = help: {self.hint}"
        return self.prefix + body

    def __str__(self) -> str:
        return self.render()


def render_diagnostic(message: str, span: Span | None) -> str:
    if span is None:
        return message
    src = span.source
    line, col = src.line_col(span.start)
    text = src.line_text(line)
    if len(text.encode()) > 500:
        return f"{src.path}:{line}:{col}: {message}"
    # as wasm-tools: one mark per character of the span, even past the end of the line
    width = max(span.end - span.start, 1)
    return (
        f"{message}\n"
        f"     --> {src.path}:{line}:{col}\n"
        f"      |\n"
        f" {line:>4} | {text}\n"
        f"      | {' ' * (col - 1)}^{'-' * (width - 1)}"
    )


# --------------------------------------------------------------------------- Rust's `{:?}`

# Other_Grapheme_Extend: the grapheme extenders that are not Mn or Me.
_OTHER_GRAPHEME_EXTEND = frozenset(
    [0x09BE, 0x09D7, 0x0B3E, 0x0B57, 0x0BBE, 0x0BD7, 0x0CC2, 0x0CD5, 0x0CD6, 0x0D3E, 0x0D57]
    + [0x0DCF, 0x0DDF, 0x1B35, 0x200C, 0x302E, 0x302F, 0xFF9E, 0xFF9F, 0x1133E, 0x11357]
    + [0x114B0, 0x114BD, 0x115AF, 0x11930, 0x1D165, *range(0x1D16E, 0x1D173)]
    + list(range(0xE0020, 0xE0080))
)
_NOT_PRINTABLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"})
_SIMPLE = {"\0": "\\0", "\t": "\\t", "\r": "\\r", "\n": "\\n", "\\": "\\\\"}


def _grapheme_extend(ch: str) -> bool:
    import unicodedata

    return unicodedata.category(ch) in ("Mn", "Me") or ord(ch) in _OTHER_GRAPHEME_EXTEND


def _printable(ch: str) -> bool:
    import unicodedata

    return ch == " " or unicodedata.category(ch) not in _NOT_PRINTABLE


def _escape(ch: str, quote: str, extend: bool) -> str:
    if ch in _SIMPLE:
        return _SIMPLE[ch]
    if ch == quote:
        return "\\" + ch
    if (extend and _grapheme_extend(ch)) or not _printable(ch):
        return "\\u{%x}" % ord(ch)
    return ch


def rust_char(ch: str) -> str:
    """A char as Rust's `{:?}` prints it: `'a'`, `'\\n'`, `'\\u{301}'`.

    Combining marks, format, separator, control and unassigned characters are
    escaped (Rust's `char::escape_debug`, by this Python's Unicode tables).
    """
    return "'" + _escape(ch, "'", True) + "'"


def rust_debug_str(text: str) -> str:
    """A string as Rust's `{:?}` prints it (quoted; a leading combining mark escaped)."""
    return '"' + "".join(_escape(ch, '"', i == 0) for i, ch in enumerate(text)) + '"'
