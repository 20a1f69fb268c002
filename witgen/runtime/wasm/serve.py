"""Hosting a component as an actor on a NATS lattice, until SIGINT/SIGTERM.

    sys.exit(host_forever(build, "nats://127.0.0.1:4222", prefix="default.chat",
                          imports={"ollama:llm/llm": "default.ollama"}))

`build(bus, routes)` makes the `ComponentHost` (its imports over NATS: `routes` holds one
endpoint per imported interface named in `imports`, with that interface's prefix; `bus`,
the endpoint for the others, uses `default_import_prefix`). The component's exports are
then served under `prefix` with the NATS serve entry point (`witgen.runtime.nats.main`),
which prints `serving ...` once ready and drains on a signal. SIGINT first interrupts the
host (`witgen.runtime.wasm.host.interrupt`), so that a call spinning in the guest ends now
instead of at its deadline, and one line on stderr says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import TypeVarTuple, Unpack

from witgen.runtime.bus import Bus, BusError
from witgen.runtime.wasm.host import ComponentHost, interrupt

__all__ = ["host_forever"]

Build = Callable[[Bus, Mapping[str, Bus]], ComponentHost]
Ts = TypeVarTuple("Ts")


def host_forever(
    build: Build,
    url: str,
    *,
    prefix: str,
    imports: Mapping[str, str] = {},
    default_import_prefix: str = "",
    creds: str | None = None,
    name: str | None = None,
) -> int:
    """Serve the built host's exports under `prefix` on `url`; the exit status."""
    from witgen.runtime.nats import NatsBus
    from witgen.runtime.nats.main import serve_forever

    try:
        calls = NatsBus.connect_sync(url, prefix=default_import_prefix, creds=creds, source=prefix)
    except BusError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    try:
        routes = {iface: calls.endpoint(prefix=p) for iface, p in imports.items()}
        try:
            host = build(calls, routes)
        except Exception as exc:
            print(f"error: {exc}", file=sys.stderr, flush=True)
            return 1
        with _interrupting_on_sigint(host):
            return serve_forever([host.dispatch_table()], url, prefix=prefix, creds=creds, name=name)
    finally:
        calls.close()


@contextlib.contextmanager
def _interrupting_on_sigint(host: ComponentHost) -> Iterator[None]:
    """While inside, the SIGINT handler of an event loop interrupts `host` before its own work."""

    def on_sigint() -> None:
        ended = "; the call in progress was stopped" if host._running is not None else ""
        # One write, before the call's own failure is logged from its thread.
        sys.stderr.write(f"interrupted: {host.name} stops taking calls{ended}\n")
        sys.stderr.flush()
        interrupt(host)

    class Loop(asyncio.SelectorEventLoop):
        def add_signal_handler(self, sig: int, callback: Callable[[Unpack[Ts]], object], *args: Unpack[Ts]) -> None:
            if sig != signal.SIGINT:
                return super().add_signal_handler(sig, callback, *args)

            def interrupting(*given: Unpack[Ts]) -> None:
                on_sigint()
                callback(*given)

            return super().add_signal_handler(sig, interrupting, *args)

    class Policy(asyncio.DefaultEventLoopPolicy):
        def new_event_loop(self) -> asyncio.AbstractEventLoop:
            return Loop()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # event loop policies (Python 3.14)
        previous = asyncio.get_event_loop_policy()
        asyncio.set_event_loop_policy(Policy())
    try:
        yield
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            asyncio.set_event_loop_policy(previous)
