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


_TEXTS = ("x", "a b", "  indented", "//", "http://x", "/", "y/")
# a step away from the usual way
_ODD_TEXTS = (" ", "", "q  ", "\u00e9", "\t")


def _usual_block(rng: random.Random) -> tuple[str, list[str]]:
    """Docs written the usual way (`/// text` at one indentation, some `///` alone), and
    runs a step away from it: another indentation or slash count, text right after the
    slashes, a tab, a non-ASCII letter, a trailing space, `//` in the text."""
    indent = rng.choice(("", "  ", "    "))
    slashes = rng.choice(("//", "///"))
    comments: list[str] = []
    lines: list[str] = []
    for _ in range(rng.randint(1, 7)):
        roll = rng.random()
        if roll < 0.15:
            comment = slashes
        elif roll < 0.17:
            comment = slashes + rng.choice(("x", "/ x", "  ", " "))
        else:
            text = rng.choice(_TEXTS if rng.random() < 0.97 else _ODD_TEXTS)
            comment = f"{slashes} {text}{rng.choice(('', ' more', ''))}"
        comments.append(comment)
        lines.append((indent if rng.random() < 0.99 else rng.choice(("", " "))) + comment)
    return "\n".join(lines) + "\n", comments


def test_usual_docs_are_normalize_docs_of_each_comment() -> None:
    rng = random.Random(20261208)
    for _ in range(3000):
        block, comments = _usual_block(rng)
        text = f"package a:b;\n{block}interface i {{}}\n"
        decl = parse_file(Source("docs.wit", text)).items[0]
        assert isinstance(decl, ast.InterfaceDecl)
        assert decl.docs.contents == normalize_docs(comments), repr(block)
