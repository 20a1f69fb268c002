"""The WIT grammar and parser: constructs, docs, `%` escapes, spans, syntax errors.

Expected error messages and positions were taken from the reference parser
(wasm-tools 1.262); the corpus tests check them against it live.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from witgen.frontend import ast
from witgen.errors import Source, WitError
from witgen.frontend.parser import normalize_docs, parse_file


def parse(text: str, path: str = "t.wit") -> ast.File:
    return parse_file(Source(path, text))


def error(text: str) -> tuple[str, int, int]:
    """(message, line, column) of the error parsing `text`."""
    with pytest.raises(WitError) as info:
        parse(text)
    err = info.value
    assert err.span is not None
    line, col = err.span.source.line_col(err.span.start)
    return err.message, line, col


def iface_items(text: str) -> tuple[ast.InterfaceItem, ...]:
    item = parse(f"package a:b;\ninterface i {{\n{text}\n}}\n").items[0]
    assert isinstance(item, ast.InterfaceDecl)
    return item.items


def alias_type(text: str) -> ast.TypeExpr:
    (item,) = iface_items(f"type t = {text};")
    assert isinstance(item, ast.TypeAliasDecl)
    return item.type


# --------------------------------------------------------------------------- packages


def test_package_decl_with_semver() -> None:
    f = parse("package wasi:http@0.2.0-rc-2023-11-10+build.5;")
    assert f.package is not None
    name = f.package.name
    assert (name.namespace.name, name.name.name, name.version) == (
        "wasi",
        "http",
        "0.2.0-rc-2023-11-10+build.5",
    )
    assert name.span.text() == "wasi:http@0.2.0-rc-2023-11-10+build.5"


def test_file_without_package_and_empty_file() -> None:
    assert parse("").package is None
    assert parse("interface i {}").package is None


def test_nested_packages() -> None:
    f = parse("package a:root;\npackage a:x@1.0.0 { interface i {} world w {} }\npackage a:y {}")
    nested = f.items
    assert [type(n) for n in nested] == [ast.NestedPackage, ast.NestedPackage]
    assert isinstance(nested[0], ast.NestedPackage)
    assert nested[0].name.version == "1.0.0"
    assert [type(i) for i in nested[0].items] == [ast.InterfaceDecl, ast.WorldDecl]


def test_version_chomping_stops_before_use_names() -> None:
    (use,) = iface_items("use a:b/c@1.0.0-alpha.{x};")
    assert isinstance(use, ast.UseDecl)
    assert isinstance(use.path, ast.PackagePath)
    assert use.path.package.version == "1.0.0-alpha"
    assert [n.name.name for n in use.names] == ["x"]


def test_toplevel_use() -> None:
    f = parse("package a:b;\nuse x:y/z@1.2.3 as q;\nuse local;")
    first, second = f.items
    assert isinstance(first, ast.TopLevelUse) and isinstance(second, ast.TopLevelUse)
    assert isinstance(first.path, ast.PackagePath)
    assert first.path.name.name == "z" and first.path.package.version == "1.2.3"
    assert first.alias is not None and first.alias.name == "q"
    assert isinstance(second.path, ast.LocalPath) and second.alias is None


# --------------------------------------------------------------------------- types


@pytest.mark.parametrize(
    "prim",
    "u8 u16 u32 u64 s8 s16 s32 s64 f32 f64 char bool string error-context".split(),
)
def test_primitives(prim: str) -> None:
    t = alias_type(prim)
    assert isinstance(t, ast.Primitive) and t.name == prim


def test_type_constructors() -> None:
    t = alias_type("tuple<list<u8>, list<u8, 4>, option<x>, map<string, u32>, own<r>, borrow<r>>")
    assert isinstance(t, ast.TupleType)
    lst, fixed, opt, mp, own, borrow = t.types
    assert isinstance(lst, ast.ListType) and isinstance(lst.element, ast.Primitive)
    assert isinstance(fixed, ast.FixedListType) and fixed.size == 4
    assert isinstance(opt, ast.OptionType) and isinstance(opt.element, ast.Named)
    assert isinstance(mp, ast.MapType)
    assert isinstance(own, ast.HandleType) and own.mode == "own" and own.resource.name == "r"
    assert isinstance(borrow, ast.HandleType) and borrow.mode == "borrow"


@pytest.mark.parametrize(
    ("text", "ok", "err"),
    [
        ("result", False, False),
        ("result<u8>", True, False),
        ("result<_, string>", False, True),
        ("result<u8, string>", True, True),
    ],
)
def test_result_shapes(text: str, ok: bool, err: bool) -> None:
    t = alias_type(text)
    assert isinstance(t, ast.ResultType)
    assert (t.ok is not None, t.err is not None) == (ok, err)


def test_future_and_stream() -> None:
    t = alias_type("tuple<future, future<u8>, stream, stream<string>>")
    assert isinstance(t, ast.TupleType)
    kinds = [(type(x).__name__, getattr(x, "element", None) is not None) for x in t.types]
    assert kinds == [
        ("FutureType", False),
        ("FutureType", True),
        ("StreamType", False),
        ("StreamType", True),
    ]


def test_trailing_commas() -> None:
    items = iface_items(
        "record r { a: u8, }\nflags f { x, }\nvariant v { a(u8), b, }\nenum e { a, }\n"
        "f: func(a: u8,);\ntype t = tuple<u8,>;\nuse x.{a,};"
    )
    assert len(items) == 7


def test_empty_bodies_are_left_to_the_resolver() -> None:
    # wasm-tools rejects these during resolution, after every file has parsed.
    items = iface_items("record r {}\nflags f {}\nvariant v {}\nenum e {}\ntype t = tuple<>;")
    assert [len(getattr(i, n)) for i, n in zip(items, ["fields", "flags", "cases", "cases"])] == [
        0,
        0,
        0,
        0,
    ]


def test_resources() -> None:
    (res,) = iface_items(
        "resource r { constructor(a: u32); m: func(); s: static async func() -> r;"
        " constructor() -> result<r>; }"
    )
    assert isinstance(res, ast.ResourceDecl)
    kinds = [(f.kind, f.name.name, f.func.is_async) for f in res.funcs]
    assert kinds == [
        ("constructor", "constructor", False),
        ("method", "m", False),
        ("static", "s", True),
        ("constructor", "constructor", False),
    ]
    assert res.funcs[3].func.result is not None
    (bare,) = iface_items("resource r;")
    assert isinstance(bare, ast.ResourceDecl) and bare.funcs == ()


def test_functions() -> None:
    a, b = iface_items("a: func(x: u8, y: list<u8>) -> string;\nb: async func();")
    assert isinstance(a, ast.FuncDecl) and isinstance(b, ast.FuncDecl)
    assert [p.name.name for p in a.func.params] == ["x", "y"]
    assert isinstance(a.func.result, ast.Primitive) and not a.func.is_async
    assert b.func.is_async and b.func.result is None


# --------------------------------------------------------------------------- worlds


def test_world_items() -> None:
    f = parse(
        "package a:b;\nworld w {\n"
        "  import x: func();\n"
        "  export y: interface { f: func(); }\n"
        "  import local;\n"
        "  import ns:pkg/iface@1.0.0;\n"
        "  import label: ns:pkg/iface;\n"
        "  export label2: local;\n"
        "  include other with { a as b, c as d }\n"
        "  include ns:pkg/w;\n"
        "  use local.{t};\n"
        "  type t2 = u32;\n"
        "  resource r;\n"
        "}\n"
    )
    (world,) = f.items
    assert isinstance(world, ast.WorldDecl)
    kinds = [
        type(i).__name__ + ("/" + type(i.kind).__name__ if hasattr(i, "kind") else "")
        for i in world.items
    ]
    assert kinds == [
        "ImportDecl/ExternFunc",
        "ExportDecl/ExternInterface",
        "ImportDecl/ExternPath",
        "ImportDecl/ExternPath",
        "ImportDecl/ExternNamedPath",
        "ExportDecl/ExternNamedPath",
        "IncludeDecl",
        "IncludeDecl",
        "UseDecl",
        "TypeAliasDecl",
        "ResourceDecl",
    ]
    include = world.items[6]
    assert isinstance(include, ast.IncludeDecl)
    assert [(n.name.name, n.alias.name) for n in include.names] == [
        ("a", "b"),
        ("c", "d"),
    ]


# --------------------------------------------------------------------------- gates


def test_gates() -> None:
    f = parse(
        "package a:b@1.0.0;\n"
        "@since(version = 1.0.0)\n@deprecated(version = 1.0.0-rc.1)\ninterface i {\n"
        '  @unstable(feature = fancy)\n  @external-id("x\\"y\\u{263a}")\n  f: func();\n}'
    )
    (iface,) = f.items
    assert isinstance(iface, ast.InterfaceDecl)
    since, deprecated = iface.attributes
    assert isinstance(since, ast.Since) and since.version == "1.0.0"
    assert since.span.text() == "since"
    assert isinstance(deprecated, ast.Deprecated) and deprecated.version == "1.0.0-rc.1"
    (func,) = iface.items
    assert isinstance(func, ast.FuncDecl)
    unstable, ext = func.attributes
    assert isinstance(unstable, ast.Unstable) and unstable.feature == "fancy"
    assert isinstance(ext, ast.ExternalId) and ext.value == 'x"y\u263a'


# --------------------------------------------------------------------------- names


def test_explicit_ids_drop_the_percent() -> None:
    (func,) = iface_items("%variant: func(%enum: %record) -> %type;")
    assert isinstance(func, ast.FuncDecl)
    assert func.name.name == "variant"
    assert func.name.span.text() == "%variant"
    assert func.func.params[0].name.name == "enum"


@pytest.mark.parametrize("name", ["a", "a-b", "a1-b2", "ABC-def", "a-1", "xml-HTTP"])
def test_valid_kebab_names(name: str) -> None:
    (item,) = iface_items(f"type {name} = u8;")
    assert isinstance(item, ast.TypeAliasDecl) and item.name.name == name


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("aB", "invalid character in identifier 'B'"),
        ("a_b", "invalid character in identifier '_'"),
        ("_a", "invalid character in identifier '_'"),
        ("é", "invalid character in identifier 'é'"),
        ("a--b", "identifiers must have characters between '-'s"),
        ("a-", "identifiers must have characters between '-'s"),
        ("%1", "identifiers must have characters between '-'s"),
    ],
)
def test_invalid_kebab_names(name: str, message: str) -> None:
    assert error(f"package a:b;\ninterface i {{\n  type {name} = u8;\n}}") == (
        message,
        3,
        8,
    )


@pytest.mark.parametrize("keyword", ["record", "type", "from", "error-context", "_", "list"])
def test_keywords_are_not_identifiers(keyword: str) -> None:
    assert error(f"package a:b;\ninterface {keyword} {{}}") == (
        f"expected an identifier or string, found keyword `{keyword}`",
        2,
        11,
    )


# --------------------------------------------------------------------------- spans


def test_spans_are_character_offsets() -> None:
    text = "// é comment\npackage a:b;\ninterface héllo-x {}"
    with pytest.raises(WitError) as info:
        parse(text)
    assert info.value.span is not None
    assert info.value.span.source.line_col(info.value.span.start) == (3, 11)
    f = parse("// é\npackage a:b;\ninterface i { f: func(); }")
    (iface,) = f.items
    assert isinstance(iface, ast.InterfaceDecl)
    assert iface.name.span.text() == "i"
    assert iface.name.span.source.line_col(iface.name.span.start) == (3, 11)
    (func,) = iface.items
    assert isinstance(func, ast.FuncDecl)
    assert func.func.span.text() == "func"


# --------------------------------------------------------------------------- docs


def test_docs_attach_to_the_next_item() -> None:
    f = parse(
        "/// package docs\npackage a:b;\n\n// plain comment\n/* block */\ninterface i {\n"
        "  /// record docs\n  record r {\n    /// field docs\n    a: u8,\n  }\n"
        "  /// gated\n  @since(version = 1.0.0)\n  /// dropped: after the attribute\n  f: func();\n}\n"
    )
    assert f.package is not None
    assert f.package.docs.contents == "package docs"
    (iface,) = f.items
    assert isinstance(iface, ast.InterfaceDecl)
    assert iface.docs.contents == " plain comment\n* block */"
    rec, func = iface.items
    assert isinstance(rec, ast.RecordDecl)
    assert rec.docs.contents == "record docs"
    assert rec.fields[0].docs.contents == "field docs"
    assert func.docs.contents == "gated"


@pytest.mark.parametrize(
    ("comments", "expected"),
    [
        (["/// a"], "a"),
        (["/// a", "///   b"], "a\n  b"),
        (["/** x */"], "x"),
        (["/* x */"], "* x */"),
        (["///", "/// a"], "\na"),
        (["///   a", "/// b", "///", "//  c"], "  a\nb\n\n c"),
        (["/** x\n   * y\n   */"], "x\n   * y"),
        (["//\tx", "// y"], "\tx\ny"),
        (["/// a", "///"], "a"),
        ([], None),
    ],
)
def test_normalize_docs(comments: list[str], expected: str | None) -> None:
    assert normalize_docs(comments) == expected


# --------------------------------------------------------------------------- syntax errors


SYNTAX_ERRORS = [
    # columns count characters, not bytes
    ("package a:b;\n/* éé */ interface x { type t = u8 $ }", "unexpected character '$'", 2, 38),
    # LALR reduces the version on the `.`; the message keeps the reference's context
    ("package a:b@1.0.0-a..b;", "expected '{', found '.'", 1, 20),
    # a non-kebab identifier where none may stand is a syntax error first
    (
        "package a:b;\nworld w {\n  a--b\n}",
        "expected `import`, `export`, `include`, `use`, or type definition, found an identifier",
        3,
        3,
    ),
    ("package a:b;\ninterface i {\n  variant v { a @since }\n}", "expected '}', found `@`", 3, 17),
    (
        "package a:b;\ninterface i {\n  @since(version = 1.0.0) package a:c {}\n}",
        "expected `type`, `resource` or `func`, found keyword `package`",
        3,
        27,
    ),
    ("package a:b;\n@since(version = 1.0.0) use a.{b};", "expected ';', found '.'", 2, 30),
    ("package a:b;\ninterface i { resource r }", "expected ';', found '}'", 2, 26),
    ("package a:b@1.0.0-a.1 = 1", "expected '{', found '='", 1, 23),
    ("package a:b@1.0.1-a+a 0 {}", "unexpected character ' ' after build metadata", 1, 13),
    ("package a:b@1..0;", "expected an integer, found '.'", 1, 15),
    (
        "package a:b;\ninterface x { type }",
        "expected an identifier or string, found '}'",
        2,
        20,
    ),
    (
        "package a:b;\ninterface x {",
        "expected `type`, `resource` or `func`, found eof",
        2,
        14,
    ),
    (
        "package a:b;\nworld w { foo }",
        "expected `import`, `export`, `include`, `use`, or type definition, found an identifier",
        2,
        11,
    ),
    ("package a:b;\n}", "expected `world`, `interface` or `use`, found '}'", 2, 1),
    (
        "package a:b;\ninterface x { f: func() x }",
        "expected ';', found an identifier",
        2,
        25,
    ),
    (
        "package a:b;\ninterface x { type t = list<u8 }",
        "expected '>', found '}'",
        2,
        32,
    ),
    (
        "package a:b;\ninterface x { type t = list<u8, x> }",
        "expected fixed-length, found an identifier",
        2,
        33,
    ),
    (
        "package a:b;\ninterface x { type t = * }",
        "expected a type, found `*`",
        2,
        24,
    ),
    (
        "package a:b;\ninterface x { type t = u32 %foo }",
        "expected ';', found an '%' identifier",
        2,
        28,
    ),
    (
        'package a:b;\ninterface x { type t = "s" }',
        "expected a type, found a string literal",
        2,
        24,
    ),
    (
        "package a:b;\ninterface x { resource r { async constructor(); } }",
        "expected `constructor` or identifier, found keyword `async`",
        2,
        28,
    ),
    (
        "package a:b;\ninterface x { resource r { x: async static func(); } }",
        "expected keyword `func`, found keyword `static`",
        2,
        37,
    ),
    (
        "package a:b;\n@since interface x {}",
        "expected '(', found keyword `interface`",
        2,
        8,
    ),
    (
        "package a:b;\n@since(feature = 1.0.0) interface x {}",
        "expected `version`, found `feature`",
        2,
        8,
    ),
    ("package a:b;\n@foo interface x {}", "unknown attribute `foo`", 2, 2),
    (
        "package a:b;\n@since(version = x) interface x {}",
        "expected an integer, found an identifier",
        2,
        18,
    ),
    (
        "package a:b;\n@external-id(x) interface x {}",
        "expected a string literal, found an identifier",
        2,
        14,
    ),
    ("package a:b;\npackage c:d;", "expected '{', found ';'", 2, 12),
    (
        "package a:b;\n@since(version = 1.0.0) package a:c {}",
        "cannot place attributes on nested packages",
        2,
        25,
    ),
    (
        "package a:b;\npackage a:c { package a:d {} }",
        "nested packages must be placed at the top-level",
        2,
        23,
    ),
    ("package a:b@01.0.0;", "invalid leading zero in major version number", 1, 13),
    (
        "package a:b@1.0.0-rc.01;",
        "invalid leading zero in pre-release identifier",
        1,
        13,
    ),
    (
        "package a:b;\ninterface x { type t = list<u8, 4294967296>; }",
        "invalid list size: number too large to fit in target type",
        2,
        33,
    ),
    (
        "package a:b;\ninterface x { type t = u8 $ }",
        "unexpected character '$'",
        2,
        27,
    ),
    ("package a:b;\ninterface x { /* /* */ ", "unterminated block comment", 2, 15),
    (
        'package a:b;\nworld w { @external-id("a\nb") import x: func(); }',
        "invalid string character '\\n'",
        2,
        26,
    ),
    ('package a:b;\nworld w { @external-id("ab', "unexpected end of file", 2, 27),
    ("package a:b;\ninterface x {} \x01", "Control code '\\u{1}'", 2, 16),
    (
        "package a:b;\ninterface x {} // \u202e",
        "Input contains bidirectional override codepoint EscapeUnicode(EscapeIterInner('\\u{202e}'))",
        2,
        19,
    ),
    (
        "package a:b;\ninterface x { f: func() -> (a: u8); }",
        "expected a type, found '('",
        2,
        28,
    ),
    (
        "package a:b;\nworld b { include a with { foo:foo/foo as x } }",
        "expected keyword `as`, found ':'",
        2,
        31,
    ),
]


@pytest.mark.parametrize(("text", "message", "line", "col"), SYNTAX_ERRORS)
def test_syntax_errors(text: str, message: str, line: int, col: int) -> None:
    assert error(text) == (message, line, col)


@pytest.mark.parametrize(("text", "message", "line", "col"), SYNTAX_ERRORS)
def test_syntax_errors_are_the_reference_ones(
    wasm_tools: str, tmp_path: Path, text: str, message: str, line: int, col: int
) -> None:
    """The expectations above are what wasm-tools 1.262 prints."""
    path = tmp_path / "t.wit"
    path.write_text(text, encoding="utf-8")
    proc = subprocess.run(
        [wasm_tools, "component", "wit", "--json", path.name],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    lines = proc.stderr.splitlines()
    assert lines[0] == f"error: {message}"
    assert lines[1] == f"     --> t.wit:{line}:{col}"
    with pytest.raises(WitError) as info:
        parse(text)
    assert proc.stderr.rstrip("\n") == "error: " + info.value.render()


def test_type_nesting_limit() -> None:
    # The reference parser allows 100 levels of types; the leaf counts as one.
    ok = "package a:b;\ninterface x { type t = " + "list<" * 99 + "u8" + ">" * 99 + "; }"
    parse(ok)
    leaf = "package a:b;\ninterface x { type t = " + "list<" * 100 + "u8" + ">" * 100 + "; }"
    assert error(leaf) == ("type nesting too deep", 2, 524)
    deep = "package a:b;\ninterface x {\ntype t =\n" + "option<\n" * 101 + "u8" + ">" * 101 + "; }"
    assert error(deep) == ("type nesting too deep", 104, 1)
    members = (
        "package a:b;\ninterface x {\ntype t =\n" + "tuple<u8, \n" * 100 + "borrow<r" + ">" * 101
    )
    assert error(members + "; }") == ("type nesting too deep", 103, 7)


def test_package_nesting_limit() -> None:
    text = "package a:b;\n" + "".join(f"package a:n{i} {{\n" for i in range(101)) + "}\n" * 101
    assert error(text) == ("package nesting too deep", 102, 1)


# --------------------------------------------------------------------------- corpus


def _corpus_valid(shared: Path) -> list[Path]:
    root = shared / "corpus" / "wit-parser-ui" / "ui"
    return sorted(p for p in root.rglob("*.wit") if "parse-fail" not in p.parts)


def test_every_valid_corpus_file_parses(shared: Path) -> None:
    files = _corpus_valid(shared) + sorted((shared / "corpus" / "real").rglob("*.wit"))
    assert len(files) > 100
    for path in files:
        f = parse_file(Source(str(path), path.read_text(encoding="utf-8")))
        assert isinstance(f, ast.File), path


# Messages that only the syntax stage produces (the rest are the resolver's).
_SYNTAX_MESSAGES = re.compile(
    r"expected |unexpected |unknown attribute|type nesting too deep|package nesting too deep|"
    r"nested packages must be placed|invalid character in identifier|identifiers must have|"
    r"unterminated |invalid string character|Control code|Input contains bidirectional|"
    r"invalid leading zero|invalid list size|cannot place attributes"
)


def _reference_error(wasm_tools: str, path: Path) -> tuple[str, str | None]:
    """The reference parser's first message (prefixes removed) and its `file:line:col`."""
    proc = subprocess.run(
        [wasm_tools, "component", "wit", "--json", "--features", "active", path.name],
        capture_output=True,
        text=True,
        cwd=path.parent,
    )
    assert proc.returncode != 0, f"wasm-tools accepts {path}"
    first = proc.stderr.splitlines()[0].removeprefix("error: ")
    first = re.sub(r"^failed to parse package: [^:]+: ", "", first)
    where = re.search(r"--> (\S+:\d+:\d+)", proc.stderr) or re.match(r"(\S+:\d+:\d+): ", first)
    if where is not None and first.startswith(where.group(1)):
        first = first[len(where.group(1)) + 2 :]
    return first, where.group(1) if where else None


def _parse_fail_cases() -> list[str]:
    from conftest import SHARED

    root = SHARED / "corpus" / "wit-parser-ui" / "ui" / "parse-fail"
    if not root.is_dir():
        return ["(shared corpus absent)"]
    return sorted(p.name for p in root.iterdir() if not p.name.endswith(".result"))


@pytest.mark.parametrize("case", _parse_fail_cases())
def test_parse_fail_corpus_syntax_errors(shared: Path, wasm_tools: str, case: str) -> None:
    """Syntax errors: same first line at the same place as wasm-tools; other errors parse."""
    path = shared / "corpus" / "wit-parser-ui" / "ui" / "parse-fail" / case
    files = sorted(path.glob("*.wit")) if path.is_dir() else [path]
    message, where = _reference_error(wasm_tools, path)
    mine: WitError | None = None
    for file in files:
        try:
            parse_file(Source(str(file.relative_to(path.parent)), file.read_text(encoding="utf-8")))
        except WitError as exc:
            mine = exc
            break
    if mine is None:
        assert not _SYNTAX_MESSAGES.match(message), f"wasm-tools: {message} at {where}"
        return
    assert mine.span is not None
    line, col = mine.span.source.line_col(mine.span.start)
    assert (mine.message, f"{mine.span.source.path}:{line}:{col}") == (message, where)


# --------------------------------------------------------------------------- carets

# (text, column, caret): what wasm-tools 1.262 prints under the source line. Its tokenizer's
# errors (a missing token, a bad character or identifier) mark a position with a lone `^`;
# its rules' errors (a phrase such as `a type`, an unknown attribute, a bad version or list
# size) underline the whole token.
CARETS = [
    ("package a:b;\ninterface x {\n  type t = u32\n  record r {}\n}\n", 3, "^"),
    ("package a:b;\ninterface x { resource r { x: async static func(); } }", 37, "^"),
    ("package a:b;\n@since interface x {}", 8, "^"),
    ("package a:b;\ninterface x { type t = u32 %foo }", 28, "^"),
    ("package a:b;\ninterface x { f: func() package a:c {} }", 25, "^"),
    ("package a:b;\ninterface x {", 14, "^"),
    ("package a:b;\ninterface x { type t = foo-Bar; }", 24, "^"),
    ("package a:b;\ninterface x { type t = foo--bar; }", 24, "^"),
    ("package a:b;\ninterface x { type t = u8 \u20ac }", 27, "^"),
    ("package a:b;\ninterface x {} // \u202e", 19, "^"),
    ("package a:b;\nworld w {}\n  import foo: func();", 3, "^-----"),
    ("package a:b;\ninterface x { type t = record; }", 24, "^-----"),
    ("package a:b;\ninterface record {}", 11, "^-----"),
    ("package a:b;\n\u00e9t\u00e9 x {}", 1, "^--"),  # one mark per character, not per byte
    ("package a:b;\ninterface x { type t = list<u8, u32>; }", 33, "^--"),
    ("package a:b;\n@foo interface x {}", 2, "^--"),
    ("package a:b;\n@since(feature = 1.0.0) interface x {}", 8, "^------"),
    ("package a:b@01.0.0;", 13, "^-----"),
    ("package a:b;\ninterface x { type t = list<u8, 4294967296>; }", 33, "^---------"),
    ("package a:b;\n@since(version = 1.0.0) package a:c {}", 25, "^------"),
]


@pytest.mark.parametrize(("text", "col", "caret"), CARETS)
def test_syntax_error_carets(text: str, col: int, caret: str) -> None:
    with pytest.raises(WitError) as info:
        parse(text)
    assert info.value.render().splitlines()[-1] == "      | " + " " * (col - 1) + caret


@pytest.mark.parametrize(("text", "col", "caret"), CARETS)
def test_syntax_error_carets_are_the_reference_ones(
    wasm_tools: str, tmp_path: Path, text: str, col: int, caret: str
) -> None:
    """The whole diagnostic is the one wasm-tools 1.262 prints."""
    path = tmp_path / "t.wit"
    path.write_text(text, encoding="utf-8")
    proc = subprocess.run(
        [wasm_tools, "component", "wit", "--json", path.name],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.stderr.splitlines()[-1] == "      | " + " " * (col - 1) + caret
    with pytest.raises(WitError) as info:
        parse(text)
    assert proc.stderr.rstrip("\n") == "error: " + info.value.render()


# --------------------------------------------------------------------------- loading

# Checked when a file or folder is loaded, with the reference's messages, places and carets:
# attributes on a top-level `use` are the resolver's to reject (after the whole file has
# parsed, and after its other checks on the file's names); a file given on its own whose
# first WebAssembly-text token is `(` is read as WAT.
LOADED = [
    (
        "package a:b;\n@since(version = 1.0.0) use a:b/c;",
        "attributes not allowed on top-level use",
        2,
        25,
        "^--",
    ),
    (
        "package a:b;\n@since(version = 1.0.0) use c as d;\ninterface c {}",
        "attributes not allowed on top-level use",
        2,
        25,
        "^--",
    ),
    (
        "package a:b;\n@since(version = 1.0.0) use c;\ninterface c {}",
        "duplicate name `c` in this file",
        3,
        11,
        "^",
    ),
    (
        "package a:b;\n@since(version = 1.0.0) use a:b/c.{d};",
        "expected ';', found '.'",
        2,
        34,
        "^",
    ),
    ("(", "expected valid module field", 1, 2, "^"),
    ("( package a:b;", "expected valid module field", 1, 3, "^"),
    (";; wat\n(interface x {}", "expected valid module field", 2, 2, "^"),
    ("(; (; wat ;) ;)\n(\n  world w {}", "expected valid module field", 3, 3, "^"),
    (
        "// wit\n(interface x {}",
        "expected `world`, `interface` or `use`, found '('",
        2,
        1,
        "^",
    ),
    ("(; unclosed", "expected `world`, `interface` or `use`, found '('", 1, 1, "^"),
]


def _load_error(path: Path) -> str:
    from witgen.resolver import load

    with pytest.raises(WitError) as info:
        load(path.name, features=("active",))
    return info.value.render()


@pytest.mark.parametrize(("text", "message", "line", "col", "caret"), LOADED)
def test_load_errors(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    text: str,
    message: str,
    line: int,
    col: int,
    caret: str,
) -> None:
    (tmp_path / "t.wit").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    lines = _load_error(tmp_path / "t.wit").splitlines()
    assert lines[:2] == [message, f"     --> t.wit:{line}:{col}"]
    assert lines[-1] == "      | " + " " * (col - 1) + caret


@pytest.mark.parametrize(("text", "message", "line", "col", "caret"), LOADED)
def test_load_errors_are_the_reference_ones(
    wasm_tools: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    text: str,
    message: str,
    line: int,
    col: int,
    caret: str,
) -> None:
    (tmp_path / "t.wit").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    proc = subprocess.run(
        [wasm_tools, "component", "wit", "--json", "--features", "active", "t.wit"],
        capture_output=True,
        text=True,
    )
    assert proc.stderr.splitlines()[0] == f"error: {message}"
    assert proc.stderr.rstrip("\n") == "error: " + _load_error(tmp_path / "t.wit")


@pytest.mark.parametrize(
    ("file", "message"),
    [
        ("b.wit", "expected `world`, `interface` or `use`, found '('"),
        ("deps/x.wit", "expected valid module field"),
    ],
)
def test_wat_only_for_files_given_on_their_own(
    tmp_path: Path, wasm_tools: str, file: str, message: str
) -> None:
    """A `(` file is WIT in a package folder (a syntax error), but WAT in `deps/`."""
    from witgen.resolver import load

    (tmp_path / "a.wit").write_text("package a:b;\nworld w {}\n", encoding="utf-8")
    (tmp_path / "deps").mkdir()
    (tmp_path / file).write_text("(interface x {}", encoding="utf-8")
    with pytest.raises(WitError) as info:
        load(str(tmp_path))
    mine = info.value.render()
    assert mine.splitlines()[0].endswith(f": {message}")
    proc = subprocess.run(
        [wasm_tools, "component", "wit", "--json", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert proc.stderr.rstrip("\n") == "error: " + mine
