"""The front end takes time linear in the size of a type: enums, variants, records, flags.

Each kind is loaded at two sizes, 10,000 and 40,000 members, and the larger must take
less than 8 times as long (4 for linear work; quadratic work would take 16; the margin is
for a machine that others are using). The sizes
are those the reference front end (wasm-tools 1.262, `component wit`) accepts: it has
no bound on enum cases, variant cases or record fields (its binary encoder stops at
10,000), and none past 32 flags, so the flags are timed to the resolver's error, which
needs the whole file parsed. The best CPU time of a few runs of each size is taken, the garbage collector off, to tame a
busy machine.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from witgen import model
from witgen.errors import WitError
from witgen.resolver import load
from witgen.witout import print_wit

SMALL, LARGE = 10_000, 40_000
LINEAR_BOUND = 8.0

MEMBERS: dict[str, Callable[[int], str]] = {
    "enum": lambda i: f"case-{i}",
    "variant": lambda i: f"case-{i}(u32)" if i % 2 else f"case-{i}",
    "record": lambda i: f"field-{i}: u32",
    "flags": lambda i: f"flag-{i}",
}


def write_type(folder: Path, kind: str, size: int) -> Path:
    """A one-interface package whose type `t` is a `kind` of `size` members, one a line."""
    member = MEMBERS[kind]
    lines = ["package scale:test;", "interface i {", f"  {kind} t {{"]
    lines += [f"    {member(i)}," for i in range(size)]
    lines += ["  }", "  f: func(x: t) -> t;", "}"]
    path = folder / f"{kind}-{size}.wit"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def best_time(step: Callable[[], object], repeat: int = 3) -> float:
    """The least CPU time of this process over `repeat` runs of `step`, the collector off:
    other processes on the machine and the collector's passes over a large heap do not count."""
    best = float("inf")
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        for _ in range(repeat):
            start = time.process_time()
            step()
            best = min(best, time.process_time() - start)
    finally:
        if enabled:
            gc.enable()
    return best


def load_and_print(path: Path, size: int) -> Callable[[], None]:
    """Load `path`, then print it as JSON and as WIT, checking the type has every member."""

    def step() -> None:
        resolve = load(path)
        (ty,) = resolve.types
        members = ty.kind.fields if isinstance(ty.kind, model.Record) else ty.kind.cases  # type: ignore[union-attr]
        assert len(members) == size
        assert resolve.to_json().count(f'"name": "{members[-1].name}"') == 1
        assert print_wit(resolve).count(",\n") >= size

    return step


@pytest.mark.parametrize("kind", ["enum", "variant", "record"])
def test_loading_a_type_takes_time_linear_in_its_members(kind: str, tmp_path: Path) -> None:
    small, large = write_type(tmp_path, kind, SMALL), write_type(tmp_path, kind, LARGE)
    t_small = best_time(load_and_print(small, SMALL), repeat=5)
    t_large = best_time(load_and_print(large, LARGE))
    ratio = t_large / t_small
    assert ratio < LINEAR_BOUND, f"{kind}: {LARGE:,} members took {ratio:.1f}x as long as {SMALL:,}"


def test_rejecting_too_many_flags_takes_time_linear_in_the_file(tmp_path: Path) -> None:
    accepted = load(write_type(tmp_path, "flags", 32))
    assert len(accepted.types) == 1

    def rejected(path: Path) -> Callable[[], None]:
        def step() -> None:
            with pytest.raises(WitError, match="cannot have more than 32 flags"):
                load(path)

        return step

    t_small = best_time(rejected(write_type(tmp_path, "flags", SMALL)), repeat=5)
    t_large = best_time(rejected(write_type(tmp_path, "flags", LARGE)))
    ratio = t_large / t_small
    assert ratio < LINEAR_BOUND, f"flags: {LARGE:,} members took {ratio:.1f}x as long as {SMALL:,}"


# Tokens that end elsewhere than the token expression's match, after which the scanner
# reads the text again from where they end: block comments, string literals with escapes.
RE_READ: dict[str, Callable[[int], str]] = {
    "block comments": lambda i: f"  /* item {i} */ type t{i} = u8;",
    "escaped strings": lambda i: f'  @external-id("t\\u{{41}}{i}") type t{i} = u8;',
}


@pytest.mark.parametrize("what", sorted(RE_READ))
def test_reading_tokens_that_end_past_their_match_takes_linear_time(what: str) -> None:
    from witgen.errors import Source
    from witgen.frontend.lexer import Scanner

    def text(size: int) -> str:
        lines = [RE_READ[what](i) for i in range(size)]
        return "\n".join(["package scale:test;", "interface i {", *lines, "}"])

    def scan(source: str) -> Callable[[], None]:
        def step() -> None:
            assert sum(1 for _ in Scanner(Source("t.wit", source)).tokens()) > 5 * SMALL

        return step

    t_small = best_time(scan(text(SMALL)), repeat=5)
    t_large = best_time(scan(text(LARGE)))
    ratio = t_large / t_small
    assert ratio < LINEAR_BOUND, f"{what}: {LARGE:,} took {ratio:.1f}x as long as {SMALL:,}"
