"""Jinja environment, black formatting, compile check, the file header, and the caches.

Every template renders one top-level chunk (a type with its description, a provider
class, a client, ...). A chunk is compiled on its own, so a broken template fails with the
template's name (a chunk naming other modules once its module fills their names in). A
module is its header (comment, docstring, imports) with its first chunk, then its other
chunks, each piece formatted on its own (most need no black: `already_black`) and joined
with the two blank lines black puts between top-level blocks: byte for byte what black
gives on the whole module, but a changed chunk costs only its own formatting when the rest
is cached (`format_cache`). Each piece black formats is compiled before it is used or
cached. Whole modules are cached too, by a digest of what they are made of (`module_key`).
"""

from __future__ import annotations

import ast as pyast
import re
from collections.abc import MutableMapping
from functools import cache
from typing import Any

import msgspec

import witgen
from witgen.codegen import templating
from witgen.codegen.layout import CodegenError
from witgen.codegen.templateruntime import block as block
from witgen.codegen.templating import environment as environment
from witgen.codegen.templating import use_template_cache as use_template_cache
from witgen.codegen.shapes import MODULE_TOKEN

LINE_LENGTH = 100
TARGET_VERSION = "PY311"


def _black_version() -> str:
    """The installed black's version, read without importing black (its own tiny module)."""
    try:
        from _black_version import version  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - a black without it
        import black

        return str(getattr(black, "__version__"))
    return str(version)


BLACK_VERSION = _black_version()


@cache
def black_mode() -> Any:
    """Black's mode for generated code (black is imported only when something needs it:
    most generated text is already in its style, see `already_black`)."""
    import black.mode

    return black.mode.Mode(
        target_versions={getattr(black.mode.TargetVersion, TARGET_VERSION)}, line_length=LINE_LENGTH
    )


def __getattr__(name: str) -> Any:
    if name == "BLACK_MODE":
        return black_mode()
    raise AttributeError(name)


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
    ("_w", "from witgen.runtime.wrpc import client as _w"),
    ("_r", "from witgen.runtime import resources as _r"),
    ("_wasm", "from witgen.runtime.wasm import host as _wasm"),
)
_VALUE_NAMES = ("Err", "Ok", "Some")
# Names generated modules import from the runtime and the standard library.
RUNTIME_NAMES = frozenset({*(n for n, _ in _IMPORTS), *_VALUE_NAMES, "TYPES", "FUNCTIONS"})
_NAMES = (*(n for n, _ in _IMPORTS), *_VALUE_NAMES)


def mentions(body: str, name: str) -> bool:
    """Whether `body` uses `name` as a word of its own, not as an attribute (`x.name`)
    nor as part of a longer name (what the expression `(?<![\\w.])name\\b` finds, without
    compiling one per name in every run that renders)."""
    size = len(name)
    at = body.find(name)
    while at != -1:
        before = body[at - 1] if at else " "
        after = body[at + size : at + size + 1] or " "
        if not (before.isalnum() or before in "_.") and not (after.isalnum() or after == "_"):
            return True
        at = body.find(name, at + 1)
    return False


# What black's output depends on besides its input text: the key space of `format_cache`
# (black's version decides its defaults; the mode's own settings are these two).
CACHE_NAMESPACE = (
    f"black {BLACK_VERSION}\nline_length={LINE_LENGTH}, target_versions=[{TARGET_VERSION}]"
)


def _render(template: str, context: dict[str, Any]) -> str:
    """A template rendered by its translation when current, else by Jinja (`environment`)."""
    return templating.render(template, context, lambda: environment())


# A chunk before rendering: its template and the context the template is given.
Chunk = tuple[str, dict[str, Any]]


def chunk(template: str, **context: Any) -> Chunk:
    """A chunk to render later (`render_chunk`), once its module knows it must."""
    return template, context


# Whole modules are kept in `format_cache` too, by a digest of everything their text is
# made of (`module_key`): a module whose chunks' contexts, names and header are those of
# an earlier run is not rendered again. The salt is the generator's fingerprint (its
# templates and code, `witgen.workflow.digest`), set by whoever installs the cache; None
# keeps whole modules out of the cache.
module_salt: str | None = None


def module_key(made_of: object) -> str | None:
    """The cache key of a module made of `made_of` (plain data and view structs), or None
    when modules are not cached or `made_of` holds something that cannot be encoded."""
    if format_cache is None or module_salt is None:
        return None
    try:
        data = msgspec.msgpack.encode(made_of)
    except (TypeError, msgspec.EncodeError):
        return None
    return f"module {module_salt} {templating.digest(data)}"


def render_chunk(template: str, **context: Any) -> str:
    """Render one template to a chunk of top-level Python and check that it compiles.

    A chunk found in `format_cache` compiled when it was stored: it is not compiled
    again, and the module that uses it takes its formatted text from here. A chunk
    naming other modules (`shapes.module_token`) is checked once its module fills in
    their names: `assemble` compiles every piece that is not in the cache.
    """
    text = indent_docstrings(_render(template, context).strip("\n"))
    if MODULE_TOKEN in text:
        return text
    cached = _lookup(text)
    if cached is None:
        try:
            compile(text, f"<{template}>", "exec", dont_inherit=True)
        except SyntaxError as exc:
            raise CodegenError(f"template {template} produced invalid Python: {exc}") from None
        if len(_compiled) > 4096:  # chunks rendered but never assembled
            _compiled.clear()
        _compiled.add(text)
    return text


# Chunks `render_chunk` compiled: a piece black leaves as it is needs no second compile.
_compiled: set[str] = set()


def indent_docstrings(text: str) -> str:
    """Indent the continuation lines of each multi-line docstring as black does.

    A docstring's text comes from the WIT at column 0; black re-indents its lines to the
    opening quotes' indentation, keeping their indentation relative to each other, and
    strips trailing whitespace (PEP 257's trim). Doing the same here leaves black nothing
    to change in a docstring, so blocks whose lines fit skip black (`already_black`).
    """
    if '"""' not in text:
        return text
    out: list[str] = []
    done = 0  # text before this offset is in `out`
    size = len(text)
    while (opening := _DOC_OPENING.search(text, done)) is not None:
        start = opening.end() + 1  # the docstring's second line
        close = text.find('"""', start)
        if start >= size or close == -1:
            break
        end = text.find("\n", close)
        end = size if end == -1 else end
        body = text[start:end].split("\n")
        pad = " " * len(opening.group(1))
        common = min((len(b) - len(b.lstrip()) for b in body if b.strip()), default=0)
        out.append(text[done:start])
        out.append("\n".join(pad + b[common:].rstrip() if b.strip() else "" for b in body))
        done = end
    out.append(text[done:])
    return "".join(out)


# The first line of a docstring that goes on past it: indentation, quotes, no closing quotes.
_DOC_OPENING = re.compile(r'^([ \t]*)"""(?:(?!""").)*$', re.MULTILINE)


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
    used = {name for name in _NAMES if mentions(body, name)}
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
        out.append(
            f"from {source} import {name}"
            if alias == name
            else f"from {source} import {name} as {alias}"
        )
    return out


def module_text(template: str, *, format: bool = True, **context: Any) -> str:
    """Render a whole module, format it with black and compile it.

    A `chunks` list in the context is formatted chunk by chunk: the template renders
    the header with no chunks, and the module is that header with the first chunk,
    then each further chunk after two blank lines, as `module.py.jinja` lays them
    out. `format=False` returns the compiled module as rendered, without black.
    """
    if not format:
        text = _render(template, context)
        _compile(text, template)
        return text
    chunks: list[str] = context.pop("chunks", [])
    head = _render(template, {**context, "chunks": []})
    if not chunks:
        return assemble([head], template)
    # After the imports black puts two blank lines before a definition, one before any
    # other statement: the first chunk is formatted with the header.
    _looked_up.pop(chunks[0], None)
    gap = "\n\n\n" if chunks[0].startswith(("@", "class ", "def ", "async def ")) else "\n\n"
    return assemble([f"{head.rstrip()}{gap}{chunks[0]}", *chunks[1:]], template)


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


def cached_text(key: str) -> str | None:
    """A whole module's text kept under `key` (see `module_key`), if any."""
    return format_cache.get(key) if format_cache is not None else None


def store_text(key: str, text: str, slot: str | None = None) -> None:
    """Keep a whole module's text under `key`; `slot` names the module, for a cache that
    keeps one text per module (`witgen.workflow.formatcache.PackedFormatCache.store`)."""
    if format_cache is None:
        return
    store = getattr(format_cache, "store", None)
    if slot is not None and store is not None:
        store(key, text, slot)
    else:
        format_cache[key] = text


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


_BLACK_WOULD_CHANGE = re.compile(
    r"[ \t]$"  # trailing whitespace
    r"|\t"  # tabs
    r"|[(\[{]\n\s*[)\]}]"  # an empty bracket pair over two lines
    r"|\n\n\n\n"  # more than two blank lines
    r"|:\n\s*\n"  # a blank line right after a block opener
    r"|\\\n",  # a backslash continuation
    re.MULTILINE,
)


def already_black(text: str) -> str | None:
    """`text` as black would print it, when it is already in black's style; else None.

    The templates write black's style: double quotes, black's blank lines, brackets
    exploded one item a line with a trailing comma, or kept on one line without one.
    What they cannot know is where a line outgrows the limit, and that is what black is
    needed for: a block with a line over the limit (or anything black would change that
    a template might produce, listed in `_BLACK_WOULD_CHANGE`) goes to black. Black
    never splits a comment or the text of a string, so a long full-line comment (the
    header naming every input) or a long line inside a docstring (a URL) is no reason
    to call it; the docstring's first and last lines must fit, as black moves closing
    quotes that do not. Tests compare the result with black's on every corpus and
    sample module.
    """
    if _BLACK_WOULD_CHANGE.search(text):
        return None
    lines = text.split("\n")
    limit = LINE_LENGTH
    if any(len(line) > limit for line in lines) and not (
        _only_unsplittable_lines_long(lines) or _only_string_statements_long(text, lines)
    ):
        return None
    return text.rstrip("\n") + "\n" if text.strip() else ""


def _only_unsplittable_lines_long(lines: list[str]) -> bool:
    """Whether every line over the limit is a full-line comment or inside a docstring."""
    limit = LINE_LENGTH
    in_docstring = False
    for line in lines:
        if in_docstring:
            if '"""' not in line:
                continue  # inside: black leaves it as it is
            in_docstring = False  # the closing line, which must fit
        elif _DOC_OPENING.match(line):
            in_docstring = True
        if len(line) > limit and not line.lstrip().startswith("# "):
            return False
    return True


# A statement `name: annotation = callee(` opening an exploded call (one argument a line);
# compiled (re's cache) only when a line is too long.
_ASSIGNED_CALL = r"( *)([A-Za-z_]\w*: ([\w.\[\] |,]*\[[\w.\[\] |,]*) = )((?:await )?[A-Za-z_][\w.]*)\($"


def wrap_long_assigned_calls(text: str) -> str:
    """Annotated assignments of an exploded call whose first line is too long, as black
    lays them out: the call in parentheses after `=`, one level deeper.

    Black splits such a line at the parentheses it puts around an assignment's right-hand
    side when the annotation holds brackets, `name: annotation = (` fits, and the first
    line of the call would not (`_prefer_split_rhs_oop_over_rhs` in black's linegen); the
    call keeps its exploded layout (its arguments end with a comma). Text that does not
    take this shape is returned as it is, and lines still too long go to black.
    """
    lines = text.split("\n")
    out: list[str] = []
    statements: set[int] | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        found = re.fullmatch(_ASSIGNED_CALL, line) if len(line) > LINE_LENGTH else None
        if found is not None:
            indent, lead, annot, callee = found.group(1, 2, 3, 4)
            close = indent + ")"
            end = lines.index(close, i + 1) if close in lines[i + 1 :] else -1
            args = lines[i + 1 : end]
            if statements is None:
                statements = _annotated_assignment_lines(text)
            if (
                end > i + 1
                and len(indent) + len(lead) + 1 <= LINE_LENGTH
                and ",]" not in annot
                and args[-1].endswith(",")
                and all(a.startswith(indent + "    ") for a in args)
                and i + 1 in statements
            ):
                deeper = indent + "    "
                out += [indent + lead + "(", deeper + callee + "(", *("    " + a for a in args), deeper + ")", close]
                i = end + 1
                continue
        out.append(line)
        i += 1
    return "\n".join(out)


def _annotated_assignment_lines(text: str) -> set[int]:
    """The first lines (1-based) of the annotated assignments to a plain name in `text`."""
    try:
        tree = pyast.parse(text)
    except SyntaxError:
        return set()
    return {
        node.lineno
        for node in pyast.walk(tree)
        if isinstance(node, pyast.AnnAssign) and isinstance(node.target, pyast.Name) and node.value is not None
    }


def _only_string_statements_long(text: str, lines: list[str]) -> bool:
    """Whether every line over the limit is a full-line comment or belongs to a statement
    that is a lone string: black never splits a string, and moves closing quotes only
    of a multi-line docstring (the first statement of a module or block), whose lines
    `_only_unsplittable_lines_long` judges."""
    try:
        tree = pyast.parse(text)
    except SyntaxError:
        return False
    free: set[int] = set()  # 1-based numbers of lines black leaves as they are
    for node in pyast.walk(tree):
        for field in ("body", "orelse", "finalbody"):
            body = getattr(node, field, None)
            if not isinstance(body, list):
                continue
            for k, stmt in enumerate(body):
                if not (
                    isinstance(stmt, pyast.Expr)
                    and isinstance(stmt.value, pyast.Constant)
                    and isinstance(stmt.value.value, str)
                    and stmt.end_lineno is not None
                ):
                    continue
                if k == 0 and stmt.end_lineno != stmt.lineno:
                    continue  # a multi-line docstring
                free.update(range(stmt.lineno, stmt.end_lineno + 1))
    return all(
        len(line) <= LINE_LENGTH or n in free or line.lstrip().startswith("# ")
        for n, line in enumerate(lines, 1)
    )


def black_class_members(text: str) -> str | None:
    """A class formatted member by member: black only on the members it would change.

    Black formats a class's methods the same as the methods dedented to the top level
    with the line limit four columns shorter, so a client class with a few long
    signatures costs the formatting of those methods alone (in one call of black, as
    top-level functions two blank lines apart). None when `text` is not one class whose
    header, separators and other members are already in black's style.
    """
    try:
        body = pyast.parse(text).body
    except SyntaxError:
        return None
    if len(body) != 1 or not isinstance(body[0], pyast.ClassDef) or body[0].decorator_list:
        return None
    lines = text.split("\n")
    members = body[0].body
    starts = [m.lineno - 1 for m in members]
    head = "\n".join(lines[: starts[0]])
    if already_black(head) is None:
        return None
    pieces: list[str] = []
    gaps: list[int] = []
    todo: list[int] = []  # indices of pieces black must format
    for k, (member, start, end) in enumerate(zip(members, starts, [*starts[1:], len(lines)])):
        piece = "\n".join(lines[start:end]).rstrip("\n")
        gaps.append(len(lines[start:end]) - len(piece.split("\n")))  # blank lines after it
        if already_black(piece) is None:
            methods = (pyast.FunctionDef, pyast.AsyncFunctionDef)
            if not isinstance(member, methods) or member.decorator_list:
                return None  # only plain methods are known to format alike when nested
            if not all(line.startswith("    ") or not line for line in piece.split("\n")):
                return None
            piece = "\n".join(line[4:] for line in piece.split("\n"))
            todo.append(k)
        pieces.append(piece)
    if todo:
        import dataclasses

        import black

        narrow = dataclasses.replace(black_mode(), line_length=LINE_LENGTH - 4)
        joined = black.format_str("\n\n\n".join(pieces[k] for k in todo), mode=narrow)
        out_lines = joined.rstrip("\n").split("\n")
        defs = pyast.parse(joined).body
        if len(defs) != len(todo):
            return None
        bounds = [d.lineno - 1 for d in defs] + [len(out_lines) + 2]
        for k, a, b in zip(todo, bounds, bounds[1:]):
            formatted = out_lines[a : b - 2]
            pieces[k] = "\n".join("    " + line if line else "" for line in formatted)
    return head + "\n" + "\n".join(p + "\n" * g for p, g in zip(pieces, gaps)).rstrip("\n") + "\n"


def assemble(pieces: list[str], what: str) -> str:
    """Format each top-level piece with black (or take it from the cache) and join them.

    Black puts exactly two blank lines between top-level blocks, and formats each one
    the same alone as in the module, so the joined text equals black's on the whole
    `"\\n\\n\\n".join(pieces)`. Each piece formatted here is compiled before it enters
    the cache, so every piece of the module has compiled once in its formatted form: a
    piece (or a block of one) that `render_chunk` compiled and that formatting leaves as
    it is is not compiled again, and a piece cut into blocks compiles when each block does.
    """
    formatted: list[str] = []
    fresh: dict[str, str] = {}
    checked: set[str] = set()  # fresh texts whose output is known to compile
    for text in pieces:
        if text in _looked_up:
            cached = _looked_up.pop(text)
        else:
            cached = format_cache.get(text) if format_cache is not None else None
        if cached is None and (whole := already_black(text)) is not None:
            cached = fresh[text] = whole  # in black's style as it is: no block to cut
        if cached is None:
            blocks = _blocks(text) if format_cache is not None else [text]
            compiled = text in _compiled
            outs = []
            for block_text in blocks:
                out = (
                    format_cache.get(block_text)
                    if len(blocks) > 1 and format_cache is not None
                    else None
                )
                if out is None:
                    out = already_black(block_text) or already_black(wrap_long_assigned_calls(block_text))
                    out = out or black_class_members(block_text)
                    if out is None:
                        import black
                        import black.parsing

                        try:
                            out = black.format_str(block_text, mode=black_mode())
                        except black.parsing.InvalidInput as exc:
                            raise CodegenError(f"{what} produced invalid Python: {exc}") from None
                    fresh[block_text] = out
                    if compiled and out == block_text + "\n":
                        checked.add(block_text)  # part of the piece that compiled, unchanged
                outs.append(out)
            cached = fresh[text] = "\n\n".join(out for out in outs if out)
            if len(blocks) > 1:
                checked.add(text)  # top-level blocks that each compile (or came from the cache)
        if cached:
            formatted.append(cached)
    for text, out in fresh.items():
        if text not in checked and not (text in _compiled and out == text + "\n"):
            _compile(out, what)
        _compiled.discard(text)
    if format_cache is not None:
        for text, out in fresh.items():
            format_cache[text] = out
    return "\n\n".join(formatted)
