"""A provider process whose methods misbehave on request, for the hostile-lattice tests.

    python tests/hostile_support.py --nats URL --prefix P --bindings DIR [--workers N --queue N]

`test:hostile/ops` fails in each of the three ways a method can run (a worker
thread, inline on the loop, async) with the exception a number names, sleeps, and
answers fast; every answer of `fast` is its argument plus one.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
import time
from pathlib import Path
from types import ModuleType

from witgen.runtime.dispatch import nonblocking

WIT = """\
package test:hostile;

interface ops {
  fail-thread: func(kind: u8) -> u32;
  fail-inline: func(kind: u8) -> u32;
  fail-async: func(kind: u8) -> u32;
  slow: func(ms: u32) -> u32;
  slow-async: func(ms: u32) -> u32;
  fast: func(n: u32) -> u32;
  size: func(data: list<u8>) -> u32;
}

world server {
  export ops;
}

world client {
  import ops;
}
"""

# What `kind` raises; the last one carries a secret in its text.
KINDS: list[type[BaseException]] = [SystemExit, KeyboardInterrupt, GeneratorExit, ValueError]
SECRET = "postgres://app:hunter2@db.internal/prod"


def build(out: Path) -> Path:
    from witgen.codegen import render_bindings
    from witgen.resolver import load

    (out / "hostile.wit").write_text(WIT)
    for rel, text in render_bindings(load(str(out / "hostile.wit")), inputs=["hostile.wit"]).items():
        path = out / "hostilegen" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return out


def modules() -> dict[str, ModuleType]:
    return {name: importlib.import_module(f"hostilegen.test_hostile.{name}") for name in ("server", "client")}


def _raise(kind: int) -> int:
    exc = KINDS[kind]
    raise exc(f"cannot reach {SECRET}") if exc is ValueError else exc()


class Ops:
    def fail_thread(self, kind: int) -> int:
        return _raise(kind)

    @nonblocking
    def fail_inline(self, kind: int) -> int:
        return _raise(kind)

    async def fail_async(self, kind: int) -> int:
        await asyncio.sleep(0)
        return _raise(kind)

    def slow(self, ms: int) -> int:
        time.sleep(ms / 1000)
        return ms

    async def slow_async(self, ms: int) -> int:
        await asyncio.sleep(ms / 1000)
        return ms

    def fast(self, n: int) -> int:
        return n + 1

    def size(self, data: bytes) -> int:
        return len(data)


def main(argv: list[str] | None = None) -> int:
    from witgen.runtime.nats.main import add_arguments, limits, serve_forever

    parser = argparse.ArgumentParser()
    add_arguments(parser, required=True)
    parser.add_argument("--bindings", required=True)
    args = parser.parse_args(argv)
    sys.path.insert(0, args.bindings)
    table = modules()["server"].dispatch_table(ops=Ops())
    return serve_forever([table], args.nats, prefix=args.prefix, **limits(args))


if __name__ == "__main__":
    sys.exit(main())
