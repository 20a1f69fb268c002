"""The lexer class Lark is given when it builds the table (`witgen.frontend.tables.build`).

Lark wants one, and keeps a reference to it in its own cache, so it lives in a module of
its own (importing this module imports Lark). Tokens never come from it: the parse loop
takes them from `witgen.frontend.lexer.Scanner`.
"""

from __future__ import annotations

from typing import Any

from lark.lexer import Lexer


class NoLexer(Lexer):
    """A lexer that is never run."""

    def __init__(self, lexer_conf: Any) -> None:
        pass

    def lex(self, text: Any) -> Any:  # type: ignore[override]
        raise NotImplementedError
