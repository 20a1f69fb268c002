"""Resources of provided interfaces: guest classes that hold the provider's handles.

For a provided interface with resources the guest project gets one more module, named
as componentize-py looks up exported resource classes (the interface's module name,
`x0.py`), with one class per resource:

- its constructor sends the WIT constructor call and keeps the handle the provider
  returned (`self.handle`, the bytes wRPC would carry);
- methods and static functions send `<resource>.<name>` with the handle as the first
  parameter, as a witgen client does over NATS;
- handles in results (`own<r>`) become instances of the class (`bridge_types` builds
  them), and handles in parameters travel as their bytes.

When the caller drops one, the provider gets `[drop]<resource>` (handle bytes as a
`list<u8>`), as from a generated client. componentize-py runs no Python when a caller
drops an exported resource, so the world exports one hook function per resource,
`dtor-r<i>-x-...` (`rep: u32`), and the build points the resource's destructor at it
(`witgen.bridge.dtors`): its core name is as long as the destructor's
(`<instance>#[dtor]<resource>`), so the component is patched in place. The hook gets
the resource's representation, which for componentize-py is the object's `id()`;
`bridge_types.LIVE` maps it back to the object. The hook runs when the host runs the
destructor: wash 2.10 does not for resources it links between components (its import
side has a destructor that does nothing), so there the provider keeps the handles.
"""

from __future__ import annotations

from dataclasses import dataclass

from witgen import model
from witgen.bridge.names import cpy_class, cpy_snake
from witgen.bridge.plan import Iface, Plan

__all__ = ["Hook", "hooks", "resource_module"]


@dataclass(frozen=True, slots=True)
class Hook:
    """One resource's destructor hook: the world function and the destructor it replaces."""

    instance: str
    resource: str
    function: str  # the world export, kebab-case
    dtor: str  # the destructor's core export name, `<instance>#[dtor]<resource>`

    @property
    def method(self) -> str:
        return self.function.replace("-", "_")


def hook_name(index: int, length: int) -> str:
    """`dtor-r<index>` padded with `-x` segments (and one `x`) to exactly `length` characters."""
    name = f"dtor-r{index}"
    while len(name) + 2 <= length:
        name += "-x"
    if len(name) < length:
        name += "x"
    if len(name) != length:
        raise AssertionError(f"no hook name of {length} characters")
    return name


def hooks(plan: Plan) -> list[Hook]:
    """The destructor hooks of every resource of the provided interfaces, in plan order."""
    found: list[Hook] = []
    for it in plan.provide:
        for rid in it.resources:
            name = plan.resolve.types[rid].name or ""
            dtor = f"{it.instance}#[dtor]{name}"
            found.append(Hook(it.instance, name, hook_name(len(found), len(dtor)), dtor))
    return found


def members(it: Iface, rid: int) -> list[tuple[int, model.Function]]:
    """(index in the interface, function) of the constructor, methods and statics of `rid`."""
    return [(m, f) for m, f in enumerate(it.functions) if f.kind.kind != "freestanding" and f.kind.resource == rid]


def _owned_params(plan: Plan, func: model.Function, names: list[str]) -> list[str]:
    """The parameters that pass an `own` handle (the caller gives it up)."""
    r = plan.resolve
    out = []
    for p, py in zip(func.params, names, strict=True):
        ty = r.dealias(p.type)
        kind = r.types[ty].kind if isinstance(ty, int) else None
        if isinstance(kind, model.Handle) and kind.mode == "own":
            out.append(py)
    return out


def resource_module(plan: Plan, n: int, it: Iface, module: str) -> str:
    """The source of module `module` (componentize-py's name for `it`): its resource classes."""
    lines = [
        f'"""{it.instance}: resources whose handles the provider issues."""',
        "",
        "from typing import Any",
        "",
        "import bridge_types as T",
        "from bridge_app import _call",
        f"from wit_world.exports import {module} as _exports",
    ]
    for rid in it.resources:
        name = plan.resolve.types[rid].name or ""
        cls = cpy_class(name)
        lines += ["", "", f"class {cls}(_exports.{cls}):",
                  f'    """`{name}`: holds the provider\'s handle (`handle`); calls go to NATS."""',
                  "", "    handle: bytes"]  # fmt: skip
        for m, f in members(it, rid):
            params = [cpy_snake(p.name) for p in f.params]
            kind = f.kind.kind
            call_params = params[1:] if kind == "method" else params
            args = ", ".join([*(["self"] if kind == "method" else []), *call_params])
            moved = _owned_params(plan, f, params)
            tail = f", moved=({''.join(x + ', ' for x in moved)})" if moved else ""
            packed = f"({args},)" if len(call_params) + (kind == "method") == 1 else f"({args})"
            call = f"_call({it.instance!r}, {f.item_name!r}, {packed}, T.E{n}_{m}{tail})"
            sig = ", ".join(f"{p}: Any" for p in call_params)
            if kind == "constructor":
                lines += ["", f"    def __init__(self{', ' if sig else ''}{sig}) -> None:",
                          f"        T.take_over(self, {call})"]  # fmt: skip
            elif kind == "static":
                member = cpy_snake(f.item_name.partition(".")[2])
                lines += ["", "    @classmethod", f"    def {member}(cls{', ' if sig else ''}{sig}) -> Any:",
                          f"        return {call}"]  # fmt: skip
            else:
                member = cpy_snake(f.item_name.partition(".")[2])
                lines += ["", f"    def {member}(self{', ' if sig else ''}{sig}) -> Any:", f"        return {call}"]
    return "\n".join(lines) + "\n"


def world_lines(plan: Plan) -> list[str]:
    """The hook exports of the bridge's world."""
    return [f"  export {h.function}: func(rep: u32);" for h in hooks(plan)]


def app_hooks(plan: Plan) -> str:
    """The `WitWorld` class of `bridge_app` (the world's hook functions), or ''."""
    found = hooks(plan)
    if not found:
        return ""
    lines = ["", "", "import wit_world", "", "", "class WitWorld(wit_world.WitWorld):",
             '    """Destructor hooks: a caller dropped a resource, so the provider drops its handle."""']  # fmt: skip
    for h in found:
        lines += ["", f"    def {h.method}(self, rep: int) -> None:", f"        _drop({h.instance!r}, {h.resource!r}, rep)"]
    return "\n".join(lines) + "\n"


DROP = '''

def _drop(instance: str, resource: str, rep: int) -> None:
    """Send `[drop]<resource>` for the guest resource `rep` (its `id()`); a failure is not
    reported (a destructor cannot fail: the provider keeps the handle until it stops)."""
    obj = T.LIVE.pop(rep, None)
    if obj is None:
        return
    body = bytes(T.HANDLE_CODEC.encode_params(obj.handle))
    try:
        wcm_consumer.request(f"{RR}.{instance}.[drop]{resource}", body, TIMEOUT_MS)
    except Err:
        pass
'''
