"""The `host` part of a world module: `<World>Host`, the world's component host on wasmtime.

For a world a component targets, `<World>Host(component, *, <import>=provider, bus=...)`
subclasses `witgen.runtime.wasm.host.ComponentHost` with the world's imports and exports
(their `FUNCTIONS` registries) filled in. Each imported interface is a keyword taking the
object that answers it (its methods named as the provider Protocols name them); imports
without one go to `bus`. Exports are typed: an exported interface is an attribute
(`host.state.get_data()` -> `Ok[bytes] | Err[state.Error]`, a `<World>Host<Iface>` object)
and world-level exported functions are methods of the host. Resource members of exported
interfaces are left to `host.call(instance, function, *args)`.
"""

from __future__ import annotations

from msgspec import Struct, field

from witgen import model as m
from witgen.codegen.render import Chunk, chunk
from witgen.codegen.services import Services
from witgen.codegen.types import function_names, param_names
from witgen.naming import docstring, pascal, snake

__all__ = ["host_chunks"]

# Attributes of ComponentHost that generated members must not shadow.
HOST_RESERVED = frozenset(
    {"bus", "call", "component", "deadline", "definers", "dispatch_table", "engine", "exports", "guard",
     "imports", "instance", "linker", "methods", "name", "providers", "resource_id", "routes", "serve",
     "store", "wasi", "IMPORTS", "EXPORTS", "METHODS"}
)  # fmt: skip


class HostMethod(Struct):
    name: str
    wire: str
    doc: str
    signature: str
    args: str
    result: str


class HostImport(Struct):
    instance: str
    kw: str
    functions: str
    methods: list[tuple[str, str]]


class HostExport(Struct):
    instance: str
    attr: str  # "" for world-level functions
    cls: str
    doc: str
    functions: str
    wires: list[str] = field(default_factory=list)
    methods: list[HostMethod] = field(default_factory=list)


class HostView(Struct):
    name: str
    world: str
    doc: str
    imports: list[HostImport]
    exports: list[HostExport]
    world_methods: list[HostMethod]


def _free(name: str, taken: set[str]) -> str:
    while name in taken or name in HOST_RESERVED:
        name += "_"
    taken.add(name)
    return name


def host_chunks(svc: Services) -> list[Chunk]:
    """The host class of `svc`'s world (and one typed class per exported interface)."""
    r, world = svc.r, svc.world
    base = pascal(world.name).rstrip("_")
    host_name = svc.claim(f"{base}Host", "host")
    kws: set[str] = set()
    attrs: set[str] = set()
    imports: list[HostImport] = []
    world_imports = [i.function for i in world.imports.values() if isinstance(i, m.FunctionItem)]
    for key, item in world.imports.items():
        if isinstance(item, m.InterfaceItem):
            iface = r.interfaces[item.id]
            instance = r.interface_id(item.id) if iface.name is not None else str(key)
            funcs = list(iface.functions.values())
            kw = _free(snake(iface.name or str(key)), kws)
            names = [(function_names(f, r)[0], _method(f, r)) for f in funcs]
            imports.append(HostImport(instance, kw, svc.functions_ref(item), names))
    if world_imports:
        names = [(function_names(f, r)[0], _method(f, r)) for f in world_imports]
        imports.append(HostImport("", _free("functions", kws), _subset("FUNCTIONS", names), names))

    exports: list[HostExport] = []
    world_methods: list[HostMethod] = []
    for key, item in world.exports.items():
        if isinstance(item, m.InterfaceItem):
            iface = r.interfaces[item.id]
            instance = r.interface_id(item.id) if iface.name is not None else str(key)
            attr = _free(snake(iface.name or str(key)), attrs)
            cls = svc.claim(f"{host_name}{pascal(iface.name or str(key)).rstrip('_')}", f"host {instance}")
            export = HostExport(instance, attr, cls, docstring(iface.docs), svc.functions_ref(item))
            taken: set[str] = set()
            for f in iface.functions.values():
                if f.kind.kind in ("freestanding", "async-freestanding"):
                    export.methods.append(_host_method(svc, f, taken))
            exports.append(export)
        elif isinstance(item, m.FunctionItem):
            world_methods.append(_host_method(svc, item.function, attrs))
    if world_methods:
        wires = [mth.wire for mth in world_methods]
        exports.append(HostExport("", "", "", "", _subset("FUNCTIONS", [(w, w) for w in wires]), wires))
    world_id = world.name
    if world.package is not None:
        pkg = r.packages[world.package].name
        world_id = f"{pkg.namespace}:{pkg.name}/{world.name}" + (f"@{pkg.version}" if pkg.version else "")
    view = HostView(host_name, world_id, docstring(world.docs), imports, exports, world_methods)
    return [chunk("host.py.jinja", h=view)]


def _method(f: m.Function, r: m.Resolve) -> str:
    """The provider's Python method for `f` (as the provider Protocols name it)."""
    _, py, member = function_names(f, r)
    return member if f.kind.kind in ("method", "async-method") else py


def _subset(registry: str, names: list[tuple[str, str]]) -> str:
    inner = ", ".join(f'"{w}": {registry}["{w}"]' for w, _ in names)
    return "{" + inner + "}"


def _host_method(svc: Services, f: m.Function, taken: set[str]) -> HostMethod:
    wire, py, _ = function_names(f, svc.r)
    names = param_names(f)
    params = [(n, svc.convert(p.type, lambda rid: False, svc.em.annot)) for n, p in zip(names, f.params, strict=True)]
    result = svc.convert(f.result, lambda rid: False, svc.em.annot)
    return HostMethod(
        name=_free(py, taken),
        wire=wire,
        doc=docstring(f.docs),
        signature="".join(f", {n}: {a}" for n, a in params),
        args="".join(f", {n}" for n, _ in params),
        result=result,
    )
