"""Hosting a component as an actor on a NATS lattice, until SIGINT/SIGTERM.

    sys.exit(host_forever(build, "nats://127.0.0.1:4222", prefix="default.chat",
                          imports={"ollama:llm/llm": "default.ollama"}))

`build(bus, routes)` makes the `ComponentHost` (its imports over NATS: `routes` holds one
endpoint per imported interface named in `imports`, with that interface's prefix; `bus`,
the endpoint for the others, uses `default_import_prefix`). The component's exports are
then served under `prefix` with the NATS serve entry point (`witgen.runtime.nats.main`),
which prints `serving ...` once ready and drains on a signal.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping

from witgen.runtime.bus import Bus, BusError
from witgen.runtime.wasm.host import ComponentHost

__all__ = ["host_forever"]

Build = Callable[[Bus, Mapping[str, Bus]], ComponentHost]


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
        return serve_forever([host.dispatch_table()], url, prefix=prefix, creds=creds, name=name)
    finally:
        calls.close()
