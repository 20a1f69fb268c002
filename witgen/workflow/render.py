"""The one code path from a target to its files in memory, shared by generate and check.

The front end and the code generator are imported here, when a target is
actually rendered, so that commands which end on the fast path never load lark,
jinja2 or black.
"""

from __future__ import annotations

import os
from pathlib import Path

from witgen.workflow import import_msgspec
from witgen.workflow.config import Target
from witgen.workflow.digest import generator_fingerprint, wit_names


class RenderError(Exception):
    """Invalid WIT or a generator failure, with its message already rendered."""


def input_names(target: Target) -> tuple[str, ...]:
    """The WIT files of a target as the generated header names them: POSIX, relative."""
    base = target.root.resolve()
    folder = target.wit.resolve() if target.wit.is_dir() else None
    # Below a folder, the walk enters no linked folder: only a linked file resolves elsewhere.
    lead = None if folder is None else folder.relative_to(base).as_posix() if folder.is_relative_to(base) else None
    names = []
    for path, below in wit_names(target.wit):
        if folder is not None and not os.path.islink(path):
            if lead is None:  # the folder lies outside the root: named from the folder's parent
                names.append(f"{target.wit.name}/{below}" if target.wit.name else below)
            else:
                names.append(below if lead == "." else f"{lead}/{below}")
            continue
        full = Path(path).resolve()
        rel = full.relative_to(base) if full.is_relative_to(base) else Path(path).relative_to(target.wit.parent)
        names.append(rel.as_posix())
    return tuple(names)


def pack_scope(target: Target) -> str:
    """What names a target's cache packs (`witgen.workflow.pack`): its output folder.

    The scope decides only which entries are kept together; every entry is keyed by a
    digest of what decides its value."""
    return f"target\0{target.out.resolve()}"


def render_target(target: Target) -> dict[str, str]:
    """Render a target's bindings in memory: relative POSIX path -> file text."""
    import_msgspec()
    from witgen.errors import WitError

    if not target.wit.exists():
        raise RenderError(f"{target.wit}: no such file or folder")
    from witgen.codegen import CodegenError, render_bindings
    from witgen.codegen import render as codegen_render
    from witgen.resolver import load
    from witgen.workflow.astcache import AstCache, installed
    from witgen.workflow.formatcache import PackedFormatCache, default_folder

    folder = default_folder()
    cache = PackedFormatCache(folder, pack_scope(target)) if folder is not None else None
    codegen_render.format_cache = cache
    codegen_render.module_salt = generator_fingerprint() if cache is not None else None
    codegen_render.use_template_cache(folder / "templates" if folder is not None else None)
    try:
        with installed(AstCache(folder, scope=pack_scope(target)) if folder is not None else None):
            resolve = load(target.wit, features=target.features, all_features=target.all_features)
        return render_bindings(
            resolve,
            target.worlds,
            parts=target.parts,
            inputs=input_names(target),
            exports=target.exports,
            imports=target.imports,
        )
    except WitError as exc:
        raise RenderError(exc.render()) from None
    except CodegenError as exc:
        raise RenderError(str(exc)) from None
    finally:
        codegen_render.format_cache = None
        codegen_render.module_salt = None
        codegen_render.use_template_cache(None)
        if cache is not None:
            cache.flush()
