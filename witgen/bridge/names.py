"""The Python names componentize-py gives WIT names (classes, functions, fields)."""

from __future__ import annotations

import keyword

__all__ = ["cpy_class", "cpy_snake"]


def cpy_class(name: str) -> str:
    """componentize-py's class name for a WIT name (`DNS-error` -> `DnsError`)."""
    return "".join(w[:1].upper() + w[1:].lower() for w in name.removeprefix("%").split("-"))


def cpy_snake(name: str) -> str:
    """componentize-py's function, field and parameter names (keywords get a `_`)."""
    snake = name.removeprefix("%").replace("-", "_").lower()
    return snake + "_" if keyword.iskeyword(snake) or keyword.issoftkeyword(snake) else snake
