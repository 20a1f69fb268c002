"""A small test interface for load and fault tests over NATS, and its provider process.

    python tests/load_support.py --nats URL --prefix P --bindings DIR

serves `test:load/echo` with sync methods (in the runtime's thread pool), an async
one, one that raises, a slow one and a byte echo; every answer names the replica
(its process id) that gave it.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

WIT = """\
package test:load;

interface echo {
  record answer { n: u64, text: string, replica: u32 }
  echo: func(n: u64, text: string) -> answer;
  echo-async: func(n: u64, text: string) -> answer;
  slow: func(ms: u32) -> u32;
  boom: func(n: u32) -> u32;
  blob: func(data: list<u8>) -> list<u8>;
}

world server {
  export echo;
}

world client {
  import echo;
}
"""


def build(out: Path) -> Path:
    from witgen.codegen import render_bindings
    from witgen.resolver import load

    (out / "load.wit").write_text(WIT)
    for rel, text in render_bindings(load(str(out / "load.wit")), inputs=["load.wit"]).items():
        path = out / "loadgen" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return out


def modules() -> dict[str, ModuleType]:
    return {
        name: importlib.import_module(f"loadgen.test_load.{name}")
        for name in ("echo", "server", "client")
    }


class Echo:
    def __init__(self, mods: dict[str, ModuleType]) -> None:
        self.answer = mods["echo"].Answer
        self.replica = os.getpid()

    def echo(self, n: int, text: str) -> Any:
        return self.answer(n, text, self.replica)

    async def echo_async(self, n: int, text: str) -> Any:
        await asyncio.sleep(0)
        return self.answer(n, text, self.replica)

    def slow(self, ms: int) -> int:
        time.sleep(ms / 1000)
        return ms

    def boom(self, n: int) -> int:
        raise RuntimeError(f"boom {n}")

    def blob(self, data: bytes) -> bytes:
        return data


def main(argv: list[str] | None = None) -> int:
    from witgen.runtime.nats.main import add_arguments, serve_forever

    parser = argparse.ArgumentParser()
    add_arguments(parser, required=True)
    parser.add_argument("--bindings", required=True)
    args = parser.parse_args(argv)
    sys.path.insert(0, args.bindings)
    mods = modules()
    table = mods["server"].dispatch_table(echo=Echo(mods))
    return serve_forever([table], args.nats, prefix=args.prefix)


if __name__ == "__main__":
    sys.exit(main())
