"""Loading: files and folders, `deps/`, nested packages, and package order.

A folder is one package (its top-level `.wit` files, sorted by path) plus the
packages nested in those files; `deps/` holds dependencies (folders or single
`.wit` files), sorted by name. Packages are pushed in name order, each after the
packages it depends on (wit-resolution.md §1).
"""

from __future__ import annotations

import os
from collections.abc import Collection
from typing import Protocol

from msgspec import Struct

try:  # hashlib's import loads OpenSSL, which a run from the caches does not need
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - an interpreter built without it
    from hashlib import blake2b

from witgen import model
from witgen.frontend import ast
from witgen.errors import Source, Span, WitError, rust_debug_str
from witgen.frontend.parser import parse_file
from witgen.resolver.append import Remap
from witgen.resolver.arenas import Arenas
from witgen.resolver.gates import Gates
from witgen.resolver.package import PackageResolver
from witgen.resolver.semver import package_sort_key
from witgen.resolver.unresolved import UnresolvedPackage


class Group(Struct):
    """The packages of one folder or file: nested ones (in order), then the main one."""

    nested: list[UnresolvedPackage]
    main: UnresolvedPackage


class Parse(Protocol):
    """`witgen.frontend.parser.parse_file`'s signature."""

    def __call__(self, source: Source, wat: bool = False, /) -> ast.File: ...


# The parser the loader calls; `witgen.workflow.astcache` puts a disk cache in front of it.
parse: Parse = parse_file


class GroupCache(Protocol):
    """Stage-A results kept between runs, by a digest of their files' paths and texts."""

    def get_group(self, key: str) -> Group | None: ...

    def put_group(self, key: str, group: Group) -> None: ...


# Installed with the parse cache (`witgen.workflow.astcache.installed`): a package whose
# files are those of an earlier run is neither parsed nor resolved again in stage A.
group_cache: GroupCache | None = None


def group_key(sources: list[Source], wat: bool) -> str:
    """What a group is a function of: its files' paths and texts, in order, and `wat`."""
    h = blake2b(f"wat={wat}".encode(), digest_size=32)
    for source in sources:
        h.update(f"\0{len(source.path)}:{source.path}\0{len(source.text)}:".encode())
        h.update(source.text.encode("utf-8", "surrogatepass"))
    return h.hexdigest()


# How the reference words a file that is not UTF-8, by where the file was named.
NOT_UTF8_FILE = "input was not valid utf-8"  # the file given on the command line
NOT_UTF8_DEP = "input file is not valid utf-8 [{path}]"  # a single-file dependency
NOT_UTF8_IN_FOLDER = "failed to read file {quoted}: stream did not contain valid UTF-8"


def _read(path: str, not_utf8: str) -> Source:
    """The text of `path`; a WitError worded by `not_utf8` when it is not UTF-8."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise WitError(not_utf8.format(path=path, quoted=rust_debug_str(path))) from None
    return Source(path, text)


def parse_files(paths: list[str], wat: bool = False, not_utf8: str = NOT_UTF8_IN_FOLDER) -> Group:
    """Parse and stage-A resolve the files of one package (in the order given).

    `wat`: single files, which the reference reads as WAT when they start with `(`.
    Every file is read before any is parsed, as the reference does.
    """
    sources = [_read(path, not_utf8) for path in paths]
    cache = group_cache
    key = group_key(sources, wat) if cache is not None else ""
    if cache is not None and (known := cache.get_group(key)) is not None:
        return known
    resolver = PackageResolver()
    nested: list[UnresolvedPackage] = []
    for source in sources:
        file = parse(source, wat)
        items: list[ast.TopLevelItem] = []
        for item in file.items:
            if isinstance(item, ast.NestedPackage):
                inner = PackageResolver()
                inner.push(ast.PackageDecl(item.docs, (), item.name), item.items)
                pkg = inner.resolve()
                assert pkg is not None
                nested.append(pkg)
            else:
                items.append(item)
        resolver.push(file.package, tuple(items))
    main = resolver.resolve()
    if main is None:
        raise WitError("no `package` header was found in any WIT file for this package")
    group = Group(nested, main)
    if cache is not None:
        cache.put_group(key, group)
    return group


def parse_dir(path: str) -> Group:
    """The package of a folder: its `.wit` files (not subfolders), sorted by path."""
    files: list[str] = []
    for entry in os.scandir(path):
        if entry.is_dir(follow_symlinks=True) or not entry.name.endswith(".wit"):
            continue
        files.append(os.path.join(path, entry.name))
    files.sort(key=os.fsencode)
    return parse_files(files)


def parse_deps_dir(path: str) -> list[Group | model.Resolve]:
    """Every package group in a `deps/` folder, in file-name order (a `.wasm` or `.wat`
    file is a WIT package encoded as a component: decoded, with the packages it uses)."""
    if not os.path.exists(path):
        return []
    groups: list[Group | model.Resolve] = []
    for entry in sorted(os.scandir(path), key=lambda e: os.fsencode(e.name)):
        if entry.is_dir(follow_symlinks=True):
            try:
                groups.append(parse_dir(entry.path))
            except WitError as exc:
                raise exc.with_prefix(f"failed to parse package: {entry.path}: ") from None
            continue
        ext = os.path.splitext(entry.name)[1]
        if ext == ".wit":
            groups.append(parse_files([entry.path], wat=True, not_utf8=NOT_UTF8_DEP))
        elif ext in (".wasm", ".wat"):
            from witgen.binary import load_binary

            groups.append(load_binary(entry.path, package_only=True))
    return groups


def _location(span: Span) -> str:
    line, col = span.source.line_col(span.start)
    return f"{span.source.path}:{line}:{col}"


def push_groups(main: Group, deps: list[Group | model.Resolve], gates: Gates) -> model.Resolve:
    """Order every package of `main` and `deps` and push them into one Resolve (decoded
    binary packages first, as they were read)."""
    binaries = [d for d in deps if isinstance(d, model.Resolve)]
    texts = [d for d in deps if isinstance(d, Group)]
    by_name: dict[model.PackageName, UnresolvedPackage] = {}
    for group in (main, *texts):
        for pkg in (*group.nested, group.main):
            prev = by_name.get(pkg.name)
            if prev is not None:
                raise WitError(
                    f"package `{pkg.name}` is defined in two different locations:\n"
                    f"  * {_location(pkg.name_span)}\n"
                    f"  * {_location(prev.name_span)}"
                )
            by_name[pkg.name] = pkg
    order: dict[model.PackageName, None] = {}
    visiting: set[model.PackageName] = set()

    def visit(pkg: UnresolvedPackage) -> None:
        if pkg.name in order:
            return
        for dep, span in zip(pkg.foreign_deps, pkg.foreign_dep_spans):
            if dep in visiting:
                raise WitError(f"package `{dep}` creates a dependency cycle", span)
            visiting.add(dep)
            found = by_name.get(dep)
            if found is not None:
                visit(found)
            visiting.discard(dep)
        order[pkg.name] = None

    for name in sorted(by_name, key=package_sort_key):
        visit(by_name[name])
    g = Arenas(gates)
    for binary in binaries:
        from witgen.binary.merge import append_packages

        append_packages(g.types, g.interfaces, g.worlds, g.packages, g.package_names, binary, "deps")
    root = None
    for name in order:
        pkgid = Remap(g, by_name[name]).append()
        if name == main.main.name:
            root = pkgid
    return g.freeze(root)


def load(
    path: str | os.PathLike[str],
    features: Collection[str] = (),
    all_features: bool = False,
) -> model.Resolve:
    """Load a `.wit` file or a package folder (with its `deps/`) into a Resolve.

    Raises `WitError` for invalid WIT (rendered as the reference parser renders
    it, with the folder prefixes it adds) and `OSError` for unreadable paths.
    """
    p = os.fspath(path)
    gates = Gates(features, all_features)
    if os.path.isdir(p):
        if not _holds_wit(p):
            raise WitError(_not_a_wit_folder(p))
        try:
            main = parse_dir(p)
        except WitError as exc:
            raise exc.with_prefix(f"failed to parse package: {p}: ") from None
        deps_dir = os.path.join(p, "deps")
        try:
            deps = parse_deps_dir(deps_dir)
        except WitError as exc:
            raise exc.with_prefix(f"failed to parse dependency directory: {deps_dir}: ") from None
        return push_groups(main, deps, gates)
    from witgen.binary import is_binary_file, load_binary

    if is_binary_file(p):
        return load_binary(p)
    try:
        group = parse_files([p], wat=True, not_utf8=NOT_UTF8_FILE)
    except WitError as exc:
        if not p.endswith(".wit") and exc.hint is None:
            exc.hint = f"{p} is not a .wit file; {WIT_PATHS}"
        raise
    return push_groups(group, [], gates)


WIT_PATHS = "a WIT package is a folder of .wit files (dependencies in its deps/) or one .wit file"


def _holds_wit(folder: str) -> bool:
    """Whether `folder` is a folder with a .wit file in it (not in its subfolders)."""
    try:
        return any(e.name.endswith(".wit") and not e.is_dir() for e in os.scandir(folder))
    except OSError:
        return False


def _not_a_wit_folder(path: str) -> str:
    """The error for a folder without .wit files, pointing at a subfolder that has some."""
    inside = sorted((e.name != "wit", e.name) for e in os.scandir(path) if e.name != "deps" and _holds_wit(e.path))
    hint = f" (try {os.path.join(path, inside[0][1])})" if inside else ""
    return f"{path} is not a WIT folder: it holds no .wit files; {WIT_PATHS}{hint}"
