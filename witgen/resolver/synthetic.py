"""A world made of interfaces named on the command line (`--export`, `--import`).

Upstream packages (wasi:keyvalue, wasi:blobstore, ...) rarely have a world that
exports their interfaces, yet a provider implements exactly those. `with_world`
adds to a resolve the world a user would otherwise write by hand:

    world exports { export wasi:keyvalue/store; import ...; }

elaborated as the resolver elaborates a written world (the interfaces the exports
`use` are imported), so code generation treats it like any other world. The world
belongs to no package: a WIT name can never refer to it, and the code generator
puts it at the top of the output package, where no package's module can be.

Interfaces are named as users write them: `ns:pkg/iface@version`, without the
version when only one is loaded, or a bare `iface` when one package alone has it.
"""

from __future__ import annotations

from collections.abc import Sequence

from msgspec.structs import replace

from witgen import model
from witgen.errors import Source, Span, WitError
from witgen.resolver.arenas import Arenas
from witgen.resolver.gates import Gates
from witgen.resolver.worlds import elaborate_world

__all__ = ["EXPORTS_WORLD", "IMPORTS_WORLD", "find_interface", "interface_names", "with_world"]

# The synthetic world's name: "exports" when it exports anything, else "imports".
EXPORTS_WORLD = "exports"
IMPORTS_WORLD = "imports"


def interface_names(resolve: model.Resolve) -> dict[str, int]:
    """Every named interface of the resolve by its full name (`ns:pkg/iface@version`)."""
    out: dict[str, int] = {}
    for iid, iface in enumerate(resolve.interfaces):
        if iface.name is not None and iface.package is not None:
            out[resolve.interface_id(iid)] = iid
    return out


def find_interface(resolve: model.Resolve, spec: str) -> int:
    """The interface `spec` names; a `WitError` listing the known ones when none or
    several match."""
    known = interface_names(resolve)
    text = spec.strip()
    if text in known:
        return known[text]
    if "/" in text:
        package, _, name = text.partition("/")
        matches = [full for full in known if _unversioned(full) == f"{package}/{name}"]
    elif ":" not in text and "@" not in text:
        matches = [full for full in known if full.partition("/")[2].partition("@")[0] == text]
    else:
        matches = []
    if len(matches) == 1:
        return known[matches[0]]
    if matches:
        raise WitError(f"interface '{spec}' is ambiguous; it could be: {', '.join(sorted(matches))}")
    listed = ", ".join(sorted(known)) or "none"
    raise WitError(f"unknown interface '{spec}'; known: {listed}")


def _unversioned(full: str) -> str:
    return full.partition("@")[0]


def with_world(
    resolve: model.Resolve, exports: Sequence[str], imports: Sequence[str] = ()
) -> tuple[model.Resolve, int]:
    """`resolve` with one more world that exports `exports` and imports `imports`, and
    that world's id."""
    export_ids = list(dict.fromkeys(find_interface(resolve, s) for s in exports))
    import_ids = list(dict.fromkeys(find_interface(resolve, s) for s in imports))
    name = EXPORTS_WORLD if export_ids else IMPORTS_WORLD
    parts = []
    if export_ids:
        parts.append("exports " + ", ".join(resolve.interface_id(i) for i in export_ids))
    if import_ids:
        parts.append("imports " + ", ".join(resolve.interface_id(i) for i in import_ids))
    summary = "; ".join(parts)
    docs = f"{summary[0].upper()}{summary[1:]}."
    world = model.World(
        name,
        {model.InterfaceKey(i): model.InterfaceItem(i) for i in import_ids},
        {model.InterfaceKey(i): model.InterfaceItem(i) for i in export_ids},
        None,
        docs,
    )
    arenas = Arenas(
        Gates((), False),
        list(resolve.types),
        list(resolve.interfaces),
        [*resolve.worlds, world],
        list(resolve.packages),
    )
    wid = len(arenas.worlds) - 1
    command_line = Source("command line", "")
    try:
        elaborate_world(arenas, wid, Span(command_line, 0, 0))
    except WitError as exc:
        raise WitError(exc.message) from None
    return replace(resolve, worlds=tuple(arenas.worlds)), wid
