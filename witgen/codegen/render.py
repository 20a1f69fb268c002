"""Jinja environment, black formatting, compile check and the file header.

Every template renders one top-level chunk (a type with its codecs, a function's codecs,
a provider class, ...). Each chunk is compiled on its own, so a broken template fails with
the template's name. A module is its header (comment, docstring, imports) with its first
chunk, then its other chunks, each piece formatted with `black.format_str` in-process on
its own and joined with the two blank lines black puts between top-level blocks: byte for
byte what black gives on the whole module, but a changed chunk costs only its own
formatting when the rest is cached (`format_cache`). Each piece black formats is compiled
again before it is used or cached.
"""

from __future__ import annotations

import ast as pyast
import dataclasses
import os
import re
from collections.abc import MutableMapping
from functools import cache
from pathlib import Path
from typing import Any

import black
import black.mode
import black.parsing
import jinja2
import jinja2.bccache

import witgen
from witgen.codegen.layout import CodegenError
from witgen.paths import data_dir

BLACK_MODE = black.mode.Mode(target_versions={black.mode.TargetVersion.PY311}, line_length=100)
BLACK_VERSION = str(getattr(black, "__version__"))  # not re-exported in its stubs

# Names a module body may use, and the import that provides each.
_IMPORTS = (
    ("dataclasses", "import dataclasses"),
    ("enum", "import enum"),
    ("_t", "import typing as _t"),
    ("TypeAlias", "from typing import TypeAlias"),
    ("wit", "from witgen.runtime import wit"),
    ("_v", "from witgen.runtime import values as _v"),
    ("_b", "from witgen.runtime import bus as _b"),
    ("_d", "from witgen.runtime import dispatch as _d"),
    ("_r", "from witgen.runtime import resources as _r"),
    ("_wasm", "from witgen.runtime.wasm import host as _wasm"),
)
_VALUE_NAMES = ("Err", "Ok", "Some")
# Names generated modules import from the runtime and the standard library.
RUNTIME_NAMES = frozenset({*(n for n, _ in _IMPORTS), *_VALUE_NAMES, "TYPES", "FUNCTIONS"})
# Each name as a word of its own, not an attribute: the literal comes first, so that
# a search skips ahead to its occurrences.
_NAME_RES = {
    name: re.compile(re.escape(name) + rf"(?<![\w.]{re.escape(name)})\b")
    for name in (*(n for n, _ in _IMPORTS), *_VALUE_NAMES)
}


def _mode_text(mode: black.mode.Mode) -> str:
    """A stable description of a black mode (sets sorted, so no hash order leaks in)."""
    parts = []
    for field in dataclasses.fields(mode):
        value = getattr(mode, field.name)
        if isinstance(value, (set, frozenset)):
            value = sorted(str(v) for v in value)
        parts.append(f"{field.name}={value!r}")
    return ", ".join(parts)


# What black's output depends on besides its input text: the key space of `format_cache`.
CACHE_NAMESPACE = f"black {BLACK_VERSION}\n{_mode_text(BLACK_MODE)}"


@cache
def environment() -> jinja2.Environment:
    folder = data_dir("templates")
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["block"] = block
    return env


class _TemplateCache(jinja2.FileSystemBytecodeCache):
    """Compiled templates on disk (keyed by name and source); any failure is a miss."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:  # a damaged entry: compile the template again
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            os.makedirs(self.directory, exist_ok=True)
            super().dump_bytecode(bucket)
        except OSError:  # a cache that cannot be written is only slower
            pass


def use_template_cache(folder: Path | None) -> None:
    """Keep compiled templates in `folder` across runs (None: compile them in memory)."""
    environment().bytecode_cache = _TemplateCache(str(folder)) if folder is not None else None


def block(lines: list[str], indent: int) -> str:
    """Lines of code indented by `indent` spaces, joined (no trailing newline)."""
    pad = " " * indent
    return "\n".join(pad + line for line in lines)


def render_chunk(template: str, **context: Any) -> str:
    """Render one template to a chunk of top-level Python and check that it compiles.

    A chunk found in `format_cache` compiled when it was stored: it is not compiled
    again, and the module that uses it takes its formatted text from here.
    """
    text = environment().get_template(template).render(**context).strip("\n")
    cached = _lookup(text)
    if cached is None:
        try:
            compile(text, f"<{template}>", "exec", dont_inherit=True)
        except SyntaxError as exc:
            raise CodegenError(f"template {template} produced invalid Python: {exc}") from None
    return text


def header(inputs: list[str] | tuple[str, ...]) -> str:
    source = ", ".join(inputs) if inputs else "WIT"
    return (
        f"# Generated by witgen {witgen.__version__} (black {BLACK_VERSION}) "
        f"from {source}. DO NOT EDIT."
    )


def imports_for(body: str, modules: list[tuple[str, str]], package: str = "") -> list[str]:
    """The import lines a module body needs; `modules` are (relative path, alias) pairs.

    `package` is the importing module's own package: its siblings come from `.`.
    """
    used = {name for name, pattern in _NAME_RES.items() if name in body and pattern.search(body)}
    std = [line for name, line in _IMPORTS[:4] if name in used]
    out = [line for name, line in _IMPORTS[4:] if name in used]
    values = [n for n in _VALUE_NAMES if n in used]
    if values:
        out.append(f"from witgen.runtime.values import {', '.join(values)}")
    if std:
        out = [*std, "", *out]
    if modules:
        out.append("")
    for path, alias in modules:
        parent, _, name = path.rpartition(".")
        source = "." if parent == package else f"..{parent}" if parent else ".."
        out.append(f"from {source} import {name}" if alias == name else f"from {source} import {name} as {alias}")
    return out


def module_text(template: str, *, format: bool = True, **context: Any) -> str:
    """Render a whole module, format it with black and compile it.

    A `chunks` list in the context is formatted chunk by chunk: the template renders
    the header with no chunks, and the module is that header with the first chunk,
    then each further chunk after two blank lines, as `module.py.jinja` lays them
    out. `format=False` returns the compiled module as rendered, without black.
    """
    tpl = environment().get_template(template)
    if not format:
        text = tpl.render(**context)
        _compile(text, template)
        return text
    chunks: list[str] = context.pop("chunks", [])
    head = tpl.render(chunks=[], **context)
    if not chunks:
        return assemble([head], template)
    # Black puts one or two blank lines after the imports depending on what follows:
    # the first chunk is formatted with the header.
    _looked_up.pop(chunks[0], None)
    return assemble([f"{head}\n\n{chunks[0]}", *chunks[1:]], template)


# Unformatted chunk text -> its formatted text, kept across runs by whoever installs
# it (`witgen.workflow.formatcache`): black is most of a render's time, and for one
# black version and mode (`CACHE_NAMESPACE`) its output depends on the text alone.
format_cache: MutableMapping[str, str] | None = None

# Lookups `render_chunk` made, for the module that assembles the chunk (None: a miss).
_looked_up: dict[str, str | None] = {}


def _lookup(text: str) -> str | None:
    if format_cache is None:
        return None
    if len(_looked_up) > 4096:  # chunks rendered but never assembled
        _looked_up.clear()
    found = _looked_up[text] = format_cache.get(text)
    return found


def _compile(text: str, what: str) -> None:
    try:
        compile(text, f"<{what}>", "exec", dont_inherit=True)
    except SyntaxError as exc:
        raise CodegenError(f"{what} produced invalid Python: {exc}") from None


_DEFINITIONS = (pyast.ClassDef, pyast.FunctionDef, pyast.AsyncFunctionDef)


def _blocks(text: str) -> list[str]:
    """A piece cut before each top-level class or def that follows the previous statement
    after exactly two blank lines, with nothing else between them.

    Black puts two blank lines before a top-level definition whatever precedes it, so
    each block formats alone as it does in the piece (the rule `assemble` relies on), and
    a changed docstring costs the formatting of its own class only. Pieces with black's
    `fmt:`/`yapf:` directives are not cut.
    """
    if "fmt:" in text or "yapf:" in text:
        return [text]
    try:
        body = pyast.parse(text).body
    except SyntaxError:
        return [text]
    lines = text.split("\n")
    cuts = [0]
    for previous, node in zip(body, body[1:]):
        if not isinstance(node, _DEFINITIONS) or previous.end_lineno is None:
            continue
        start = min([node.lineno, *(d.lineno for d in node.decorator_list)])  # 1-based
        end = previous.end_lineno
        if start == end + 3 and lines[end] == lines[end + 1] == "" and node.col_offset == 0:
            cuts.append(start - 1)
    if len(cuts) == 1:
        return [text]
    cuts.append(len(lines))
    return ["\n".join(lines[a:b]).rstrip("\n") for a, b in zip(cuts, cuts[1:])]


def assemble(pieces: list[str], what: str) -> str:
    """Format each top-level piece with black (or take it from the cache) and join them.

    Black puts exactly two blank lines between top-level blocks, and formats each one
    the same alone as in the module, so the joined text equals black's on the whole
    `"\\n\\n\\n".join(pieces)`. Each piece formatted here is compiled before it enters
    the cache, so every piece of the module has compiled once in its formatted form.
    """
    formatted: list[str] = []
    fresh: dict[str, str] = {}
    for text in pieces:
        if text in _looked_up:
            cached = _looked_up.pop(text)
        else:
            cached = format_cache.get(text) if format_cache is not None else None
        if cached is None:
            blocks = _blocks(text) if format_cache is not None else [text]
            outs = []
            for block_text in blocks:
                out = format_cache.get(block_text) if len(blocks) > 1 and format_cache is not None else None
                if out is None:
                    try:
                        out = black.format_str(block_text, mode=BLACK_MODE)
                    except black.parsing.InvalidInput as exc:
                        raise CodegenError(f"{what} produced invalid Python: {exc}") from None
                    fresh[block_text] = out
                outs.append(out)
            cached = fresh[text] = "\n\n".join(out for out in outs if out)
        if cached:
            formatted.append(cached)
    for out in fresh.values():
        _compile(out, what)
    if format_cache is not None:
        for text, out in fresh.items():
            format_cache[text] = out
    return "\n\n".join(formatted)

