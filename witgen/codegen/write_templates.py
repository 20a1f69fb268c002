"""`python -m witgen.codegen.write_templates`: translate the code generator's templates into
`witgen/codegen/precompiled.py` after a template or the translator changed (a test says
when it no longer fits; until then, a changed template renders with jinja2)."""

from __future__ import annotations

import re
from pathlib import Path

from witgen.codegen.templatepy import Unsupported, translate
from witgen.codegen.templating import environment, template_digest

PRECOMPILED = Path(__file__).with_name("precompiled.py")

HEADER = '''"""The code generator's templates as plain Python functions (`witgen.codegen.templating`).

Written by `python -m witgen.codegen.write_templates` from templates/*.jinja: do not edit.
"""

# fmt: off
from __future__ import annotations

from typing import Any

from witgen.codegen.templateruntime import Rendering
from witgen.codegen.templateruntime import getattr_ as _getattr
from witgen.codegen.templateruntime import getitem as _getitem
from witgen.codegen.templateruntime import join as _join

__all__ = ["TEMPLATES"]
'''


def module_text() -> tuple[str, list[str]]:
    """The text of `precompiled.py`, and the templates left to Jinja."""
    env = environment()
    names = sorted(n for n in env.list_templates() if "/" not in n and n.endswith(".jinja"))
    functions: list[str] = []
    table: list[str] = []
    left: list[str] = []
    for name in names:
        function = "_" + re.sub(r"\W", "_", name)
        try:
            code = translate(env, name, function)
        except Unsupported:
            left.append(name)
            continue
        source = env.loader.get_source(env, name)[0] if env.loader is not None else ""
        functions.append(code)
        table.append(f"    {name!r}: ({template_digest(name, source)!r}, {function}),")
    body = "\n\n".join(functions)
    text = f"{HEADER}\n\n{body}\n\nTEMPLATES: dict[str, tuple[str, Rendering]] = {{\n" + "\n".join(table) + "\n}\n"
    return text, left


def write(path: Path = PRECOMPILED) -> list[str]:
    """Write `precompiled.py`; the templates left to Jinja."""
    text, left = module_text()
    path.write_text(text, encoding="utf-8")
    return left


if __name__ == "__main__":
    left = write()
    print(f"wrote {PRECOMPILED}" + (f"; left to Jinja: {', '.join(left)}" if left else ""))
