"""Long lines the code generator lays out itself, byte for byte as black does.

An annotated assignment of an exploded call whose first line is too long, and lone
string statements longer than the limit, need no call of black; where black would do
something else, the text still goes to black.
"""

from __future__ import annotations

import black
import pytest

from witgen.codegen.render import BLACK_MODE, LINE_LENGTH, already_black, wrap_long_assigned_calls


def assignment(indent: int, annot: str, callee: str, args: list[str]) -> str:
    pad = " " * indent
    lines = [f"{pad}result: {annot} = {callee}(", *(f"{pad}    {a}," for a in args), f"{pad})", f"{pad}return result"]
    body = "\n".join(lines)
    return f"async def f(self, a: int) -> None:\n{body}\n" if indent == 4 else body + "\n"


ANNOTS = ["Ok[int] | Err[streams.StreamError]", "list[types.FieldValue]", "int | None", "tuple[a, b]"]


@pytest.mark.parametrize("annot", ANNOTS)
@pytest.mark.parametrize("callee", ["self._call", "await self._call_async"])
@pytest.mark.parametrize("indent", [0, 4])
def test_wrapped_assignments_are_blacks_around_the_limit(annot: str, callee: str, indent: int) -> None:
    """Every length of the first line around the limit: the text taken without black is
    black's own, and black was needed (the first line did not fit) whenever it changed."""
    taken = 0
    for extra in range(LINE_LENGTH - 60, LINE_LENGTH - 15):
        name = "Q" + "x" * extra
        text = assignment(indent, annot.replace("int", name, 1) if "int" in annot else f"{annot} | {name}", callee,
                          ['"wire-name"', "a"])
        if "async" not in text and "await" in callee:
            continue
        expected = black.format_str(text, mode=BLACK_MODE)
        out = already_black(text) or already_black(wrap_long_assigned_calls(text))
        if out is not None:
            taken += 1
            assert out == expected, text
    assert taken > 0


def test_wrapping_needs_a_statement_and_an_exploded_call() -> None:
    long = "Ok[" + "x" * 90 + "]"
    param = f"def f(\n    result: {long} = make(\n        1,\n    ),\n) -> None:\n    pass"
    assert wrap_long_assigned_calls(param) == param  # a parameter default, not a statement
    flat = f"result: {long} = make(\n    1\n)"
    assert wrap_long_assigned_calls(flat) == flat  # no trailing comma: black may join it


@pytest.mark.parametrize(
    "text",
    [
        '"""' + "Bindings for " * 12 + '."""\n',  # a module's one-line docstring
        'class A:\n    """' + " ".join(["word"] * 25) + '"""\n',
        'X: int = 1\n"""Attribute docs:\n<https://example.com/' + "p" * 100 + '>"""\n',
        'X: int = 1\n"""' + "y" * 120 + '"""\n',
    ],
)
def test_long_lone_string_statements_need_no_black(text: str) -> None:
    assert already_black(text) == black.format_str(text, mode=BLACK_MODE)


@pytest.mark.parametrize(
    "text",
    [
        'def f() -> None:\n    """Docs.\n    ' + "u" * 120 + '"""\n',  # black moves the quotes
        'X = ("' + "x" * 120 + '")\n',
        'f(\n    "' + "x" * 120 + '"\n)\n',
    ],
)
def test_other_long_strings_go_to_black(text: str) -> None:
    assert already_black(text) is None
