"""The `package-docs` custom section: docs and `@since`/`@unstable` gates of a package.

The section is a version byte (0 or 1) followed by JSON; its content is put back on the
decoded package's worlds, interfaces, functions and types, as wit-parser does.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

from witgen import model
from witgen.binary.builder import Builder
from witgen.binary.reader import BinaryError

WORLD_FIELDS = {
    "docs",
    "stability",
    "interfaces",
    "types",
    "funcs",
    "interface_exports",
    "func_exports",
    "interface_import_stability",
    "interface_export_stability",
    "interface_import_docs",
    "interface_export_docs",
}
INTERFACE_FIELDS = {"docs", "stability", "funcs", "types"}
TYPE_FIELDS = {"docs", "stability", "items"}
FUNC_FIELDS = {"docs", "stability"}


class MetadataError(BinaryError):
    """A `package-docs` section that cannot be read or does not fit the package."""


def _object(value: Any, fields: set[str], what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MetadataError(f"package-docs: {what} is not an object")
    unknown = set(value) - fields
    if unknown:
        raise MetadataError(f"package-docs: unknown field `{sorted(unknown)[0]}` in {what}")
    return value


def _stability(value: Any) -> model.Stability:
    if value is None or value == "unknown":
        return None
    if isinstance(value, dict) and len(value) == 1:
        ((key, inner),) = value.items()
        if key == "stable" and isinstance(inner, dict) and isinstance(inner.get("since"), str):
            return model.Stable(inner["since"], inner.get("deprecated"))
        if key == "unstable" and isinstance(inner, dict) and isinstance(inner.get("feature"), str):
            return model.Unstable(inner["feature"], inner.get("deprecated"))
    raise MetadataError(f"package-docs: invalid stability {json.dumps(value)}")


def _docs(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise MetadataError("package-docs: docs are not a string")


def inject(b: Builder, package: int, data: bytes) -> None:
    """Put the docs and gates of `data` (the section's bytes) on `package`."""
    if not data or data[0] not in (0, 1):
        version = data[0] if data else None
        raise MetadataError(f"expected package-docs version 1, got {version}")
    try:
        meta = json.loads(data[1:].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise MetadataError(f"package-docs is not valid JSON: {exc}") from None
    meta = _object(meta, {"docs", "worlds", "interfaces"}, "the package")
    pkg = b.packages[package]
    for name, world_meta in (meta.get("worlds") or {}).items():
        wid = pkg.worlds.get(name)
        if wid is None:
            raise MetadataError(f'missing world "{name}"')
        _inject_world(b, wid, _object(world_meta, WORLD_FIELDS, f"world {name}"))
    for name, iface_meta in (meta.get("interfaces") or {}).items():
        iid = pkg.interfaces.get(name)
        if iid is None:
            raise MetadataError(f'missing interface "{name}"')
        _inject_interface(b, iid, iface_meta)
    docs = _docs(meta.get("docs"))
    if docs is not None:
        pkg.docs = docs


def _inject_interface(b: Builder, iid: int, raw: Any) -> None:
    meta = _object(raw, INTERFACE_FIELDS, "an interface")
    iface = b.interfaces[iid]
    for name, type_meta in (meta.get("types") or {}).items():
        tid = iface.types.get(name)
        if tid is None:
            raise MetadataError(f'missing type "{name}"')
        _inject_type(b, tid, type_meta)
    for name, func_meta in (meta.get("funcs") or {}).items():
        func = iface.functions.get(name)
        if func is None:
            raise MetadataError(f'missing func "{name}"')
        iface.functions[name] = _inject_func(func, func_meta)
    docs = _docs(meta.get("docs"))
    if docs is not None:
        iface.docs = docs
    iface.stability = _stability(meta.get("stability"))


def _inject_func(func: model.Function, raw: Any) -> model.Function:
    if raw is None or isinstance(raw, str):  # the format's first version: docs only
        return msgspec.structs.replace(func, docs=raw)
    meta = _object(raw, FUNC_FIELDS, "a function")
    return msgspec.structs.replace(
        func, docs=_docs(meta.get("docs")), stability=_stability(meta.get("stability"))
    )


def _inject_type(b: Builder, tid: int, raw: Any) -> None:
    meta = _object(raw, TYPE_FIELDS, "a type")
    ty = b.types[tid]
    kind = ty.kind
    items = meta.get("items") or {}
    if items:
        if not isinstance(items, dict):
            raise MetadataError("package-docs: type items are not an object")
        kind = _inject_items(kind, items)
    docs = _docs(meta.get("docs"))
    b.types[tid] = msgspec.structs.replace(
        ty,
        kind=kind,
        docs=docs if docs is not None else ty.docs,
        stability=_stability(meta.get("stability")),
    )


def _inject_items(kind: model.TypeKind, items: dict[str, Any]) -> model.TypeKind:
    used = 0

    def doc(name: str, current: str | None) -> str | None:
        nonlocal used
        if name in items:
            used += 1
            return _docs(items[name])
        return current

    new: model.TypeKind
    if isinstance(kind, model.Record):
        new = model.Record(tuple(model.Field(f.name, f.type, doc(f.name, f.docs)) for f in kind.fields))
    elif isinstance(kind, model.Flags):
        new = model.Flags(tuple(model.Flag(f.name, doc(f.name, f.docs)) for f in kind.flags))
    elif isinstance(kind, model.Variant):
        new = model.Variant(tuple(model.Case(c.name, c.type, doc(c.name, c.docs)) for c in kind.cases))
    elif isinstance(kind, model.Enum):
        new = model.Enum(tuple(model.EnumCase(c.name, doc(c.name, c.docs)) for c in kind.cases))
    else:
        raise MetadataError("package-docs: 'items' for a type that has none")
    if used != len(items):
        raise MetadataError("package-docs: not all 'items' match type items")
    return new


def world_key_name(b: Builder, key: model.WorldKey) -> str:
    if isinstance(key, str):
        return key
    iface = b.interfaces[key.id]
    assert iface.package is not None and iface.name is not None
    pkg = b.packages[iface.package].name
    base = f"{pkg.namespace}:{pkg.name}/{iface.name}"
    return f"{base}@{pkg.version}" if pkg.version else base


def _inject_world(b: Builder, wid: int, meta: dict[str, Any]) -> None:
    world = b.worlds[wid]
    for (name, iface_meta), only_export in [
        *((p, False) for p in (meta.get("interfaces") or {}).items()),
        *((p, True) for p in (meta.get("interface_exports") or {}).items()),
    ]:
        item = world.exports.get(name) if only_export else world.imports.get(name, world.exports.get(name))
        if not isinstance(item, model.InterfaceItem):
            raise MetadataError(f'missing interface "{name}"')
        stability = _stability(_object(iface_meta, INTERFACE_FIELDS, "an interface").get("stability"))
        where = world.exports if only_export or name not in world.imports else world.imports
        where[name] = msgspec.structs.replace(item, stability=stability)
        _inject_interface(b, item.id, iface_meta)
    for name, type_meta in (meta.get("types") or {}).items():
        titem = world.imports.get(name)
        if not isinstance(titem, model.TypeItem):
            raise MetadataError(f'missing type "{name}"')
        _inject_type(b, titem.id, type_meta)
    keys = {
        (world_key_name(b, key), is_import): key
        for is_import, items in ((True, world.imports), (False, world.exports))
        for key, item in items.items()
        if isinstance(item, model.InterfaceItem)
    }
    for field_name, is_import, attr in (
        ("interface_import_stability", True, "stability"),
        ("interface_export_stability", False, "stability"),
        ("interface_import_docs", True, "docs"),
        ("interface_export_docs", False, "docs"),
    ):
        for name, value in (meta.get(field_name) or {}).items():
            key = keys.get((name, is_import))
            if key is None:
                raise MetadataError(f"missing interface `{name}`")
            items = world.imports if is_import else world.exports
            current = items[key]
            assert isinstance(current, model.InterfaceItem)
            new_value = _stability(value) if attr == "stability" else _docs(value)
            items[key] = msgspec.structs.replace(current, **{attr: new_value})
    for (name, func_meta), only_export in [
        *((p, False) for p in (meta.get("funcs") or {}).items()),
        *((p, True) for p in (meta.get("func_exports") or {}).items()),
    ]:
        in_imports = not only_export and name in world.imports
        items = world.imports if in_imports else world.exports
        fitem = items.get(name)
        if not isinstance(fitem, model.FunctionItem):
            raise MetadataError(f'missing func "{name}"')
        items[name] = model.FunctionItem(_inject_func(fitem.function, func_meta))
    docs = _docs(meta.get("docs"))
    if docs is not None:
        world.docs = docs
    world.stability = _stability(meta.get("stability"))
