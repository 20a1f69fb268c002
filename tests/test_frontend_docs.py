"""Docs made only of line comments, which the parser joins in a few passes over their text,
come out as `normalize_docs` makes them from the comments one by one."""

from __future__ import annotations

import random

from witgen.errors import Source
from witgen.frontend import ast
from witgen.frontend.parser import normalize_docs, parse_file

_PIECES = ("", " ", "  ", "\t", "x", "y z ", "/", "*", "/**", "*/", "\u00a0", "\u2003", "a\tb", " \t ")


def _comment_block(rng: random.Random) -> tuple[str, list[str]]:
    """Lines of comments, with blank lines between some, and the comments on their own."""
    comments: list[str] = []
    lines: list[str] = []
    for _ in range(rng.randint(1, 6)):
        comment = rng.choice(("//", "///", "////")) + "".join(
            rng.choice(_PIECES) for _ in range(rng.randint(0, 4))
        )
        comments.append(comment)
        lines.append(rng.choice(("", " ", "\t", "    ")) + comment)
        if rng.random() < 0.2:
            lines.append(rng.choice(("", "   ", "\t")))
    end = rng.choice(("\n", "\r\n"))
    return end.join(lines) + end, comments


def test_line_comment_docs_are_normalize_docs_of_each_comment() -> None:
    rng = random.Random(20261207)
    for _ in range(3000):
        block, comments = _comment_block(rng)
        text = f"package a:b;\n{block}interface i {{}}\n"
        file = parse_file(Source("docs.wit", text))
        decl = file.items[0]
        assert isinstance(decl, ast.InterfaceDecl)
        expected = normalize_docs([c.rstrip("\r") for c in comments])
        assert decl.docs.contents == expected, repr(block)
        assert decl.docs.span is not None and decl.docs.span.text().startswith("//")


def test_docs_with_a_block_comment_keep_every_comment() -> None:
    text = "package a:b;\n  /// one\n/** two\n   three */\n// four\ninterface i {}\n"
    decl = parse_file(Source("docs.wit", text)).items[0]
    assert isinstance(decl, ast.InterfaceDecl)
    assert decl.docs.contents == normalize_docs(["/// one", "/** two\n   three */", "// four"])
    assert decl.docs.contents == "one\ntwo\n   three\nfour"  # only a comment's first line is dedented
