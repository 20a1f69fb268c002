"""A long text is tokenized a window at a time (`witgen.frontend.lexer._WINDOW`): the tokens,
the comments kept as docs and the names noted as invalid are those of one read of the whole
text, wherever the windows end."""

from __future__ import annotations

from pathlib import Path

import pytest

from witgen.errors import Source, WitError
from witgen.frontend import lexer

ROOT = Path(__file__).resolve().parent.parent

# every kind of token and what ends past its match, with line comments that run over lines
_MIXED = """package a:b@1.2.3-rc.1+build.5;

/// docs of i,
///   over three lines
///
interface i {
  @since(version = 0.2.0)
  /* a block /* nested */ comment */ type t = list<u8, 4>;
  @unstable(feature = x) f: func(a: %type, b: string) -> result<_, u32>;
  @external-id("q\\u{41}\\n") @deprecated(version = 1.0.0) g: async func();
  // a line comment
  //   and its next line
  record r { x: u8, y: tuple<u8, s64> }
}
world w { import i; export j: interface { h: func(); } include a:b/c@1.0.0.{x as y}; }
"""


def scan(text: str) -> tuple[object, ...]:
    scanner = lexer.Scanner(Source("t.wit", text))
    try:
        tokens: object = [(t.type, t.value, t.start_pos, t.end_pos) for t in scanner.tokens()]
    except WitError as exc:
        tokens = str(exc)
    invalid = {at: str(exc) for at, exc in scanner.invalid.items()}
    return tokens, scanner.comments, invalid, scanner.eof


def texts() -> list[str]:
    found = [p.read_text(encoding="utf-8") for p in sorted(ROOT.glob("samples/*/wit/**/*.wit"))]
    return [_MIXED * 40, "\r\n".join(_MIXED.splitlines()) * 20, *found]


@pytest.mark.parametrize("window", [1, 7, 64, 1000])
def test_tokens_are_those_of_one_read_wherever_the_windows_end(
    window: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    for text in texts():
        whole = scan(text)
        assert isinstance(whole[0], list) and len(whole[0]) > 10
        monkeypatch.setattr(lexer, "_WINDOW", window)
        assert scan(text) == whole
        monkeypatch.undo()


def test_a_long_text_is_read_in_windows_of_bounded_size() -> None:
    text = _MIXED * 2000  # about 1.3 MB
    ends = []
    pos = 0
    while pos < len(text):
        pos = lexer._window_end(text, pos)
        ends.append(pos)
    assert len(ends) > len(text) // (2 * lexer._WINDOW)
    assert all(b - a <= lexer._WINDOW + len(_MIXED) for a, b in zip([0, *ends], ends))
    assert ends[-1] == len(text)
