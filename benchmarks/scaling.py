"""Front-end time against the size of one type: enum, variant, record and flags of 10,000 and 40,000 members.

    .venv/bin/python benchmarks/scaling.py [--runs N] [--sizes SMALL LARGE]

Prints, in one run:
* in-process CPU time of `witgen.resolver.load` + `Resolve.to_json()` of a one-interface
  package whose type has SMALL and LARGE members (median of N, the sizes taking turns), and
  the ratio between them: linear work grows by LARGE/SMALL (4 by default), quadratic by
  its square. wasm-tools' WIT front end takes any number of enum cases, variant cases and
  record fields, and at most 32 flags, so the flags are timed to the resolver's error
  (`cannot have more than 32 flags`), which needs the whole file parsed;
* whole process, wall time: `witgen parse --json` of the LARGE enum (no cache: every line
  parsed) against `wasm-tools component wit --json`, and `witgen --version` for the start-up;
  the target is at most 1 s beyond start-up.

Each figure is the median of N runs (5 by default); child processes run with Python's
bytecode cache in a private folder, as an installed package does.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

TARGET_BEYOND_START_UP = 1.0

MEMBERS: dict[str, Callable[[int], str]] = {
    "enum": lambda i: f"case-{i}",
    "variant": lambda i: f"case-{i}(u32)" if i % 2 else f"case-{i}",
    "record": lambda i: f"field-{i}: u32",
    "flags": lambda i: f"flag-{i}",
}


def write_type(folder: Path, kind: str, size: int) -> Path:
    member = MEMBERS[kind]
    lines = ["package scale:test;", "interface i {", f"  {kind} t {{"]
    lines += [f"    {member(i)}," for i in range(size)]
    lines += ["  }", "}"]
    path = folder / f"{kind}-{size}.wit"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def load_and_print(path: Path) -> None:
    from witgen.errors import WitError
    from witgen.resolver import load

    try:
        load(path).to_json()
    except WitError as exc:
        assert "cannot have more than 32 flags" in exc.message, exc.message


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--sizes", type=int, nargs=2, default=[10_000, 40_000], metavar=("SMALL", "LARGE"))
    args = ap.parse_args()
    small, large = args.sizes
    tmp = Path(tempfile.mkdtemp(prefix="witgen-scaling-bench-"))
    try:
        print(f"in-process CPU time of load + to_json (median of {args.runs}; sizes taking turns)")
        for kind in MEMBERS:
            paths = {size: write_type(tmp, kind, size) for size in (small, large)}
            times: dict[int, list[float]] = {small: [], large: []}
            for _ in range(args.runs):
                for size, path in paths.items():
                    start = time.process_time()
                    load_and_print(path)
                    times[size].append(time.process_time() - start)
            t_small, t_large = (statistics.median(times[size]) for size in (small, large))
            what = " (rejected: more than 32 flags)" if kind == "flags" else ""
            print(
                f"  {kind:<8} {small:>7,}: {t_small * 1000:8.1f} ms  {large:>7,}: {t_large * 1000:8.1f} ms"
                f"  ratio {t_large / t_small:5.2f} (linear {large / small:.0f}){what}"
            )

        env = dict(os.environ, WITGEN_CACHE_DIR="", PYTHONPYCACHEPREFIX=str(tmp / "pycache"))
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        enum = write_type(tmp, "enum", large)
        witgen = [sys.executable, "-m", "witgen"]
        cases = {
            "witgen --version": witgen + ["--version"],
            f"witgen parse --json (enum of {large:,})": witgen + ["parse", "--json", str(enum)],
        }
        wasm_tools = shutil.which("wasm-tools", path=str(Path(sys.executable).parent)) or shutil.which("wasm-tools")
        if wasm_tools:
            cases[f"wasm-tools component wit --json (enum of {large:,})"] = [
                wasm_tools, "component", "wit", "--json", str(enum)
            ]
        subprocess.run(witgen + ["--version"], check=True, capture_output=True, env=env)  # warm the bytecode
        walls: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.runs):
            for name, cmd in cases.items():
                start = time.perf_counter()
                subprocess.run(cmd, check=True, capture_output=True, env=env)
                walls[name].append(time.perf_counter() - start)
        found = {name: statistics.median(t) for name, t in walls.items()}
        print(f"\nwhole process, wall time (median of {args.runs})")
        for name, seconds in found.items():
            print(f"  {name:<52} {seconds * 1000:8.1f} ms")
        beyond = found[f"witgen parse --json (enum of {large:,})"] - found["witgen --version"]
        verdict = "met" if beyond <= TARGET_BEYOND_START_UP else "MISSED"
        print(f"  witgen beyond start-up: {beyond:.2f} s (target <= {TARGET_BEYOND_START_UP:.0f} s: {verdict})")
        if wasm_tools:
            ref = found[f"wasm-tools component wit --json (enum of {large:,})"]
            print(f"  ratio witgen / wasm-tools: {found[f'witgen parse --json (enum of {large:,})'] / ref:.1f}x")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
