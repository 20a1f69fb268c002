"""WIT source -> `witgen.frontend.ast.File`.

`parse_file` is the entry point. The tokenizer, the LALR table and the callbacks
that build the AST (`witgen.frontend.builder`) are imported on the first parse: a
run whose files all come from the parse cache never loads them.
"""

from __future__ import annotations

from witgen.frontend import ast
from witgen.errors import Source
from witgen.frontend.docs import normalize_docs

__all__ = ["parse_file", "normalize_docs"]


def parse_file(source: Source, wat: bool = False) -> ast.File:
    """Parse one `.wit` file; raise WitError (with a span) if it is not valid WIT syntax.

    `wat`: the file was given on its own (not in a package folder), where the
    reference reads a file that starts with `(` as WebAssembly text.
    """
    from witgen.frontend.builder import parse

    return parse(source, wat)


def __getattr__(name: str) -> object:
    """The builder's internals (`_Builder`, `_parser`, `_LOCK`), imported when first asked for."""
    if name in ("_Builder", "_parser", "_LOCK"):
        from witgen.frontend import builder

        return getattr(builder, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
