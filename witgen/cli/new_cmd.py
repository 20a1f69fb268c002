"""`witgen new provider NAME`: a small, runnable provider project, from a world or interfaces.

The project is built in a hidden folder beside NAME and renamed to NAME once complete,
so a failure leaves nothing half-written. Nothing here imports lark, jinja2 or black
until the command runs.
"""

from __future__ import annotations

import keyword
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from witgen.cli.generate_cmd import Printer, error_boundary, show

EXAMPLES = """\b
Examples:
  witgen new provider kv_store --wit wit --export wasi:keyvalue/store
  witgen new provider llm --wit wit/llm.wit --world provider

\b
The folder NAME gets: pyproject.toml (with its [tool.witgen] target), wit/ (a
copy of the WIT, deps/ included), NAME/bindings (generated), NAME/provider.py
(one class implementing every provider protocol, each method answering "not
implemented"), NAME/__main__.py (`python -m NAME --nats URL --prefix P` serves
it) and tests/test_provider.py (a call in-process).

Exit status: 0 created, 1 invalid WIT or an existing folder, 2 usage error.
"""

# Names a project package must not take: they would hide a module it imports.
_SHADOWING = {"witgen", "tests", "nats", "click", "jinja2", "lark", "black", "msgspec", "pytest", "mypy"}


def package_name_problem(name: str) -> str | None:
    """Why `name` cannot be the project's Python package, or None when it can."""
    if not name.isascii() or not name.isidentifier():
        suggestion = "".join(c if c.isalnum() and c.isascii() else "_" for c in name).strip("_").lower()
        hint = f" (try {suggestion!r})" if suggestion and suggestion.isidentifier() else ""
        return f"{name!r} is not a valid Python package name: use letters, digits and underscores, not starting with a digit{hint}"
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        return f"{name!r} is a Python keyword, not a valid package name"
    if name in sys.stdlib_module_names or name in _SHADOWING:
        return f"{name!r} is the name of a module the project needs (it would hide it): choose another name"
    return None


@click.group()
def new() -> None:
    """Create a new project."""


@new.command(epilog=EXAMPLES)
@click.argument("name")
@click.option(
    "--wit",
    required=True,
    type=click.Path(exists=True, path_type=Path),
    help="The WIT package folder (with its deps/) or file.",
)
@click.option("-w", "--world", metavar="WORLD", help="The world whose exports it provides.")
@click.option(
    "--export",
    "exports",
    multiple=True,
    metavar="IFACE",
    help="An interface it provides, when no world exports it (repeatable).",
)
@click.option("--features", help="Comma-separated @unstable features to enable.")
@click.option("--all-features", is_flag=True, help="Enable every @unstable feature.")
@click.option("-q", "--quiet", is_flag=True, help="Print errors only.")
def provider(
    name: str,
    wit: Path,
    world: str | None,
    exports: tuple[str, ...],
    features: str | None,
    all_features: bool,
    quiet: bool,
) -> None:
    """Create the provider project NAME for a world's exports, or for interfaces.

    NAME is a new (or empty) folder, and the name of the Python package in it.
    """
    from witgen.workflow.config import parse_list

    folder = Path(name)
    problem = package_name_problem(folder.name)
    if problem is not None:
        raise click.BadParameter(problem, param_hint="NAME")
    if bool(world) == bool(exports):
        raise click.UsageError("pass --world WORLD or --export IFACE (one world, or the interfaces to provide)")
    worlds = (world,) if world else ()
    printer = Printer(quiet, False)
    with error_boundary(printer):
        if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
            what = "is not empty" if folder.is_dir() else "exists and is not a folder"
            printer.error(f"{show(folder)} {what}: choose a new name, or empty it first")
            sys.exit(1)
        parent = folder.parent
        if not parent.is_dir():
            printer.error(f"{show(parent)}: no such folder")
            sys.exit(1)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=parent))
        try:
            summary = build_project(staging, folder.name, wit, worlds, exports, parse_list(features), all_features)
            mask = os.umask(0)
            os.umask(mask)
            os.chmod(staging, 0o777 & ~mask)
            os.replace(staging, folder)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    where = show(folder)
    printer.info(f"created {where}: the provider of {summary}", fg="green")
    printer.info(f"  implement {where}/{folder.name}/provider.py; test with `pytest` and `mypy` in {where}")
    printer.info(f"  serve it: cd {where} && python -m {folder.name} --nats nats://127.0.0.1:4222 --prefix default")


def build_project(
    root: Path,
    name: str,
    wit: Path,
    worlds: tuple[str, ...],
    exports: tuple[str, ...],
    features: tuple[str, ...],
    all_features: bool,
) -> str:
    """Write the project into the empty folder `root`; what it provides, for people."""
    from witgen.codegen import CodegenError
    from witgen.codegen.stubs import provider_stubs
    from witgen.errors import WitError
    from witgen.resolver import load
    from witgen.resolver.synthetic import find_interface
    from witgen.workflow import render, writer
    from witgen.workflow.config import load_config
    from witgen.workflow.digest import input_digest, wit_files

    wit_copy = root / "wit"
    base = wit if wit.is_dir() else wit.parent
    for path in wit_files(wit):
        dest = wit_copy / path.relative_to(base)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)
    wit_copy.mkdir(exist_ok=True)
    try:
        resolve = load(wit_copy, features=features, all_features=all_features)
        stubs = provider_stubs(resolve, worlds, exports)
        full_names = list(dict.fromkeys(resolve.interface_id(find_interface(resolve, e)) for e in exports))
    except WitError as exc:
        raise render.RenderError(exc.render().replace(str(wit_copy), str(base))) from None
    except CodegenError as exc:
        raise render.RenderError(str(exc)) from None
    context: dict[str, Any] = {
        "name": name,
        "s": stubs,
        "worlds": worlds,
        "exports": full_names,
        "features": features,
        "all_features": all_features,
        "test_name": _test_name(stubs.test.function if stubs.test is not None else ""),
    }
    texts = {
        "pyproject.toml": _render("pyproject.toml.jinja", context),
        "README.md": _render("README.md.jinja", context),
        f"{name}/__init__.py": _python("package_init.py.jinja", context),
        f"{name}/__main__.py": _python("main.py.jinja", context),
        f"{name}/provider.py": _python("provider.py.jinja", context),
        "tests/test_provider.py": _python("test_provider.py.jinja", context),
    }
    for rel, text in texts.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (target,) = load_config(root / "pyproject.toml")
    files = render.render_target(target)
    writer.apply(writer.plan(target.out, files, input_digest(target)))
    return stubs.world


def _test_name(function: str) -> str:
    from witgen.naming import plain_snake

    return plain_snake(function.replace(".", "-")) if function else "provider"


def module_imports(package: str, modules: list[tuple[str, str]]) -> list[str]:
    """`from PACKAGE.parent import module [as alias]` for bindings modules, in order."""
    lines = []
    for dotted, alias in modules:
        parent, _, module = dotted.rpartition(".")
        source = f"{package}.{parent}" if parent else package
        lines.append((source, module, alias))
    return [
        f"from {source} import {module}" if alias == module else f"from {source} import {module} as {alias}"
        for source, module, alias in sorted(lines)
    ]


def _render(template: str, context: dict[str, Any]) -> str:
    from witgen.codegen.render import environment

    env = environment()
    text = env.get_template(f"new/{template}").render(module_imports=module_imports, **context)
    return text.rstrip("\n") + "\n"


def _python(template: str, context: dict[str, Any]) -> str:
    """A template's Python, formatted with black as generated modules are."""
    import black

    from witgen.codegen.render import black_mode

    text = _render(template, context)
    compile(text, template, "exec", dont_inherit=True)
    return black.format_str(text, mode=black_mode())
