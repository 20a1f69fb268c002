"""Assemble one output module: its types, their descriptions and (for worlds) services.

Other generated modules are imported under their own name (`from . import llm`, then
`llm.ChatRequest`) unless that name is taken in the module (a type, a function, a
parameter, a runtime import, or another imported module of the same name); then under a
private alias (`_ollama_llm__llm`).
"""

from __future__ import annotations

import re

from witgen import model as m
from witgen.codegen.layout import Layout, Module
from witgen.codegen.render import (
    RUNTIME_NAMES,
    Chunk,
    cached_text,
    chunk,
    header,
    imports_for,
    module_key,
    module_text,
    render_chunk,
    store_text,
)
from witgen.codegen.shapes import MODULE_TOKEN, Emitter
from witgen.codegen.types import FunctionView, TypeView, function_view, param_names, type_view
from witgen.naming import docstring

_TOKEN_RE = re.compile(re.escape(MODULE_TOKEN) + r"(\w+?)__end__")


def type_views(em: Emitter) -> list[TypeView]:
    return [type_view(em, tid) for tid in sorted(em.module.types)]


def module_aliases(layout: Layout, mod: Module, dotted: set[str]) -> dict[str, str]:
    """The name each imported module gets in `mod` (see the module docstring)."""
    taken = set(mod.ns) | RUNTIME_NAMES
    for f in functions_of(layout, mod):
        taken.update(param_names(f))
    stems: dict[str, int] = {}
    for d in dotted:
        stem = d.rpartition(".")[2]
        stems[stem] = stems.get(stem, 0) + 1
    out = {}
    for d in sorted(dotted):
        stem = d.rpartition(".")[2]
        out[d] = stem if stems[stem] == 1 and stem not in taken else layout.modules[d].alias
    return out


def resolve_module_tokens(text: str, aliases: dict[str, str]) -> str:
    """Replace the module placeholders in `text` with the chosen aliases."""
    return _TOKEN_RE.sub(lambda mt: aliases[mt.group(1).replace("__dot__", ".")], text)


def functions_of(layout: Layout, mod: Module) -> list[m.Function]:
    r = layout.resolve
    if mod.kind == "interface":
        return list(r.interfaces[mod.owner].functions.values())
    world = r.worlds[mod.owner]
    return [
        item.function
        for item in (*world.imports.values(), *world.exports.values())
        if isinstance(item, m.FunctionItem)
    ]


def render_module(
    layout: Layout,
    mod: Module,
    inputs: list[str],
    extra_chunks: list[Chunk] | None = None,
    emitter: Emitter | None = None,
    *,
    format: bool = True,
) -> str:
    """The text of one interface or world module, formatted with black unless `format` is False.

    The chunks are rendered only when the cache holds no module made of the same chunk
    contexts, module names, header and docstring (`render.module_key`).
    """
    em = emitter or Emitter(layout, mod)
    r = layout.resolve
    views = type_views(em)
    chunks: list[Chunk] = [chunk(f"{v.template}.py.jinja", t=v) for v in views]
    fviews: list[FunctionView] = []
    seen: set[str] = set()
    for f in functions_of(layout, mod):
        if f.name in seen:  # a world can both import and export one function name
            continue
        seen.add(f.name)
        fviews.append(function_view(em, f))
    chunks.append(chunk("registry.py.jinja", types=views, functions=fviews))
    chunks.extend(extra_chunks or [])
    aliases = module_aliases(layout, mod, em.imports)
    mods = sorted((d, aliases[d]) for d in em.imports)
    if mod.kind == "interface":
        iface = r.interfaces[mod.owner]
        title = r.interface_id(mod.owner) if iface.name is not None else f"inline interface {mod.dotted}"
        docs = iface.docs
    else:
        world = r.worlds[mod.owner]
        pkg = r.packages[world.package].name if world.package is not None else None
        title = f"world {pkg}/{world.name}" if pkg else f"world {world.name}"
        docs = world.docs
    doc = docstring(f"WIT {title}." + (f"\n\n{docs}" if docs else ""))
    key = module_key([chunks, mods, mod.package, header(inputs), doc]) if format else None
    if key is not None and (known := cached_text(key)) is not None:
        return known
    texts = [resolve_module_tokens(render_chunk(template, **context), aliases) for template, context in chunks]
    body = "\n\n\n".join(texts)
    text = module_text(
        "module.py.jinja",
        header=header(inputs),
        doc=doc,
        imports=module_imports(body, mods, mod.package),
        chunks=texts,
        format=format,
    )
    if key is not None:
        store_text(key, text, slot=f"module {mod.file}")
    return text


def module_imports(body: str, modules: list[tuple[str, str]], package: str) -> list[str]:
    """`imports_for`, also for a module at the top of the output package (`package` ""),
    whose sibling sub-packages are imported from `.`."""
    if package:
        return imports_for(body, modules, package)
    lines = imports_for(body, [], package)
    if modules:
        lines.append("")
    for path, alias in modules:
        parent, _, name = path.rpartition(".")
        source = f".{parent}" if parent else "."
        lines.append(f"from {source} import {name}" if alias == name else f"from {source} import {name} as {alias}")
    return lines


def render_package_init(layout: Layout, package: str, inputs: list[str], *, format: bool = True) -> str:
    r = layout.resolve
    pkg = r.packages[layout.packages[package]]
    docs = f"WIT package {pkg.name}." + (f"\n\n{pkg.docs}" if pkg.docs else "")
    return module_text("init.py.jinja", header=header(inputs), doc=docstring(docs), format=format)


def render_root_init(layout: Layout, inputs: list[str], *, format: bool = True) -> str:
    names = ", ".join(str(layout.resolve.packages[p].name) for _, p in sorted(layout.packages.items()))
    docs = f"Bindings generated by witgen for {names or 'no package'}."
    return module_text("init.py.jinja", header=header(inputs), doc=docstring(docs), format=format)
