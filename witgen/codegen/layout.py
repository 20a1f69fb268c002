"""Where every generated item lives: output modules and the Python names inside them.

Layout of one output package OUT (documented in the README):

    OUT/__init__.py                      package marker (header and docstring)
    OUT/<pkg>/__init__.py                one sub-package per WIT package, e.g. `wasi_io_v0_2_8`
    OUT/<pkg>/<interface>.py             types and function descriptions of one interface
    OUT/<pkg>/<world>.py                 world-level types and functions; provider stubs and
                                         dispatch table of its exports; clients of its imports
    OUT/<pkg>/<world>_<name>.py          an inline `import name: interface { .. }` of a world
    OUT/<world>.py                       a world outside any package (`--export`, `--import`)

`Layout` decides all of it once, from the resolve and the selected worlds; templates and
view models only read it. Names are claimed in a `Namespace` per module, so a collision is
a `CodegenError` and never silent shadowing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from msgspec import Struct, field

from witgen import model as m
from witgen.naming import NameCollision, Namespace, package_module, pascal, snake


class CodegenError(Exception):
    """The bindings cannot be generated (unknown world, name collision, ...)."""


class Module(Struct):
    """One generated Python module."""

    dotted: str  # relative to OUT: "wasi_io_v0_2_8.streams"
    kind: str  # "interface" | "world"
    owner: int  # interface or world id
    ns: Namespace
    # Type ids defined in this module, in declaration order.
    types: list[int] = field(default_factory=list)

    @property
    def file(self) -> str:
        return self.dotted.replace(".", "/") + ".py"

    @property
    def package(self) -> str:
        """The WIT package's sub-package, or "" for a module at the top of the output."""
        head, dot, _ = self.dotted.partition(".")
        return head if dot else ""

    @property
    def alias(self) -> str:
        """How other generated modules import this one."""
        return "_" + self.dotted.replace(".", "__")


class TypeNames(Struct, frozen=True):
    """The Python names of one named WIT type."""

    module: str  # dotted module path
    py: str  # class or alias name


def type_refs(kind: m.TypeKind) -> Iterator[m.Type]:
    """The types a type kind refers to directly."""
    match kind:
        case m.Record(fields):
            yield from (f.type for f in fields)
        case m.Tuple(types):
            yield from types
        case m.Variant(cases):
            yield from (c.type for c in cases if c.type is not None)
        case m.Option(t) | m.List(t) | m.FixedList(t, _) | m.Alias(t):
            yield t
        case m.Result(ok, err):
            yield from (t for t in (ok, err) if t is not None)
        case m.Map(k, v):
            yield k
            yield v
        case m.Future(t) | m.Stream(t):
            if t is not None:
                yield t
        case m.Handle(_, resource):
            yield resource


def function_types(f: m.Function) -> Iterator[m.Type]:
    yield from (p.type for p in f.params)
    if f.result is not None:
        yield f.result


class Layout:
    """Modules and names for the selected worlds of a resolve."""

    def __init__(self, resolve: m.Resolve, worlds: Iterable[int], root_package: int | None) -> None:
        self.resolve = resolve
        self.worlds = list(worlds)
        self.modules: dict[str, Module] = {}
        self.interface_module: dict[int, Module] = {}
        self.world_module: dict[int, Module] = {}
        self.names: dict[int, TypeNames] = {}
        self.packages: dict[str, int] = {}  # package module -> package id
        self._package_ns = Namespace("the output package")
        self._file_ns: dict[str, Namespace] = {}
        try:
            self._plan(root_package)
        except NameCollision as exc:
            raise CodegenError(str(exc)) from None

    # ------------------------------------------------------------------ planning

    def _plan(self, root_package: int | None) -> None:
        r = self.resolve
        roots: set[int] = set()
        inline: dict[int, tuple[int, str]] = {}  # inline interface -> (world, key)
        for wid in self.worlds:
            world = r.worlds[wid]
            for key, item in (*world.imports.items(), *world.exports.items()):
                if isinstance(item, m.InterfaceItem):
                    roots.add(item.id)
                    if r.interfaces[item.id].name is None and isinstance(key, str):
                        inline.setdefault(item.id, (wid, key))
        if not self.worlds and root_package is not None:
            roots.update(r.packages[root_package].interfaces.values())
        needed = self._closure(roots)
        for iid in sorted(needed):
            self._add_interface(iid, inline.get(iid))
        for wid in self.worlds:
            self._add_world(wid)
        for mod in sorted(self.modules.values(), key=lambda x: x.dotted):
            self._name_types(mod)

    def _closure(self, roots: set[int]) -> set[int]:
        """`roots` plus every interface whose types they reach."""
        r = self.resolve
        needed: set[int] = set()
        todo = list(roots)
        world_types: list[m.Type] = []
        for wid in self.worlds:
            world = r.worlds[wid]
            for item in (*world.imports.values(), *world.exports.values()):
                if isinstance(item, m.TypeItem):
                    world_types.append(item.id)
                elif isinstance(item, m.FunctionItem):
                    world_types.extend(function_types(item.function))
        seen_types: set[int] = set()

        def visit(ty: m.Type) -> None:
            stack = [ty]
            while stack:
                t = stack.pop()
                if isinstance(t, str) or t in seen_types:
                    continue
                seen_types.add(t)
                td = r.types[t]
                if isinstance(td.owner, m.InterfaceOwner) and td.owner.id not in needed:
                    todo.append(td.owner.id)
                stack.extend(type_refs(td.kind))

        for t in world_types:
            visit(t)
        while todo:
            iid = todo.pop()
            if iid in needed:
                continue
            needed.add(iid)
            iface = r.interfaces[iid]
            for t in iface.types.values():
                visit(t)
            for f in iface.functions.values():
                for t in function_types(f):
                    visit(t)
        return needed

    def _package(self, pid: int | None) -> str:
        if pid is None:
            raise CodegenError("an item outside any package cannot be generated")
        name = self.resolve.packages[pid].name
        mod = package_module(name.namespace, name.name, name.version)
        self._package_ns.claim(mod, str(name))
        self.packages[mod] = pid
        self._file_ns.setdefault(mod, Namespace(f"package {name}", {"__init__": "(package)"}))
        return mod

    def _add_module(self, pkg: str, stem: str, wit: str, kind: str, owner: int) -> Module:
        self._file_ns[pkg].claim(stem, wit)
        dotted = f"{pkg}.{stem}"
        mod = Module(dotted, kind, owner, Namespace(f"module {dotted}"))
        self.modules[dotted] = mod
        return mod

    def _add_interface(self, iid: int, inline: tuple[int, str] | None) -> None:
        iface = self.resolve.interfaces[iid]
        if iface.name is not None:
            pkg = self._package(iface.package)
            stem = snake(iface.name, avoid_builtins=False)
            mod = self._add_module(pkg, stem, f"interface {iface.name}", "interface", iid)
        else:
            if inline is None:
                raise CodegenError(f"inline interface {iid} is not used by a selected world")
            wid, key = inline
            world = self.resolve.worlds[wid]
            pkg = self._package(world.package)
            stem = f"{snake(world.name, avoid_builtins=False)}_{snake(key, avoid_builtins=False)}"
            wit = f"world {world.name} item {key}"
            mod = self._add_module(pkg, stem.rstrip("_"), wit, "interface", iid)
        mod.types.extend(iface.types.values())
        self.interface_module[iid] = mod

    def _add_world(self, wid: int) -> None:
        world = self.resolve.worlds[wid]
        stem = snake(world.name, avoid_builtins=False)
        if world.package is None:
            # A world outside any package (one made of interfaces named on the command
            # line) sits at the top: package modules are `ns_name`, never one word.
            self._package_ns.claim(stem, f"world {world.name}")
            mod = Module(stem, "world", wid, Namespace(f"module {stem}"))
            self.modules[stem] = mod
        else:
            pkg = self._package(world.package)
            mod = self._add_module(pkg, stem, f"world {world.name}", "world", wid)
        for item in (*world.imports.values(), *world.exports.values()):
            if isinstance(item, m.TypeItem):
                td = self.resolve.types[item.id]
                if isinstance(td.owner, m.WorldOwner) and td.owner.id == wid:
                    if item.id not in mod.types:
                        mod.types.append(item.id)
        self.world_module[wid] = mod

    def _name_types(self, mod: Module) -> None:
        for tid in mod.types:
            td = self.resolve.types[tid]
            assert td.name is not None
            cls = mod.ns.claim(pascal(td.name), f"type {td.name}")
            self.names[tid] = TypeNames(mod.dotted, cls)

    # ------------------------------------------------------------------ queries

    def module_of_type(self, tid: int) -> Module:
        return self.modules[self.names[tid].module]

    def claim(self, mod: Module, py_name: str, wit_name: str) -> str:
        try:
            return mod.ns.claim(py_name, wit_name)
        except NameCollision as exc:
            raise CodegenError(str(exc)) from None

    def package_modules(self) -> list[str]:
        return sorted(self.packages)
