"""A chunk missing from the format cache is formatted block by block: black's bytes, less black."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import black
import pytest
from wit_loading import load_wit

from witgen.codegen import render as codegen_render
from witgen.codegen import render_bindings
from witgen.codegen.render import BLACK_MODE, _blocks

CHUNK = '''X = 1


@deco(
  a=1)
class A:
    """Doc.


class B: not a block, inside a string.
"""
    x: int = 1


def f(a,
  b): return a


# a comment keeps the next class with it


class C: pass

class D: pass


async def g(): pass'''

WIT = """package demo:shop@1.0.0;

interface types {
    /// How an order ended.
    variant outcome {
        /// Paid in full.
        paid(u64),
        /// Nothing in stock.
        missing,
        /// Refused by the bank.
        refused(string),
        /// Anything else.
        failed(string),
    }
}

world shop {
    export types;
}
"""


@pytest.fixture
def cache() -> Iterator[dict[str, str]]:
    store: dict[str, str] = {}
    codegen_render.format_cache = store
    try:
        yield store
    finally:
        codegen_render.format_cache = None


def test_cuts_only_before_definitions_after_two_blank_lines() -> None:
    blocks = _blocks(CHUNK)
    assert [b.split("\n")[0] for b in blocks] == ["X = 1", "@deco(", "def f(a,", "async def g(): pass"]
    assert "\n\n\n".join(blocks) == CHUNK
    whole = black.format_str(CHUNK, mode=BLACK_MODE)
    assert "\n\n".join(black.format_str(b, mode=BLACK_MODE) for b in blocks) == whole


@pytest.mark.parametrize("text", ["class A: pass\n\n\nclass B: pass  # fmt: skip", "x = (", "class A: pass"])
def test_directives_invalid_text_and_single_blocks_are_not_cut(text: str) -> None:
    assert _blocks(text) == [text]


@pytest.mark.parametrize("needs_black", [False, True])
def test_one_changed_case_doc_formats_its_own_block(
    tmp_path: Path, cache: dict[str, str], monkeypatch: pytest.MonkeyPatch, needs_black: bool
) -> None:
    """A changed doc costs black's formatting of its own block at most: a piece still in
    black's style needs no black at all; otherwise the other blocks come from the cache."""
    wit = tmp_path / "shop.wit"
    wit.write_text(WIT)
    render_bindings(load_wit(wit), inputs=["x"])  # cold: every block cached
    # A tab in a docstring is one black must be asked about (it expands it).
    doc = "Refused by the card's" + ("\t" if needs_black else " ") + "bank."
    wit.write_text(WIT.replace("Refused by the bank.", doc))
    formatted: list[str] = []  # what black was given
    real = black.format_str

    def counting(src: str, **kwargs: object) -> str:
        formatted.append(src)
        return real(src, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(black, "format_str", counting)
    after = render_bindings(load_wit(wit), inputs=["x"])
    monkeypatch.setattr(black, "format_str", real)
    raw = render_bindings(load_wit(wit), inputs=["x"], format=False)
    assert after == {path: real(t, mode=BLACK_MODE) for path, t in raw.items()}
    assert bool(formatted) == needs_black
    assert all("card's" in src for src in formatted)
    assert all("Paid in full" not in src for src in formatted)  # the other cases' blocks came from the cache


def test_indent_docstrings_reindents_continuations_as_black_does() -> None:
    from witgen.codegen.render import indent_docstrings

    text = 'class A:\n    """First.\n\ntwo  \n  deeper\n"""\n\n    x: int\n    """One line."""\n'
    expected = 'class A:\n    """First.\n\n    two\n      deeper\n    """\n\n    x: int\n    """One line."""\n'
    assert indent_docstrings(text) == expected
    assert indent_docstrings(expected) == expected
    unclosed = 'def f():\n    """Never closed.\nrest\n'
    assert indent_docstrings(unclosed) == unclosed  # left as it is: compiling it fails
