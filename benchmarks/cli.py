"""Wall time of the daily commands against their floors, in one run.

    .venv/bin/python benchmarks/cli.py [--runs N] [--corpus PATH]

1. `witgen check` on the samples, unchanged (a copy of samples/*/wit generated
   into a temporary project), against `python -c "import click"`, the start-up
   floor of any click CLI. Target: within 1.5x.
2. `witgen generate` on the wasi-http 0.2.8 corpus (world `proxy`, a copy in a
   temporary folder) against `componentize-py -d WIT -w proxy bindings OUT`:
   cold (empty output folder), with nothing changed, and after one WIT file
   changed (a doc comment in types.wit edited before every run). Targets: cold
   within 10x, nothing changed within 3x, one file changed within 3x.
3. Lines each tool writes for that world (every `.py` file, as `wc -l` counts).
   Target: witgen within 2.5x.

Every figure is the median of N runs (21 by default) of a fresh process, the commands
compared taking turns; the spread printed is the lowest and highest run, then the
median CPU time (user and system) of the same runs and its ratio, which a busy machine
moves less than wall time (the targets are judged on wall time). Python runs with its bytecode cache, as an installed package does
(in a private PYTHONPYCACHEPREFIX, warmed first, even when the environment sets
PYTHONDONTWRITEBYTECODE); with `--no-bytecode` none is written, so that modules
without one (a source checkout's) compile from source on every run. The witgen caches (formatted chunks, parsed WIT
files) live in a private folder too: the cold case empties it. Needs the bench extra (componentize-py) and, for item 2,
../shared beside the project.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
WITGEN = str(BIN / "witgen")
COMPONENTIZE = str(BIN / "componentize-py") if (BIN / "componentize-py").exists() else "componentize-py"
CORPUS = ROOT.parent / "shared" / "corpus" / "real" / "wasi-http-0.2.8"
ENV = dict(os.environ)  # WITGEN_CACHE_DIR is set to a private folder in main()


Case = tuple[list[str], tuple[Callable[[int], None], ...]]


SPREADS: dict[int, tuple[float, float]] = {}  # id of a median -> (lowest, highest) run
CPU: dict[int, float] = {}  # id of a median -> median CPU time (user + system) of the same runs


def medians(cwd: Path, runs: int, *cases: Case) -> list[float]:
    """Median wall time of each case's command over `runs` fresh processes.

    The cases take turns run by run, so that load from elsewhere on the machine
    weighs on each alike; a case's `before(i)` steps run untimed before it.
    """
    times: list[list[float]] = [[] for _ in cases]
    cpu: list[list[float]] = [[] for _ in cases]
    for i in range(runs):
        for (cmd, before), sink, cpu_sink in zip(cases, times, cpu):
            for step in before:
                step(i)
            used = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=ENV)
            sink.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu_sink.append(after.ru_utime - used.ru_utime + after.ru_stime - used.ru_stime)
            if proc.returncode != 0:
                raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    out = []
    for t, c in zip(times, cpu):
        median = statistics.median(t)
        out.append(median)
        SPREADS[id(median)] = (min(t), max(t))
        CPU[id(median)] = statistics.median(c)
    return out


def py_lines(folder: Path) -> int:
    """Lines of every `.py` file under `folder`, as `wc -l` counts them."""
    return sum(p.read_bytes().count(b"\n") for p in folder.rglob("*.py"))


def samples_project(tmp: Path) -> Path:
    """A project holding copies of the samples' WIT with one target each, generated."""
    project = tmp / "samples"
    lines = []
    for sample in sorted(p for p in (ROOT / "samples").iterdir() if (p / "wit").is_dir()):
        shutil.copytree(sample / "wit", project / sample.name / "wit")
        name = sample.name
        lines += ["[[tool.witgen.targets]]", f'name = "{name}"', f'wit = "{name}/wit"', f'out = "{name}/bindings"', ""]
    (project / ".git").mkdir()  # keeps the pyproject search inside the copy
    (project / "pyproject.toml").write_text("\n".join(lines))
    subprocess.run([WITGEN, "generate", "-q"], cwd=project, check=True, env=ENV)
    return project


def row(label: str, seconds: float, floor: float, target: float | None) -> str:
    ratio = seconds / floor
    verdict = "" if target is None else ("  (target <= %.1fx: %s)" % (target, "met" if ratio <= target else "MISSED"))
    low, high = SPREADS.get(id(seconds), (seconds, seconds))
    spread = f"[{low * 1000:.0f}-{high * 1000:.0f}]"
    cpu, cpu_floor = CPU.get(id(seconds)), CPU.get(id(floor))
    used = "" if cpu is None or not cpu_floor else f"  cpu {cpu * 1000:6.1f} ms {cpu / cpu_floor:5.2f}x"
    return f"  {label:<44} {seconds * 1000:8.1f} ms {spread:>13}  {ratio:5.2f}x{used}{verdict}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--no-bytecode", action="store_true", help="write no Python bytecode cache")
    args = parser.parse_args()
    runs = args.runs
    tmp = Path(tempfile.mkdtemp(prefix="witgen-bench-"))
    cache = tmp / "format-cache"
    ENV["WITGEN_CACHE_DIR"] = str(cache)
    if args.no_bytecode:
        ENV["PYTHONDONTWRITEBYTECODE"] = "1"
    else:
        ENV.pop("PYTHONDONTWRITEBYTECODE", None)
        ENV["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")  # keeps the working tree clean
    print(f"python bytecode cache: {'off' if args.no_bytecode else 'on'}\n")
    try:
        subprocess.run([sys.executable, "-c", "import click"], check=True, env=ENV)  # warm the bytecode
        project = samples_project(tmp)
        floor, check, full = medians(
            project,
            runs,
            ([sys.executable, "-c", "import click"], ()),
            ([WITGEN, "check", "-q"], ()),
            ([WITGEN, "check", "-q", "--full"], ()),
        )
        print(f"witgen check on unchanged samples (median of {runs}; ratio to the floor)")
        print(row('floor: python -c "import click"', floor, floor, None))
        print(row("witgen check (fast path)", check, floor, 1.5))
        print(row("witgen check --full (render and compare)", full, floor, None))

        if not args.corpus.is_dir():
            print(f"\n{args.corpus} is absent: generate benchmark skipped")
            return
        wit = tmp / "wasi-http"
        shutil.copytree(args.corpus, wit)
        types_wit = wit / "types.wit"
        original = types_wit.read_text()

        def edit(i: int) -> None:
            types_wit.write_text(original.replace("/// This type corresponds to HTTP standard Methods.",
                                                  f"/// This type corresponds to HTTP standard Methods ({i}).", 1))

        def clear(*folders: Path) -> Callable[[int], None]:
            def step(i: int) -> None:
                for folder in folders:
                    shutil.rmtree(folder, ignore_errors=True)

            return step

        ours, theirs = tmp / "out-witgen", tmp / "out-componentize"
        gen = [WITGEN, "generate", str(wit), "-o", str(ours), "-w", "proxy", "-q"]
        cpy = [COMPONENTIZE, "-d", str(wit), "-w", "proxy", "bindings", str(theirs)]
        # componentize-py refuses an existing output folder: every run of it starts empty.
        cold = medians(tmp, runs, (gen, (clear(ours, cache),)), (cpy, (clear(theirs),)))  # no format cache
        unchanged = medians(tmp, runs, (gen, ()), (cpy, (clear(theirs),)))
        edited = medians(tmp, runs, (gen, (edit,)), (cpy, (clear(theirs),)))
        results = {
            "witgen generate": (cold[0], unchanged[0], edited[0]),
            "componentize-py bindings": (cold[1], unchanged[1], edited[1]),
        }
        base = results["componentize-py bindings"]
        print(f"\ngenerate on wasi-http-0.2.8, world proxy (median of {runs}; ratio to componentize-py)")
        for i, (case, target) in enumerate((("cold", 10.0), ("nothing changed", 3.0), ("one WIT file changed", 3.0))):
            print(row(f"componentize-py, {case}", base[i], base[i], None))
            print(row(f"witgen generate, {case}", results["witgen generate"][i], base[i], target))
        subprocess.run(cpy, cwd=tmp, check=True, capture_output=True, env=ENV) if not theirs.exists() else None
        ours_lines, theirs_lines = py_lines(ours), py_lines(theirs)
        ratio = ours_lines / theirs_lines
        verdict = "met" if ratio <= 2.5 else "MISSED"
        print(f"\nlines written for world proxy: witgen {ours_lines}, componentize-py {theirs_lines}: "
              f"{ratio:.2f}x (target <= 2.5x: {verdict})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
