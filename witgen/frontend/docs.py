"""Docs from comments: how wit-parser joins the comments before an item."""

from __future__ import annotations

import re

# (expressions of the unusual cases, compiled by `re` when first used)
LINE_COMMENT = r"//[^\n]*"
# a line comment's body: without its `/`s and its trailing whitespace
LINE_BODY = r"//+((?:[^\n]*\S)?)"
# the leading whitespace of a line (after its `\n`) that has more than whitespace
LEAD = r"\n([^\S\n]*)\S"


def line_run_docs(text: str, start: int, end: int) -> str:
    """The docs of one run of line comments, `text[start:end]`, as `normalize_docs` makes
    them of its comments one by one, without a pass per comment in Python.

    Docs written the usual way take a few `str` methods (`_usual_docs`); others: each
    comment's text (`LINE_BODY`), the smallest indent of the non-empty ones, that indent
    taken away (as spaces) from each.
    """
    block = text[start:end]
    docs = _usual_docs(text, start, block)
    if docs is not None:
        return docs
    lines = "\n" + "\n".join(re.findall(LINE_BODY, block))
    leads = re.findall(LEAD, lines)
    indent = min(map(len, leads)) if leads else 0
    if indent:
        lines = lines.replace("\n" + " " * indent, "\n")
    return lines[1:].rstrip("\n")


def _usual_docs(text: str, start: int, block: str) -> str | None:
    """The docs of the run of line comments `block` (at `start` in `text`) if it is written
    the usual way, else None.

    The usual way: ASCII without tabs or carriage returns (only spaces and line breaks are
    whitespace), no space at the end of a line, the first comment's text one space after its
    slashes, every other comment on the next line at the first one's indentation with as
    many slashes, then a space or nothing. The smallest indent is then one space, and each
    comment's text loses the space after its slashes.
    """
    if not block.isascii() or "\t" in block or "\r" in block or " \n" in block:
        return None
    slashes = len(block) - len(block.lstrip("/"))
    if block[slashes : slashes + 1] != " " or block[slashes + 1 : slashes + 2] in ("", " "):
        return None
    breaks = block.count("\n")
    if breaks:
        indent = text[text.rfind("\n", 0, start) + 1 : start]
        between = "\n" + indent + "/" * slashes
        docs = block.replace(between + " ", "\n")
        spaced = (len(block) - len(docs)) // len(between)  # comments with text
        if spaced != breaks:  # and some without (two in a row: not the usual way)
            empty = block.count(between + "\n")
            docs = block.replace(between + "\n", "\n\n")  # (the next comment's break kept)
            if docs.endswith(between):
                docs = docs[: -len(between)]
                empty += 1
            if spaced + empty != breaks:
                return None
            docs = docs.replace(between + " ", "\n")
        block = docs
    return block[slashes + 1 :].rstrip()


def normalize_docs(comments: list[str]) -> str | None:
    """Join comment texts into docs the way wit-parser does (None without comments).

    Each comment loses its `/**`..`*/` or its leading `/`s and its trailing
    whitespace; the smallest leading whitespace of the non-empty ones is then
    removed (as spaces) from the start of each; an empty one stands for a blank
    line; trailing newlines go. (wasm-tools panics on a bare `/**/`; here it is `/`.)
    """
    if not comments:
        return None
    docs = [
        text.lstrip("/").rstrip() if not text.startswith("/**") else _block_body(text)
        for text in comments
    ]
    indent = min([len(d) - len(d.lstrip()) for d in docs if d], default=0)
    if indent > 0:
        pad = " " * indent
        docs = [d[indent:] if d.startswith(pad) else d for d in docs]
    joined = "\n".join(docs)
    if "\r" in joined:
        # Rust's `str::lines` on a block comment: a line loses the `\r` before its `\n`
        joined = joined.replace("\r\n", "\n")
    return joined.rstrip("\n")


def _block_body(text: str) -> str:
    """A `/** .. */` comment without its delimiters and trailing whitespace."""
    body = text[3:]
    return (body[:-2] if body.endswith("*/") else body).rstrip()
