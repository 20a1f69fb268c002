"""A NATS protocol client on a plain socket (no nats-py): it plays the Go peers' messages.

Sends what the wRPC Go client sent (CONNECT without headers in its messages, PUB, SUB,
UNSUB) and reads MSG / HMSG frames exactly as the server delivers them.
"""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlparse

GO_CONNECT = {
    "verbose": False,
    "pedantic": False,
    "tls_required": False,
    "name": "",
    "lang": "go",
    "version": "1.52.0",
    "protocol": 1,
    "echo": True,
    "headers": True,
    "no_responders": True,
}


@dataclass
class Frame:
    subject: str
    sid: str
    reply: str
    payload: bytes
    headers: bytes = b""


class RawNats:
    def __init__(self, url: str, timeout: float = 10.0) -> None:
        u = urlparse(url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=timeout)
        self.buf = b""
        info = self._line()
        assert info.startswith(b"INFO "), info
        self.info = json.loads(info[5:])
        self.send(b"CONNECT " + json.dumps(GO_CONNECT).encode() + b"\r\nPING\r\n")
        while self._line() != b"PONG":
            pass

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def sub(self, subject: str, sid: int, queue: str = "") -> None:
        q = f" {queue}" if queue else ""
        self.send(f"SUB {subject}{q} {sid}\r\n".encode())

    def unsub(self, sid: int) -> None:
        self.send(f"UNSUB {sid}\r\n".encode())

    def pub(self, subject: str, payload: bytes = b"", reply: str = "") -> None:
        r = f" {reply}" if reply else ""
        self.send(f"PUB {subject}{r} {len(payload)}\r\n".encode() + payload + b"\r\n")

    def hpub(self, subject: str, block: bytes, payload: bytes = b"", reply: str = "") -> None:
        """A message with the header block `block` (as `NATS/1.0\\r\\n...\\r\\n\\r\\n`)."""
        r = f" {reply}" if reply else ""
        total = len(block) + len(payload)
        self.send(f"HPUB {subject}{r} {len(block)} {total}\r\n".encode() + block + payload + b"\r\n")

    def ping(self) -> None:
        """Round trip: everything sent before is processed by the server."""
        self.send(b"PING\r\n")
        self.expect_pong = True

    def _fill(self) -> None:
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buf += chunk

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            self._fill()
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def _take(self, n: int) -> bytes:
        while len(self.buf) < n + 2:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n + 2 :]
        return data

    def read(self, timeout: float = 10.0) -> Frame:
        """The next MSG/HMSG (answering PINGs, skipping +OK and PONG)."""
        self.sock.settimeout(timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self._line()
            if line == b"PING":
                self.send(b"PONG\r\n")
                continue
            if line in (b"PONG", b"+OK") or line.startswith(b"INFO "):
                continue
            if line.startswith(b"-ERR"):
                raise AssertionError(f"server error: {line!r}")
            parts = line.decode().split(" ")
            if parts[0] == "MSG":
                subject, sid = parts[1], parts[2]
                reply = parts[3] if len(parts) == 5 else ""
                return Frame(subject, sid, reply, self._take(int(parts[-1])))
            if parts[0] == "HMSG":
                subject, sid = parts[1], parts[2]
                reply = parts[3] if len(parts) == 6 else ""
                hlen, total = int(parts[-2]), int(parts[-1])
                data = self._take(total)
                return Frame(subject, sid, reply, data[hlen:], data[:hlen])
            raise AssertionError(f"unexpected protocol line {line!r}")
        raise TimeoutError("no message")

    def close(self) -> None:
        self.sock.close()
