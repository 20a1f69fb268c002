"""Helpers for the TCP tests: bindings from a WIT text, raw framed connections, processes.

    root = generate(WIT, "hellogen", tmp)        # importable as hellogen.<package>.<module>
    with RawCall("127.0.0.1", port) as raw:      # a hand-made wRPC connection
        raw.send(preamble("i", "f") + frame((), b""))
        frames, ended = raw.frames()
    with ServedTcp("tests/load_support.py", "--bindings", root) as served:
        served.address                           # "127.0.0.1:<port>" from its `serving` line
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from witgen.runtime.tcp.frames import FrameParser, encode_frame, encode_preamble

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"

preamble = encode_preamble
frame = encode_frame


def generate(wit: str, package: str, out: Path) -> Path:
    """Bindings for the WIT text `wit` in `out/<package>`; returns `out` (for sys.path)."""
    from witgen.codegen import render_bindings
    from witgen.resolver import load

    source = out / f"{package}.wit"
    source.write_text(wit)
    for rel, text in render_bindings(load(str(source)), inputs=[source.name]).items():
        path = out / package / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return out


def free_port(host: str = HOST) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def ipv6_loopback() -> bool:
    """Whether ::1 can be bound here."""
    try:
        free_port("::1")
    except OSError:
        return False
    return True


def listening(port: int) -> bool:
    """Whether a socket listens on this TCP port (from /proc: no probe connection)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                return True
    return False


def wait_until(condition: object, what: str, timeout: float = 20.0) -> None:
    """Poll `condition()` until true; AssertionError naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s")
        time.sleep(0.02)


class RawCall:
    """One TCP connection driven by hand."""

    def __init__(self, host: str, port: int, timeout: float = 10.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def shut(self) -> None:
        self.sock.shutdown(socket.SHUT_WR)

    def reset(self) -> None:
        """Close with a reset (SO_LINGER 0): the caller vanishes."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        self.sock.close()

    def received(self) -> bytes:
        """Everything until the other side shuts its write side (or resets)."""
        chunks = []
        try:
            while chunk := self.sock.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:
            pass
        return b"".join(chunks)

    def frames(self) -> list[tuple[tuple[int, ...], bytes]]:
        """The frames received until the other side shut its write side."""
        parser = FrameParser(header=False, max_data=1 << 30)
        found = parser.feed(self.received())
        parser.finish()
        return found

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawCall:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ServedTcp:
    """A process started with the serve entry point and `--tcp 127.0.0.1:0`."""

    def __init__(self, *args: str, host: str = HOST) -> None:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "tests")]))
        bracketed = f"[{host}]" if ":" in host else host
        self.proc = subprocess.Popen(
            [sys.executable, *args, "--tcp", f"{bracketed}:0"],
            cwd=ROOT,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stderr is not None
        first = self.proc.stderr.readline()
        found = re.search(r"over TCP on (\S+)$", first.strip())
        if not first.startswith("serving") or found is None:
            self.proc.kill()
            raise RuntimeError(f"{args} did not start: {first}{self.proc.stderr.read()}")
        self.address = found.group(1)
        self.port = int(self.address.rsplit(":", 1)[1])
        self.log: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.log.append(line.rstrip("\n"))

    def stop(self) -> int:
        """SIGTERM; the exit status (the entry point finishes its calls and exits 0)."""
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            code = self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self._reader.join(2)
        return code

    def __enter__(self) -> ServedTcp:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(2)
