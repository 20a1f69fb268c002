"""The WIT source formatter: one file's text in, the same tokens and comments laid out anew.

It works on the tokens of `witgen.frontend.lexer` (with their offsets), never on
the resolved model, so comments, `use` statements and the file's layout survive.
Style (the reference printer's wherever it makes a choice):

* two-space indentation per `{ }` block; one item per line; `{` ends its line
  and `}` stands on its own line (an empty block prints as `{` then `}`);
* record fields, flags, enum and variant cases one per line, each followed by
  `,` (a missing last comma is added);
* inline lists (parameters, `<..>`, `use x.{a, b}`, `with { a as b }`) on one
  line as `a, b`, without a trailing comma;
* `name: type`, `a -> b`, `a = b` spaced; nothing around `:` `/` `@` `.` in
  package paths and versions, nor inside `( )`, `< >` and `.{ }`;
* gates (`@since(..)`, `@unstable(..)`, `@deprecated(..)`, `@external-id(..)`)
  each on its own line before their item;
* blank lines: none at the start of the file or of a block, nor before a `}`;
  at most one kept where the author left one or more; a blank line always
  follows `package ns:name;` and surrounds package-level interfaces, worlds and
  nested packages;
* comments are kept in order: one on the line of the token before it stays at
  the end of that line; one on its own line stays on its own line at the
  current indentation (its text is kept, trailing spaces of `//` comments
  dropped, `\r\n` line ends of block comments made `\n`); a line of a
  statement that a comment split is indented one level more;
* the file ends with exactly one newline (a file of only whitespace becomes empty).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from witgen.errors import Source
from witgen.frontend.lexer import Scanner, Token

GATES = frozenset({"SINCE", "UNSTABLE", "DEPRECATED", "EXTERNAL_ID"})
COMMA_BLOCKS = frozenset({"RECORD", "FLAGS", "ENUM", "VARIANT"})
NAMES = frozenset({"ID", "EXPLICIT_ID"})
BLOCK_ITEMS = frozenset({"INTERFACE", "WORLD", "PACKAGE_BLOCK"})
# Tokens written right after what precedes them / right before what follows them.
GLUE_BEFORE = frozenset(
    {
        "COMMA",
        "SEMI",
        "RPAR",
        "GT",
        "DOT",
        "VDOT",
        "SLASH",
        "LPAR",
        "LT",
        "MINUS",
        "PLUS",
        "STAR",
        "AT",
    }
)
GLUE_AFTER = frozenset({"LPAR", "LT", "DOT", "VDOT", "SLASH", "MINUS", "PLUS", "AT", "STAR"})


@dataclass(slots=True)
class _Open:
    """An open bracket: `block` (`;` items), `comma` (`,` items), `dot` / `with` (inline
    braces), `paren`, `angle`, `gate` (an attribute's parentheses)."""

    kind: str


def format_source(source: Source) -> str:
    """The formatted text of `source`, which must parse (else `WitError` from the lexer)."""
    return _Formatter(source).run()


def _items(tokens: list[Token]) -> tuple[dict[int, str], list[int]]:
    """Package-level items: the kind keyword of each item's first token (after its gates),
    and for every token the index of the item it belongs to."""
    kinds: dict[int, str] = {}
    owner: list[int] = []
    depth = 0  # open brackets below package level
    start: int | None = 0
    current = 0
    for i, tok in enumerate(tokens):
        if start == i:
            j = i
            while j < len(tokens) and tokens[j].type == "AT":
                while j < len(tokens) and tokens[j].type != "RPAR":
                    j += 1
                j += 1
            kinds[i] = tokens[j].type if j < len(tokens) else "EOF"
            current, start = i, None
        owner.append(current)
        t = tok.type
        if t == "LBRACE":
            if depth == 0 and kinds[current] == "PACKAGE":
                kinds[current] = "PACKAGE_BLOCK"
                start = i + 1
            else:
                depth += 1
        elif t == "RBRACE":
            if depth == 0:
                start = i + 1
            else:
                depth -= 1
                if depth == 0:
                    start = i + 1
        elif t == "SEMI" and depth == 0:
            start = i + 1
    return kinds, owner


def each_comment(text: str, ranges: Iterable[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    """The comments in the scanner's `ranges` of `text` one by one (a run of line comments
    is one range there)."""
    for start, end in ranges:
        if not text.startswith("//", start) or text.find("\n", start, end) < 0:
            yield start, end
            continue
        while start >= 0:
            nl = text.find("\n", start, end)
            if nl < 0:
                yield start, end
                break
            yield start, nl
            start = text.find("//", nl, end)


class _Formatter:
    def __init__(self, source: Source) -> None:
        self.text = source.text
        scanner = Scanner(source, fast_gates=False)  # the tokens as written, a gate included
        self.tokens = list(scanner.tokens())
        self.comments = scanner.comments
        self.eof = scanner.eof
        self.kinds, self.owner = _items(self.tokens)
        self.out: list[str] = []  # finished lines
        self.line = ""  # the line being built ("" = nothing on it yet)
        self.stack: list[_Open] = []
        self.indent = 0
        self.stmt_open = False  # inside a statement (a new line is a continuation)
        self.need_newline = False  # the current line is complete
        self.after_open = True  # nothing since a block opened (or the file started)
        self.force_blank = False
        self.prev_end = 0  # source offset where the last token or comment ended
        self.prev: Token | None = None
        self.prev_item: str | None = None

    # ------------------------------------------------------------------ lines

    def flush(self) -> None:
        if self.line:
            self.out.append(self.line)
            self.line = ""
        self.need_newline = False

    def start_line(self, at: int, closing: bool = False) -> None:
        """Begin a new output line for an element at source offset `at`."""
        self.flush()
        if not self.stmt_open and not self.after_open and not closing and self.out:
            gap = self.text.count("\n", self.prev_end, at) >= 2
            if (gap or self.force_blank) and self.out[-1] != "":
                self.out.append("")
        self.force_blank = False
        self.line = "  " * (self.indent + (1 if self.stmt_open else 0))

    def put(self, piece: str, space: bool) -> None:
        if self.line.strip() == "" and self.line:
            self.line += piece
        elif not self.line:
            self.line = piece
        else:
            self.line += (" " if space else "") + piece

    # ------------------------------------------------------------------ comments

    def comment(self, start: int, end: int) -> None:
        body = self.text[start:end]
        line_comment = body.startswith("//")
        if line_comment:
            body = body.rstrip()
        elif "\r\n" in body:
            body = body.replace("\r\n", "\n")
        own_line = self.prev is None or "\n" in self.text[self.prev_end : start]
        if own_line:
            self.start_line(start)
            self.line += body
        else:
            self.line += " " + body
        self.after_open = False
        self.prev_end = end
        if line_comment or own_line and not self._same_line_follows(end):
            self.need_newline = True

    def _same_line_follows(self, end: int) -> bool:
        """Whether, in the source, something follows the block comment ending at `end` on its line."""
        nl = self.text.find("\n", end)
        rest = self.text[end : nl if nl >= 0 else len(self.text)]
        return rest.strip() != ""

    # ------------------------------------------------------------------ tokens

    def run(self) -> str:
        tokens = self.tokens
        for i, tok in enumerate(tokens):
            kind = self.kinds.get(i)
            if kind is not None and self._package_level():
                prev_item = self.prev_item
                if prev_item is not None and (
                    prev_item in BLOCK_ITEMS or prev_item == "PACKAGE" or kind in BLOCK_ITEMS
                ):
                    self.force_blank = True
                self.prev_item = kind
            for start, end in self._comments_before(tok.start_pos):
                self.comment(start, end)
            self.token(i, tok)
        for start, end in self._comments_before(self.eof):
            self.comment(start, end)
        self.flush()
        while self.out and self.out[-1] == "":
            self.out.pop()
        return "\n".join(self.out) + "\n" if self.out else ""

    def _comments_before(self, pos: int) -> Iterator[tuple[int, int]]:
        """Each comment before the token at `pos`, a run of line comments line by line."""
        return each_comment(self.text, self.comments.get(pos, ()))

    def _package_level(self) -> bool:
        return all(o.kind == "package" for o in self.stack)

    def _next(self, i: int) -> Token | None:
        return self.tokens[i + 1] if i + 1 < len(self.tokens) else None

    def token(self, i: int, tok: Token) -> None:
        t = tok.type
        nxt = self._next(i)
        top = self.stack[-1].kind if self.stack else "package"
        # a trailing comma of an inline list is dropped
        if t == "COMMA" and top in ("paren", "angle", "dot", "with") and nxt is not None:
            if nxt.type in ("RPAR", "GT", "RBRACE"):
                self.prev_end = tok.end_pos
                return
        block_close = t == "RBRACE" and top in ("block", "comma", "package")
        if block_close:
            self.stmt_open = False
            if self.stack and self.stack.pop().kind == "package":
                self.prev_item = "PACKAGE_BLOCK"
            self.indent = max(self.indent - 1, 0)
            self.start_line(tok.start_pos, closing=True)
            self.line += "}"
            self.need_newline = True
            self.after_open = False
            self._done(tok)
            return
        at_start = self.need_newline or not self.line
        if at_start:
            self.start_line(tok.start_pos)
            space = False
        else:
            space = self._space(i, tok)
        text = tok.value
        if t == "LBRACE":
            prev_t = self.prev.type if self.prev else ""
            if prev_t == "DOT":
                self.stack.append(_Open("dot"))
            elif prev_t == "WITH":
                self.stack.append(_Open("with"))
            else:
                item = self.kinds[self.owner[i]]
                before = self.tokens[i - 2].type if i >= 2 else ""
                if item == "PACKAGE_BLOCK" and self._package_level():
                    opened = "package"
                elif before in COMMA_BLOCKS:
                    opened = "comma"
                else:
                    opened = "block"
                self.stack.append(_Open(opened))
                self.put("{", True)
                self.indent += 1
                self.stmt_open = False
                self.need_newline = True
                self.after_open = True
                self._done(tok)
                return
        elif t == "RBRACE":
            if self.stack:
                opened = self.stack.pop().kind
                space = opened == "with" and not at_start
                if opened == "with":  # `include x with { .. }` ends without `;`
                    self.put(text, space)
                    self.stmt_open = False
                    self.need_newline = True
                    self.after_open = False
                    self._done(tok)
                    return
        elif t == "LPAR":
            gate = self.prev is not None and self.prev.type in GATES
            self.stack.append(_Open("gate" if gate else "paren"))
        elif t == "RPAR":
            if self.stack and self.stack.pop().kind == "gate":
                self.put(text, False)
                self.stmt_open = False
                self.need_newline = True
                self.after_open = False
                self._done(tok)
                return
        elif t == "LT":
            self.stack.append(_Open("angle"))
        elif t == "GT" and self.stack and self.stack[-1].kind == "angle":
            self.stack.pop()
        self.put(text, space)
        self.after_open = False
        if t == "SEMI" or (t == "COMMA" and top == "comma"):
            self.stmt_open = False
            self.need_newline = True
        else:
            self.stmt_open = True
        # a missing last comma of a record, flags, enum or variant body is added
        if (
            self.stack
            and self.stack[-1].kind == "comma"
            and t not in ("COMMA", "LBRACE")
            and nxt is not None
            and nxt.type == "RBRACE"
        ):
            self.put(",", False)
            self.stmt_open = False
            self.need_newline = True
        self._done(tok)

    def _done(self, tok: Token) -> None:
        self.prev = tok
        self.prev_end = tok.end_pos

    def _space(self, i: int, tok: Token) -> bool:
        """Whether a space separates `tok` from the token before it on the line."""
        prev = self.prev
        if prev is None:
            return False
        t, p = tok.type, prev.type
        if {t, p} == {"INTEGER", "ID"} and prev.end_pos == tok.start_pos:
            return False  # `1a` in a version's pre-release part
        if t == "COLON":
            return False
        if p == "COLON":
            return not self._path_colon(i - 1)
        if t == "LBRACE":
            return p != "DOT"
        if t == "RBRACE":
            return bool(self.stack) and self.stack[-1].kind == "with"
        if p == "LBRACE":
            return bool(self.stack) and self.stack[-1].kind == "with"
        if t in GLUE_BEFORE or p in GLUE_AFTER:
            return False
        return True

    def _path_colon(self, i: int) -> bool:
        """Whether the `:` at token `i` is inside a package path (`ns:pkg/..`, `package ns:pkg`)."""
        tokens = self.tokens
        item = self.kinds[self.owner[i]]
        if item in ("PACKAGE", "PACKAGE_BLOCK") and i >= 1 and tokens[i - 1].type in NAMES:
            # only the header's colon: the one right after `package ns`
            if i >= 2 and tokens[i - 2].type == "PACKAGE":
                return True
        return (
            i >= 1
            and tokens[i - 1].type in NAMES
            and i + 2 < len(tokens)
            and tokens[i + 1].type in NAMES
            and tokens[i + 2].type == "SLASH"
        )
