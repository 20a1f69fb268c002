"""`witgen launcher MODULE -o FILE`: the script a wasmCloud host runs for a Python provider."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click


@click.command()
@click.argument("module")
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the launcher (made executable; missing folders are created).",
)
@click.option(
    "--python", "python", type=click.Path(dir_okay=False, path_type=Path),
    help="The interpreter (default: the one running witgen), kept as an absolute path.",
)
@click.option(
    "--path", "paths", multiple=True, type=click.Path(file_okay=False, path_type=Path),
    help="A folder to import from (PYTHONPATH); default: the current folder when MODULE's "
    "package is in it.",
)
@click.option("--arg", "args", multiple=True, help="An argument for the module (repeatable).")
def launcher(
    module: str, output: Path, python: Path | None, paths: tuple[Path, ...], args: tuple[str, ...]
) -> None:
    """Write a launcher running `python -m MODULE` for a wasmCloud 1.x host.

    The host runs a provider's binary with no arguments and an empty environment;
    the launcher names the interpreter by absolute path and sets PYTHONPATH, so
    it runs anywhere the host starts it. Put it in the provider archive as the
    binary for this machine's target (e.g. x86_64-linux).
    """
    from witgen.provider.launcher import launcher_script, write_launcher

    interpreter = (python or Path(sys.executable)).absolute()
    if not os.access(interpreter, os.X_OK):
        _fail(f"{interpreter}: not an executable interpreter")
    folders = list(paths)
    top = module.partition(".")[0]
    if not folders and (Path(top).is_dir() or Path(f"{top}.py").is_file()):
        folders = [Path.cwd()]
    env = {"PYTHONPATH": os.pathsep.join(str(p.absolute()) for p in folders)} if folders else {}
    check = subprocess.run(
        [str(interpreter), "-c", "import importlib.util, sys; "
         "sys.exit(0 if importlib.util.find_spec(sys.argv[1]) else 1)", module],
        env=env, capture_output=True, cwd="/",
    )
    if check.returncode != 0:
        where = f" with PYTHONPATH {env['PYTHONPATH']}" if env else ""
        _fail(f"{interpreter} cannot import {module}{where} (use --path or --python)")
    in_the_way = _not_a_folder(output.parent)
    if in_the_way is not None:
        _fail(f"{in_the_way}: not a folder")
    try:
        write_launcher(output, launcher_script(module, interpreter, folders, args))
    except OSError as exc:
        _fail(f"{exc.filename or output}: {exc.strerror or exc}")
    click.echo(f"wrote {output}: {interpreter} -m {module}")


def _not_a_folder(folder: Path) -> Path | None:
    """The nearest existing ancestor of `folder` (itself included) when it is not a folder."""
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            return None if candidate.is_dir() else candidate
    return None


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)
