"""The launcher: the executable a wasmCloud host runs for a Python provider.

A host runs the provider archive's binary with no arguments, an empty
environment (no PATH, HOME or VIRTUAL_ENV) and its own working folder, with
HostData on stdin. The launcher is a POSIX shell script that needs none of
those: it names the interpreter by absolute path (a virtual environment's
`bin/python`, not resolved through its symlink, so that environment's packages
load), sets PYTHONPATH to the folders the module is imported from, and `exec`s
`python -m MODULE [ARGS]`, so stdin and signals reach Python directly.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence
from pathlib import Path

__all__ = ["launcher_script", "write_launcher"]


def launcher_script(
    module: str, python: str | Path, paths: Sequence[str | Path] = (), args: Sequence[str] = ()
) -> str:
    """The script's text: `python -m module args`, with `paths` on PYTHONPATH."""
    python = Path(python)
    if not python.is_absolute():
        raise ValueError(f"the interpreter must be an absolute path, not {python}")
    lines = [
        "#!/bin/sh",
        "# A wasmCloud provider launcher made by `witgen launcher`: the host runs it with no",
        "# arguments and an empty environment, and writes HostData to its stdin.",
    ]
    if paths:
        joined = os.pathsep.join(str(Path(p).absolute()) for p in paths)
        lines += [f"PYTHONPATH={shlex.quote(joined)}", "export PYTHONPATH"]
    command = [str(python), "-m", module, *args]
    lines.append("exec " + " ".join(shlex.quote(part) for part in command))
    return "\n".join(lines) + "\n"


def write_launcher(path: Path, text: str) -> None:
    """Write the script whole (a temporary file renamed into place), mode 0755.

    Missing parent folders are created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.chmod(0o755)
    os.replace(tmp, path)
