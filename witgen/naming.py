"""Identifier policy: every Python name generated from a WIT name comes from here.

WIT identifiers are kebab-case words, each word all lower-case or all upper-case
(`get-data`, `parse-XML-document`, `U8`), stored without their `%` escape.

- `snake("parse-XML-document")` -> `parse_xml_document` (functions, fields, params, modules)
- `pascal("parse-XML-document")` -> `ParseXMLDocument` (classes; upper-case words stay upper)
- `upper("parse-XML-document")` -> `PARSE_XML_DOCUMENT` (enum and flags members)

Python keywords and soft keywords (`match`, `case`, `type`, `_`) get a trailing `_`; so do
snake names that would shadow a builtin (`list`, `type`, `id`, ...), because generated
classes use builtins in annotations. Two WIT names that map to one Python name in one scope
are an error (`Namespace.claim` raises `NameCollision`): nothing is silently shadowed.
"""

from __future__ import annotations

import builtins
import keyword
import re
from collections.abc import Iterator
from functools import cache

# Names imported into every generated module; a generated class with one of these
# names gets a trailing `_` (documented rename).
RESERVED_CLASS_NAMES = frozenset({"Ok", "Err", "Some", "TypeAlias", "Any", "Final"})

_BUILTINS = frozenset(n for n in dir(builtins) if not n.startswith("_"))
_KEYWORDS = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist)
# An ASCII character `docstring` escapes (the others are C1 controls, U+2028, U+2029 and
# surrogates: `_escapes_beyond_ascii`); with none, the text goes into the literal as it is.
_ASCII_ESCAPED = re.compile(r'[\\"\x00-\x08\x0b-\x1f\x7f]')


class NameCollision(ValueError):
    """Two WIT names map to one Python name in the same scope."""


def words(name: str) -> list[str]:
    """The kebab words of a WIT identifier (a leading `%` is dropped)."""
    name = name.removeprefix("%")
    parts = name.split("-")
    if not name or not all(_is_word(p) for p in parts):
        # Not a WIT identifier (the resolver never produces this); keep it usable.
        parts = [p for p in re.split(r"[^A-Za-z0-9]+", name) if p] or ["x"]
        if parts[0][0].isdigit():
            parts[0] = "n" + parts[0]
    return parts


def _is_word(part: str) -> bool:
    """Whether `part` is a WIT word: `[a-z][a-z0-9]*` or `[A-Z][A-Z0-9]*`."""
    return part.isascii() and part.isalnum() and part[0].isalpha() and (part.islower() or part.isupper())


def _safe(name: str, avoid_builtins: bool) -> str:
    if name in _KEYWORDS or (avoid_builtins and name in _BUILTINS):
        return name + "_"
    return name


def plain_snake(name: str) -> str:
    """`get-data` -> `get_data` with no escaping (for names that get a prefix)."""
    return "_".join(w.lower() for w in words(name))


@cache  # pure, and asked again and again for the same names while generating
def snake(name: str, *, avoid_builtins: bool = True) -> str:
    """`get-data` -> `get_data`; keywords and builtins get a trailing `_`."""
    return _safe("_".join(w.lower() for w in words(name)), avoid_builtins)


@cache
def pascal(name: str) -> str:
    """`chat-request` -> `ChatRequest`, `parse-XML` -> `ParseXML`."""
    out = "".join(w if w.isupper() else w[0].upper() + w[1:] for w in words(name))
    if out in RESERVED_CLASS_NAMES or out in _KEYWORDS or out in _BUILTINS:
        return out + "_"
    return out


def upper(name: str) -> str:
    """`tensor-type` -> `TENSOR_TYPE`, `U8` -> `U8` (enum and flags members)."""
    return _safe("_".join(w.upper() for w in words(name)), False)


def version_suffix(version: str) -> str:
    """`0.2.0-draft2` -> `v0_2_0_draft2` (for module names)."""
    return "v" + re.sub(r"[^A-Za-z0-9]+", "_", version).strip("_").lower()


def package_module(namespace: str, name: str, version: str | None) -> str:
    """`wasi:io@0.2.8` -> `wasi_io_v0_2_8`, the sub-package of the output package."""
    base = f"{snake(namespace, avoid_builtins=False)}_{snake(name, avoid_builtins=False)}"
    base = base.replace("__", "_")
    return f"{base}_{version_suffix(version)}" if version else base


def _escapes_beyond_ascii(text: str) -> bool:
    """Whether `text` holds a C1 control, U+2028, U+2029 or a surrogate (a character class
    of these costs a millisecond to compile)."""
    return any(0x7F < ord(ch) < 0xA0 or ch in "\u2028\u2029" or 0xD800 <= ord(ch) <= 0xDFFF for ch in text)


def docstring(text: str | None, indent: str = "") -> str:
    """A `\"\"\"...\"\"\"` literal holding `text`, escaped so no text can break out.

    Backslashes, quotes that could close the literal, and control characters are escaped;
    the result is a plain (non-raw) string literal whose value is exactly `text`.
    """
    if text is None:
        return ""
    if _ASCII_ESCAPED.search(text) is None and (text.isascii() or not _escapes_beyond_ascii(text)):
        body = text.replace("\n", "\n" + indent) if indent else text
        return f'"""{body}"""'
    out: list[str] = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\n")
        elif ch == "\t":
            out.append("\t")
        elif ord(ch) < 0x20 or ch == "\x7f" or 0x80 <= ord(ch) < 0xA0 or ch in "\u2028\u2029":
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
        elif 0xD800 <= ord(ch) <= 0xDFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    body = "".join(out).replace("\n", "\n" + indent) if indent else "".join(out)
    return f'"""{body}"""'


class Namespace:
    """One Python scope: claims names and refuses a second WIT name for a taken one."""

    def __init__(self, scope: str, reserved: dict[str, str] | None = None) -> None:
        self.scope = scope
        self._owners: dict[str, str] = dict(reserved or {})

    def claim(self, py_name: str, wit_name: str) -> str:
        """Record that `wit_name` is `py_name` here; raise `NameCollision` on a clash."""
        owner = self._owners.get(py_name)
        if owner is not None and owner != wit_name:
            raise NameCollision(
                f"in {self.scope}: `{wit_name}` and `{owner}` both map to the Python name "
                f"`{py_name}`; rename one of them in the WIT"
            )
        self._owners[py_name] = wit_name
        return py_name

    def __contains__(self, py_name: str) -> bool:
        return py_name in self._owners

    def __iter__(self) -> Iterator[str]:
        return iter(self._owners)
