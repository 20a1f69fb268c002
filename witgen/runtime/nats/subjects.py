"""Subjects, headers and routes of wRPC over NATS (wire-format.md, section 3); no I/O.

    [<prefix>.]wrpc.0.0.1.<instance>.<function>    a wRPC invocation
    [<prefix>.]wrpc.0.0.1.<function>               ... of a function a world exports
    [<prefix>.]rr.0.0.1.<instance>.<function>      plain request/reply (one message each way)

Instances and resource members contain dots, so a server never splits a subject
on dots: `witgen.runtime.wrpc.routes.Routes` matches the rest of the subject
against what its tables serve.
"""

from __future__ import annotations


__all__ = [
    "ANSWER_HEADER",
    "check_prefix",
    "ERROR_HEADER",
    "ERROR_KIND_HEADER",
    "LINK_NAME",
    "PARAMS_HEADER",
    "RR",
    "SOURCE_ID",
    "TIMEOUT_HEADER",
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
# On an invocation: how long the caller waits, in milliseconds (servers drop or
# abandon work whose caller is gone).
TIMEOUT_HEADER = "witgen-timeout-ms"
# On a handshake, value `none`: the server reads no more of the call's parameters, so a
# witgen caller does not close them (one message fewer a call). Callers that do not know it
# close them as wRPC's do, and the server ignores that.
PARAMS_HEADER = "witgen-params"
# On an invocation without async values, value `whole`: the caller takes the whole answer
# as one message, the handshake (this header back, no reply subject) whose payload is the
# result, or which carries the failure's headers. Servers that do not know it answer with
# the handshake, the results and their end.
ANSWER_HEADER = "witgen-answer"


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


def check_prefix(prefix: str) -> str:
    """`prefix` without its outer dots; `ValueError` when it is not a plain subject.

    Wildcards (`*`, `>`) would subscribe to other providers' subjects, and empty
    tokens, spaces or control characters make subjects the server refuses.
    """
    prefix = prefix.strip(".")
    if not prefix:
        return prefix
    for token in prefix.split("."):
        if not token:
            raise ValueError(f"prefix {prefix!r}: empty token")
        if token in ("*", ">") or "*" in token or ">" in token:
            raise ValueError(f"prefix {prefix!r}: wildcards (* and >) are not allowed in a prefix")
        if any(c <= " " or c == "\x7f" or not c.isprintable() for c in token):
            raise ValueError(f"prefix {prefix!r}: spaces and control characters are not allowed")
    return prefix
