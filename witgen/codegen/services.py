"""Provider stubs, dispatch tables and clients of a world (issue 4)."""

from __future__ import annotations

from collections.abc import Collection

from witgen.codegen.codecs import Emitter
from witgen.codegen.layout import Layout, Module


def world_chunks(layout: Layout, mod: Module, parts: Collection[str]) -> tuple[Emitter, list[str]]:
    """The service chunks of a world module (none yet)."""
    return Emitter(layout, mod), []
