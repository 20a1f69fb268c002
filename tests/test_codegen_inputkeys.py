"""Whole modules keyed by the resolved model before any view is built (`witgen.codegen.inputkeys`).

The key of a module leaves out the docs of the types it does not define (resources
excepted): the rule holds when changing those docs changes nothing in the module's text.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import msgspec
import pytest
from wit_loading import load_wit

from witgen import model as m
from witgen.codegen import Layout, render_bindings, root_package, selected_worlds
from witgen.codegen import services as codegen_services
from witgen.codegen.inputkeys import shape
from witgen.workflow import render
from witgen.workflow.config import Target

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "corpus" / "real"
SAMPLES = sorted(p / "wit" for p in (ROOT / "samples").iterdir() if (p / "wit").is_dir())
ALL_PARTS = ("types", "provider", "client", "host")


def redocumented(td: m.TypeDef) -> m.TypeDef:
    """`td` with every doc it carries, its own and its members', set to a new text."""
    if shape(td) is td:  # a resource: its docs are part of every key
        return td
    new = "Changed elsewhere."
    kind = td.kind
    match kind:
        case m.Record(fields):
            kind = m.Record(tuple(msgspec.structs.replace(f, docs=new) for f in fields))
        case m.Variant(cases):
            kind = m.Variant(tuple(msgspec.structs.replace(c, docs=new) for c in cases))
        case m.Enum(cases):
            kind = m.Enum(tuple(msgspec.structs.replace(c, docs=new) for c in cases))
        case m.Flags(flags):
            kind = m.Flags(tuple(msgspec.structs.replace(f, docs=new) for f in flags))
    return msgspec.structs.replace(td, docs=new, kind=kind)


def check_rule(wit: Path) -> int:
    """For every module, the docs of the types it does not define change nothing in it."""
    resolve = load_wit(wit)
    expected = render_bindings(resolve, parts=ALL_PARTS, format=False)
    full, world_ids = selected_worlds(resolve, ())
    layout = Layout(full, world_ids, root_package(full))
    checked = 0
    for mod in layout.modules.values():
        own = set(mod.types)
        types = tuple(td if i in own else redocumented(td) for i, td in enumerate(resolve.types))
        changed = msgspec.structs.replace(resolve, types=types)
        assert render_bindings(changed, parts=ALL_PARTS, format=False)[mod.file] == expected[mod.file], mod.file
        checked += 1
    return checked


@pytest.mark.parametrize("wit", SAMPLES, ids=lambda p: p.parent.name)
def test_other_types_docs_change_nothing_in_a_module(wit: Path) -> None:
    assert check_rule(wit) >= 2


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"{SHARED} is absent: the corpus needs the shared folder beside the project")
def test_other_types_docs_change_nothing_in_a_module_of_the_corpus() -> None:
    packages = sorted(p for p in SHARED.iterdir() if p.is_dir())
    assert sum(check_rule(wit) for wit in packages) >= 2 * len(packages)


def test_a_doc_edited_in_one_interface_builds_no_views_for_the_world(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a doc comment on a record changed, the world module (which uses the record
    but not its docs) comes from the cache: its services are not built again."""
    wit = tmp_path / "wit"
    shutil.copytree(ROOT / "samples" / "ollama" / "wit", wit)
    target = Target("s", wit, tmp_path / "out", root=tmp_path)
    monkeypatch.setenv("WITGEN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    render.render_target(target)  # cold
    llm = wit / "llm.wit"
    llm.write_text(llm.read_text().replace("/// One chat message.", "/// One message of a chat.", 1))
    built: list[str] = []
    world_chunks = codegen_services.world_chunks

    def counting(layout: Layout, mod: object, parts: object) -> object:
        built.append(getattr(mod, "dotted"))
        return world_chunks(layout, mod, parts)  # type: ignore[arg-type]

    monkeypatch.setattr(codegen_services, "world_chunks", counting)
    edited = render.render_target(target)
    assert built == []
    assert "One message of a chat." in "".join(edited.values())
    monkeypatch.setenv("WITGEN_CACHE_DIR", "")
    assert render.render_target(target) == edited  # what a render without any cache gives
    assert built  # which does build the world's services
