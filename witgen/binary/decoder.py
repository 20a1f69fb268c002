"""From a component's types to WIT: interfaces, worlds and packages, as wit-parser decodes them.

Types become WIT types in the order they are met; a type export that stands for a type
already decoded becomes an alias of it (`use`), anonymous value types are shared by
identity, interfaces named `ns:pkg/iface` that the package does not define become
interfaces of foreign packages holding only what is used of them.
"""

from __future__ import annotations

from witgen import model
from witgen.binary.builder import Builder, IfaceDraft, PackageDraft, WorldDraft
from witgen.binary.names import Name, NameError_, parse
from witgen.binary.reader import BinaryError
from witgen.binary.types import Defined, Item, TypeId, TypeStore, ValType

Owner = model.InterfaceOwner | model.WorldOwner


class DecodeError(BinaryError):
    """A well-formed binary whose types do not form WIT."""


def _name(raw: str) -> Name:
    try:
        return parse(raw)
    except NameError_ as exc:
        raise DecodeError(f"cannot extract item name from: {raw}: {exc}") from None


def _package_name(name: Name, item: Item) -> model.PackageName:
    try:
        return name.package_name(item.version_suffix)
    except NameError_ as exc:
        raise DecodeError(str(exc)) from None


class Decoder:
    def __init__(self, store: TypeStore) -> None:
        self.store = store
        self.b = Builder()
        self.foreign: dict[str, PackageDraft] = {}
        self.iface_package: dict[int, int] = {}
        self.named_interfaces: dict[str, int] = {}
        self.resources: dict[Owner, dict[str, int]] = {}
        self.type_map: dict[TypeId, int] = {}

    # ------------------------------------------------------------------ packages

    def decode_interface(
        self, name: str, imports: dict[str, Item], item: Item, fields: PackageDraft
    ) -> model.PackageName:
        parsed = _name(name)
        if parsed.kind != "interface":
            raise DecodeError("expected world name to be fully qualified")
        package = _package_name(parsed, item)
        for import_name, import_item in imports.items():
            self.register_import(import_name, import_item)
        self.register_interface(name, item, fields)
        return package

    def decode_world(self, name: str, item: Item, fields: PackageDraft) -> model.PackageName:
        parsed = _name(name)
        if parsed.kind != "interface":
            raise DecodeError("expected world name to be fully qualified")
        package = _package_name(parsed, item)
        assert item.entity.id is not None
        self.register_world(name, item.entity.id, fields)
        return package

    def decode_v1_package(self, name: str, item: Item) -> PackageDraft:
        assert item.entity.id is not None
        ty = self.store.component_of(item.entity.id)
        for import_name, import_item in ty.imports.items():
            self.register_import(import_name, import_item)
        parsed = _name(name)
        if parsed.kind != "interface" or parsed.interface != "wit":
            raise DecodeError(f"package name is not a valid id: {name}")
        package = PackageDraft(_package_name(parsed, item))
        for export_name, export in ty.exports.items():
            if export.entity.sort == "instance":
                self.register_interface(export_name, export, package)
            elif export.entity.sort == "component":
                assert export.entity.id is not None
                self.register_world(export_name, export.entity.id, package)
            else:
                raise DecodeError(f"component export `{export_name}` is not an instance or component")
        return package

    # ------------------------------------------------------------------ components

    def decode_component_import(self, name: str, item: Item, world: int, fields: PackageDraft) -> None:
        owner = model.WorldOwner(world)
        sort = item.entity.sort
        key: model.WorldKey
        value: model.WorldItem
        if sort == "instance":
            key, value = self.decode_world_instance(name, item, fields)
        elif sort == "func":
            key, value = name, model.FunctionItem(self.convert_function(name, item, owner))
        elif sort == "type":
            key, value = name, model.TypeItem(self.register_type_export(name, item, owner))
        else:
            return
        self.b.worlds[world].imports[key] = value

    def decode_component_export(self, name: str, item: Item, world: int, fields: PackageDraft) -> None:
        sort = item.entity.sort
        key: model.WorldKey
        value: model.WorldItem
        if sort == "func":
            key = name
            value = model.FunctionItem(self.convert_function(name, item, model.WorldOwner(world)))
        elif sort == "instance":
            key, value = self.decode_world_instance(name, item, fields)
        else:
            raise DecodeError(f"component export `{name}` was not a function or instance")
        self.b.worlds[world].exports[key] = value

    def decode_world_instance(
        self, name: str, item: Item, fields: PackageDraft
    ) -> tuple[model.WorldKey, model.WorldItem]:
        key: model.WorldKey
        if item.implements is not None:
            iid = self.register_import(item.implements, item)
            key = name
        elif _name(name).kind == "interface":
            iid = self.register_import(name, item)
            key = model.InterfaceKey(iid)
        else:
            key, iid = self.register_interface(name, item, fields)
        return key, model.InterfaceItem(iid, external_id=item.external_id)

    # ------------------------------------------------------------------ interfaces

    def register_import(self, name: str, item: Item) -> int:
        if item.entity.sort != "instance" or item.entity.id is None:
            raise DecodeError(f"import `{name}` is not an instance")
        ty = self.store.instance_of(item.entity.id)
        local = name in self.named_interfaces
        iid = self.named_interfaces[name] if local else self.extract_dep_interface(name, item)
        iface = self.b.interfaces[iid]
        owner = model.InterfaceOwner(iid)
        for export_name, export in ty.exports.items():
            entity = export.entity
            if entity.sort == "type":
                assert entity.id is not None and entity.referenced is not None
                known = iface.types.get(export_name)
                if known is not None:
                    if entity.referenced[0] == "d":
                        self.register_defined(known, self.store.defined_of(entity.referenced))
                    if entity.id in self.type_map:
                        raise DecodeError(f"type `{export_name}` is registered twice")
                    self.type_map[entity.id] = known
                else:
                    if local:
                        raise DecodeError(f"instance type export `{export_name}` not defined in interface")
                    iface.types[export_name] = self.register_type_export(export_name, export, owner)
            elif entity.sort == "func":
                if export_name in iface.functions:
                    continue
                if local:
                    raise DecodeError(f"instance function export `{export_name}` not defined in interface")
                iface.functions[export_name] = self.convert_function(export_name, export, owner)
            else:
                raise DecodeError(f"instance type export `{export_name}` is not a type")
        return iid

    def find_alias(self, ty: TypeId) -> int | None:
        found = None
        cur: TypeId | None = ty
        while found is None and cur is not None:
            found = self.type_map.get(cur)
            cur = self.store.peel(cur)
        return found

    def extract_dep_interface(self, name: str, item: Item) -> int:
        parsed = _name(name)
        if parsed.kind != "interface":
            raise DecodeError(f"package name is not a valid id: {name}")
        package_name = _package_name(parsed, item)
        key = str(package_name)
        package = self.foreign.setdefault(key, PackageDraft(package_name))
        iid = package.interfaces.get(parsed.interface)
        if iid is None:
            iid = self.b.add_interface(IfaceDraft(parsed.interface))
            package.interfaces[parsed.interface] = iid
        self.iface_package[iid] = list(self.foreign).index(key)
        return iid

    def register_interface(self, name: str, item: Item, fields: PackageDraft) -> tuple[model.WorldKey, int]:
        assert item.entity.id is not None
        ty = self.store.instance_of(item.entity.id)
        if name in self.named_interfaces:
            iid = self.register_import(name, item)
            return model.InterfaceKey(iid), iid
        parsed = _name(name)
        if parsed.kind not in ("interface", "label"):
            raise DecodeError(f"cannot extract item name from: {name}")
        iface_name = parsed.interface if parsed.kind == "interface" else None
        iface = IfaceDraft(iface_name)
        owner = model.InterfaceOwner(len(self.b.interfaces))
        for export_name, export in ty.exports.items():
            if export.entity.sort == "type":
                iface.types[export_name] = self.register_type_export(export_name, export, owner)
            elif export.entity.sort == "func":
                iface.functions[export_name] = self.convert_function(export_name, export, owner)
            else:
                raise DecodeError(f"instance type export `{export_name}` is not a type or function")
        iid = self.b.add_interface(iface)
        if iface_name is None:
            return name, iid
        if iface_name in fields.interfaces:
            raise DecodeError(f"duplicate interface added for {name!r}")
        fields.interfaces[iface_name] = iid
        self.named_interfaces[name] = iid
        return model.InterfaceKey(iid), iid

    def register_type_export(self, name: str, item: Item, owner: Owner) -> int:
        entity = item.entity
        assert entity.id is not None and entity.referenced is not None
        prev = self.find_alias(entity.referenced)
        kind: model.TypeKind
        if prev is not None:
            kind = model.Alias(prev)
        elif entity.referenced[0] == "d":
            kind = self.convert_defined(self.store.defined_of(entity.referenced))
        elif entity.referenced[0] == "r":
            kind = model.Resource()
        else:
            raise DecodeError(f"type export `{name}` is not a value type or resource")
        tid = self.b.add_type(model.TypeDef(name, kind, owner, external_id=item.external_id))
        if isinstance(kind, model.Resource):
            self.resources.setdefault(owner, {})[name] = tid
        if entity.id in self.type_map:
            raise DecodeError(
                f"cannot represent this component in WIT: the type `{name}` appears more than "
                "once (for example, when an imported instance is re-exported under a new name)"
            )
        self.type_map[entity.id] = tid
        return tid

    def register_world(self, name: str, component: TypeId, fields: PackageDraft) -> int:
        parsed = _name(name)
        if parsed.kind != "interface":
            raise DecodeError("expected world name to have an ID form")
        ty = self.store.component_of(component)
        world = WorldDraft(parsed.interface)
        owner = model.WorldOwner(len(self.b.worlds))
        key: model.WorldKey
        value: model.WorldItem
        for import_name, item in ty.imports.items():
            sort = item.entity.sort
            if sort == "instance":
                key, value = self.decode_world_instance(import_name, item, fields)
            elif sort == "type":
                key, value = import_name, model.TypeItem(self.register_type_export(import_name, item, owner))
            elif sort == "func":
                key = import_name
                value = model.FunctionItem(self.convert_function(import_name, item, owner))
            else:
                raise DecodeError(f"component import `{import_name}` is not an instance, func, or type")
            world.imports[key] = value
        for export_name, item in ty.exports.items():
            sort = item.entity.sort
            if sort == "instance":
                key, value = self.decode_world_instance(export_name, item, fields)
            elif sort == "func":
                key = export_name
                value = model.FunctionItem(self.convert_function(export_name, item, owner))
            else:
                raise DecodeError(f"component export `{export_name}` is not an instance or function")
            world.exports[key] = value
        wid = self.b.add_world(world)
        fields.worlds[parsed.interface] = wid
        return wid

    # ------------------------------------------------------------------ functions and types

    def convert_function(self, name: str, item: Item, owner: Owner) -> model.Function:
        assert item.entity.id is not None
        ty = self.store.func_of(item.entity.id)
        params = tuple(model.Param(pname, self.convert_valtype(pty)) for pname, pty in ty.params)
        result = None if ty.result is None else self.convert_valtype(ty.result)
        parsed = _name(name)
        kind: model.FunctionKind
        if parsed.kind == "label":
            kind = model.FunctionKind("async-freestanding" if ty.is_async else "freestanding")
        elif parsed.kind in ("constructor", "method", "static"):
            resource = self.resources.get(owner, {}).get(parsed.resource)
            if resource is None:
                raise DecodeError(f"function `{name}` names no resource of its interface or world")
            prefix = "async-" if ty.is_async and parsed.kind != "constructor" else ""
            kind = model.FunctionKind(f"{prefix}{parsed.kind}", resource)  # type: ignore[arg-type]
        else:
            raise DecodeError(f"function `{name}` does not have a function name")
        return model.Function(name, kind, params, result, external_id=item.external_id)

    def convert_valtype(self, ty: ValType) -> model.Type:
        if isinstance(ty, str):
            return ty
        known = self.type_map.get(ty)
        if known is not None:
            return known
        kind = self.convert_defined(self.store.defined_of(ty))
        if isinstance(kind, (model.Resource, model.Record, model.Enum, model.Variant, model.Flags)):
            label = type(kind).__name__.lower()
            raise DecodeError(f"unexpected unnamed type of kind '{label}'")
        tid = self.b.add_type(model.TypeDef(None, kind, None))
        self.type_map[ty] = tid
        return tid

    def _opt(self, ty: ValType | None) -> model.Type | None:
        return None if ty is None else self.convert_valtype(ty)

    def _val(self, ty: ValType | None) -> model.Type:
        assert ty is not None
        return self.convert_valtype(ty)

    def convert_defined(self, d: Defined) -> model.TypeKind:
        k = d.kind
        if k == "prim":
            return model.Alias(d.prim)
        if k == "list":
            return model.List(self._val(d.types[0]))
        if k == "map":
            return model.Map(self._val(d.types[0]), self._val(d.types[1]))
        if k == "fixed-list":
            return model.FixedList(self._val(d.types[0]), d.size)
        if k == "tuple":
            return model.Tuple(tuple(self._val(t) for t in d.types))
        if k == "option":
            return model.Option(self._val(d.types[0]))
        if k == "result":
            return model.Result(self._opt(d.types[0]), self._opt(d.types[1]))
        if k == "record":
            return model.Record(
                tuple(model.Field(n, self._val(t)) for n, t in zip(d.names, d.types))
            )
        if k == "variant":
            return model.Variant(tuple(model.Case(n, self._opt(t)) for n, t in zip(d.names, d.types)))
        if k == "flags":
            return model.Flags(tuple(model.Flag(n) for n in d.names))
        if k == "enum":
            return model.Enum(tuple(model.EnumCase(n) for n in d.names))
        if k in ("own", "borrow"):
            assert d.resource is not None
            resource = self.type_map.get(d.resource)
            if resource is None:
                raise DecodeError("a handle names a resource that has no name in WIT")
            return model.Handle("own" if k == "own" else "borrow", resource)
        if k == "future":
            return model.Future(self._opt(d.types[0]))
        return model.Stream(self._opt(d.types[0]))

    def register_defined(self, tid: int, d: Defined) -> None:
        """Record that the anonymous types inside `d` are those of the WIT type `tid`."""
        kind = self.b.types[tid].kind
        if isinstance(kind, model.Alias) and isinstance(kind.type, int):
            return
        wit: tuple[model.Type | None, ...]
        if d.kind in ("list", "option") and isinstance(kind, (model.List, model.Option)):
            wit = (kind.type,)
        elif d.kind == "fixed-list" and isinstance(kind, model.FixedList):
            wit = (kind.type,)
        elif d.kind == "map" and isinstance(kind, model.Map):
            wit = (kind.key, kind.value)
        elif d.kind == "tuple" and isinstance(kind, model.Tuple):
            wit = kind.types
        elif d.kind == "result" and isinstance(kind, model.Result):
            wit = (kind.ok, kind.err)
        elif d.kind == "record" and isinstance(kind, model.Record):
            wit = tuple(f.type for f in kind.fields)
        elif d.kind == "variant" and isinstance(kind, model.Variant):
            wit = tuple(c.type for c in kind.cases)
        elif d.kind in ("future", "stream") and isinstance(kind, (model.Future, model.Stream)):
            wit = (kind.type,)
        elif d.kind in ("prim", "flags", "enum", "own", "borrow"):
            return
        else:
            raise DecodeError(f"expected a {d.kind}")
        if len(wit) != len(d.types):
            raise DecodeError(f"mismatched number of {d.kind} members")
        for wasm_ty, wit_ty in zip(d.types, wit):
            if wasm_ty is None or wit_ty is None:
                if (wasm_ty is None) != (wit_ty is None):
                    raise DecodeError(f"disagreement on {d.kind} structure")
                continue
            if isinstance(wasm_ty, str):
                continue
            if not isinstance(wit_ty, int):
                raise DecodeError("expected id-based type")
            known = self.type_map.get(wasm_ty)
            self.type_map[wasm_ty] = wit_ty
            if known is None:
                self.register_defined(wit_ty, self.store.defined_of(wasm_ty))

    # ------------------------------------------------------------------ finishing

    def finish(self, package: PackageDraft) -> int:
        """Add the foreign packages (dependencies first), then `package`; its id."""
        order: dict[int, None] = {}
        drafts = list(self.foreign.values())
        for i in range(len(drafts)):
            self._visit(i, drafts, order)
        for i in order:
            self.b.insert_package(drafts[i])
        return self.b.insert_package(package)

    def _visit(self, idx: int, drafts: list[PackageDraft], order: dict[int, None]) -> None:
        if idx in order:
            return
        pkg = drafts[idx]
        interfaces = list(pkg.interfaces.values())
        for wid in pkg.worlds.values():
            world = self.b.worlds[wid]
            for item in (*world.imports.values(), *world.exports.values()):
                if isinstance(item, model.InterfaceItem):
                    interfaces.append(item.id)
        for iid in interfaces:
            for dep in self.b.interface_direct_deps(iid):
                dep_idx = self.iface_package[dep]
                if dep_idx != idx:
                    self._visit(dep_idx, drafts, order)
        order[idx] = None
