"""Core modules: their `component-type*` custom sections describe the component they become.

Each section is a component exporting one component type, the world a bindings generator
targeted (and a `wit-component-encoding` section naming the string encoding). As
wit-component does, every such world is decoded and merged into a world `root` of a
package `root:root`: the world's own types, functions and inline interfaces are cloned
into it, interfaces it names stay in their packages.
"""

from __future__ import annotations

from msgspec import structs

from witgen import model
from witgen.binary.builder import PackageDraft
from witgen.binary.component import read_component
from witgen.binary.decoder import DecodeError, Decoder
from witgen.binary.merge import append_packages
from witgen.binary.reader import COMPONENT_VERSION, MAGIC, BinaryError, Reader
from witgen.errors import WitError

ENCODING_SECTION = "wit-component-encoding"
ENCODING_VERSION = 0x04


def component_type_sections(data: bytes) -> list[tuple[str, bytes]]:
    """The `component-type*` custom sections of the core module `data`: (name, content)."""
    r = Reader(data, 8, len(data), "header")
    found: list[tuple[str, bytes]] = []
    while not r.at_end():
        r.section = "header"
        sid = r.u8()
        sec = r.sub(r.u32(), "custom" if sid == 0 else f"core section {sid}")
        if sid == 0:
            name = sec.string()
            if name.startswith("component-type"):
                found.append((name, sec.data[sec.pos : sec.end]))
    return found


def decode_module(data: bytes) -> model.Resolve:
    """The world `root:root/root` that the module's sections describe together."""
    sections = component_type_sections(data)
    if not sections:
        raise BinaryError(
            "input is a core wasm module with no `component-type*` custom sections meaning "
            "that there is not WIT information; is the information not embedded or is this "
            "supposed to be a component?"
        )
    types: list[model.TypeDef] = []
    interfaces: list[model.Interface] = []
    worlds = [model.World("root", {}, {}, 0)]
    packages = [model.Package(model.PackageName("root", "root"), {}, {"root": 0})]
    names = {packages[0].name: 0}
    for section_name, content in sections:
        try:
            decoded, world = _decode_world_section(content)
            offset = len(worlds)
            append_packages(types, interfaces, worlds, packages, names, decoded, section_name)
            _merge_worlds(types, interfaces, worlds, offset + world, 0)
        except WitError as exc:
            raise exc.with_prefix(f"decoding custom section {section_name}: ") from None
    return model.Resolve(tuple(worlds), tuple(interfaces), tuple(types), tuple(packages), 0)


def _decode_world_section(content: bytes) -> tuple[model.Resolve, int]:
    """A section's world: the component it holds exports one component type, the world."""
    if content[:1] == b"\x03":
        raise BinaryError("the 0x03 form of `component-type` sections is not supported")
    if content[:4] != MAGIC or content[4:8] != COMPONENT_VERSION:
        raise BinaryError("the section does not hold a component")
    _check_encoding(content)
    info = read_component(content)
    if len(info.externs) != 1 or info.externs[0].is_import:
        raise DecodeError("expected one export in component")
    entity = info.externs[0].item.entity
    if entity.sort != "type" or entity.id is None or entity.id[0] != "c":
        raise DecodeError("expected an exported component type")
    component = info.store.component_of(entity.id)
    if component.imports or len(component.exports) != 1:
        raise DecodeError("expected a component type with one export, the world")
    ((name, item),) = component.exports.items()
    if item.entity.sort != "component":
        raise DecodeError("expected the world to be a component type")
    decoder = Decoder(info.store)
    package = PackageDraft(model.PackageName("", ""))
    package.name = decoder.decode_world(name, item, package)
    pid = decoder.finish(package)
    resolve = decoder.b.freeze(pid)
    return resolve, next(iter(resolve.packages[pid].worlds.values()))


def _check_encoding(content: bytes) -> None:
    r = Reader(content, 8, len(content), "header")
    while not r.at_end():
        sid = r.u8()
        sec = r.sub(r.u32(), "custom" if sid == 0 else "component")
        if sid == 0 and sec.string() == ENCODING_SECTION:
            data = sec.data[sec.pos : sec.end]
            if len(data) != 2 or data[0] != ENCODING_VERSION or data[1] > 2:
                raise BinaryError(f"custom section `{ENCODING_SECTION}` in unknown format")
            return
    raise BinaryError(f"missing custom section of name `{ENCODING_SECTION}`")


class _Cloner:
    """Copies of the types a world owns (and of its inline interfaces) for another world."""

    def __init__(
        self,
        types: list[model.TypeDef],
        interfaces: list[model.Interface],
        package: int | None,
        prev: model.Owner,
        new: model.Owner,
        cloned: dict[int, int],
    ) -> None:
        self.types = types
        self.interfaces = interfaces
        self.package = package
        self.prev = prev
        self.new = new
        self.cloned = cloned

    def type_id(self, tid: int) -> int:
        if tid not in self.cloned:
            ty = self.type_def(self.types[tid])
            self.types.append(ty)
            self.cloned[tid] = len(self.types) - 1
        return self.cloned[tid]

    def ty(self, t: model.Type | None) -> model.Type | None:
        return self.type_id(t) if isinstance(t, int) else t

    def val(self, t: model.Type) -> model.Type:
        return self.type_id(t) if isinstance(t, int) else t

    def type_def(self, ty: model.TypeDef) -> model.TypeDef:
        owner = self.new if ty.owner is not None else None
        kind = ty.kind
        new_kind: model.TypeKind = kind
        if isinstance(kind, model.Alias):
            if isinstance(kind.type, int):
                target = kind.type
                if self.types[target].owner == self.prev:
                    new_kind = model.Alias(self.type_id(target))
                elif target in self.cloned:
                    new_kind = model.Alias(self.cloned[target])
        elif isinstance(kind, model.Handle):
            new_kind = model.Handle(kind.mode, self.type_id(kind.resource))
        elif isinstance(kind, (model.Option, model.List)):
            new_kind = type(kind)(self.val(kind.type))
        elif isinstance(kind, model.FixedList):
            new_kind = model.FixedList(self.val(kind.type), kind.size)
        elif isinstance(kind, model.Map):
            new_kind = model.Map(self.val(kind.key), self.val(kind.value))
        elif isinstance(kind, model.Tuple):
            new_kind = model.Tuple(tuple(self.val(t) for t in kind.types))
        elif isinstance(kind, model.Record):
            new_kind = model.Record(tuple(structs.replace(f, type=self.val(f.type)) for f in kind.fields))
        elif isinstance(kind, model.Variant):
            new_kind = model.Variant(tuple(structs.replace(c, type=self.ty(c.type)) for c in kind.cases))
        elif isinstance(kind, model.Result):
            new_kind = model.Result(self.ty(kind.ok), self.ty(kind.err))
        elif isinstance(kind, (model.Future, model.Stream)):
            new_kind = type(kind)(self.ty(kind.type))
        return structs.replace(ty, owner=owner, kind=new_kind)

    def function(self, f: model.Function) -> model.Function:
        kind = f.kind
        if kind.resource is not None:
            kind = model.FunctionKind(kind.kind, self.type_id(kind.resource))
        params = tuple(model.Param(p.name, self.val(p.type)) for p in f.params)
        return structs.replace(f, kind=kind, params=params, result=self.ty(f.result))

    def interface(self, iid: int) -> int:
        old = self.interfaces[iid]
        next_id = len(self.interfaces)
        inner = _Cloner(
            self.types,
            self.interfaces,
            self.package,
            model.InterfaceOwner(iid),
            model.InterfaceOwner(next_id),
            self.cloned,
        )
        new_types = {name: inner.type_id(t) for name, t in old.types.items()}
        functions = {name: inner.function(f) for name, f in old.functions.items()}
        self.interfaces.append(
            structs.replace(old, types=new_types, functions=functions, package=self.package, clone_of=iid)
        )
        return next_id

    def world_item(self, key: model.WorldKey, item: model.WorldItem) -> model.WorldItem:
        if not isinstance(key, str):
            return item
        if isinstance(item, model.TypeItem):
            return model.TypeItem(self.type_id(item.id))
        if isinstance(item, model.FunctionItem):
            return model.FunctionItem(self.function(item.function))
        if self.interfaces[item.id].name is not None:
            return item
        return structs.replace(item, id=self.interface(item.id))


def _merge_worlds(
    types: list[model.TypeDef],
    interfaces: list[model.Interface],
    worlds: list[model.World],
    source: int,
    into: int,
) -> None:
    """Add the imports and exports of world `source` to world `into` (cloning its types)."""
    src, dst = worlds[source], worlds[into]
    for side, mine in (("import", dst.imports), ("export", dst.exports)):
        theirs = src.imports if side == "import" else src.exports
        shared = [key for key in theirs if key in mine]
        if shared:
            shown = model.world_key_str(shared[0])
            raise DecodeError(f"several `component-type` sections declare the {side} `{shown}`")
    cloned: dict[int, int] = {}
    cloner = _Cloner(
        types, interfaces, dst.package, model.WorldOwner(source), model.WorldOwner(into), cloned
    )
    imports = {k: cloner.world_item(k, v) for k, v in src.imports.items()}
    exports = {k: cloner.world_item(k, v) for k, v in src.exports.items()}
    worlds[into] = structs.replace(
        dst, imports={**dst.imports, **imports}, exports={**dst.exports, **exports}
    )
