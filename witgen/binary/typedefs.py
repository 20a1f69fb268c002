"""Type definitions of the component binary format: value, function, resource, instance
and component types, read into a `TypeStore` in the index spaces of a `State`."""

from __future__ import annotations

from witgen.binary import syntax
from witgen.binary.names import is_kebab
from witgen.binary.reader import Reader
from witgen.binary.state import State, read_alias
from witgen.binary.types import PRIMITIVE_BYTES, Defined, FuncType, InstanceType, TypeId, ValType


def read_type(r: Reader, state: State) -> TypeId:
    """One type definition; its id (not yet added to `state`'s type index space)."""
    at = r.pos
    byte = r.u8()
    store = state.store
    if byte == 0x3F:
        rep = r.u8()
        if rep not in (0x7F, 0x7E):
            r.fail("resources can only be represented by `i32` or `i64`", at)
        flag = r.u8()
        if flag == 0x01:
            r.u32()
        elif flag != 0x00:
            r.fail(f"invalid leading byte (0x{flag:x}) for resource destructor", r.pos - 1)
        if state.kind != "component":
            r.fail("resources can only be defined within a concrete component", at)
        rid = store.new_resource()
        state.defined_resources[rid[1]] = None
        return rid
    if byte in (0x40, 0x43):
        params: list[tuple[str, ValType]] = []
        seen: set[str] = set()
        for _ in range(r.count("component function parameter")):
            name = _kebab(r, "function parameter")
            if name in seen:
                r.fail(f"function parameter name `{name}` conflicts with previous parameter name", at)
            seen.add(name)
            params.append((name, state.val(syntax.valtype(r), r, at)))
        result = state.opt_val(syntax.result_list(r), r, at)
        return store.push_func(FuncType(byte == 0x43, tuple(params), result))
    if byte == 0x41:
        inner = State("component-type", store, state)
        _declarations(r, inner, with_imports=True)
        return store.push_component(inner.finish_component())
    if byte == 0x42:
        inner = State("instance-type", store, state)
        _declarations(r, inner, with_imports=False)
        return store.push_instance(
            InstanceType(dict(inner.exports), list(inner.defined_resources), dict(inner.explicit_resources))
        )
    prim = PRIMITIVE_BYTES.get(byte)
    if prim is not None:
        return store.push_defined(Defined("prim", prim=prim))
    return store.push_defined(_defined(r, state, byte, at))


def _declarations(r: Reader, state: State, with_imports: bool) -> None:
    if state.depth > 100:
        r.fail("types nested too deeply")
    for _ in range(r.count("type declaration")):
        at = r.pos
        tag = r.u8()
        if tag == 0x03 and with_imports:
            name = syntax.extern_name(r)
            state.add_import(name, syntax.type_ref(r), r, at)
        elif tag == 0x00:
            syntax.skip_core_type(r)
        elif tag == 0x01:
            state.types.append(read_type(r, state))
        elif tag == 0x02:
            read_alias(r, state)
        elif tag == 0x04:
            name = syntax.extern_name(r)
            entity = state.check_type_ref(syntax.type_ref(r), r, at)
            state.add_export(name, entity, r, at)
        else:
            r.fail(f"invalid leading byte (0x{tag:x}) for component or instance type declaration", at)


def _kebab(r: Reader, what: str) -> str:
    at = r.pos
    name = r.string()
    if not is_kebab(name):
        r.fail(f"{what} name `{name}` is not in kebab case", at)
    return name


def _defined(r: Reader, state: State, byte: int, at: int) -> Defined:
    def val() -> ValType:
        return state.val(syntax.valtype(r), r, at)

    def opt() -> ValType | None:
        return state.opt_val(syntax.optional_valtype(r), r, at)

    def names(what: str) -> tuple[str, ...]:
        found = tuple(_kebab(r, what) for _ in range(r.count(what)))
        if len(set(found)) != len(found):
            r.fail(f"duplicate {what} name", at)
        if not found:
            r.fail(f"{what}s must have at least one member", at)
        return found

    if byte == 0x72:
        fields = [(_kebab(r, "record field"), val()) for _ in range(r.count("record field"))]
        if not fields:
            r.fail("record type must have at least one field", at)
        return Defined("record", tuple(n for n, _ in fields), tuple(t for _, t in fields))
    if byte == 0x71:
        cases: list[tuple[str, ValType | None]] = []
        for _ in range(r.count("variant case")):
            name = _kebab(r, "variant case")
            ty = opt()
            if r.u8() != 0x00:
                r.fail("invalid leading byte for zero byte required", r.pos - 1)
            cases.append((name, ty))
        if not cases:
            r.fail("variant type must have at least one case", at)
        return Defined("variant", tuple(n for n, _ in cases), tuple(t for _, t in cases))
    if byte == 0x70:
        return Defined("list", types=(val(),))
    if byte == 0x63:
        return Defined("map", types=(val(), val()))
    if byte == 0x67:
        element = val()
        size = r.u32()
        if size == 0:
            r.fail("Fixed size lists must have more than zero elements", at)
        return Defined("fixed-list", types=(element,), size=size)
    if byte == 0x6F:
        types = tuple(val() for _ in range(r.count("tuple type")))
        if not types:
            r.fail("tuple type must have at least one type", at)
        return Defined("tuple", types=types)
    if byte == 0x6E:
        return Defined("flags", names("flag"))
    if byte == 0x6D:
        return Defined("enum", names("enum case"))
    if byte == 0x6B:
        return Defined("option", types=(val(),))
    if byte == 0x6A:
        return Defined("result", types=(opt(), opt()))
    if byte in (0x69, 0x68):
        index = r.u32()
        resource = state.typed_at(index, "r", "a resource type", r, at)
        return Defined("own" if byte == 0x69 else "borrow", resource=resource)
    if byte in (0x66, 0x65):
        return Defined("stream" if byte == 0x66 else "future", types=(opt(),))
    r.fail(f"invalid leading byte (0x{byte:x}) for component defined type", at)
