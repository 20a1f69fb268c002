"""The repository's pre-commit hooks, run by the real `pre-commit` in a throwaway git repository.

No mocking: pre-commit clones this repository at HEAD, builds the hook's own
virtualenv with witgen installed from it (dependencies from the package index),
and real `git commit`s are refused on stale bindings and accepted once fresh.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRE_COMMIT = Path(sys.executable).parent / "pre-commit"

WIT = """package demo:greeter@0.1.0;

interface greet {
  record greeting {
    name: string,
    times: u8,
  }
  hello: func(g: greeting) -> string;
}

world provider {
  export greet;
}
"""

PYPROJECT = """[project]
name = "greeter"
version = "0"

[tool.witgen]
wit = "wit"
out = "bindings"
"""


def git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=check
    )


def head_with_hooks() -> str:
    """The commit of this repository that pre-commit will clone: it must hold the hooks."""
    rev = git(ROOT, "rev-parse", "HEAD").stdout.strip()
    listed = git(ROOT, "ls-tree", "--name-only", rev, ".pre-commit-hooks.yaml").stdout
    if not listed.strip():
        pytest.fail(
            "HEAD has no .pre-commit-hooks.yaml: commit it before running this test"
        )
    return rev


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pre_commit_home: Path) -> Path:
    if shutil.which("git") is None or not PRE_COMMIT.exists():
        pytest.fail("git and pre-commit (the test extra) are needed")
    rev = head_with_hooks()
    repo = tmp_path / "greeter"
    (repo / "wit").mkdir(parents=True)
    (repo / "wit" / "greeter.wit").write_text(WIT)
    (repo / "pyproject.toml").write_text(PYPROJECT)
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n- repo: {ROOT.as_posix()}\n  rev: {rev}\n  hooks:\n  - id: witgen-check\n"
        "  - id: witgen-generate\n    stages: [manual]\n"
    )
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "dev@example.com")
    git(repo, "config", "user.name", "Dev")
    git(repo, "config", "commit.gpgsign", "false")
    monkeypatch.setenv("PRE_COMMIT_HOME", str(pre_commit_home))  # the run's (conftest)
    monkeypatch.setenv("NO_COLOR", "1")
    # The hook must not see this test environment's witgen: only its own virtualenv's.
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    monkeypatch.setenv(
        "PATH",
        os.pathsep.join(
            p for p in os.environ["PATH"].split(os.pathsep) if ".venv" not in p
        ),
    )
    subprocess.run(
        [str(PRE_COMMIT), "install"], cwd=repo, check=True, capture_output=True
    )
    return repo


def commit(repo: Path, message: str) -> subprocess.CompletedProcess[str]:
    git(repo, "add", "-A")
    return git(repo, "commit", "-q", "-m", message, check=False)


def generate(repo: Path) -> None:
    """Regenerate through the other hook, so that the same witgen writes and checks."""
    proc = subprocess.run(
        [str(PRE_COMMIT), "run", "--hook-stage", "manual", "witgen-generate"],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    # pre-commit fails a hook that changed tracked files: that is the hook doing its job.
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    assert "witgen generate (bindings)" in proc.stdout
    assert (repo / "bindings" / "__init__.py").is_file()


def commits(repo: Path) -> int:
    proc = git(repo, "rev-list", "--count", "HEAD", check=False)
    return int(proc.stdout) if proc.returncode == 0 else 0


@pytest.mark.timeout(900)
def test_commit_refused_on_stale_bindings_and_accepted_when_fresh(repo: Path) -> None:
    refused = commit(repo, "WIT without bindings")
    assert refused.returncode != 0, refused.stdout + refused.stderr
    assert "missing: bindings/" in refused.stdout + refused.stderr
    assert commits(repo) == 0

    generate(repo)
    accepted = commit(repo, "WIT with fresh bindings")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert commits(repo) == 1

    (repo / "wit" / "greeter.wit").write_text(WIT.replace("times: u8", "times: u16"))
    refused = commit(repo, "changed WIT, stale bindings")
    assert refused.returncode != 0
    assert "changed: bindings/" in refused.stdout + refused.stderr
    generate(repo)
    assert commit(repo, "changed WIT, fresh bindings").returncode == 0

    edited = next(
        p for p in sorted((repo / "bindings").rglob("*.py")) if p.read_text().strip()
    )
    edited.write_text(edited.read_text() + "# a hand edit\n")
    refused = commit(repo, "hand edit")
    assert refused.returncode != 0
    assert (
        f"changed: {edited.relative_to(repo).as_posix()}"
        in refused.stdout + refused.stderr
    )
    assert commits(repo) == 2
