"""Tests marked `xdist_group(name)` share one worker under `-n 2 --dist loadgroup` (tests/xdist_groups.py).

A throwaway suite of two groups, twelve tests each, runs in a pytest of its own with this
suite's hook; each test writes down the worker that ran it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("xdist", reason="needs pytest-xdist (the test extra)")

TESTS = Path(__file__).resolve().parent

SUITE = """
import os
import pytest

@pytest.mark.xdist_group("{group}")
@pytest.mark.parametrize("n", range(12))
def test_here(n):
    with open(os.environ["RAN"], "a") as out:
        out.write(f"{group} {{n}} {{os.environ['PYTEST_XDIST_WORKER']}}\\n")
"""


def test_each_group_runs_in_one_worker(tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "conftest.py").write_text(
        f"import sys\nsys.path.insert(0, {str(TESTS)!r})\nfrom xdist_groups import pytest_collection_modifyitems  # noqa: F401\n"
    )
    for group in ("cluster", "host"):
        (suite / f"test_{group}.py").write_text(SUITE.format(group=group))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "2", "--dist", "loadgroup", "-p", "no:cacheprovider",
         "--basetemp", str(tmp_path / "base"), "--rootdir", str(suite), str(suite)],
        cwd=suite, capture_output=True, text=True, timeout=300, env={**os.environ, "RAN": str(tmp_path / "ran")},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    ran = [line.split() for line in (tmp_path / "ran").read_text().splitlines()]
    assert len(ran) == 24
    workers = {group: {w for g, _, w in ran if g == group} for group in ("cluster", "host")}
    assert all(len(w) == 1 for w in workers.values()), workers
