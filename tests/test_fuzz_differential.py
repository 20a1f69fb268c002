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
    "not-utf8",
    "control",
    "invisible",
    "combining",
    "id-case-dash",
    "labelled-export",
)

# Bytes that are not UTF-8, carried in the text as surrogate escapes (see `encoded`).
_NOT_UTF8 = (
    b"\xff",
    b"\xfe",
    b"\xc3",
    b"\xc3(",
    b"\x80",
    b"\xed\xa0\x80",
    b"\xf0\x9f\x98",
    b"\xc0\xaf",
)
# A lone CR, the CR of a CRLF, and the other C0/C1 control characters.
_CONTROLS = (
    "\r",
    "\r",
    "\r",
    "\r\n",
    "\x00",
    "\x01",
    "\x08",
    "\x0b",
    "\x0c",
    "\x1b",
    "\x7f",
    "\x85",
    "\x9f",
)
# Bidirectional overrides, zero-width and other invisible or separator characters,
# noncharacters, private use, and the codepoints Unicode discourages.
_INVISIBLE = (
    "\u202a",
    "\u202b",
    "\u202c",
    "\u202d",
    "\u202e",
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
    "\u200b",
    "\u200c",
    "\u200d",
    "\u2060",
    "\ufeff",
    "\u200e",
    "\u200f",
    "\u061c",
    "\u2028",
    "\u2029",
    "\u00a0",
    "\u3000",
    "\u00ad",
    "\uffff",
    "\ufffe",
    "\ue000",
    "\u0149",
    "\u0673",
    "\u0f77",
    "\u0f79",
    "\u17a3",
    "\u17a4",
    "\u17b4",
    "\u17b5",
)
# Combining marks (nonspacing, spacing, enclosing) and letters that are not ASCII.
_COMBINING = (
    "\u0301",
    "\u0300",
    "\u0308",
    "\u0903",
    "\u093f",
    "\u20dd",
    "\u0488",
    "\u3099",
    "\u00e9",
    "\u03bb",
    "\u00b2",
    "\u0660",
)
_WORD = re.compile(r"%?[A-Za-z_][\w-]*")


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


def encoded(text: str) -> bytes:
    """The bytes of a mutated text: UTF-8, with its surrogate escapes as the raw bytes."""
    return text.encode("utf-8", "surrogateescape")


def mutate(text: str, rng: random.Random, kind: str) -> str:
    """One mutation of `text`, chosen by `rng`."""
    if kind.endswith(("-lines", "-line")):
        return _mutate_lines(text, rng, kind)
    if kind in _CHARACTER_MUTATIONS:
        return _CHARACTER_MUTATIONS[kind](text, rng)
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


def _insert(text: str, rng: random.Random, piece: str) -> str:
    """`piece` put somewhere in `text`: mostly next to a token, sometimes inside one."""
    if not text:
        return piece
    if rng.random() < 0.6:
        bounds = [m.start() for m in _TOKEN.finditer(text)] + [
            m.end() for m in _TOKEN.finditer(text)
        ]
        at = rng.choice(bounds) if bounds else 0
    else:
        at = rng.randrange(len(text) + 1)
    return text[:at] + piece + text[at:]


def _not_utf8(text: str, rng: random.Random) -> str:
    return _insert(text, rng, rng.choice(_NOT_UTF8).decode("utf-8", "surrogateescape"))


def _control(text: str, rng: random.Random) -> str:
    ch = rng.choice(_CONTROLS)
    newlines = [m.start() for m in re.finditer("\n", text)]
    if newlines and rng.random() < 0.4:  # a line ending turned into CR or CRLF
        at = rng.choice(newlines)
        return text[:at] + ("\r" if ch != "\r\n" else "\r\n") + text[at + 1 :]
    return _insert(text, rng, ch)


def _invisible(text: str, rng: random.Random) -> str:
    return _insert(text, rng, rng.choice(_INVISIBLE))


def _combining(text: str, rng: random.Random) -> str:
    """A mark or non-ASCII letter inside, after or before an identifier."""
    words = list(_WORD.finditer(text))
    mark = rng.choice(_COMBINING)
    if not words:
        return _insert(text, rng, mark)
    m = rng.choice(words)
    at = rng.randrange(m.start() + 1, m.end() + 1) if rng.random() < 0.8 else m.start()
    return text[:at] + mark + text[at:]


def _id_case_dash(text: str, rng: random.Random) -> str:
    """An identifier with a case change, a doubled, leading or trailing dash, `_` or `%`."""
    words = [m for m in _WORD.finditer(text) if not m.group().startswith("%")]
    if not words:
        return text
    m = rng.choice(words)
    word = m.group()
    i = rng.randrange(len(word))
    how = rng.randrange(8)
    if how == 0:
        word = word[:i] + word[i].swapcase() + word[i + 1 :]
    elif how == 1:
        word = word.upper() if rng.random() < 0.5 else word.capitalize()
    elif how == 2:
        word = word.replace("-", "--", 1) if "-" in word else word[:i] + "--" + word[i:]
    elif how == 3:
        word = word + "-"
    elif how == 4:
        word = "-" + word
    elif how == 5:
        word = word[:i] + "_" + word[i:]
    elif how == 6:
        word = word + "%"
    else:
        word = word + "-" + rng.choice(("0", "9x", "X", "x1", "Ab"))
    return text[: m.start()] + word + text[m.end() :]


_INTERFACE = re.compile(r"^\s*interface\s+(%?[a-z][\w-]*)", re.M)
_WORLD = re.compile(r"^\s*world\s+%?[a-z][\w-]*\s*\{", re.M)
_LABELS = ("primary", "backup", "store", "%store", "a", "b-c", "import", "Primary", "export")


def _labelled_export(text: str, rng: random.Random) -> str:
    """Labelled interface exports (or imports) in a world: `export primary: store;`."""
    interfaces = _INTERFACE.findall(text)
    worlds = list(_WORLD.finditer(text))
    target = rng.choice(interfaces) if interfaces else rng.choice(("store", "wasi:io/streams"))
    kind = "export" if rng.random() < 0.75 else "import"
    labels = rng.sample(_LABELS, 2) if rng.random() < 0.8 else [rng.choice(_LABELS)] * 2
    lines = "".join(f"  {kind} {label}: {target};\n" for label in labels)
    if worlds:
        at = rng.choice(worlds).end()
        return text[:at] + "\n" + lines + text[at:]
    return text.rstrip("\n") + f"\n\nworld labelled {{\n{lines}}}\n"


_CHARACTER_MUTATIONS: dict[str, Callable[[str, random.Random], str]] = {
    "not-utf8": _not_utf8,
    "control": _control,
    "invisible": _invisible,
    "combining": _combining,
    "id-case-dash": _id_case_dash,
    "labelled-export": _labelled_export,
}


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
        path.write_bytes(encoded(item.text))
        return path
    target = folder / f"m{n:04d}"
    shutil.copytree(item.package, target)
    (target / item.file).write_bytes(encoded(item.text))
    return target


def run_reference(wasm_tools: str, path: Path) -> Outcome:
    try:
        proc = subprocess.run(
            [wasm_tools, "component", "wit", "--json", "--features", "active", str(path)],
            capture_output=True,
            timeout=REFERENCE_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        return Outcome(False, "reference timed out", crashed=True)
    # decoded by hand: universal newlines would turn a lone `\r` of the source line into `\n`
    stdout = proc.stdout.decode("utf-8", "replace")
    stderr = proc.stderr.decode("utf-8", "replace")
    if proc.returncode == 0:
        return Outcome(True, stdout)
    if "panicked" in stderr or proc.returncode not in (1,):
        return Outcome(False, stderr, crashed=True)
    rendered = stderr.removeprefix("error: ").rstrip("\n")
    return Outcome(False, first_line(rendered), rendered=rendered)


def first_line(rendered: str) -> str:
    """The message line of a diagnostic (lines end at `\n` only, as the reference ends them)."""
    return rendered.split("\n", 1)[0]


def run_witgen(path: Path) -> Outcome:
    """Load `path` with witgen on a daemon thread; a timeout or a non-WitError fails the test."""
    from witgen.resolver import load

    box: list[Outcome | BaseException] = []

    def work() -> None:
        try:
            box.append(Outcome(True, load(str(path), features=("active",)).to_json()))
        except WitError as exc:
            box.append(Outcome(False, first_line(exc.render()), rendered=exc.render()))
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
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return None  # not read at all, so no syntax error
    try:
        parse_file(Source(str(path), text), wat=True)
    except WitError as exc:
        assert exc.span is not None
        return exc.render()
    return None


def test_mutations_are_seeded_and_varied(shared: Path) -> None:
    first = make_inputs(shared, 70)
    assert first == make_inputs(shared, 70)
    assert len({item.text for item in first}) > 60
    assert {item.description.split(" of ")[0] for item in first} == set(MUTATIONS)
    assert any(item.package is not None for item in first)


def test_character_mutations_make_what_they_are_named_after() -> None:
    rng = random.Random(1)
    text = "package a:b;\n\ninterface store {\n  get-value: func();\n}\n\nworld w {\n}\n"
    for _ in range(20):
        with pytest.raises(UnicodeDecodeError):
            encoded(mutate(text, rng, "not-utf8")).decode("utf-8")
        assert re.search(
            "[\x00-\x08\x0b-\x1f\x7f-\x9f]|\r(?!\n)|\r\n", mutate(text, rng, "control")
        )
        assert set(mutate(text, rng, "invisible")) - set(text) <= set(_INVISIBLE)
        assert set(mutate(text, rng, "combining")) - set(text) <= set(_COMBINING)
        assert mutate(text, rng, "id-case-dash") != text
        labelled = mutate(text, rng, "labelled-export")
        assert re.search(r"(export|import) %?[\w-]+: store;", labelled), labelled
