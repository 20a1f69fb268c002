"""NATS server URLs: a server list read and checked, and URLs made safe to print.

    split_servers("nats://a:4222, b:4222")   # ['nats://a:4222', 'nats://b:4222']
    redact("cannot connect to nats://alice:s3cret@h:4222")
                                             # 'cannot connect to nats://alice:***@h:4222'
    describe(["nats://tok@a:4222", "nats://b:4222"])   # 'nats://***@a:4222, nats://b:4222'

The schemes are the ones nats-py connects with: `nats://` and `tls://` (TCP,
TLS when the scheme or the server asks), `ws://` and `wss://` (WebSocket, with
the `aiohttp` package); one list may not mix WebSocket and TCP servers. A bare
`host[:port]` is taken as `nats://host[:port]`; without a port nats-py uses 4222
(TCP) or the scheme's own (WebSocket). Commas separate servers, so a password
that holds one cannot be given in a URL (use a credentials file).

Standard library only: the command line imports this before anything heavy.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

__all__ = ["SCHEMES", "describe", "redact", "split_servers"]

SCHEMES = ("nats", "tls", "ws", "wss")
_WEBSOCKET = ("ws", "wss")
_USE = "use nats://, tls://, ws:// or wss://"

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
# A URL's user information inside any text: from `scheme://` to the last `@` before
# white space, a quote or a comma that starts the next URL of a list. A password
# is taken whole even when it holds characters a URL should have encoded.
_USERINFO = re.compile(
    r"""(\b[A-Za-z][A-Za-z0-9+.\-]*://|netloc=')((?:[^\s'"<>,]|,(?!\s*[A-Za-z][A-Za-z0-9+.\-]*://))*)@"""
)
_BAD_HOST_CHARS = re.compile(r"[\s\x00-\x1f\x7f\\^`{}|<>\"']")


def redact(text: str) -> str:
    """`text` with the password of every URL in it replaced by `***` (the user name stays);
    a token given alone (`nats://token@host`) is replaced whole."""

    def hide(match: re.Match[str]) -> str:
        start, userinfo = match.group(1), match.group(2)
        user, colon, _ = userinfo.partition(":")
        return f"{start}{user}:***@" if colon else f"{start}***@"

    return _USERINFO.sub(hide, text)


def describe(servers: str | Iterable[str]) -> str:
    """The servers for a message: redacted and comma-joined."""
    if isinstance(servers, str):
        return redact(servers)
    return ", ".join(redact(s) for s in servers)


def split_servers(servers: str | Iterable[str]) -> list[str]:
    """The server URLs in a comma-separated string (spaces allowed) or a list, each checked.

    Returns them stripped, with `nats://` before a bare `host[:port]` and the
    scheme in lower case. Raises `ValueError` naming the first bad URL (redacted)
    and what is wrong with it.
    """
    if isinstance(servers, str):
        items = servers.split(",")
    else:
        items = []
        for entry in servers:
            if not isinstance(entry, str):
                raise ValueError(f"a server URL should be a string, got {type(entry).__name__}")
            items.extend(entry.split(","))
    stripped = [item.strip() for item in items]
    if not any(stripped):
        raise ValueError(f"no NATS server URL given ({_USE})")
    out: list[str] = []
    for item in stripped:
        if not item:
            raise ValueError(f"{redact(','.join(stripped))}: an empty entry in the server list")
        out.append(_check(item))
    websocket = [url for url in out if url.split(":", 1)[0] in _WEBSOCKET]
    if websocket and len(websocket) != len(out):
        raise ValueError(
            f"{describe(out)}: ws:// and wss:// servers cannot be mixed with nats:// and tls:// ones"
        )
    return out


def _check(item: str) -> str:
    """One URL, normalised; ValueError saying what is wrong."""
    found = _SCHEME.match(item)
    if found is None:
        if "/" in item:
            raise ValueError(f"{redact(item)}: not a server URL ({_USE})")
        url = f"nats://{item}"
    else:
        scheme = found.group(1)
        url = scheme.lower() + item[len(scheme):]
        if scheme.lower() not in SCHEMES:
            raise ValueError(f"{redact(item)}: unsupported scheme {scheme!r} ({_USE})")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValueError(f"{_port_hidden(url)}: the port should be a number from 1 to 65535") from None
    host = parts.hostname or ""
    if not host:
        raise ValueError(f"{redact(url)}: no host name")
    if _BAD_HOST_CHARS.search(host) or (":" in host and "[" not in parts.netloc):
        raise ValueError(f"{redact(url)}: {host!r} is not a host name")
    if port is not None and not 1 <= port <= 65535:
        raise ValueError(f"{redact(url)}: the port should be a number from 1 to 65535")
    if parts.scheme not in _WEBSOCKET and (parts.path not in ("", "/") or parts.query or parts.fragment):
        raise ValueError(f"{redact(url)}: a {parts.scheme}:// URL has no path or query")
    return url


def _port_hidden(url: str) -> str:
    """`url` redacted, and a port that is not a number hidden too: in `nats://user:pass`
    (a host forgotten, or a list split at a comma in the password) it is the password."""
    return re.sub(r"(://[^/@]*?:)([^/@:\]]*[^\d/@:\]][^/@:\]]*)$", r"\1***", redact(url))
