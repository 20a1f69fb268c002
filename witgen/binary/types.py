"""The component model's types as a validator sees them: identities, aliases, resources.

A `TypeId` is `(kind, index, alias)`: `kind` is `d` (defined value type), `f` (function),
`i` (instance), `c` (component) or `r` (resource, `index` is the resource number).
Two ids name the same type only if they are equal; `alias` distinguishes the fresh
ids that a type export or an `(eq T)` bound creates for `T`, and `peel` walks back from
such an id to the one it was made from. Instantiating a component, or importing an
instance type that defines resources, substitutes resources (`remap_entity`), which
creates new types wherever a substituted resource occurs.
"""

from __future__ import annotations

from typing import TypeAlias

from msgspec import Struct, field

TypeId: TypeAlias = tuple[str, int, int]
# A value type: a primitive's name (`u32`, `string`, ...) or a defined type's id.
ValType: TypeAlias = str | TypeId

NO_ALIAS = -1

PRIMITIVE_BYTES = {
    0x7F: "bool",
    0x7E: "s8",
    0x7D: "u8",
    0x7C: "s16",
    0x7B: "u16",
    0x7A: "s32",
    0x79: "u32",
    0x78: "s64",
    0x77: "u64",
    0x76: "f32",
    0x75: "f64",
    0x74: "char",
    0x73: "string",
    0x64: "error-context",
}


class Defined(Struct, frozen=True):
    """A defined value type.

    `kind`: prim, record, variant, list, map, fixed-list, tuple, flags, enum, option,
    result, own, borrow, future, stream. `names` are field/case/flag names (with
    `types` beside them for records and variants); `types` otherwise holds the
    element types in order (`None` for an absent result side or payload).
    """

    kind: str
    names: tuple[str, ...] = ()
    types: tuple[ValType | None, ...] = ()
    size: int = 0
    resource: TypeId | None = None
    prim: str = ""


class FuncType(Struct, frozen=True):
    is_async: bool
    params: tuple[tuple[str, ValType], ...]
    result: ValType | None


class Entity(Struct, frozen=True):
    """What an import or export is: `sort` func, instance, component, type, value or module.

    For `type`, `id` is the type created for the name and `referenced` the type it
    stands for (equal for a fresh resource); otherwise `id` is the item's type.
    """

    sort: str
    id: TypeId | None = None
    referenced: TypeId | None = None
    value: ValType | None = None


class Item(Struct, frozen=True):
    """An import or export with the options its name carried."""

    entity: Entity
    implements: str | None = None
    version_suffix: str | None = None
    external_id: str | None = None


class InstanceType(Struct):
    exports: dict[str, Item]
    defined_resources: list[int] = field(default_factory=list)
    explicit_resources: dict[int, list[int]] = field(default_factory=dict)


class ComponentType(Struct):
    imports: dict[str, Item]
    exports: dict[str, Item]
    imported_resources: dict[int, list[int]] = field(default_factory=dict)
    defined_resources: list[int] = field(default_factory=list)
    explicit_resources: dict[int, list[int]] = field(default_factory=dict)


class Remapping:
    """Resource substitutions, and the types already rewritten under them."""

    def __init__(self) -> None:
        self.resources: dict[int, int] = {}
        self.types: dict[TypeId, TypeId] = {}


class TypeStore:
    """Every type of one binary, by id."""

    def __init__(self) -> None:
        self.defined: list[Defined] = []
        self.funcs: list[FuncType] = []
        self.instances: list[InstanceType] = []
        self.components: list[ComponentType] = []
        self.resource_count = 0
        # alias id -> the alias id it was made from (NO_ALIAS for an original)
        self.alias_parent: list[int] = []

    # ------------------------------------------------------------------ creating

    def push_defined(self, ty: Defined) -> TypeId:
        self.defined.append(ty)
        return ("d", len(self.defined) - 1, NO_ALIAS)

    def push_func(self, ty: FuncType) -> TypeId:
        self.funcs.append(ty)
        return ("f", len(self.funcs) - 1, NO_ALIAS)

    def push_instance(self, ty: InstanceType) -> TypeId:
        self.instances.append(ty)
        return ("i", len(self.instances) - 1, NO_ALIAS)

    def push_component(self, ty: ComponentType) -> TypeId:
        self.components.append(ty)
        return ("c", len(self.components) - 1, NO_ALIAS)

    def new_resource(self) -> TypeId:
        self.resource_count += 1
        return ("r", self.resource_count - 1, NO_ALIAS)

    def with_unique(self, ty: TypeId) -> TypeId:
        """A fresh id for the same type, recorded as an alias of `ty`."""
        self.alias_parent.append(ty[2])
        return (ty[0], ty[1], len(self.alias_parent) - 1)

    def peel(self, ty: TypeId) -> TypeId | None:
        """The id `ty` was made from by `with_unique`, if it was."""
        if ty[2] == NO_ALIAS:
            return None
        return (ty[0], ty[1], self.alias_parent[ty[2]])

    # ------------------------------------------------------------------ reading

    def defined_of(self, ty: TypeId) -> Defined:
        return self.defined[ty[1]]

    def func_of(self, ty: TypeId) -> FuncType:
        return self.funcs[ty[1]]

    def instance_of(self, ty: TypeId) -> InstanceType:
        return self.instances[ty[1]]

    def component_of(self, ty: TypeId) -> ComponentType:
        return self.components[ty[1]]

    # ------------------------------------------------------------------ substitution

    def remap_any(self, ty: TypeId, m: Remapping) -> tuple[TypeId, bool]:
        known = m.types.get(ty)
        if known is not None:
            return known, known != ty
        kind = ty[0]
        if kind == "r":
            new_resource = m.resources.get(ty[1])
            if new_resource is None:
                return ty, False
            return ("r", new_resource, ty[2]), True
        changed = False
        new: TypeId = ty
        if kind == "d":
            d, changed = self._remap_defined(self.defined_of(ty), m)
            if changed:
                new = self.push_defined(d)
        elif kind == "f":
            f, changed = self._remap_func(self.func_of(ty), m)
            if changed:
                new = self.push_func(f)
        elif kind == "i":
            inst, changed = self._remap_instance(self.instance_of(ty), m)
            if changed:
                new = self.push_instance(inst)
        else:
            comp, changed = self._remap_component(self.component_of(ty), m)
            if changed:
                new = self.push_component(comp)
        m.types[ty] = new
        return new, changed

    def remap_val(self, ty: ValType | None, m: Remapping) -> tuple[ValType | None, bool]:
        if ty is None or isinstance(ty, str):
            return ty, False
        return self.remap_any(ty, m)

    def _remap_defined(self, d: Defined, m: Remapping) -> tuple[Defined, bool]:
        changed = False
        types: list[ValType | None] = []
        for t in d.types:
            new, c = self.remap_val(t, m)
            types.append(new)
            changed |= c
        resource = d.resource
        if resource is not None:
            resource, c = self.remap_any(resource, m)
            changed |= c
        if not changed:
            return d, False
        return Defined(d.kind, d.names, tuple(types), d.size, resource, d.prim), True

    def _remap_func(self, f: FuncType, m: Remapping) -> tuple[FuncType, bool]:
        changed = False
        params: list[tuple[str, ValType]] = []
        for name, t in f.params:
            new, c = self.remap_val(t, m)
            assert new is not None
            params.append((name, new))
            changed |= c
        result, c = self.remap_val(f.result, m)
        changed |= c
        return FuncType(f.is_async, tuple(params), result), changed

    def _remap_items(self, items: dict[str, Item], m: Remapping) -> tuple[dict[str, Item], bool]:
        changed = False
        out: dict[str, Item] = {}
        for name, item in items.items():
            entity, c = self.remap_entity(item.entity, m)
            changed |= c
            out[name] = Item(entity, item.implements, item.version_suffix, item.external_id)
        return out, changed

    def _remap_resources(self, resources: dict[int, list[int]], m: Remapping) -> tuple[dict[int, list[int]], bool]:
        out: dict[int, list[int]] = {}
        changed = False
        for rid, path in resources.items():
            new = m.resources.get(rid)
            if new is not None:
                changed = True
                rid = new
            out[rid] = path
        return out, changed

    def _remap_instance(self, inst: InstanceType, m: Remapping) -> tuple[InstanceType, bool]:
        exports, changed = self._remap_items(inst.exports, m)
        defined = [m.resources.get(r, r) for r in inst.defined_resources]
        changed |= defined != inst.defined_resources
        explicit, c = self._remap_resources(inst.explicit_resources, m)
        return InstanceType(exports, defined, explicit), changed or c

    def _remap_component(self, comp: ComponentType, m: Remapping) -> tuple[ComponentType, bool]:
        imports, c1 = self._remap_items(comp.imports, m)
        exports, c2 = self._remap_items(comp.exports, m)
        imported, c3 = self._remap_resources(comp.imported_resources, m)
        defined = [m.resources.get(r, r) for r in comp.defined_resources]
        explicit, c4 = self._remap_resources(comp.explicit_resources, m)
        changed = c1 or c2 or c3 or c4 or defined != comp.defined_resources
        return ComponentType(imports, exports, imported, defined, explicit), changed

    def remap_entity(self, e: Entity, m: Remapping) -> tuple[Entity, bool]:
        if e.sort == "type":
            assert e.referenced is not None and e.id is not None
            referenced, changed = self.remap_any(e.referenced, m)
            if referenced == e.id:
                created = referenced
            else:
                created, c = self.remap_any(e.id, m)
                changed |= c
            return Entity("type", created, referenced), changed
        if e.sort == "value":
            value, changed = self.remap_val(e.value, m)
            return Entity("value", value=value), changed
        if e.id is None:
            return e, False
        new, changed = self.remap_any(e.id, m)
        return Entity(e.sort, new), changed
