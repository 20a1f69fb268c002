"""Provider logging as wasmCloud hosts expect it: stderr, level from HostData.

`structured_logging` gives one JSON object per line (`timestamp`, `level`,
`target`, `message`, plus `provider`/`instance` and any `extra` fields), as
`wasmcloud_tracing` does; otherwise plain text lines. `log_level` is one of
`error`/`warn`/`info`/`debug`/`trace`/`critical` (unknown -> info). Passwords
and tokens in URLs are shown as `***` in every line, whoever logged it.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import IO, Any

from witgen.runtime.urls import redact

__all__ = ["configure", "level_of"]

_LEVELS = {
    "trace": logging.DEBUG,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}
_NAMES = {
    logging.DEBUG: "DEBUG",
    logging.INFO: "INFO",
    logging.WARNING: "WARN",
    logging.ERROR: "ERROR",
    logging.CRITICAL: "CRITICAL",
}
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def level_of(name: str | None) -> int:
    """The `logging` level for a wasmCloud level name (None or unknown: INFO)."""
    return _LEVELS.get((name or "info").strip().lower(), logging.INFO)


class JsonLines(logging.Formatter):
    """One JSON object per record."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__()
        self.fields = fields

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": _NAMES.get(record.levelno, record.levelname),
            "target": record.name,
            "message": record.getMessage(),
            **self.fields,
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value if isinstance(value, (str, int, float, bool)) else str(value)
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps({k: redact(v) if isinstance(v, str) else v for k, v in out.items()}, ensure_ascii=False)


class PlainLines(logging.Formatter):
    """`logging.Formatter` lines, URLs redacted."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure(
    *,
    structured: bool,
    level: str | None,
    fields: dict[str, str] | None = None,
    stream: IO[str] | None = None,
) -> logging.Handler:
    """Send every log record to stderr in the host's format; return the handler."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    if structured:
        handler.setFormatter(JsonLines(dict(fields or {})))
    else:
        prefix = " ".join(f"{v}" for v in (fields or {}).values())
        handler.setFormatter(
            PlainLines(
                f"%(asctime)s %(levelname)s %(name)s{' [' + prefix + ']' if prefix else ''}: "
                "%(message)s"
            )
        )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level_of(level))
    # nats-py is chatty at DEBUG about every reconnect attempt; keep it at INFO or above.
    logging.getLogger("nats").setLevel(max(level_of(level), logging.INFO))
    logging.getLogger("asyncio").setLevel(max(level_of(level), logging.INFO))
    return handler
