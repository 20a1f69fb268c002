"""`witgen call` of a function whose parameters or result hold streams or futures.

A stream argument is given as the WAVE list of its items and sent complete. The call
goes through the wRPC engine over NATS or TCP; its result's streams and futures arrive
while it runs. Printed:
- by default, the whole result once every stream in it ended and every future resolved;
- with `--follow`, each item of each stream on its own line as it arrives (a chunk of a
  `stream<u8>` as its bytes, `[1, 2]`), and each future's value once it resolves. When the
  result is not itself the stream or future, each line starts with where the value sits
  in it: `0: 7` (tuple element 0), `items: 7` (record field), `2.items: 7`.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from witgen import model as m
from witgen.runtime import values as rv
from witgen.runtime.codec import FunctionCodec


def call(bus: Any, instance: str, name: str, fc: FunctionCodec, args: Sequence[Any], timeout: float) -> Any:
    """Call `instance.name` on `bus` (NATS or TCP) from this thread: the decoded result,
    whose stream and future readers belong to the bus's loop."""
    from witgen.runtime.wrpc import engine

    async def run() -> Any:
        outgoing, _ = await bus.open_call(instance, name)
        return await engine.call_values(outgoing, instance, name, fc, tuple(args), timeout)

    return asyncio.run_coroutine_threadsafe(run(), bus.loop).result()


Pending = tuple[str, Any, m.Stream | m.Future]


def pending_values(resolve: m.Resolve, py: Any, ty: m.Type, label: str = "") -> list[Pending]:
    """The streams and futures in the result value `py` of type `ty`, each with its place
    (in records, tuples, lists and result payloads)."""
    ty = resolve.dealias(ty)
    if isinstance(ty, str):
        return []
    kind = resolve.types[ty].kind
    found: list[Pending] = []
    match kind:
        case m.Stream() | m.Future():
            found.append((label, py, kind))
        case m.Record(fields):
            for f, attr in zip(fields, dataclasses.fields(py)):
                found += pending_values(resolve, getattr(py, attr.name), f.type, _join(label, f.name))
        case m.Tuple(types):
            for i, (v, t) in enumerate(zip(py, types)):
                found += pending_values(resolve, v, t, _join(label, str(i)))
        case m.List(t) if t != "u8":
            for i, v in enumerate(py):
                found += pending_values(resolve, v, t, _join(label, str(i)))
        case m.Result(ok, err):
            payload = ok if isinstance(py, rv.Ok) else err
            if payload is not None:
                found += pending_values(resolve, py.value, payload, label)
    return found


def _join(label: str, part: str) -> str:
    return f"{label}.{part}" if label else part


def follow(bus: Any, found: list[Pending], show: Callable[[Any, m.Type], str], emit: Callable[[str], None]) -> None:
    """Print each item of every stream in `found`, and each future's value, as they
    arrive (all read at once on the bus's loop); a stream's error is raised here."""

    async def read(label: str, reader: Any, kind: m.Stream | m.Future) -> None:
        head = f"{label}: " if label else ""
        if isinstance(kind, m.Future):
            value = await reader
            emit(head + ("()" if kind.type is None else show(value, kind.type)))
            return
        async for item in reader:
            if kind.type is None:
                emit(head + "()")
            elif kind.type == "u8":  # a chunk of bytes
                emit(head + "[" + ", ".join(str(b) for b in item) + "]")
            else:
                emit(head + show(item, kind.type))

    async def all_of() -> None:
        await asyncio.gather(*(read(*p) for p in found))

    asyncio.run_coroutine_threadsafe(all_of(), bus.loop).result()
