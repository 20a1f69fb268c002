"""`witgen bridge`: a component that connects a wasmCloud 2.x workload to Python over NATS.

Phases, one module each: `plan` (pick and check the interfaces), `guest` (the guest
project: WIT world, codec runtime, type descriptions, exports), `build` (componentize-py,
cached by content). `make_bridge` runs them in order.
"""

from __future__ import annotations

from pathlib import Path

from witgen.bridge.guest import Settings, emit, write
from witgen.bridge.plan import BridgeError, Plan, plan

__all__ = ["BridgeError", "Plan", "Settings", "make_bridge", "plan"]


def make_bridge(
    wit_dir: Path,
    settings: Settings,
    provide: list[str],
    expose: list[str],
    *,
    output: Path | None = None,
    emit_source: Path | None = None,
) -> Plan:
    """Check the interfaces, then write the guest project and/or build the component."""
    from witgen.resolver import load

    chosen = plan(load(wit_dir), provide, expose)
    files = emit(chosen, wit_dir, settings)
    if emit_source is not None:
        write(files, emit_source)
    if output is not None:
        from witgen.bridge.build import build

        build(files, output)
    return chosen
