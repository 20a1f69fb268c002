"""An editable install serves type checkers: mypy --strict finds witgen.runtime from outside.

A fresh venv gets `pip install --no-deps -e <project>`; the dependencies (black, lark, ...)
are those of the test venv, made visible through a path entry so that nothing is
downloaded twice. Bindings are generated into a folder outside the project and
type-checked there with `mypy --strict` running on the fresh venv's interpreter, no
MYPYPATH: witgen is found only through the editable install.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

USER_CODE = """\
from bind.wamli_stateful import actor, state
from witgen.runtime import codec
from witgen.runtime.inprocess import InProcessBus
from witgen.runtime.values import Ok


class State:
    def get_data(self) -> Ok[bytes]:
        return Ok(b"x")

    def get_metadata(self) -> Ok[list[str]]:
        return Ok([])


class Model:
    def get_metadata(self) -> Ok[state.Error]:  # the wrong type: mypy must say so
        return Ok(state.Error(1, "a", "b"))


data: bytes = codec.of(state.Error).encode(state.Error(1, "a", "b"))
actor.dispatch_table(state=State(), model=Model())
"""


@pytest.mark.timeout(900)
def test_mypy_follows_an_editable_install(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    fresh_site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    # Dependencies from the test venv (a plain path: its own .pth files are not read).
    (Path(fresh_site) / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--no-deps", "-e", str(ROOT)], capture_output=True, text=True
    )
    assert install.returncode == 0, install.stderr[-3000:]
    found = subprocess.run(
        [str(py), "-c", "import witgen; print(witgen.__file__)"], capture_output=True, text=True, check=True
    )
    assert found.stdout.strip() == str(ROOT / "witgen" / "__init__.py")
    work = tmp_path / "elsewhere"
    work.mkdir()
    gen = subprocess.run(
        [str(py), "-m", "witgen", "generate", str(ROOT / "samples" / "stateful" / "wit"), "-o", "bind"],
        cwd=work,
        capture_output=True,
        text=True,
    )
    assert gen.returncode == 0, gen.stderr
    (work / "bind" / "__init__.py").touch()
    env = {k: v for k, v in os.environ.items() if k not in ("MYPYPATH", "PYTHONPATH")}
    mypy = [sys.executable, "-m", "mypy", "--python-executable", str(py), "--strict", "--no-incremental",
            "--cache-dir", os.devnull]  # fmt: skip
    ok = subprocess.run([*mypy, "bind"], cwd=work, env=env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout[-3000:]
    (work / "user.py").write_text(USER_CODE)
    bad = subprocess.run([*mypy, "user.py"], cwd=work, env=env, capture_output=True, text=True)
    # witgen.runtime was found and typed: the one error is the provider's wrong signature
    assert "Cannot find implementation or library stub" not in bad.stdout, bad.stdout
    assert bad.stdout.count("error:") == 1, bad.stdout
    assert 'Argument "model" to "dispatch_table" has incompatible type "Model"' in bad.stdout
