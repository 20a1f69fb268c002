"""The parser's callbacks: they build `witgen.frontend.ast` nodes as the LALR table reduces.

The LALR table of `grammars/wit.lark` (`witgen.frontend.tables`), fed by the scanner
of `witgen.frontend.lexer`, builds the AST directly in these callbacks (no parse tree).
Syntax errors come out as `WitError`s worded as the reference parser words them
(see `witgen.frontend.syntax_errors`). `witgen.frontend.parser.parse_file` is the entry
point; this module is imported on a file's first parse only.

Docs: every comment right before an item's first token (its first attribute's
`@`, or the item itself) is part of its docs, normalized by `normalize_docs`.
"""

from __future__ import annotations

import re
import threading
from functools import cache
from typing import Any

from msgspec import Struct

from witgen.frontend import ast
from witgen.errors import Source, Span, WitError
from witgen.frontend.docs import LINE_COMMENT, line_run_docs, normalize_docs
from witgen.frontend.lexer import Scanner, Token, unescape, wat_error
from witgen.frontend import tables

_U32_MAX = 2**32 - 1


class _Partial(Struct, gc=False):
    """An item body waiting for its docs and attributes."""

    pos: int  # offset of its first token
    cls: type
    rest: tuple[Any, ...]


_NO_DOCS = ast.Docs(None)  # immutable, so shared


class _Builder:
    """The parser callbacks; `scanner` is the source being parsed (set under `_LOCK`)."""

    _scanner: Scanner
    source: Source  # the scanner's, read on every span

    @property
    def scanner(self) -> Scanner:
        return self._scanner

    @scanner.setter
    def scanner(self, scanner: Scanner) -> None:
        self._scanner = scanner
        self.source = scanner.source

    @scanner.deleter
    def scanner(self) -> None:
        del self._scanner, self.source

    # ------------------------------------------------------------------ helpers

    def _span(self, tok: Token) -> Span:
        return Span(self.source, tok.start_pos, tok.end_pos)

    def _docs(self, pos: int) -> ast.Docs:
        found = self._scanner.comments.get(pos)
        if not found:
            return _NO_DOCS
        text = self.source.text
        if len(found) == 1 and text.startswith("//", found[0][0]):  # a run of line comments
            start, end = found[0]
            return ast.Docs(line_run_docs(text, start, end), Span(self.source, start, end))
        pieces: list[str] = []
        for s, e in found:
            if text.startswith("//", s):  # a run of line comments
                pieces += re.compile(LINE_COMMENT).findall(text, s, e)
            else:
                pieces.append(text[s:e])
        contents = normalize_docs(pieces)
        return ast.Docs(contents, Span(self.source, found[0][0], found[-1][1]))

    def _item(self, children: list[Any]) -> Any:
        part: _Partial = children[-1]
        attrs = children[:-1]
        pos = attrs[0][0] if attrs else part.pos
        return part.cls(self._docs(pos), tuple([a[1] for a in attrs]) if attrs else (), *part.rest)

    # ------------------------------------------------------------------ files

    def start(self, children: list[Any]) -> ast.File:
        source = self.source
        package = None
        if children and isinstance(children[0], ast.PackageDecl):
            package = children[0]
            children = children[1:]
        for item in children:
            if isinstance(item, ast.NestedPackage):
                for inner in item.items:
                    if isinstance(inner, ast.NestedPackage):
                        raise WitError(
                            "nested packages must be placed at the top-level", inner.name.span
                        )
        return ast.File(Span(source, 0, len(source.text)), package, tuple(children))

    def package_decl(self, c: list[Any]) -> ast.PackageDecl:
        return ast.PackageDecl(self._docs(c[0].start_pos), (), c[1])

    def package_name(self, c: list[Any]) -> ast.PackageName:
        ns: ast.Id = c[0]
        name: ast.Id = c[2]
        version = None
        end = name.span.end
        if len(c) > 3:
            version, _, end = c[4]
        return ast.PackageName(ns, name, version, Span(ns.span.source, ns.span.start, end))

    def top_item(self, c: list[Any]) -> Any:
        part: _Partial = c[-1]
        if part.cls is ast.NestedPackage:
            return ast.NestedPackage(self._docs(part.pos), *part.rest)
        return self._item(c)  # attributes on a `use` are the resolver's to reject

    def nested_package(self, c: list[Any]) -> _Partial:
        return _Partial(c[0].start_pos, ast.NestedPackage, (c[1], tuple(c[3:-1])))

    def toplevel_use(self, c: list[Any]) -> _Partial:
        alias = c[3] if len(c) == 5 else None
        return _Partial(c[0].start_pos, ast.TopLevelUse, (c[1], alias, self._span(c[0])))

    def use_path(self, c: list[Any]) -> ast.UsePath:
        if len(c) == 1:
            return ast.LocalPath(c[0])
        ns: ast.Id = c[0]
        name: ast.Id = c[4]
        version = None
        end = name.span.end
        pkg_end = c[2].span.end
        if len(c) > 5:
            version, _, end = c[6]
            pkg_end = end
        source = ns.span.source
        pkg = ast.PackageName(ns, c[2], version, Span(source, ns.span.start, pkg_end))
        return ast.PackagePath(pkg, name, Span(source, ns.span.start, end))

    # ------------------------------------------------------------------ attributes

    def attr(self, c: list[Any]) -> tuple[int, ast.Attribute]:
        if len(c) == 1:  # a GATE: `@since(version = 1.2.3)`, its value the version
            gate: Token = c[0]
            sign = gate.start_pos
            if self.source.text.startswith("@s", sign):
                return sign, ast.Since(gate.value, Span(self.source, sign + 1, sign + 6))
            return sign, ast.Deprecated(gate.value, Span(self.source, sign + 1, sign + 11))
        kind: Token = c[1]
        span = self._span(kind)
        at: int = c[0].start_pos
        if kind.type == "EXTERNAL_ID":
            return at, ast.ExternalId(unescape(c[3].value), span)
        key: ast.Id = c[3]
        expected = "feature" if kind.type == "UNSTABLE" else "version"
        if key.name != expected:
            raise WitError(f"expected `{expected}`, found `{key.name}`", key.span)
        if kind.type == "UNSTABLE":
            return at, ast.Unstable(c[5].name, span)
        version: str = c[5][0]
        if kind.type == "SINCE":
            return at, ast.Since(version, span)
        return at, ast.Deprecated(version, span)

    def version(self, c: list[Any]) -> tuple[str, int, int]:
        if len(c) == 1:  # a VERSION: `1.2.3` in one token
            whole: Token = c[0]
            return whole.value, whole.start_pos, whole.end_pos
        start: int = c[0].start_pos
        end: int = c[4].end_pos
        for extra in c[5:]:
            if extra:
                end = extra[-1].end_pos
        # already checked against semver by the scanner, where the version ended
        return self.source.text[start:end], start, end

    def pre_release(self, c: list[Token]) -> list[Token]:
        return c[1:]  # the leading `-` alone does not extend the version

    build_metadata = pre_release

    def version_part(self, c: list[Token]) -> Token:
        return c[-1]  # `.x`: the part ends where `x` ends

    # ------------------------------------------------------------------ interfaces

    def interface_decl(self, c: list[Any]) -> _Partial:
        return _Partial(c[0].start_pos, ast.InterfaceDecl, (c[1], tuple(c[3:-1])))

    iface_item = _item
    world_item = _item
    resource_item = _item

    def use_item(self, c: list[Any]) -> _Partial:
        return _Partial(c[0].start_pos, ast.UseDecl, (c[1], c[4]))

    def use_names(self, c: list[Any]) -> tuple[ast.UseName, ...]:
        return tuple(c[::2])  # names and the commas between them

    def use_name(self, c: list[Any]) -> ast.UseName:
        return ast.UseName(c[0], c[2] if len(c) == 3 else None)

    def func_item(self, c: list[Any]) -> _Partial:
        name: ast.Id = c[0]
        return _Partial(name.span.start, ast.FuncDecl, (name, c[2]))

    def func_type(self, c: list[Any]) -> ast.FuncType:
        is_async = c[0].type == "ASYNC"
        first: Token = c[0]
        func: Token = c[1] if is_async else c[0]
        rest = c[2:] if is_async else c[1:]
        result = rest[2] if len(rest) == 3 else None
        span = Span(self.source, first.start_pos, func.end_pos)
        return ast.FuncType(rest[0], result, is_async, span)

    def params(self, c: list[Any]) -> tuple[ast.Param, ...]:
        return tuple(c[1:-1:2])  # `(`, parameters and the commas between them, `)`

    def param(self, c: list[Any]) -> ast.Param:
        return ast.Param(c[0], c[2])

    def resource_decl(self, c: list[Any]) -> _Partial:
        return _Partial(c[0].start_pos, ast.ResourceDecl, (c[1], tuple(c[3:-1])))

    def constructor(self, c: list[Any]) -> _Partial:
        tok: Token = c[0]
        span = self._span(tok)
        result = c[3] if len(c) == 5 else None
        func = ast.FuncType(c[1], result, False, span)
        return _Partial(
            tok.start_pos, ast.ResourceFunc, ("constructor", ast.Id("constructor", span), func)
        )

    def method(self, c: list[Any]) -> _Partial:
        return _Partial(c[0].span.start, ast.ResourceFunc, ("method", c[0], c[2]))

    def static(self, c: list[Any]) -> _Partial:
        return _Partial(c[0].span.start, ast.ResourceFunc, ("static", c[0], c[3]))

    def record_decl(self, c: list[Any]) -> _Partial:
        fields = tuple(c[3:-1:2])  # fields and the commas between them
        return _Partial(c[0].start_pos, ast.RecordDecl, (c[1], fields))

    def field(self, c: list[Any]) -> ast.FieldDecl:
        name: ast.Id = c[0]
        return ast.FieldDecl(self._docs(name.span.start), name, c[2])

    def _cases(self, c: list[Any]) -> tuple[ast.CaseDecl, ...]:
        docs = self._docs
        return tuple(  # cases and the commas between them
            [x if x.__class__ is ast.CaseDecl else ast.CaseDecl(docs(x.span.start), x) for x in c[3:-1:2]]
        )

    def flags_decl(self, c: list[Any]) -> _Partial:
        return _Partial(c[0].start_pos, ast.FlagsDecl, (c[1], self._cases(c)))

    def variant_decl(self, c: list[Any]) -> _Partial:
        return _Partial(c[0].start_pos, ast.VariantDecl, (c[1], self._cases(c)))

    def enum_decl(self, c: list[Any]) -> _Partial:
        return _Partial(c[0].start_pos, ast.EnumDecl, (c[1], self._cases(c)))

    def case(self, c: list[Any]) -> ast.CaseDecl:
        name: ast.Id = c[0]
        return ast.CaseDecl(self._docs(name.span.start), name, c[2] if len(c) == 4 else None)

    def alias_decl(self, c: list[Any]) -> _Partial:
        return _Partial(c[0].start_pos, ast.TypeAliasDecl, (c[1], c[3]))

    # ------------------------------------------------------------------ worlds

    def world_decl(self, c: list[Any]) -> _Partial:
        return _Partial(c[0].start_pos, ast.WorldDecl, (c[1], tuple(c[3:-1])))

    def import_item(self, c: list[Any]) -> _Partial:
        return _Partial(c[0].start_pos, ast.ImportDecl, (c[1],))

    def export_item(self, c: list[Any]) -> _Partial:
        return _Partial(c[0].start_pos, ast.ExportDecl, (c[1],))

    def extern_func(self, c: list[Any]) -> ast.ExternFunc:
        return ast.ExternFunc(c[0], c[2])

    def extern_interface(self, c: list[Any]) -> ast.ExternInterface:
        return ast.ExternInterface(c[0], tuple(c[4:-1]), self._span(c[2]))

    def extern_named_path(self, c: list[Any]) -> ast.ExternNamedPath:
        return ast.ExternNamedPath(c[0], c[2])

    def extern_path(self, c: list[Any]) -> ast.ExternPath:
        return ast.ExternPath(c[0])

    def include_item(self, c: list[Any]) -> _Partial:
        names = c[4] if len(c) > 3 else ()
        return _Partial(c[0].start_pos, ast.IncludeDecl, (c[1], names))

    def include_names(self, c: list[Any]) -> tuple[ast.IncludeName, ...]:
        return tuple(c[::2])  # names and the commas between them

    def include_name(self, c: list[Any]) -> ast.IncludeName:
        return ast.IncludeName(c[0], c[2])

    # ------------------------------------------------------------------ types

    def primitive(self, c: list[Token]) -> ast.Primitive:
        return ast.Primitive(c[0].value, self._span(c[0]))

    def named_type(self, c: list[Any]) -> ast.Named:
        return ast.Named(c[0])

    def tuple_type(self, c: list[Any]) -> ast.TupleType:
        types = tuple(c[2:-1:2])  # types and the commas between them
        return ast.TupleType(types, self._span(c[0]))

    def list_type(self, c: list[Any]) -> ast.ListType:
        return ast.ListType(c[2], self._span(c[0]))

    def fixed_list_type(self, c: list[Any]) -> ast.FixedListType:
        digits = c[4].value.lstrip("0") or "0"  # no int() of thousands of digits
        size = int(digits) if len(digits) <= 10 else _U32_MAX + 1
        if size > _U32_MAX:
            raise WitError(
                "invalid list size: number too large to fit in target type", self._span(c[4])
            )
        return ast.FixedListType(c[2], size, self._span(c[0]))

    def option_type(self, c: list[Any]) -> ast.OptionType:
        return ast.OptionType(c[2], self._span(c[0]))

    def result_type(self, c: list[Any]) -> ast.ResultType:
        span = self._span(c[0])
        if len(c) == 1:
            return ast.ResultType(None, None, span)
        if len(c) == 4:
            return ast.ResultType(c[2], None, span)
        ok = None if isinstance(c[2], Token) else c[2]
        return ast.ResultType(ok, c[4], span)

    def map_type(self, c: list[Any]) -> ast.MapType:
        return ast.MapType(c[2], c[4], self._span(c[0]))

    def handle_type(self, c: list[Any]) -> ast.HandleType:
        mode = "own" if c[0].type == "OWN" else "borrow"
        return ast.HandleType(mode, c[2], self._span(c[0]))  # type: ignore[arg-type]

    def future_type(self, c: list[Any]) -> ast.FutureType:
        return ast.FutureType(c[2] if len(c) > 1 else None, self._span(c[0]))

    def stream_type(self, c: list[Any]) -> ast.StreamType:
        return ast.StreamType(c[2] if len(c) > 1 else None, self._span(c[0]))

    def id(self, c: list[Token]) -> ast.Id:
        tok = c[0]
        name: str = tok.value
        if tok.type == "EXPLICIT_ID":
            name = name[1:]
        return ast.Id(name, Span(self.source, tok.start_pos, tok.end_pos))


_LOCK = threading.Lock()


@cache
def _parser() -> tuple[tables.Tables, _Builder]:
    builder = _Builder()
    return tables.load(builder), builder


def parse(source: Source, wat: bool = False) -> ast.File:
    """Parse one `.wit` file; raise WitError (with a span) if it is not valid WIT syntax.

    `wat`: the file was given on its own (not in a package folder), where the
    reference reads a file that starts with `(` as WebAssembly text.
    """
    if wat:
        error = wat_error(source)
        if error is not None:
            raise error
    table, builder = _parser()
    with _LOCK:
        scanner = Scanner(source)
        builder.scanner = scanner
        try:
            try:
                result = table.parse(scanner)
            except tables.StoppedAtGate:
                # say what is wrong as the tokens a GATE stands for would have it
                scanner = Scanner(source, fast_gates=False)
                builder.scanner = scanner
                result = table.parse(scanner)
        finally:
            del builder.scanner
    assert isinstance(result, ast.File)
    return result
