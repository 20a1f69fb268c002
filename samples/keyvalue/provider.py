"""`python -m samples.keyvalue.provider (--tcp HOST:PORT | --nats URL --prefix P)`.

An in-memory `wasi:keyvalue/store@0.2.0-draft2`. `open(name)` gives the bucket of that
name (created empty on first open), and the bucket's handle bytes are its name, so any
caller that opens `example` reaches the same data. A handle naming a bucket nobody
opened gives `err(no-such-store)`; `list-keys` returns every key in one page (a cursor
is refused). Everything is lost when the process stops.

    witgen call --tcp 127.0.0.1:7761 --wit samples/keyvalue/wit \\
        wasi:keyvalue/store.open '"example"'              # ok([101, 120, ...])
"""

from __future__ import annotations

import argparse
import sys
import threading

from samples.keyvalue.bindings.wasi_keyvalue_v0_2_0_draft2 import server as server_world
from samples.keyvalue.bindings.wasi_keyvalue_v0_2_0_draft2.store import (
    Error,
    ErrorNoSuchStore,
    ErrorOther,
    KeyResponse,
)
from witgen.runtime.dispatch import DispatchTable
from witgen.runtime.values import Err, Ok


class Bucket:
    """The bucket `name` of `store` (which may not exist: every call then fails)."""

    def __init__(self, store: MemoryStore, name: str) -> None:
        self.store = store
        self.name = name

    def _data(self) -> dict[str, bytes] | None:
        return self.store.buckets.get(self.name)

    def get(self, key: str) -> Ok[bytes | None] | Err[Error]:
        data = self._data()
        return Err(ErrorNoSuchStore()) if data is None else Ok(data.get(key))

    def set_(self, key: str, value: bytes) -> Ok[None] | Err[Error]:
        data = self._data()
        if data is None:
            return Err(ErrorNoSuchStore())
        with self.store.lock:
            data[key] = value
        return Ok(None)

    def delete(self, key: str) -> Ok[None] | Err[Error]:
        data = self._data()
        if data is None:
            return Err(ErrorNoSuchStore())
        with self.store.lock:
            data.pop(key, None)
        return Ok(None)

    def exists(self, key: str) -> Ok[bool] | Err[Error]:
        data = self._data()
        return Err(ErrorNoSuchStore()) if data is None else Ok(key in data)

    def list_keys(self, cursor: str | None) -> Ok[KeyResponse] | Err[Error]:
        data = self._data()
        if data is None:
            return Err(ErrorNoSuchStore())
        if cursor is not None:
            return Err(ErrorOther("cursors are not supported"))
        with self.store.lock:
            keys = sorted(data)
        return Ok(KeyResponse(keys=keys, cursor=None))


class MemoryStore:
    """The store: buckets by name, each a dict of keys to values."""

    def __init__(self) -> None:
        self.buckets: dict[str, dict[str, bytes]] = {}
        self.lock = threading.Lock()

    def open_(self, identifier: str) -> Ok[Bucket] | Err[Error]:
        with self.lock:
            self.buckets.setdefault(identifier, {})
        return Ok(Bucket(self, identifier))

    def table(self) -> DispatchTable:
        """The provider's export `store`; a bucket's handle is its name in UTF-8."""
        table = server_world.dispatch_table(store=self)
        table.handles.choose(
            "bucket",
            handle_of=lambda bucket: bucket.name.encode(),
            resolve=lambda source, handle: Bucket(self, handle.decode("utf-8", "replace")),
        )
        return table


def main(argv: list[str] | None = None) -> int:
    from witgen.runtime.nats.main import add_arguments, limits, serve_forever

    parser = argparse.ArgumentParser(
        prog="python -m samples.keyvalue.provider", description=(__doc__ or "").splitlines()[0]
    )
    add_arguments(parser, required=True)
    args = parser.parse_args(argv)
    return serve_forever(
        [MemoryStore().table()],
        args.nats,
        prefix=args.prefix,
        creds=args.creds,
        tls_ca=args.tls_ca,
        name=args.name,
        **limits(args),
    )


if __name__ == "__main__":
    sys.exit(main())
