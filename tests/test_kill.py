"""`generate` killed with SIGKILL at seeded random points of its write sequence.

The driver script (test_workflow_support) counts the writer's checkpoints (after
the first half of a temporary file, after its fsync, after each rename, after
each deletion, after the journal's removal) and sends itself SIGKILL at the
chosen one. After each kill: every file is whole (old or new), foreign files are
untouched, and the next `generate` leaves a set that `check` passes.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
from pathlib import Path

from test_cli_generate import make_project
from test_workflow_support import PYTHON, driver_script, env, fake_render
from witgen.workflow import config, writer

SEEDS = range(24)

STATE_A = {"one.wit": "package alpha:one;\n", "two.wit": "package alpha:two;\n"}
STATE_B = {"one.wit": "package alpha:one;\n// changed\n", "three.wit": "package alpha:three;\n"}


def set_wit(root: Path, state: dict[str, str]) -> None:
    wit = root / "alpha/wit"
    for path in wit.iterdir():
        path.unlink()
    for name, text in state.items():
        (wit / name).write_text(text)


def render_state(root: Path, state: dict[str, str]) -> dict[str, str]:
    set_wit(root, state)
    [target] = config.select(config.load_config(root / "pyproject.toml"), ["alpha"])
    return fake_render(target)


def run(script: Path, root: Path, *args: str, kill_at: int = 0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, str(script), *args],
        cwd=root,
        env=env(WITGEN_TEST_KILL_AT=str(kill_at)),
        capture_output=True,
        text=True,
    )


def test_sigkill_at_random_points_leaves_whole_files(tmp_path: Path) -> None:
    root = make_project(tmp_path / "proj")
    script = driver_script(tmp_path)
    out = root / "alpha/gen"
    texts = {"A": render_state(root, STATE_A), "B": render_state(root, STATE_B)}
    foreign = {
        out / "notes.md": b"hand-written notes\n",
        out / "types" / "mine.py": b"# hand-written module\n",
        root / "alpha" / "keep.txt": b"next to the output\n",
    }
    kills = 0
    for seed in SEEDS:
        rng = random.Random(seed)
        old, new = rng.sample(["A", "B"], 2)
        # Start from a complete set of the old state, with foreign files in and around it.
        set_wit(root, STATE_A if old == "A" else STATE_B)
        assert run(script, root, "generate", "-q", "-t", "alpha").returncode == 0
        manifests = {"old": (out / writer.MANIFEST).read_bytes()}
        for path, data in foreign.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        stamps = {path: path.stat().st_mtime_ns for path in foreign}

        set_wit(root, STATE_A if new == "A" else STATE_B)
        plan = writer.plan(out, texts[new], "unused")
        steps = 3 + 3 * len(plan.write) + len(plan.delete) + 3 + 1  # journal, files, manifest, unlink
        kill_at = rng.randint(1, steps)
        proc = run(script, root, "generate", "-q", "-t", "alpha", kill_at=kill_at)
        assert proc.returncode == -signal.SIGKILL, (seed, kill_at, steps, proc.stderr)
        kills += 1

        for path in sorted(out.rglob("*")):
            rel = path.relative_to(out).as_posix()
            if path.is_dir() or path in foreign or path.name.endswith(writer.TMP_SUFFIX):
                continue
            data = path.read_bytes()
            if rel == writer.JOURNAL:
                assert isinstance(json.loads(data)["owned"], list)
            elif rel == writer.MANIFEST:
                assert data == manifests["old"] or json.loads(data)["files"].keys() == texts[new].keys()
            else:
                assert data in {texts[s][rel].encode() for s in texts if rel in texts[s]}, (seed, rel)
        for path, data in foreign.items():
            assert path.read_bytes() == data and path.stat().st_mtime_ns == stamps[path], path

        proc = run(script, root, "generate", "-t", "alpha")
        assert proc.returncode == 0, proc.stderr
        assert run(script, root, "check", "-t", "alpha").stdout == "alpha: fresh (digest) -> alpha/gen\n"
        assert run(script, root, "check", "--full", "-t", "alpha").returncode == 0
        left = [p.name for p in out.rglob("*") if p.name.endswith(writer.TMP_SUFFIX) or p.name == writer.JOURNAL]
        assert left == [], seed
        for path, data in foreign.items():
            assert path.read_bytes() == data and path.stat().st_mtime_ns == stamps[path], path
    assert kills >= 20
