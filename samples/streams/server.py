"""`python -m samples.streams.server (--tcp HOST:PORT | --nats URL --prefix P)`.

Serves `wrpc-examples:streams/handler`: `echo(r)` returns the two streams of `r` as
they come in, so each number and each chunk of bytes goes back as soon as it arrives
(a caller may send its next item once the previous one came back).

    witgen call --tcp 127.0.0.1:7761 --wit samples/streams/wit --follow \\
        wrpc-examples:streams/handler.echo '{numbers: [1, 2, 3], bytes: [104, 105]}'
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator
from typing import TypeVar

from samples.streams.bindings.wrpc_examples_streams import server as server_world
from samples.streams.bindings.wrpc_examples_streams.handler import Req
from witgen.runtime.dispatch import DispatchTable
from witgen.runtime.values import Stream


class Echo:
    """The handler: what comes in on each stream goes straight back out."""

    def __init__(self) -> None:
        self.calls = 0

    def echo(self, r: Req) -> tuple[AsyncIterator[int], AsyncIterator[bytes]]:
        self.calls += 1
        return _relay(r.numbers), _relay(r.bytes_)


T = TypeVar("T")


async def _relay(items: Stream[T]) -> AsyncIterator[T]:
    """Each item of `items` as soon as it arrives."""
    async for item in items:
        yield item


def dispatch_table() -> DispatchTable:
    """The server's export `handler`."""
    return server_world.dispatch_table(handler=Echo())


def main(argv: list[str] | None = None) -> int:
    from witgen.runtime.nats.main import add_arguments, limits, serve_forever

    parser = argparse.ArgumentParser(prog="python -m samples.streams.server", description=(__doc__ or "").splitlines()[0])
    add_arguments(parser, required=True)
    args = parser.parse_args(argv)
    return serve_forever(
        [dispatch_table()],
        args.nats,
        prefix=args.prefix,
        creds=args.creds,
        tls_ca=args.tls_ca,
        name=args.name,
        **limits(args),
    )


if __name__ == "__main__":
    sys.exit(main())
