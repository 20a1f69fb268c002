"""The code generator's templates: a translated function when one is current, else Jinja.

`witgen.codegen.precompiled` holds every template `witgen.codegen.templatepy` can
translate, as a plain Python function, with a digest of what it was translated from:
the template's name and text, the environment's options and the translator's source.
A template is rendered by its function only when that digest matches the template as
it is now; otherwise (a template edited since, a construct the translator leaves to
Jinja) by jinja2, which is imported only then. So a render whose templates are all
translated never imports jinja2.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from witgen.codegen.templateruntime import FILTERS, Rendering
from witgen.paths import data_dir

try:  # hashlib's import loads OpenSSL
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - an interpreter built without it
    from hashlib import blake2b

if TYPE_CHECKING:
    import jinja2

# The environment's settings: the translation depends on the first three (whitespace
# control is applied when a template is parsed).
OPTIONS: dict[str, Any] = {
    "trim_blocks": True,
    "lstrip_blocks": True,
    "keep_trailing_newline": True,
    "autoescape": False,
}

_TRANSLATOR = Path(__file__).with_name("templatepy.py")


def digest(data: bytes) -> str:
    """BLAKE2b, 256 bits, hex."""
    return blake2b(data, digest_size=32).hexdigest()


@cache
def _translator_digest() -> str:
    return digest(_TRANSLATOR.read_bytes())


def template_digest(name: str, source: str) -> str:
    """A digest of everything a translated template is made from."""
    options = ",".join(f"{k}={OPTIONS[k]}" for k in sorted(OPTIONS))
    head = f"{_translator_digest()}\0{options}\0{name}\0"
    return digest(head.encode() + source.encode())


@cache
def translated(name: str) -> Rendering | None:
    """Template `name` as a function of (context, filters), or None when no current
    translation of it exists."""
    from witgen.codegen.precompiled import TEMPLATES

    entry = TEMPLATES.get(name)
    if entry is None:
        return None
    digest, function = entry
    try:
        source = (data_dir("templates") / name).read_text(encoding="utf-8")
        current = template_digest(name, source)
    except (OSError, UnicodeDecodeError):  # a template or the translator's source unreadable
        return None
    return function if current == digest else None


def render(name: str, context: dict[str, Any], environment: Callable[[], jinja2.Environment]) -> str:
    """Template `name` rendered with `context`: by its translation when current, else by
    `environment()`'s Jinja template."""
    function = translated(name)
    if function is not None:
        return function(context, FILTERS)
    return environment().get_template(name).render(**context)


_cache_folder: Path | None = None


@cache
def environment() -> jinja2.Environment:
    """The Jinja environment of the templates (imports jinja2)."""
    import jinja2

    from witgen.codegen.jinjacache import TemplateCache

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(data_dir("templates"))),
        undefined=jinja2.StrictUndefined,
        **OPTIONS,
    )
    env.filters.update(FILTERS)
    env.bytecode_cache = TemplateCache(_cache_folder) if _cache_folder is not None else None
    return env


def use_template_cache(folder: Path | None) -> None:
    """Keep compiled Jinja templates in `folder` across runs (None: compile them in memory)."""
    global _cache_folder
    _cache_folder = folder
    if environment.cache_info().currsize:
        from witgen.codegen.jinjacache import TemplateCache

        environment().bytecode_cache = TemplateCache(folder) if folder is not None else None
