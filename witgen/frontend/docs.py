"""Docs from comments: how wit-parser joins the comments before an item."""

from __future__ import annotations

import re

LINE_COMMENT = re.compile(r"//[^\n]*")
# a line comment's body: without its `/`s and its trailing whitespace
LINE_BODY = re.compile(r"//+((?:[^\n]*\S)?)")
# the leading whitespace of a line (after its `\n`) that has more than whitespace
LEAD = re.compile(r"\n([^\S\n]*)\S")


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
