"""Differential fuzzing of the front end against the reference parser.

A bounded, seeded corpus of mutated inputs is made from the wit-parser corpus
(its single-file cases, and one file of its package folders at a time) and from
the real packages (one file at a time, deps included): token
deletions, duplications, swaps, replacements, truncations and line edits. Each input is loaded by witgen (`witgen.resolver.load`) and by
`wasm-tools component wit --json --features active`; they must agree on
accepting or rejecting it, produce equal JSON when both accept, and witgen may
only fail with `WitError`, within a per-input timeout. Where a single file has a
syntax error, witgen's whole diagnostic (message, location, source line and
caret) must be the reference's, character for character.

The inputs are written to a temporary folder; nothing is kept. Inputs on which
the reference parser itself crashes (it panics on a bare `/**/` doc comment) or
hangs are not compared. Set WITGEN_FUZZ_COUNT to change the number of inputs.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import shutil
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from witgen.errors import WitError

SEED = 20261123
COUNT = int(os.environ.get("WITGEN_FUZZ_COUNT", "2000"))
BATCH = 32  # reference runs are made in batches, on threads
WITGEN_TIMEOUT = 30.0  # seconds per input: generous, a hang is a failure
REFERENCE_TIMEOUT = 60.0

# Known disagreements: input index -> reason. Each is an expected failure (strict).
KNOWN: dict[int, str] = {}

# A rough WIT tokenizer, independent of witgen's: comments, strings, words, numbers, `->`, symbols.
_TOKEN = re.compile(r'//[^\n]*|/\*.*?\*/|"[^"\n]*"|%?[A-Za-z_][\w-]*|\d+|->|\S', re.S)

MUTATIONS = (
    "delete",
    "duplicate",
    "swap",
    "replace",
    "truncate",
    "delete-lines",
    "swap-lines",
    "duplicate-line",
)


@dataclass(frozen=True)
class Outcome:
    """What one front end made of an input: JSON text when accepted, else the first error line."""

    accepted: bool
    detail: str
    crashed: bool = False
    rendered: str = ""  # the whole diagnostic of a rejection, without `error: `


def _pieces(text: str) -> list[tuple[str, str]]:
    """The text as (token, whitespace before it) pairs, plus a final ('', trailing) pair."""
    out: list[tuple[str, str]] = []
    pos = 0
    for m in _TOKEN.finditer(text):
        out.append((m.group(), text[pos : m.start()]))
        pos = m.end()
    out.append(("", text[pos:]))
    return out


def mutate(text: str, rng: random.Random, kind: str) -> str:
    """One mutation of `text`, chosen by `rng`."""
    if kind.endswith(("-lines", "-line")):
        return _mutate_lines(text, rng, kind)
    pieces = _pieces(text)
    tokens = len(pieces) - 1
    if tokens < 2:
        return text[: rng.randrange(len(text) + 1)]
    i = rng.randrange(tokens)
    if kind == "delete":
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            if len(pieces) > 2:
                del pieces[rng.randrange(len(pieces) - 1)]
    elif kind == "duplicate":
        tok, ws = pieces[i]
        pieces.insert(i, (tok, ws or " "))
    elif kind == "swap":
        j = min(i + 1, tokens - 1) if rng.random() < 0.7 else rng.randrange(tokens)
        (a, wa), (b, wb) = pieces[i], pieces[j]
        pieces[i], pieces[j] = (b, wa), (a, wb)
    elif kind == "replace":
        donor = pieces[rng.randrange(tokens)][0]
        pieces[i] = (donor, pieces[i][1] or " ")
    else:  # truncate
        pieces = pieces[:i] + [("", "\n")]
    return "".join(ws + tok for tok, ws in pieces)


def _mutate_lines(text: str, rng: random.Random, kind: str) -> str:
    """Whole-line edits: these often keep the input valid, so that the JSON gets compared."""
    lines = text.splitlines(keepends=True)
    if len(lines) < 2:
        return text
    i = rng.randrange(len(lines))
    if kind == "delete-lines":
        del lines[i : i + rng.choice((1, 1, 2, 3))]
    elif kind == "swap-lines":
        j = rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    else:
        lines.insert(i, lines[i])
    return "".join(lines)


@dataclass(frozen=True)
class Input:
    """One mutated input: `text` replaces `file` (a path relative to `package`, or the file)."""

    description: str
    text: str
    package: Path | None = None  # a package folder to copy, or None for a single file
    file: str = ""


def _seeds(shared: Path) -> list[tuple[Path | None, Path]]:
    """(package folder or None, .wit file) pairs to mutate: single files and package folders."""
    root = shared / "corpus" / "wit-parser-ui" / "ui"
    seeds: list[tuple[Path | None, Path]] = []
    for top in (root, root / "parse-fail"):
        seeds += [(None, f) for f in sorted(top.glob("*.wit")) if f.stat().st_size < 20_000]
        for folder in sorted(p for p in top.iterdir() if p.is_dir() and p.name != "parse-fail"):
            if any(folder.rglob("*.wa[st]*")):
                continue  # binary deps are out of scope
            seeds += [(folder, f) for f in sorted(folder.rglob("*.wit"))]
    real = shared / "corpus" / "real"
    for folder in sorted(p for p in real.iterdir() if p.is_dir()):
        seeds += [(folder, f) for f in sorted(folder.rglob("*.wit"))]
    return seeds


def make_inputs(shared: Path, count: int, seed: int = SEED) -> list[Input]:
    """`count` inputs, the same for the same seed and corpus."""
    rng = random.Random(seed)
    seeds = _seeds(shared)
    out = []
    for n in range(count):
        package, file = seeds[rng.randrange(len(seeds))]
        kind = MUTATIONS[n % len(MUTATIONS)]
        mutated = mutate(file.read_text(encoding="utf-8"), rng, kind)
        if rng.random() < 0.25:  # sometimes a second mutation
            mutated = mutate(mutated, rng, rng.choice(MUTATIONS))
        if package is None:
            out.append(Input(f"{kind} of {file.name}", mutated))
        else:
            rel = str(file.relative_to(package))
            out.append(Input(f"{kind} of {package.name}/{rel}", mutated, package, rel))
    return out


def write_input(item: Input, folder: Path, n: int) -> Path:
    """Put `item` on disk under `folder`; return the path to load."""
    if item.package is None:
        path = folder / f"m{n:04d}.wit"
        path.write_text(item.text, encoding="utf-8")
        return path
    target = folder / f"m{n:04d}"
    shutil.copytree(item.package, target)
    (target / item.file).write_text(item.text, encoding="utf-8")
    return target


def run_reference(wasm_tools: str, path: Path) -> Outcome:
    try:
        proc = subprocess.run(
            [wasm_tools, "component", "wit", "--json", "--features", "active", str(path)],
            capture_output=True,
            text=True,
            timeout=REFERENCE_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        return Outcome(False, "reference timed out", crashed=True)
    if proc.returncode == 0:
        return Outcome(True, proc.stdout)
    if "panicked" in proc.stderr or proc.returncode not in (1,):
        return Outcome(False, proc.stderr, crashed=True)
    rendered = proc.stderr.removeprefix("error: ").rstrip("\n")
    first = rendered.splitlines()[0] if rendered else ""
    return Outcome(False, first, rendered=rendered)


def run_witgen(path: Path) -> Outcome:
    """Load `path` with witgen on a daemon thread; a timeout or a non-WitError fails the test."""
    from witgen.resolver import load

    box: list[Outcome | BaseException] = []

    def work() -> None:
        try:
            box.append(Outcome(True, load(str(path), features=("active",)).to_json()))
        except WitError as exc:
            box.append(Outcome(False, exc.render().splitlines()[0]))
        except BaseException as exc:  # noqa: BLE001 - reported as a test failure below
            box.append(exc)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(WITGEN_TIMEOUT)
    if thread.is_alive():
        pytest.fail(f"witgen did not finish within {WITGEN_TIMEOUT}s on {path}")
    result = box[0]
    if isinstance(result, BaseException):
        raise AssertionError(f"witgen raised {type(result).__name__} (not WitError)") from result
    return result


class Corpus:
    """The mutated inputs on disk, with reference outcomes computed lazily in threaded batches."""

    def __init__(self, folder: Path, inputs: list[Input], wasm_tools: str) -> None:
        self.inputs = inputs
        self.paths = [write_input(item, folder, n) for n, item in enumerate(inputs)]
        self.wasm_tools = wasm_tools
        self.reference: dict[int, Outcome] = {}
        self.lock = threading.Lock()

    def reference_of(self, n: int) -> Outcome:
        with self.lock:
            if n not in self.reference:
                batch = [
                    k for k in range(n, min(n + BATCH, len(self.paths))) if k not in self.reference
                ]
                run: Callable[[Path], Outcome] = lambda p: run_reference(self.wasm_tools, p)
                with ThreadPoolExecutor(max_workers=4) as pool:
                    for k, outcome in zip(batch, pool.map(run, [self.paths[k] for k in batch])):
                        self.reference[k] = outcome
            return self.reference[n]


@pytest.fixture(scope="module")
def corpus(shared: Path, wasm_tools: str, tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    folder = tmp_path_factory.mktemp("fuzz")
    return Corpus(folder, make_inputs(shared, COUNT), wasm_tools)


def _case(n: int) -> object:
    if n in KNOWN:
        return pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=KNOWN[n]))
    return n


@pytest.mark.parametrize("n", [_case(n) for n in range(COUNT)])
def test_same_decision_as_reference(corpus: Corpus, n: int) -> None:
    reference = corpus.reference_of(n)
    if reference.crashed:
        pytest.skip(f"the reference parser crashed: {reference.detail.splitlines()[:1]}")
    mine = run_witgen(corpus.paths[n])
    what = corpus.inputs[n].description
    assert mine.accepted == reference.accepted, (
        f"{what}: witgen {'accepts' if mine.accepted else 'rejects: ' + mine.detail}; "
        f"wasm-tools {'accepts' if reference.accepted else 'rejects: ' + reference.detail}"
    )
    if mine.accepted:
        assert json.loads(mine.detail) == json.loads(reference.detail), f"{what}: JSON differs"
    elif corpus.inputs[n].package is None:
        # a syntax error of a single file: the same diagnostic, every line of it
        syntax = _syntax_error(corpus.paths[n])
        if syntax is not None:
            assert syntax == reference.rendered, what


def _syntax_error(path: Path) -> str | None:
    """witgen's rendered parse error for one file, or None if it parses."""
    from witgen.errors import Source
    from witgen.frontend.parser import parse_file

    try:
        parse_file(Source(str(path), path.read_text(encoding="utf-8")), wat=True)
    except WitError as exc:
        assert exc.span is not None
        return exc.render()
    return None


def test_mutations_are_seeded_and_varied(shared: Path) -> None:
    first = make_inputs(shared, 50)
    assert first == make_inputs(shared, 50)
    assert len({item.text for item in first}) > 45
    assert {item.description.split(" of ")[0] for item in first} == set(MUTATIONS)
    assert any(item.package is not None for item in first)
