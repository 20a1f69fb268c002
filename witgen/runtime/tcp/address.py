"""TCP addresses as users write them: `HOST:PORT`, an IPv6 host in brackets.

    parse_address("127.0.0.1:7761")      # ('127.0.0.1', 7761)
    parse_address("[::1]:7761")          # ('::1', 7761)
    parse_address("tcp://localhost:0", listen=True)   # port 0: any free port
    format_address("::1", 7761)          # '[::1]:7761'

Standard library only: the command line imports this before anything heavy.
"""

from __future__ import annotations

import re

__all__ = ["SCHEME", "format_address", "parse_address"]

SCHEME = "tcp://"
_HOST = re.compile(r"^[A-Za-z0-9._-]+$")


def parse_address(text: str, *, listen: bool = False) -> tuple[str, int]:
    """(host, port) of `HOST:PORT` (optionally `tcp://HOST:PORT`); `ValueError` saying what
    is wrong. Port 0 (any free port) only when `listen`."""
    shown = text
    if text[: len(SCHEME)].lower() == SCHEME:
        text = text[len(SCHEME) :]
    host, colon, port_text = text.rpartition(":")
    if not colon or not host:
        raise ValueError(f"{shown!r}: expected HOST:PORT, e.g. 127.0.0.1:7761 or [::1]:7761")
    if host.startswith("["):
        if not host.endswith("]") or len(host) < 3:
            raise ValueError(f"{shown!r}: an IPv6 host goes in brackets, e.g. [::1]:7761")
        host = host[1:-1]
        if not re.fullmatch(r"[0-9A-Fa-f:.]+(%[A-Za-z0-9_.-]+)?", host) or ":" not in host:
            raise ValueError(f"{shown!r}: {host!r} is not an IPv6 address")
    elif ":" in host:
        raise ValueError(f"{shown!r}: an IPv6 host goes in brackets, e.g. [::1]:7761")
    elif not _HOST.match(host):
        raise ValueError(f"{shown!r}: {host!r} is not a host name")
    lowest = 0 if listen else 1
    if not port_text.isdigit() or not lowest <= int(port_text) <= 65535:
        raise ValueError(f"{shown!r}: the port should be a number from {lowest} to 65535")
    return host, int(port_text)


def format_address(host: str, port: int) -> str:
    """`HOST:PORT`, an IPv6 host in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
