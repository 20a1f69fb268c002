"""Which runtime names a generated module uses (`imports_for`), and WIT words (`naming`):
both are plain string scans, checked here against the regular expressions they stand for."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from witgen.codegen.render import _NAMES, imports_for, mentions
from witgen.naming import words

# The pieces around a name that decide whether it is a word of its own.
_AROUND = st.sampled_from(["", " ", ".", "_", "x", "9", "é", "(", "\n", "[", ":", "Ok", "_t"])


@given(st.sampled_from(_NAMES), st.lists(st.tuples(_AROUND, st.booleans(), _AROUND), max_size=6))
def test_mentions_finds_what_the_expression_finds(name: str, pieces: list[tuple[str, bool, str]]) -> None:
    body = "".join(before + (name if put else "") + after for before, put, after in pieces)
    expected = re.search(rf"(?<![\w.]){re.escape(name)}\b", body) is not None
    assert mentions(body, name) is expected, (body, name)


def test_imports_for_names_only_words_of_their_own() -> None:
    body = "x: _t.Any = enum.auto()\ny = self._t\nz = Ok(1)\nw = OkValue\nv = a.Some\n"
    lines = imports_for(body, [])
    assert "import enum" in lines and "import typing as _t" in lines
    assert "from witgen.runtime.values import Ok" in lines  # not Some (an attribute), not OkValue


_WORD = re.compile(r"(?:[a-z][a-z0-9]*|[A-Z][A-Z0-9]*)\Z")


@given(st.lists(st.text(alphabet="aZ09é_-%", max_size=5), min_size=1, max_size=4))
def test_words_keeps_wit_words_and_splits_the_rest(parts: list[str]) -> None:
    name = "-".join(parts)
    bare = name.removeprefix("%")
    found = words(name)
    if bare and all(_WORD.match(p) for p in bare.split("-")):
        assert found == bare.split("-")
    else:
        assert all(w.isascii() and w.isalnum() for w in found) and not found[0][0].isdigit()
