"""The errors a call on the bus can end with (a `BusError` carries a readable message).

Application errors are not bus errors: they travel inside the result, as the error value
of the function's WIT `result`.
"""

from __future__ import annotations

__all__ = [
    "BusError",
    "BusTimeout",
    "InvalidHandle",
    "InvalidPayload",
    "ProviderBusy",
    "ProviderFailure",
    "TransportError",
    "UnknownOperation",
]


class BusError(Exception):
    """A call that could not complete; `message` says why, for people to read.

    `instance` and `function` name the operation as the caller addressed it.
    """

    def __init__(self, message: str, instance: str = "", function: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.instance = instance
        self.function = function

    def __str__(self) -> str:
        if not (self.instance or self.function):
            return self.message
        return f"{self.operation}: {self.message}"

    @property
    def operation(self) -> str:
        """`instance.function` (or the function alone for the empty instance)."""
        return f"{self.instance}.{self.function}" if self.instance else self.function


class UnknownOperation(BusError):
    """No provider serves this instance and function."""


class InvalidPayload(BusError):
    """Bytes that do not decode as the operation's parameters (or result)."""


class InvalidHandle(BusError):
    """A resource handle this provider never gave this caller, or already dropped."""


class ProviderFailure(BusError):
    """The provider's implementation raised; the provider itself keeps serving."""


class ProviderBusy(BusError):
    """The provider is at its concurrency limit with a full queue: try again later."""


class BusTimeout(BusError):
    """No complete answer within the timeout."""


class TransportError(BusError):
    """The transport failed (connection lost, results stream ended early, ...)."""
