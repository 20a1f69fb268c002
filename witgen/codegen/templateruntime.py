"""What the translated templates (`witgen.codegen.precompiled`) call: Jinja's lookups and filters."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

Rendering = Callable[[dict[str, Any], dict[str, Any]], str]


class UndefinedValue(Exception):
    """A template used a name or attribute its context does not have."""


def block(lines: list[str], indent: int) -> str:
    """Lines of code indented by `indent` spaces, joined (no trailing newline)."""
    pad = " " * indent
    return "\n".join(pad + line for line in lines)


FILTERS: dict[str, Any] = {"block": block}


def getattr_(obj: Any, attribute: str) -> Any:
    """`obj.attribute` in a template: the attribute, else the item, as Jinja looks it up."""
    try:
        return getattr(obj, attribute)
    except AttributeError:
        pass
    try:
        return obj[attribute]
    except (TypeError, LookupError, AttributeError):
        raise UndefinedValue(f"{type(obj).__name__!r} object has no attribute {attribute!r}") from None


def getitem(obj: Any, argument: Any) -> Any:
    """`obj[argument]` in a template: the item, else (for a name) the attribute, as Jinja looks it up."""
    try:
        return obj[argument]
    except (AttributeError, TypeError, LookupError):
        if isinstance(argument, str):
            try:
                return getattr(obj, argument)
            except AttributeError:
                pass
    raise UndefinedValue(f"{type(obj).__name__!r} object has no element {argument!r}")


def join(value: Iterable[Any], separator: str = "") -> str:
    """Jinja's `join` filter without autoescape."""
    return str(separator).join(map(str, value))
