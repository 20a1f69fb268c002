"""Reading a component: its index spaces, types, imports and exports, as a validator does.

`read_component` walks the sections of a component (and of the components nested in
it), giving every type an identity in a `TypeStore`: type definitions, imports and
exports (with the fresh resources that importing an instance type or instantiating a
component creates), aliases, instances and lifted functions. Core modules, core
instances and core types are stepped over. The result is the top-level imports and
exports in order, with their types, and the `package-docs` custom section if present.
"""

from __future__ import annotations

from msgspec import Struct

from witgen.binary import syntax
from witgen.binary.reader import COMPONENT_SECTIONS, COMPONENT_VERSION, MAGIC, MODULE_VERSION, Reader
from witgen.binary.state import Extern, State, read_alias
from witgen.binary.typedefs import read_type
from witgen.binary.types import Entity, TypeStore

MAX_DEPTH = 100


class ComponentInfo(Struct):
    store: TypeStore
    externs: list[Extern]
    package_docs: bytes | None
    package_docs_at: int = 0


# --------------------------------------------------------------------------- sections


def read_component(data: bytes) -> ComponentInfo:
    """The top-level imports and exports of the component `data`, with their types."""
    store = TypeStore()
    state = State("component", store, None)
    r = Reader(data, 8, len(data), "header")
    info = ComponentInfo(store, [], None)
    _read_body(r, state, info)
    info.externs = state.externs
    return info


def _read_body(r: Reader, state: State, info: ComponentInfo | None) -> None:
    while not r.at_end():
        at = r.pos
        r.section = "header"
        sid = r.u8()
        size = r.u32()
        name = COMPONENT_SECTIONS.get(sid)
        if name is None:
            r.fail(f"unknown component section id {sid}", at)
        sec = r.sub(size, name)
        if sid == 0:
            section_name = sec.string()
            if info is not None and section_name == "package-docs":
                if info.package_docs is not None:
                    sec.fail('multiple "package-docs" sections', at)
                info.package_docs = sec.data[sec.pos : sec.end]
                info.package_docs_at = sec.pos
            continue
        if sid == 1:
            _core_module_outline(sec)
            continue
        if sid in (2, 3):
            continue  # core instances and core types carry no WIT
        if sid == 4:
            _nested_component(sec, state)
            continue
        if sid in (9, 12):
            sec.fail("component values and start functions are not supported", at)
        count = sec.count(f"{name} item")
        for _ in range(count):
            _SECTION_ITEM[sid](sec, state)
        sec.expect_end()


def _core_module_outline(sec: Reader) -> None:
    """A nested core module's header and section layout (its contents carry no WIT)."""
    if sec.end - sec.pos < 8 or sec.data[sec.pos : sec.pos + 4] != MAGIC:
        sec.fail("core module without a module header")
    if sec.data[sec.pos + 4 : sec.pos + 8] != MODULE_VERSION:
        sec.fail("core module with an unknown binary version")
    body = Reader(sec.data, sec.pos + 8, sec.end, "core module")
    while not body.at_end():
        at = body.pos
        sid = body.u8()
        if sid > 13:
            body.fail(f"malformed section id: {sid}", at)
        inner = body.sub(body.u32(), "core module")
        if sid == 0:
            inner.string()


def _nested_component(sec: Reader, state: State) -> None:
    if state.depth >= MAX_DEPTH:
        sec.fail("components nested too deeply")
    if sec.end - sec.pos < 8 or sec.data[sec.pos : sec.pos + 4] != MAGIC:
        sec.fail("nested component without a component header")
    if sec.data[sec.pos + 4 : sec.pos + 8] != COMPONENT_VERSION:
        sec.fail("nested component with an unknown version")
    inner = State("component", state.store, state)
    body = Reader(sec.data, sec.pos + 8, sec.end, "header")
    _read_body(body, inner, None)
    state.components.append(state.store.push_component(inner.finish_component()))


def _instance_item(r: Reader, state: State) -> None:
    at = r.pos
    tag = r.u8()
    if tag == 0x00:
        index = r.u32()
        component = state._at(state.components, index, "component", r, at)
        args: dict[str, Entity] = {}
        for _ in range(r.count("instantiation argument")):
            name = r.string()
            kind = syntax.sort(r)
            arg_index = r.u32()
            if name in args:
                r.fail(f"instantiation argument `{name}` conflicts with previous argument", at)
            args[name] = state.sort_entity(kind, arg_index, r, at)
        state.instances.append(state.instantiate(component, args, r, at))
    elif tag == 0x01:
        exports = []
        for _ in range(r.count("instantiation export")):
            export_name = syntax.extern_name(r)
            export_kind = syntax.sort(r)
            exports.append((export_name, export_kind, r.u32()))
        state.instances.append(state.instance_from_exports(exports, r, at))
    else:
        r.fail(f"invalid leading byte (0x{tag:x}) for instance", at)


def _type_item(r: Reader, state: State) -> None:
    state.types.append(read_type(r, state))


def _canon_item(r: Reader, state: State) -> None:
    at = r.pos
    type_index = syntax.canonical(r)
    if type_index is not None:
        state.funcs.append(state.typed_at(type_index, "f", "a function type", r, at))


def _import_item(r: Reader, state: State) -> None:
    at = r.pos
    name = syntax.extern_name(r)
    state.add_import(name, syntax.type_ref(r), r, at)


def _export_item(r: Reader, state: State) -> None:
    at = r.pos
    name = syntax.extern_name(r)
    kind = syntax.sort(r)
    index = r.u32()
    flag = r.u8()
    if flag not in (0x00, 0x01):
        r.fail(f"invalid leading byte (0x{flag:x}) for optional component export type", r.pos - 1)
    ascribed = syntax.type_ref(r) if flag == 0x01 else None
    if kind == "type":
        referenced = state.type_at(index, r, at)
        entity = Entity("type", state.store.with_unique(referenced), referenced)
    else:
        entity = state.sort_entity(kind, index, r, at)
    if ascribed is not None:
        entity = state.check_type_ref(ascribed, r, at)
    state.add_export(name, entity, r, at)


_SECTION_ITEM = {
    5: _instance_item,
    6: read_alias,
    7: _type_item,
    8: _canon_item,
    10: _import_item,
    11: _export_item,
}

