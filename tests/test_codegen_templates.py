"""Templates rendered as translated Python functions: the same text as Jinja, never stale,
and no jinja2 import when every template used is translated."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jinja2
import pytest
from wit_loading import load_wit

from witgen.codegen import render_bindings, templateruntime, templating
from witgen.codegen.templatepy import Unsupported, translate
from witgen.codegen.write_templates import PRECOMPILED, module_text

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "corpus" / "real"
SAMPLES = sorted(p / "wit" for p in (ROOT / "samples").iterdir() if (p / "wit").is_dir())
ALL_PARTS = ("types", "provider", "client", "host")


@pytest.fixture
def jinja_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No translation is current: every template renders with Jinja."""
    monkeypatch.setattr(templating, "translated", lambda name: None)
    yield


def test_the_shipped_translations_are_current() -> None:
    """`python -m witgen.codegen.write_templates` was run after the templates last changed."""
    text, left = module_text()
    assert left == ["macros.jinja"]  # no template of the generator is left to Jinja
    assert PRECOMPILED.read_text() == text, "run `python -m witgen.codegen.write_templates`"
    templating.translated.cache_clear()
    for name in ("module.py.jinja", "record.py.jinja", "host.py.jinja"):
        assert templating.translated(name) is not None


def render_both(wit: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, str], dict[str, str]]:
    resolve = load_wit(wit)
    templating.translated.cache_clear()
    fast = render_bindings(resolve, parts=ALL_PARTS, inputs=[wit.name], format=False)
    with monkeypatch.context() as patch:
        patch.setattr(templating, "translated", lambda name: None)
        slow = render_bindings(resolve, parts=ALL_PARTS, inputs=[wit.name], format=False)
    return fast, slow


@pytest.mark.parametrize("wit", SAMPLES, ids=lambda p: p.parent.name)
def test_translated_templates_render_what_jinja_renders(wit: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, slow = render_both(wit, monkeypatch)
    assert fast == slow and any("Host" in text for text in fast.values())  # the host part too


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"{SHARED} is absent: the corpus needs the shared folder beside the project")
def test_translated_templates_render_what_jinja_renders_on_the_corpus(monkeypatch: pytest.MonkeyPatch) -> None:
    packages = sorted(p for p in SHARED.iterdir() if p.is_dir())
    assert packages
    for wit in packages:
        fast, slow = render_both(wit, monkeypatch)
        assert fast == slow, wit.name


def test_an_edited_template_renders_with_jinja_until_translated_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A translation is used only for the template text it was made from: never stale."""
    templates = tmp_path / "templates"
    shutil.copytree(templating.data_dir("templates"), templates)
    alias = templates / "alias.py.jinja"
    alias.write_text(alias.read_text().replace(": TypeAlias = ", ": TypeAlias  =  "))
    monkeypatch.setattr(templating, "data_dir", lambda name: tmp_path / name)
    templating.environment.cache_clear()
    templating.translated.cache_clear()
    try:
        assert templating.translated("alias.py.jinja") is None
        assert templating.translated("record.py.jinja") is not None
        view = {"t": {"name": "A", "annot": "int", "doc": ""}}
        assert templating.render("alias.py.jinja", view, templating.environment) == "A: TypeAlias  =  int\n"
    finally:
        templating.environment.cache_clear()
        templating.translated.cache_clear()


def test_a_translated_render_never_imports_jinja2(tmp_path: Path) -> None:
    """Cold (no cache) and with a cache, `witgen generate`'s render imports no jinja2."""
    wit = tmp_path / "wit"
    shutil.copytree(ROOT / "samples" / "ollama" / "wit", wit)
    script = f"""
import os, sys
from pathlib import Path
from witgen.workflow.config import Target
from witgen.workflow.render import render_target
target = Target("s", Path({str(wit)!r}), Path({str(tmp_path / "out")!r}), root=Path({str(tmp_path)!r}), parts=("types", "provider", "client", "host"))
for folder in ("", {str(tmp_path / "cache")!r}):
    os.environ["WITGEN_CACHE_DIR"] = folder
    assert render_target(target)
print(sorted(m for m in sys.modules if m.split(".")[0] in ("jinja2", "lark")))
"""
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config"), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def jinja_env(**templates: str) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.DictLoader(templates), undefined=jinja2.StrictUndefined, **templating.OPTIONS)
    env.filters.update(templateruntime.FILTERS)
    return env


def translated(env: jinja2.Environment, name: str) -> Any:
    namespace: dict[str, Any] = {
        "Any": Any,
        "_getattr": templateruntime.getattr_,
        "_getitem": templateruntime.getitem,
        "_join": templateruntime.join,
    }
    exec(translate(env, name, "render"), namespace)
    return namespace["render"]


@pytest.mark.parametrize(
    "source",
    [
        "{% for x in xs %}{{ x }}{{ ', ' if not loop.last }}{% endfor %}.",
        "{% for a, b in pairs if a %}[{{ loop.index }}/{{ loop.length }} {{ a }}={{ b }}]{% endfor %}",
        "{% for x in xs %}{% for x in ys %}{{ x }}{% endfor %}{{ x }}{% endfor %}{{ x }}",
        "{{ d.key }} {{ d['key'] }} {{ o.real }} {{ xs[1] }} {{ (xs | join('-')) ~ '!' }}",
        "{% if xs and not o %}a{% elif o == 3 or 2 in xs %}b{% else %}c{% endif %}\n{{ lines | block(4) }}\n",
        "{% for x in xs %}\n  {% if x > 1 %}\n{{ x }}\n  {% endif %}\n{% endfor %}\nend",
        "{{ 'yes' if o else 'no' }}{{ None }}{{ o }}",
    ],
)
def test_translations_follow_jinja(source: str) -> None:
    env = jinja_env(t=source)
    context = {
        "xs": [1, 2, 3],
        "ys": ["a", "b"],
        "x": "outer",
        "pairs": [("p", 1), ("", 2), ("q", 3)],
        "d": {"key": "v"},
        "o": 3,
        "lines": ["a", "b"],
    }
    assert translated(env, "t")(context, templateruntime.FILTERS) == env.get_template("t").render(**context)


@pytest.mark.parametrize(
    "source",
    [
        "{% set x = 1 %}{{ x }}",
        "{% for x in xs %}{{ loop.cycle('a', 'b') }}{% endfor %}",
        "{% for x in xs %}{% else %}none{% endfor %}",
        "{{ xs | length }}",
        "{{ range(3) }}",
        "{% macro m() %}{% endmacro %}",
        "{{ xs[1:] }}",
        "{% include 'other' %}",
    ],
)
def test_what_the_translator_does_not_handle_stays_jinjas(source: str) -> None:
    with pytest.raises(Unsupported):
        translate(jinja_env(t=source, other=""), "t", "render")


def test_an_undefined_name_or_attribute_is_an_error_as_with_strict_undefined() -> None:
    env = jinja_env(t="{{ o.missing }}", u="{{ nothing }}")
    with pytest.raises(jinja2.UndefinedError):
        env.get_template("t").render(o=1)
    with pytest.raises(templateruntime.UndefinedValue):
        translated(env, "t")({"o": 1}, templateruntime.FILTERS)
    with pytest.raises(KeyError):
        translated(env, "u")({}, templateruntime.FILTERS)
