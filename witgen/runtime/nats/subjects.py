"""Subjects, headers and routes of wRPC over NATS (wire-format.md, section 3); no I/O.

    [<prefix>.]wrpc.0.0.1.<instance>.<function>    a wRPC invocation
    [<prefix>.]wrpc.0.0.1.<function>               ... of a function a world exports
    [<prefix>.]rr.0.0.1.<instance>.<function>      plain request/reply (one message each way)

Instances and resource members contain dots, so a server never splits a subject
on dots: `Routes` matches the rest of the subject against what its tables serve.
"""

from __future__ import annotations

from witgen.runtime.dispatch import BoundOperation, DispatchTable

__all__ = [
    "ERROR_HEADER",
    "ERROR_KIND_HEADER",
    "LINK_NAME",
    "RR",
    "Routes",
    "SOURCE_ID",
    "WRPC",
    "base_subject",
    "header_size",
    "invocation_subject",
    "queue_group",
]

WRPC = "wrpc.0.0.1"
RR = "rr.0.0.1"

# Headers wasmCloud hosts send; never required.
SOURCE_ID = "source-id"
LINK_NAME = "link-name"
# On the end-of-results message of an exchange that failed (section 3.7): why, and
# which `BusError` the caller raises. Peers that do not know them ignore them.
ERROR_HEADER = "witgen-error"
ERROR_KIND_HEADER = "witgen-error-kind"

Route = tuple[DispatchTable, BoundOperation]


def base_subject(prefix: str, leg: str = WRPC) -> str:
    """`[<prefix>.]wrpc.0.0.1` (or the `rr` leg)."""
    return f"{prefix}.{leg}" if prefix else leg


def invocation_subject(prefix: str, instance: str, function: str, leg: str = WRPC) -> str:
    """The subject a call is published to; the empty instance has no token."""
    base = base_subject(prefix, leg)
    return f"{base}.{instance}.{function}" if instance else f"{base}.{function}"


def queue_group(prefix: str) -> str:
    """Replicas serving one prefix share its messages: the queue group is the prefix."""
    return prefix or "wrpc"


def header_size(headers: dict[str, str] | None) -> int:
    """Bytes a header block takes in a message (they count against max payload)."""
    if not headers:
        return 0
    return 12 + sum(len(k.encode()) + len(v.encode()) + 4 for k, v in headers.items())


class Routes:
    """Subject tail (`<instance>.<function>`) -> the table and operation serving it."""

    def __init__(self) -> None:
        self.tables: list[DispatchTable] = []
        self._exact: dict[str, Route] = {}

    def add(self, table: DispatchTable) -> None:
        if table in self.tables:
            raise ValueError(f"{table!r} is already served on this connection")
        exact = dict(self._exact)
        for instance, function in table.keys():
            bound = table.find(instance, function)
            if bound is None:  # pragma: no cover - keys() lists what find() answers
                continue
            tail = f"{instance}.{function}" if instance else function
            other = exact.get(tail)
            if other is not None and other[0] is not table:
                raise ValueError(f"operation {tail!r} is already served by {other[0]!r}")
            exact[tail] = (table, bound)
        self.tables.append(table)
        self._exact = exact  # readers never see a half-built map

    def remove(self, table: DispatchTable) -> None:
        if table in self.tables:
            self.tables.remove(table)
            self._exact = {k: r for k, r in self._exact.items() if r[0] is not table}

    def find(self, tail: str) -> Route | None:
        return self._exact.get(tail)

    def split(self, tail: str) -> tuple[str, str]:
        """(instance, function) of a tail nothing serves, for messages: longest instance."""
        best = ""
        for table in self.tables:
            for instance in table.instances:
                for name in (instance, instance.partition("@")[0]):
                    if name and tail.startswith(name + ".") and len(name) > len(best):
                        best = name
        return (best, tail[len(best) + 1 :]) if best else ("", tail)
