"""Where witgen's data folders are: `grammars/` and `templates/`.

An installed wheel carries them inside the package (`witgen/grammars`); a checkout, and
an editable install of it, keeps them beside the package at the project's top level.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """The folder `name` (`grammars` or `templates`) of this installation."""
    for folder in (_PACKAGE / name, _PACKAGE.parent / name):
        if folder.is_dir():
            return folder
    raise FileNotFoundError(f"witgen's {name} folder is missing (looked in {_PACKAGE} and beside it)")
