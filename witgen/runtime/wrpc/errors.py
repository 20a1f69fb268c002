"""Error kinds on the wire (the `witgen-error-kind` header) <-> `BusError` classes."""

from __future__ import annotations

from witgen.runtime.errors import (
    BusError,
    BusTimeout,
    InvalidHandle,
    InvalidPayload,
    ProviderBusy,
    ProviderFailure,
    TransportError,
    UnknownOperation,
)

__all__ = ["ERROR_KINDS", "error_from_kind", "error_kind"]

ERROR_KINDS: dict[str, type[BusError]] = {
    "unknown-operation": UnknownOperation,
    "invalid-payload": InvalidPayload,
    "invalid-handle": InvalidHandle,
    "provider-busy": ProviderBusy,
    "provider-failure": ProviderFailure,
    "timeout": BusTimeout,
    "transport": TransportError,
}


def error_kind(exc: BusError) -> str:
    """The wire name of `exc`'s class (its nearest known base)."""
    for kind, cls in ERROR_KINDS.items():
        if isinstance(exc, cls):
            return kind
    return "provider-failure"


def error_from_kind(kind: str, message: str, instance: str, function: str) -> BusError:
    """The error a caller raises for an exchange that ended with `kind` and `message`."""
    return ERROR_KINDS.get(kind, ProviderFailure)(message, instance, function)
