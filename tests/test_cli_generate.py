"""`witgen generate`: config targets, explicit PATH, output, and every error path.

The writer and CLI are exercised with the stand-in renderer of
test_workflow_support (in process through CliRunner, and as real subprocesses
through a driver script); tests/test_workflow_integration.py runs the real
generator.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from test_workflow_support import PYTHON, driver_script, env, fake_render
from witgen.cli import main
from witgen.workflow import digest, render, writer

CONFIG = """
[tool.witgen]
parts = ["types", "client"]

[[tool.witgen.targets]]
name = "alpha"
wit = "alpha/wit"
out = "alpha/gen"

[[tool.witgen.targets]]
name = "beta"
wit = "beta/wit"
out = "beta/gen"
worlds = ["w"]
"""


def make_project(root: Path, config: str = CONFIG) -> Path:
    (root / ".git").mkdir(parents=True)  # stops the pyproject search here
    for name in ("alpha", "beta"):
        (root / name / "wit").mkdir(parents=True)
        (root / name / "wit" / "one.wit").write_text(f"package {name}:one;\n")
        (root / name / "wit" / "two.wit").write_text(f"package {name}:two;\n")
    (root / "pyproject.toml").write_text(config)
    return root


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(make_project(tmp_path / "proj"))
    monkeypatch.setattr(render, "render_target", fake_render)
    monkeypatch.setattr(digest, "_fingerprint", "pinned")
    monkeypatch.setenv("NO_COLOR", "1")
    return tmp_path / "proj"


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def generated(out: Path) -> list[str]:
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())


def test_configured_targets_need_no_arguments(project: Path) -> None:
    code, out, err = invoke("generate")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "alpha: 6 written, 0 unchanged -> alpha/gen",
        "beta: 6 written, 0 unchanged -> beta/gen",
    ]
    assert generated(project / "alpha/gen") == [
        ".witgen-manifest.json", "__init__.py", "client/one.py", "client/two.py", "py.typed",
        "types/one.py", "types/two.py",
    ]
    assert "WORLDS = ['w']" in (project / "beta/gen/types/one.py").read_text()
    code, out, _ = invoke("generate")
    assert out.splitlines()[0] == "alpha: unchanged (digest) -> alpha/gen"
    code, out, _ = invoke("generate", "--full")
    assert out.splitlines()[0] == "alpha: 0 written, 6 unchanged -> alpha/gen"


def test_summary_counts_written_unchanged_and_deleted(project: Path) -> None:
    invoke("generate")
    (project / "alpha/wit/two.wit").unlink()
    (project / "alpha/wit/one.wit").write_text("package alpha:one;\n// changed\n")
    code, out, _ = invoke("generate", "-t", "alpha", "-v")
    assert code == 0
    assert out.splitlines() == [
        "  written: alpha/gen/client/one.py",
        "  written: alpha/gen/types/one.py",
        "  deleted: alpha/gen/client/two.py",
        "  deleted: alpha/gen/types/two.py",
        "  unchanged: alpha/gen/__init__.py",
        "  unchanged: alpha/gen/py.typed",
        "alpha: 2 written, 2 unchanged, 2 deleted -> alpha/gen",
    ]


def test_quiet_prints_nothing_and_dry_run_writes_nothing(project: Path) -> None:
    assert invoke("generate", "-q") == (0, "", "")
    (project / "beta/wit/one.wit").write_text("package beta:one;\n// changed\n")
    before = (project / "beta/gen/types/one.py").read_text()
    code, out, _ = invoke("generate", "--dry-run", "-v", "-t", "beta")
    assert code == 0
    assert "  would write: beta/gen/types/one.py" in out.splitlines()
    assert out.splitlines()[-1] == "beta: 2 would write, 4 unchanged -> beta/gen"
    assert (project / "beta/gen/types/one.py").read_text() == before


def test_explicit_path_works_without_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(render, "render_target", fake_render)
    (tmp_path / ".git").mkdir()
    (tmp_path / "wit").mkdir()
    (tmp_path / "wit" / "x.wit").write_text("package x:x;\n")
    code, out, _ = invoke("generate", "wit", "-o", "pkg", "--world", "a", "-w", "b", "--parts", "provider")
    assert code == 0 and out == "pkg: 3 written, 0 unchanged -> pkg\n"
    assert generated(tmp_path / "pkg") == [".witgen-manifest.json", "__init__.py", "provider/x.py", "py.typed"]
    assert "WORLDS = ['a', 'b']" in (tmp_path / "pkg/provider/x.py").read_text()


def test_help_has_examples_and_version_is_printed(project: Path) -> None:
    code, out, _ = invoke("generate", "--help")
    assert code == 0 and "Examples:" in out and "witgen generate wit -o bindings" in out
    from witgen import __version__

    assert invoke("--version") == (0, f"witgen, version {__version__}\n", "")


def test_colour_honours_no_color(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR")
    coloured = CliRunner().invoke(main, ["generate"], color=True)
    assert "\x1b[33m" in coloured.stdout  # yellow: files were written
    monkeypatch.setenv("NO_COLOR", "1")
    plain = CliRunner().invoke(main, ["generate"], color=True)
    assert "\x1b[" not in plain.stdout and plain.stdout.startswith("alpha: unchanged (digest)")


# --------------------------------------------------------------------------- error paths
# Each case: how to break the project, the arguments, the exit code, a phrase of the message.


def break_config(root: Path) -> None:
    (root / "pyproject.toml").write_text(CONFIG + 'colour = "red"\n')


def break_toml(root: Path) -> None:
    (root / "pyproject.toml").write_text(CONFIG + "[[\n")


def break_wit(root: Path) -> None:
    (root / "beta/wit/two.wit").write_text("package beta:two; BROKEN\n")


def remove_wit(root: Path) -> None:
    for path in (root / "alpha/wit").iterdir():
        path.unlink()
    (root / "alpha/wit").rmdir()


def foreign_file(root: Path) -> None:
    (root / "alpha/gen/types").mkdir(parents=True)
    (root / "alpha/gen/types/one.py").write_text("# my own module\n")


def out_is_a_file(root: Path) -> None:
    (root / "alpha/gen").write_text("a file where the output folder goes\n")


def no_config(root: Path) -> None:
    (root / "pyproject.toml").write_text("[project]\nname = 'x'\n")


def nothing(root: Path) -> None:
    pass


ERRORS = [
    ("invalid-config", break_config, [], 1, "unknown key 'colour'"),
    ("invalid-toml", break_toml, [], 1, "pyproject.toml"),
    ("invalid-wit", break_wit, [], 1, "invalid WIT"),
    ("missing-wit", remove_wit, [], 1, "alpha/wit: no such file or folder"),
    ("foreign-file", foreign_file, [], 1, "not overwriting files witgen did not generate: alpha/gen/types/one.py"),
    ("out-is-a-file", out_is_a_file, [], 1, "alpha/gen: the output folder is a file"),
    ("no-config", no_config, [], 2, "no PATH given and no pyproject.toml with [tool.witgen] found"),
    ("path-without-out", nothing, ["alpha/wit"], 2, "PATH needs -o/--out OUT"),
    ("world-without-path", nothing, ["--world", "w"], 2, "--world needs PATH"),
    ("out-without-path", nothing, ["-o", "x"], 2, "-o needs PATH"),
    ("unknown-target", nothing, ["-t", "gamma"], 2, "no target named 'gamma'"),
    ("bad-parts", nothing, ["alpha/wit", "-o", "x", "--parts", "types,server"], 2, "unknown part 'server'"),
    ("path-and-target", nothing, ["alpha/wit", "-o", "x", "-t", "alpha"], 2, "cannot be combined"),
    ("unknown-option", nothing, ["--colour"], 2, "No such option '--colour'"),
]


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(("name", "breaker", "args", "code", "message"), ERRORS, ids=[e[0] for e in ERRORS])
def test_error_paths_in_process(
    project: Path, name: str, breaker: object, args: list[str], code: int, message: str
) -> None:
    assert callable(breaker)
    breaker(project)
    before = snapshot(project)
    exit_code, out, err = invoke("generate", *args)
    assert exit_code == code
    assert message in err
    assert err.startswith("error: " if code == 1 else "Usage: ")
    assert snapshot(project) == before  # nothing written, not even half of a set


@pytest.mark.parametrize(("name", "breaker", "args", "code", "message"), ERRORS, ids=[e[0] for e in ERRORS])
def test_error_paths_as_subprocess(
    tmp_path: Path, name: str, breaker: object, args: list[str], code: int, message: str
) -> None:
    assert callable(breaker)
    root = make_project(tmp_path / "proj")
    breaker(root)
    before = snapshot(root)
    script = driver_script(tmp_path)
    proc = subprocess.run([PYTHON, str(script), "generate", *args], cwd=root, env=env(), capture_output=True, text=True)
    assert proc.returncode == code
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert snapshot(root) == before


def test_error_from_one_target_writes_no_target(project: Path) -> None:
    break_wit(project)  # beta fails to render; alpha renders fine but must not be written alone
    assert invoke("generate")[0] == 1
    assert not (project / "alpha/gen").exists()


def test_the_installed_entry_point_runs(tmp_path: Path) -> None:
    root = make_project(tmp_path / "proj")
    no_config(root)
    witgen = Path(PYTHON).parent / "witgen"
    proc = subprocess.run([str(witgen), "generate"], cwd=root, env=env(), capture_output=True, text=True)
    assert proc.returncode == 2 and "no pyproject.toml with [tool.witgen]" in proc.stderr
    assert writer.MANIFEST not in proc.stderr


def test_console_entry_point_ends_at_once_with_every_line_and_exit_status(tmp_path: Path) -> None:
    """`python -m witgen` (the console script's `run`) ends generate and check without
    tearing the interpreter down: the output through a pipe is whole, files are written,
    and the exit status is the command's."""
    import sys

    root = tmp_path / "p"
    (root / "wit").mkdir(parents=True)
    (root / "wit" / "a.wit").write_text("package demo:a;\ninterface i { f: func(x: u32) -> string; }\n")

    def witgen(*args: str) -> subprocess.CompletedProcess[str]:
        environ = env(pin=False, WITGEN_CACHE_DIR=str(tmp_path / "cache"))
        return subprocess.run(
            [sys.executable, "-m", "witgen", *args], cwd=root, capture_output=True, text=True, env=environ
        )

    first = witgen("generate", "wit", "-o", "out", "-v")
    assert first.returncode == 0, first.stderr
    assert "written: out/demo_a/i.py" in first.stdout and first.stdout.rstrip().endswith("-> out")
    assert (root / "out" / "demo_a" / "i.py").read_text().startswith("# Generated by witgen")
    fresh = witgen("check", "wit", "-o", "out")
    assert (fresh.returncode, fresh.stdout.strip()) == (0, "out: fresh (digest) -> out")
    (root / "out" / "demo_a" / "i.py").write_text("edited\n")
    stale = witgen("check", "wit", "-o", "out")
    assert stale.returncode == 1 and "changed: out/demo_a/i.py" in stale.stdout
    missing = witgen("generate", "nowhere", "-o", "out")
    assert (missing.returncode, missing.stderr.strip()) == (1, "error: nowhere: no such file or folder")
    usage = witgen("generate", "wit")
    assert usage.returncode == 2 and "PATH needs -o/--out OUT" in usage.stderr


GC_PROBE = """
import gc, sys
import witgen.console as console
sys.argv = ["witgen", *sys.argv[1:]]
try:
    console.run()
except SystemExit:
    pass
print(gc.get_threshold(), console.DEFAULT_THRESHOLDS)
"""


def test_a_short_run_collects_cycles_less_often_and_host_restores_the_default(tmp_path: Path) -> None:
    """The console entry raises the collector's first threshold for the run; `witgen host`,
    which serves until stopped, puts Python's own back as it starts (here it then stops
    at a component that is not there)."""
    import ast
    import sys

    def thresholds(*args: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
        proc = subprocess.run(
            [sys.executable, "-c", GC_PROBE, *args], cwd=tmp_path, capture_output=True, text=True, env=env()
        )
        last = proc.stdout.strip().splitlines()[-1]  # after what the command printed
        now, default = ast.literal_eval(last.replace(") (", "), ("))
        return now, default

    now, default = thresholds("--version")
    assert now == (50_000, *default[1:]) and default[0] < 50_000
    now, default = thresholds("host", str(tmp_path / "absent.wasm"), "--nats", "nats://127.0.0.1:9", "--prefix", "p")
    assert now == default
