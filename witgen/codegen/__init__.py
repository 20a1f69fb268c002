"""Code generation: the resolved model -> Python modules (types, codecs, services).

`render_bindings` is the entry point; it returns the files of one output package as a map
of relative POSIX path -> formatted text, deterministic byte for byte.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from witgen import model as m
from witgen.codegen.layout import CodegenError, Layout

__all__ = ["DEFAULT_PARTS", "PARTS", "CodegenError", "render_bindings", "select_worlds", "selected_worlds"]

PARTS = ("types", "provider", "client", "host")
# "host" (a `<World>Host` on wasmtime, for the `wasm` extra) is asked for explicitly.
DEFAULT_PARTS = ("types", "provider", "client")


def root_package(resolve: m.Resolve) -> int | None:
    """The root package: `resolve.root`, else the last package (dependencies come first)."""
    if resolve.root is not None:
        return resolve.root
    return len(resolve.packages) - 1 if resolve.packages else None


def select_worlds(resolve: m.Resolve, worlds: Sequence[str]) -> list[int]:
    """World ids for names: `name` (root package) or `ns:pkg/name[@version]`."""
    root = root_package(resolve)
    if not worlds:
        return [] if root is None else list(resolve.packages[root].worlds.values())
    out: list[int] = []
    for spec in worlds:
        if ":" in spec and "/" in spec:
            pkg_text, _, name = spec.partition("/")
            version = None
            if "@" in name:
                name, _, version = name.partition("@")
            pkg_name = m.PackageName.parse(pkg_text)
            if version:
                pkg_name = m.PackageName(pkg_name.namespace, pkg_name.name, version)
            candidates = [
                p
                for p in resolve.packages
                if (p.name.namespace, p.name.name) == (pkg_name.namespace, pkg_name.name)
                and (pkg_name.version is None or p.name.version == pkg_name.version)
            ]
            if len(candidates) > 1:
                raise CodegenError(f"world `{spec}` is ambiguous: give the package version")
            wid = candidates[0].worlds.get(name) if candidates else None
        else:
            wid = None if root is None else resolve.packages[root].worlds.get(spec)
        if wid is None:
            known = sorted(resolve.packages[root].worlds) if root is not None else []
            raise CodegenError(
                f"unknown world `{spec}`; the root package has: {', '.join(known) or 'no worlds'}"
            )
        if wid not in out:
            out.append(wid)
    return out


def selected_worlds(
    resolve: m.Resolve, worlds: Sequence[str], exports: Sequence[str] = (), imports: Sequence[str] = ()
) -> tuple[m.Resolve, list[int]]:
    """The resolve and the ids of the worlds to generate: `worlds` (every world of the
    root package when empty, unless interfaces are named), then, when `exports` or
    `imports` name interfaces, a world made of them, added to the resolve (last)."""
    world_ids = select_worlds(resolve, worlds) if worlds or not (exports or imports) else []
    if exports or imports:
        from witgen.resolver.synthetic import with_world

        resolve, synthetic = with_world(resolve, exports, imports)
        world_ids.append(synthetic)
    return resolve, world_ids


def render_bindings(
    resolve: m.Resolve,
    worlds: Sequence[str] = (),
    *,
    parts: Collection[str] = DEFAULT_PARTS,
    inputs: Sequence[str] = (),
    format: bool = True,
    exports: Sequence[str] = (),
    imports: Sequence[str] = (),
) -> dict[str, str]:
    """The files of one output package: relative POSIX path -> formatted text.

    `worlds` empty selects every world of the root package (a package without worlds
    gets the types and codecs of every interface). `parts` chooses what world modules
    hold besides types and codecs: provider stubs and dispatch tables of the exports
    ("provider"), clients of the imports ("client"), a wasmtime component host ("host",
    not by default: its module imports wasmtime). `inputs` are listed in the header.

    `exports` and `imports` name interfaces (`ns:pkg/iface[@version]` or a bare name) of a
    world made for them (`witgen.resolver.synthetic`), generated at the top of the output
    package as `exports.py` (or `imports.py`); with them, `worlds` empty selects no other
    world.
    """
    from witgen.codegen.inputkeys import module_input_keys
    from witgen.codegen.modules import render_module, render_package_init, render_root_init
    from witgen.codegen.render import cached_text, store_text

    unknown = set(parts) - set(PARTS)
    if unknown:
        raise CodegenError(f"unknown part(s) {', '.join(sorted(unknown))}; choose from {', '.join(PARTS)}")
    resolve, world_ids = selected_worlds(resolve, worlds, exports, imports)
    root = root_package(resolve)
    layout = Layout(resolve, world_ids, root)
    ins = list(inputs)
    files: dict[str, str] = {"__init__.py": render_root_init(layout, ins, format=format)}
    for package in layout.package_modules():
        files[f"{package}/__init__.py"] = render_package_init(layout, package, ins, format=format)
    keys = module_input_keys(layout, world_ids, root, parts, ins) if format else None
    for dotted in sorted(layout.modules):
        mod = layout.modules[dotted]
        key = keys[dotted] if keys is not None else None
        if key is not None and (known := cached_text(key)) is not None:
            files[mod.file] = known  # same inputs as an earlier run: no view is built
            continue
        if mod.kind == "world":
            from witgen.codegen.services import world_chunks  # not loaded when world modules come from the cache

            svc, chunks = world_chunks(layout, mod, parts)
            if "host" in parts:
                from witgen.codegen.host import host_chunks

                chunks += host_chunks(svc)
            files[mod.file] = render_module(layout, mod, ins, chunks, svc.em, format=format)
        else:
            files[mod.file] = render_module(layout, mod, ins, format=format)
        if key is not None:
            store_text(key, files[mod.file], slot=f"module {mod.file}")
    return dict(sorted(files.items()))
