"""Per-call context: who is calling, over which link, with that link's config and secrets.

Provider Protocols stay as the WIT says (no extra parameter); a method that
needs to know its caller asks:

    from witgen.runtime import context
    ctx = context.current()
    ctx.source_id, ctx.link_name, ctx.config["bucket"], ctx.secrets.get("api-key")

The value is a `contextvars.ContextVar`: a transport sets it for the call it is
running (`enter(headers)`, from the call's `source-id` and `link-name` headers),
asyncio tasks inherit it, and a transport running a sync method in a worker
thread runs it inside a copy of the context (`run_in_context`), so `current()`
answers there too. The link's config and secrets come from a *resolver* that
the host integration installs (`set_resolver`): `witgen.provider` looks the
link up among those the host pushed. Outside any call `current()` returns an
empty context (source "", link "default", no config).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeVar

__all__ = [
    "CallContext",
    "current",
    "enter",
    "leave",
    "run_in_context",
    "set_resolver",
    "using",
]

SecretValue = str | bytes

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class CallContext:
    """What a provider knows about the call it is serving."""

    source_id: str = ""
    link_name: str = "default"
    config: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    secrets: Mapping[str, SecretValue] = field(default_factory=lambda: _EMPTY, repr=False)
    headers: Mapping[str, str] = field(default_factory=lambda: _EMPTY)


Resolver = Callable[[str, str, Mapping[str, str]], CallContext]
"""(source-id, link-name, headers) -> the call's context."""

_NONE = CallContext()
# The call's context, or only its headers: resolved when asked for, so a
# transport pays one `ContextVar.set` per call.
_current: contextvars.ContextVar[CallContext | Mapping[str, str] | None] = contextvars.ContextVar(
    "witgen_call_context", default=None
)
_resolver: Resolver | None = None


def current() -> CallContext:
    """The context of the call being served (an empty one outside any call)."""
    value = _current.get()
    if value is None:
        return _NONE
    if isinstance(value, CallContext):
        return value
    return resolve(value)


def set_resolver(resolver: Resolver | None) -> None:
    """Install the function that fills in a call's link config and secrets."""
    global _resolver
    _resolver = resolver


def resolve(headers: Mapping[str, str]) -> CallContext:
    """The context for a call carrying `headers` (`source-id`, `link-name`, ...)."""
    source = headers.get("source-id", "")
    link = headers.get("link-name", "") or "default"
    resolver = _resolver
    if resolver is None:
        return CallContext(source, link, headers=dict(headers))
    return resolver(source, link, headers)


def enter(
    headers: Mapping[str, str] | None,
) -> contextvars.Token[CallContext | Mapping[str, str] | None]:
    """Make the call carrying `headers` current (transports); give the token to `leave`."""
    return _current.set(headers if headers is not None else _EMPTY)


def leave(token: contextvars.Token[CallContext | Mapping[str, str] | None]) -> None:
    """Restore the context `enter` replaced."""
    _current.reset(token)


@contextmanager
def using(ctx: CallContext) -> Iterator[CallContext]:
    """Run a block with `ctx` as the current context (tests, in-process callers)."""
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)


T = TypeVar("T")


def run_in_context(fn: Callable[..., T], *args: Any) -> Callable[[], T]:
    """A callable for a worker thread that runs `fn(*args)` in a copy of this context."""
    ctx = contextvars.copy_context()
    return lambda: ctx.run(fn, *args)
