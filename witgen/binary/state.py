"""The index spaces of a component being read, and what its items do to them.

A `State` is one component, component type or instance type: its types, functions,
instances and components by index, its imports and exports, and its resources
(imported, defined, and where each is exported). Importing an instance type that
defines resources, exporting one, and instantiating a component create fresh resources
and substitute them as the component model's validation does.
"""

from __future__ import annotations

from msgspec import Struct

from witgen.binary import syntax
from witgen.binary.names import NameError_, parse
from witgen.binary.reader import Reader
from witgen.binary.syntax import ExternName, RawValType, TypeRef
from witgen.binary.types import (
    ComponentType,
    Entity,
    InstanceType,
    Item,
    Remapping,
    TypeId,
    TypeStore,
    ValType,
)


class Extern(Struct, frozen=True):
    name: str
    is_import: bool
    item: Item


class State:
    """The index spaces of one component, component type or instance type being read."""

    def __init__(self, kind: str, store: TypeStore, parent: State | None) -> None:
        self.kind = kind  # component, component-type or instance-type
        self.store = store
        self.parent = parent
        self.depth: int = 0 if parent is None else parent.depth + 1
        self.types: list[TypeId] = []
        self.funcs: list[TypeId] = []
        self.instances: list[TypeId] = []
        self.components: list[TypeId] = []
        self.values = 0
        self.imports: dict[str, Item] = {}
        self.exports: dict[str, Item] = {}
        self.imported_resources: dict[int, list[int]] = {}
        self.defined_resources: dict[int, None] = {}
        self.explicit_resources: dict[int, list[int]] = {}
        self.externs: list[Extern] = []

    # ------------------------------------------------------------------ index spaces

    def _at(self, space: list[TypeId], index: int, what: str, r: Reader, at: int) -> TypeId:
        if index >= len(space):
            r.fail(f"unknown {what} {index}: {what} index out of bounds", at)
        return space[index]

    def type_at(self, index: int, r: Reader, at: int) -> TypeId:
        return self._at(self.types, index, "type", r, at)

    def typed_at(self, index: int, kind: str, what: str, r: Reader, at: int) -> TypeId:
        ty = self.type_at(index, r, at)
        if ty[0] != kind:
            r.fail(f"type index {index} is not {what}", at)
        return ty

    def outer(self, count: int, r: Reader, at: int) -> State:
        state: State | None = self
        for _ in range(count):
            state = state.parent if state is not None else None
        if state is None:
            r.fail(f"invalid outer alias count of {count}", at)
        return state

    def val(self, raw: RawValType, r: Reader, at: int) -> ValType:
        if isinstance(raw, str):
            return raw
        return self.typed_at(raw, "d", "a defined type", r, at)

    def opt_val(self, raw: RawValType | None, r: Reader, at: int) -> ValType | None:
        return None if raw is None else self.val(raw, r, at)

    # ------------------------------------------------------------------ entities

    def check_type_ref(self, ref: TypeRef, r: Reader, at: int) -> Entity:
        store = self.store
        if ref.sort == "module":
            return Entity("module")
        if ref.sort == "func":
            return Entity("func", self.typed_at(ref.index, "f", "a function type", r, at))
        if ref.sort == "value":
            assert ref.value is not None
            return Entity("value", value=self.val(ref.value, r, at))
        if ref.sort == "type-eq":
            referenced = self.type_at(ref.index, r, at)
            return Entity("type", store.with_unique(referenced), referenced)
        if ref.sort == "type-sub-resource":
            rid = store.new_resource()
            return Entity("type", rid, rid)
        if ref.sort == "instance":
            return Entity("instance", self.typed_at(ref.index, "i", "an instance type", r, at))
        return Entity("component", self.typed_at(ref.index, "c", "a component type", r, at))

    def add_entity(self, entity: Entity, kind: str | None) -> Entity:
        """Put `entity` in its index space (`kind`: import, export or None for an alias)."""
        if entity.sort == "type":
            assert entity.id is not None
            self.types.append(entity.id)
            created = entity.id
            if created[0] == "r":
                if kind == "import" and created == entity.referenced:
                    self.imported_resources[created[1]] = [len(self.imports)]
                elif kind == "export":
                    if created == entity.referenced:
                        self.defined_resources[created[1]] = None
                    self.explicit_resources[created[1]] = [len(self.exports)]
        elif entity.sort == "instance":
            assert entity.id is not None
            iid = entity.id
            if kind == "import":
                iid = self._prepare_instance_import(iid)
            elif kind == "export":
                iid = self._prepare_instance_export(iid)
            self.instances.append(iid)
            entity = Entity("instance", iid)
        elif entity.sort == "func":
            assert entity.id is not None
            self.funcs.append(entity.id)
        elif entity.sort == "component":
            assert entity.id is not None
            self.components.append(entity.id)
        elif entity.sort == "value":
            self.values += 1
        return entity

    def _prepare_instance_import(self, iid: TypeId) -> TypeId:
        store = self.store
        inst = store.instance_of(iid)
        if not inst.defined_resources:
            return iid
        mapping = Remapping()
        for old in inst.defined_resources:
            new = store.new_resource()[1]
            mapping.resources[old] = new
            self.imported_resources[new] = [len(self.imports), *inst.explicit_resources.get(old, [])]
        exports = {
            name: Item(store.remap_entity(item.entity, mapping)[0], *_options(item))
            for name, item in inst.exports.items()
        }
        explicit = {mapping.resources.get(r, r): path for r, path in inst.explicit_resources.items()}
        return store.push_instance(InstanceType(exports, [], explicit))

    def _prepare_instance_export(self, iid: TypeId) -> TypeId:
        store = self.store
        inst = store.instance_of(iid)
        if inst.defined_resources:
            mapping = Remapping()
            for old in inst.defined_resources:
                new = store.new_resource()[1]
                mapping.resources[old] = new
                self.defined_resources[new] = None
            exports = {
                name: Item(store.remap_entity(item.entity, mapping)[0], *_options(item))
                for name, item in inst.exports.items()
            }
            explicit = {mapping.resources.get(r, r): p for r, p in inst.explicit_resources.items()}
            iid = store.push_instance(InstanceType(exports, [], explicit))
            inst = store.instance_of(iid)
        for rid, path in inst.explicit_resources.items():
            self.explicit_resources[rid] = [len(self.exports), *path]
        return iid

    def _named(self, name: ExternName, entity: Entity, r: Reader, at: int) -> Item:
        try:
            parsed = parse(name.name)
            if parsed.kind == "interface":
                parsed.package_name(name.version_suffix)
        except NameError_ as exc:
            r.fail(f"name `{name.name}` is not valid: {exc}", at)
        if name.implements is not None and entity.sort != "instance":
            r.fail("only instances can have an `implements`", at)
        return Item(entity, name.implements, name.version_suffix, name.external_id)

    def add_import(self, name: ExternName, ref: TypeRef, r: Reader, at: int) -> None:
        entity = self.add_entity(self.check_type_ref(ref, r, at), "import")
        if name.name in self.imports:
            r.fail(f"import name `{name.name}` conflicts with previous name", at)
        item = self._named(name, entity, r, at)
        self.imports[name.name] = item
        self.externs.append(Extern(name.name, True, item))

    def add_export(self, name: ExternName, entity: Entity, r: Reader, at: int) -> None:
        entity = self.add_entity(entity, "export")
        if name.name in self.exports:
            r.fail(f"export name `{name.name}` conflicts with previous name", at)
        item = self._named(name, entity, r, at)
        self.exports[name.name] = item
        self.externs.append(Extern(name.name, False, item))

    def finish_component(self) -> ComponentType:
        defined = [rid for rid in self.defined_resources if rid in self.explicit_resources]
        return ComponentType(
            dict(self.imports),
            dict(self.exports),
            dict(self.imported_resources),
            defined,
            dict(self.explicit_resources),
        )

    # ------------------------------------------------------------------ instances

    def instantiate(self, component: TypeId, args: dict[str, Entity], r: Reader, at: int) -> TypeId:
        store = self.store
        ct = store.component_of(component)
        mapping = Remapping()
        imports = list(ct.imports.items())
        for rid, path in ct.imported_resources.items():
            name, item = imports[path[0]]
            entity: Entity | None = item.entity
            arg = args.get(name)
            for i in path[1:]:
                assert entity is not None and entity.id is not None
                ename, eitem = list(store.instance_of(entity.id).exports.items())[i]
                entity = eitem.entity
                if arg is None or arg.sort != "instance" or arg.id is None:
                    arg = None
                    break
                found = store.instance_of(arg.id).exports.get(ename)
                arg = found.entity if found is not None else None
            if arg is not None and arg.sort == "type" and arg.id is not None and arg.id[0] == "r":
                mapping.resources[rid] = arg.id[1]
        renamings: dict[TypeId, TypeId] = {}
        for name, item in imports:
            actual = args.get(name)
            if actual is None:
                r.fail(f"missing import named `{name}`", at)
            if actual.sort != item.entity.sort:
                r.fail(f"type mismatch for import `{name}`: expected {item.entity.sort}, found {actual.sort}", at)
            expected, _ = store.remap_entity(item.entity, mapping)
            mapping.types.clear()
            self._renamings(actual, expected, renamings)
        fresh = []
        for old in ct.defined_resources:
            new = store.new_resource()[1]
            mapping.resources[old] = new
            fresh.append(new)
        mapping.types = renamings
        exports = {
            name: Item(store.remap_entity(item.entity, mapping)[0], *_options(item))
            for name, item in ct.exports.items()
        }
        explicit = {mapping.resources.get(r_, r_): p for r_, p in ct.explicit_resources.items()}
        for new in fresh:
            self.defined_resources[new] = None
        return store.push_instance(InstanceType(exports, [], explicit))

    def _renamings(self, actual: Entity, expected: Entity, out: dict[TypeId, TypeId]) -> None:
        if actual.sort == "type" and expected.sort == "type":
            assert expected.id is not None and actual.id is not None
            out.setdefault(expected.id, actual.id)
        elif actual.sort == "instance" and expected.sort == "instance":
            assert expected.id is not None and actual.id is not None
            have = self.store.instance_of(actual.id).exports
            for name, item in self.store.instance_of(expected.id).exports.items():
                found = have.get(name)
                if found is not None:
                    self._renamings(found.entity, item.entity, out)

    def instance_from_exports(self, exports: list[tuple[ExternName, str, int]], r: Reader, at: int) -> TypeId:
        items: dict[str, Item] = {}
        explicit: dict[int, list[int]] = {}
        for name, kind, index in exports:
            entity = self.sort_entity(kind, index, r, at)
            if entity.sort == "type" and entity.id is not None and entity.id[0] == "r":
                explicit[entity.id[1]] = [len(items)]
            elif entity.sort == "instance" and entity.id is not None:
                for rid, path in self.store.instance_of(entity.id).explicit_resources.items():
                    explicit[rid] = [len(items), *path]
            if name.name in items:
                r.fail(f"export name `{name.name}` conflicts with previous name", at)
            items[name.name] = self._named(name, entity, r, at)
        return self.store.push_instance(InstanceType(items, [], explicit))

    def sort_entity(self, kind: str, index: int, r: Reader, at: int) -> Entity:
        """The entity at `index` of the index space of `kind` (as an argument or export)."""
        if kind == "func":
            return Entity("func", self._at(self.funcs, index, "function", r, at))
        if kind == "instance":
            return Entity("instance", self._at(self.instances, index, "instance", r, at))
        if kind == "component":
            return Entity("component", self._at(self.components, index, "component", r, at))
        if kind == "type":
            ty = self.type_at(index, r, at)
            return Entity("type", ty, ty)
        if kind == "module":
            return Entity("module")
        if kind == "value":
            r.fail("component values are not supported", at)
        r.fail(f"a {kind[5:]} cannot be used here", at)


def _options(item: Item) -> tuple[str | None, str | None, str | None]:
    return item.implements, item.version_suffix, item.external_id


def read_alias(r: Reader, state: State) -> None:
    at = r.pos
    kind = syntax.sort(r)
    tag = r.u8()
    if tag == 0x00:
        index = r.u32()
        name = r.string()
        if kind.startswith("core-"):
            r.fail(f"invalid leading byte for component external kind", at)
        instance = state._at(state.instances, index, "instance", r, at)
        found = state.store.instance_of(instance).exports.get(name)
        if found is None:
            r.fail(f"instance {index} has no export named `{name}`", at)
        if found.entity.sort != kind:
            r.fail(f"export `{name}` for instance {index} is not a {kind}", at)
        state.add_entity(found.entity, None)
    elif tag == 0x01:
        r.u32()
        r.string()
    elif tag == 0x02:
        count = r.u32()
        index = r.u32()
        if kind == "type":
            outer = state.outer(count, r, at)
            state.types.append(outer.type_at(index, r, at))
        elif kind == "component":
            outer = state.outer(count, r, at)
            state.components.append(outer._at(outer.components, index, "component", r, at))
        elif kind not in ("core-type", "module"):
            r.fail(f"invalid outer alias kind", at)
    else:
        r.fail(f"invalid leading byte (0x{tag:x}) for alias", at)


