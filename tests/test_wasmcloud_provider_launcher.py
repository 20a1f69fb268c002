"""`witgen launcher`: the script a host runs, and its errors.

That the script runs a provider under `env -i` from another folder is shown in
tests/test_wasmcloud_provider_calls.py; here, what it holds and what is refused.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from witgen.provider.launcher import launcher_script

ROOT = Path(__file__).resolve().parent.parent


def witgen(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "witgen", "launcher", *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )


def test_the_script_names_the_interpreter_by_absolute_path(tmp_path: Path) -> None:
    out = tmp_path / "prov"
    done = witgen("samples.ollama.provider", "-o", str(out), "--arg", "--wasmcloud")
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert text.startswith("#!/bin/sh\n")
    assert f"PYTHONPATH={ROOT}\n" in text
    assert f"exec {Path(sys.executable).absolute()} -m samples.ollama.provider --wasmcloud\n" in text
    assert os.access(out, os.X_OK)


def test_the_script_runs_with_an_empty_environment(tmp_path: Path) -> None:
    # A module printing what it was started with, imported through the script's PYTHONPATH.
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "show.py").write_text("import os, sys\nprint(sys.argv[1:], sorted(os.environ))\n")
    out = tmp_path / "run"
    assert witgen("pkg.show", "-o", str(out), "--arg", "it's", cwd=tmp_path).returncode == 0
    done = subprocess.run(["/usr/bin/env", "-i", str(out)], cwd="/", capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("[\"it's\"]")
    assert "'PYTHONPATH'" in done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("no.such.module", "-o", "{tmp}/x"), "cannot import no.such.module"),
        (("samples.ollama.provider", "-o", "/dev/null/x"), "/dev/null: not a folder"),
        (("samples.ollama.provider", "-o", "{tmp}/x", "--python", "/etc/passwd"), "not an executable interpreter"),
    ],
)
def test_errors_are_one_line_and_exit_1(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    done = witgen(*(a.format(tmp=tmp_path) for a in args))
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and message in done.stderr and done.stderr.startswith("error: ")
    assert not (tmp_path / "x").exists()


def test_a_relative_interpreter_is_refused() -> None:
    with pytest.raises(ValueError, match="absolute"):
        launcher_script("m", "python3")
