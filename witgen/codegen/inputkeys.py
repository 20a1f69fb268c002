"""Cache keys of whole modules computed from the resolved model, before any view is built.

A module's text is a function of the generator (`render.module_salt`), the options
(parts, the inputs named in the header), the layout (a function of the resolve and the
selected worlds) and what it reads of the resolve. It reads all of the resolve's shape
(names, kinds, owners, functions, worlds, packages, with their docs), but the docs of a
type only when the module defines the type, or when the type is a resource (its
docstring goes on the provider and client classes of the worlds using it). So the key
of a module is a digest of the resolve with the docs of every other type (and of its
fields, cases and flags) left out, then the full definitions of its own types: a doc
comment edited in one interface changes the keys of the modules defining that type
only, and the other modules come from the cache without building their views.
`tests/test_codegen_inputkeys.py` checks that rule on the samples and the corpus.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import msgspec

from witgen import model as m
from witgen.codegen import render, templating
from witgen.codegen.layout import Layout

_encoder = msgspec.msgpack.Encoder()


def without_docs(kind: m.TypeKind) -> m.TypeKind:
    """A type's kind with the docs of its fields, cases or flags left out."""
    match kind:
        case m.Record(fields):
            return m.Record(tuple(msgspec.structs.replace(f, docs=None) for f in fields))
        case m.Variant(cases):
            return m.Variant(tuple(msgspec.structs.replace(c, docs=None) for c in cases))
        case m.Enum(cases):
            return m.Enum(tuple(msgspec.structs.replace(c, docs=None) for c in cases))
        case m.Flags(flags):
            return m.Flags(tuple(msgspec.structs.replace(f, docs=None) for f in flags))
    return kind


def shape(td: m.TypeDef) -> m.TypeDef:
    """What a module not defining `td` reads of it: all but its docs (a resource's are kept)."""
    if isinstance(td.kind, m.Resource):
        return td
    return msgspec.structs.replace(td, docs=None, kind=without_docs(td.kind))


def module_input_keys(
    layout: Layout, world_ids: Sequence[int], root: int | None, parts: Collection[str], inputs: Sequence[str]
) -> dict[str, str] | None:
    """The key of every module of `layout` (by dotted name), or None when modules are not cached."""
    salt = render.module_salt
    if render.format_cache is None or salt is None:
        return None
    r = layout.resolve
    shared = _encoder.encode(
        [
            msgspec.structs.replace(r, types=tuple(shape(td) for td in r.types)),
            list(world_ids),
            root,
            sorted(parts),
            list(inputs),
        ]
    )
    head = f"inputs {salt} {templating.digest(shared)}"
    keys = {}
    for dotted, mod in layout.modules.items():
        own = _encoder.encode([mod.dotted, mod.kind, mod.owner, [(t, r.types[t]) for t in mod.types]])
        keys[dotted] = f"{head} {templating.digest(own)}"
    return keys
