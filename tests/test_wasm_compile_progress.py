"""A first start compiles the component: the commands say so, show progress on a terminal and stop on Ctrl-C.

Real `witgen` processes on a componentize-py component (seconds to compile) with an empty
cache folder each (`WITGEN_CACHE_DIR`) and their own cache key (`XDG_CONFIG_HOME`).
"""

from __future__ import annotations

import os
import pty
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import wasm_fixtures
from wasm_fixtures import build_dir, stateful_py_wasm, stateful_wat_wasm  # noqa: F401

from witgen import cachesign
from witgen.runtime.wasm.loader import Compiling, engine_for, load

ROOT = Path(__file__).resolve().parent.parent
STATEFUL_WIT = str(wasm_fixtures.STATEFUL_WIT)
GET_METADATA = "wamli:stateful/state.get-metadata"
RESULT = 'ok(["mobilenet", "v2", "imagenet"])'
pytestmark = pytest.mark.timeout(900)


def notice(component: Path) -> str:
    size = component.stat().st_size
    return f"compiling {component} ({size / 1_000_000:.0f} MB) for this machine; the next start uses the cache"


def environment(tmp_path: Path) -> dict[str, str]:
    return dict(
        os.environ,
        PYTHONPATH=str(ROOT),
        WITGEN_CACHE_DIR=str(tmp_path / "cache"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
    )


def call_args(component: Path) -> list[str]:
    return [sys.executable, "-m", "witgen", "call", "--component", str(component), "--wit", STATEFUL_WIT, GET_METADATA]


def call(tmp_path: Path, component: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        call_args(component), cwd=ROOT, env=environment(tmp_path), capture_output=True, text=True, timeout=600
    )


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_first_start_says_it_compiles_and_the_next_is_cached(tmp_path: Path, stateful_py_wasm: Path) -> None:  # noqa: F811
    first = call(tmp_path, stateful_py_wasm)
    assert (first.returncode, first.stdout, first.stderr) == (0, RESULT + "\n", notice(stateful_py_wasm) + "\n")
    second = call(tmp_path, stateful_py_wasm)
    assert (second.returncode, second.stdout, second.stderr) == (0, RESULT + "\n", "")


def test_ctrl_c_during_the_first_compile_stops_at_once_and_caches_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stateful_py_wasm: Path  # noqa: F811
) -> None:
    host = [sys.executable, "-m", "witgen", "host", str(stateful_py_wasm), "--wit", STATEFUL_WIT,
            "--nats", f"nats://127.0.0.1:{unused_port()}", "--prefix", "progress.test"]  # fmt: skip
    proc = subprocess.Popen(
        host, cwd=ROOT, env=environment(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stderr is not None
    stderr = proc.stderr

    def read() -> None:
        for line in stderr:
            lines.put(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        first = lines.get(timeout=300)  # said while the compile runs
        assert first == notice(stateful_py_wasm) + "\n"
        interrupted_at = time.monotonic()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=300)
        stopping = time.monotonic() - interrupted_at
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    reader.join(60)  # stderr ended with the process
    rest = [lines.get_nowait() for _ in range(lines.qsize())]
    assert proc.returncode == 130
    assert rest == [f"interrupted: {stateful_py_wasm} was not compiled; nothing was cached\n"]

    folder = tmp_path / "cache" / "wasm"
    assert sorted(p.name for p in folder.glob("*.tmp")) == []
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    assert all(cachesign.read_entry(p) is not None for p in folder.glob("*.cwasm"))  # none, or a whole one

    started = time.monotonic()
    again = call(tmp_path, stateful_py_wasm)  # compiles, as nothing was cached
    full_start = time.monotonic() - started
    assert (again.returncode, again.stdout, again.stderr) == (0, RESULT + "\n", notice(stateful_py_wasm) + "\n")
    assert stopping < full_start / 4, (stopping, full_start)  # not at the end of the compile


def test_a_terminal_sees_the_seconds_of_the_compile(tmp_path: Path, stateful_py_wasm: Path) -> None:  # noqa: F811
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        call_args(stateful_py_wasm), cwd=ROOT, env=environment(tmp_path),
        stdin=follower, stdout=follower, stderr=follower,
    )  # fmt: skip
    os.close(follower)
    chunks = []
    try:
        while True:
            try:
                data = os.read(leader, 4096)
            except OSError:  # the terminal closed with the process
                break
            if not data:
                break
            chunks.append(data)
        proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        os.close(leader)
    text = b"".join(chunks).decode()
    assert proc.returncode == 0, text
    assert text.startswith(notice(stateful_py_wasm) + "\r\n"), text
    progress = re.findall(r"\r\x1b\[K[-|/\\] (\d+) s", text)
    assert progress, text
    assert text.endswith("\r\x1b[K" + RESULT + "\r\n"), text[-200:]  # the progress line cleared


def test_load_tells_its_progress_callback_of_a_compile_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stateful_wat_wasm: Path  # noqa: F811
) -> None:
    monkeypatch.setenv("WITGEN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    compiled: list[Compiling] = []
    load(engine_for(), stateful_wat_wasm, progress=compiled.append)
    assert [c.done for c in compiled] == [False] * (len(compiled) - 1) + [True]
    assert {(c.where, c.size, c.cached) for c in compiled} == {(str(stateful_wat_wasm), stateful_wat_wasm.stat().st_size, True)}
    from_cache: list[Compiling] = []
    load(engine_for(), stateful_wat_wasm, progress=from_cache.append)
    assert from_cache == []
