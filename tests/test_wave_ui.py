"""WAVE conformance on wasm-wave's own UI corpus (../shared/corpus/wasm-wave-ui).

Each `.waves` file holds inputs `<func>(<args>);\\n`; the matching line of the
`.out` file is the canonical call `func(param: value, ...)` for accepted inputs,
or the reference implementation's error for rejected ones. Accepted inputs must
print exactly that line; rejected inputs must be rejected with a `WaveError`
carrying the reference's message. Spans are not compared: the reference's lexer
reports some bad tokens as a longer slice than Lark does.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from witgen.model import Function, Resolve
from witgen.wave.reader import WaveError, parse_args
from witgen.wave.printer import format_args, format_call
from witgen.wave.wire import Bindings, Wire, select

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
UI = SHARED / "corpus" / "wasm-wave-ui" / "ui"


def _cases() -> list[tuple[str, int, str, str]]:
    """(file stem, index, input, expected output line) for every input."""
    out: list[tuple[str, int, str, str]] = []
    if not UI.is_dir():
        return out
    for waves in sorted(UI.glob("*.waves")):
        inputs = waves.read_text("utf-8").split(";\n")
        if inputs and not inputs[-1].strip():
            inputs.pop()
        expected = waves.with_suffix(".out").read_text("utf-8").split("\n")
        line = 0
        for index, text in enumerate(inputs):
            if index == len(inputs) - 1 and text.endswith(";"):
                text = text[:-1]
            # Comment lines that open a case are copied before its result line.
            comments = 0
            for raw in text.split("\n"):
                if not raw.startswith("//"):
                    break
                comments += 1
            want = "\n".join(expected[line : line + comments + 1])
            line += comments + 1
            out.append((waves.stem, index, text, want))
    return out


CASES = _cases()


@pytest.fixture(scope="module")
def ui_resolve(shared: Path, wasm_tools: str) -> Resolve:
    try:
        from wit_loading import load_wit
    except ImportError:  # the shared loader is not there yet: ask the reference parser
        data = subprocess.check_output(
            [wasm_tools, "component", "wit", "--json", str(UI / "ui.wit")]
        )
        return Resolve.from_json(data.decode())
    return load_wit(UI / "ui.wit")


def _functions(resolve: Resolve) -> dict[str, Function]:
    """The names a case may use: `f`, `ui.f`, `ui:tests/ui.f`, `ui:tests/ui.f@0.1.0`."""
    names: dict[str, Function] = {}
    for iface in resolve.interfaces:
        if iface.name != "ui" or iface.package is None:
            continue
        pkg = resolve.packages[iface.package].name
        for func in iface.functions.values():
            for name in (
                func.name,
                f"{iface.name}.{func.name}",
                f"{pkg.namespace}:{pkg.name}/{iface.name}.{func.name}",
                f"{pkg.namespace}:{pkg.name}/{iface.name}.{func.name}@{pkg.version}",
            ):
                names[name] = func
    return names


def run_case(resolve: Resolve, text: str) -> str:
    """What wasm-wave's UI harness prints for one input (errors as `error: ...`)."""
    lines = text.split("\n")
    comments = []
    while lines and lines[0].startswith("//"):
        comments.append(lines.pop(0))
    body = "\n".join(lines)
    name, paren, rest = body.partition("(")
    funcs = _functions(resolve)
    if not paren or name not in funcs:
        result = f'error: unknown test func "{name}"'
    else:
        func = funcs[name]
        try:
            values = parse_args(paren + rest, func.params, resolve, parens=True)
        except WaveError as exc:
            result = f"error: {exc.message}"
            if exc.span is not None:
                start = len(name.encode()) + len(
                    body[len(name) : len(name) + exc.span.start].encode()
                )
                end = start + len(exc.span.text().encode())
                result += f" at {start}..{end}"
        else:
            result = format_call(name, values, func.params, resolve)
    return "\n".join([*comments, result])


# Rejected with another message than the reference's, and why.
MESSAGE_DIVERGENCES = {
    # `"""` inside a multiline string: Lark ends the string there and trips on
    # the rest, the reference's lexer refuses the triplet itself.
    ("reject-strings", 20): "unexpected token: String",
}


def _message(line: str) -> str:
    return re.sub(r" at \d+\.\.\d+$", "", line.removeprefix("error: "))


@pytest.mark.parametrize(
    ("stem", "index", "text", "want"),
    CASES,
    ids=[f"{stem}-{index}" for stem, index, _, _ in CASES] or None,
)
def test_wave_ui(
    ui_resolve: Resolve, stem: str, index: int, text: str, want: str
) -> None:
    got = run_case(ui_resolve, text)
    want_lines = want.split("\n")
    got_lines = got.split("\n")
    assert got_lines[:-1] == want_lines[:-1], "leading comments are copied"
    if stem.startswith("accept"):
        assert got_lines[-1] == want_lines[-1]
    else:
        assert got_lines[-1].startswith("error: "), f"accepted: {got_lines[-1]}"
        expected = MESSAGE_DIVERGENCES.get((stem, index), _message(want_lines[-1]))
        assert _message(got_lines[-1]) == expected


@pytest.fixture(scope="module")
def ui_bindings(ui_resolve: Resolve) -> Bindings:
    iid = next(i for i, f in enumerate(ui_resolve.interfaces) if f.name == "ui")
    return Bindings(ui_resolve, iid)


ACCEPTED = [c for c in CASES if c[0].startswith("accept")]


@pytest.mark.parametrize(
    ("stem", "index", "text", "want"),
    ACCEPTED,
    ids=[f"{stem}-{index}" for stem, index, _, _ in ACCEPTED] or None,
)
def test_wave_ui_codec_round_trip(
    ui_resolve: Resolve,
    ui_bindings: Bindings,
    stem: str,
    index: int,
    text: str,
    want: str,
) -> None:
    """Each accepted call goes through the generated params codec and back unchanged."""
    body = "\n".join(line for line in text.split("\n") if not line.startswith("//"))
    name, _, rest = body.partition("(")
    func = _functions(ui_resolve)[name]
    wire = Wire(
        ui_resolve,
        select(ui_resolve, "params", f"ui:tests/ui.{func.name}"),
        ui_bindings,
    )
    values = parse_args("(" + rest, func.params, ui_resolve, parens=True)
    args = format_args(values, func.params, ui_resolve)
    data = wire.encode(args)
    assert wire.decode(data) == args
    assert wire.encode(wire.decode(data)) == data


def test_corpus_is_complete(shared: Path) -> None:
    """Every file of the corpus is read, and every input is counted once."""
    assert len({stem for stem, *_ in CASES}) == len(list(UI.glob("*.waves"))) == 20
    results = [
        line
        for out in UI.glob("*.out")
        for line in out.read_text("utf-8").split("\n")
        if line and not line.startswith("//")
    ]
    assert len(CASES) == len(results)
