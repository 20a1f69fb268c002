"""wasi:keyvalue/store@0.2.0-draft2 bindings and providers for the NATS tests.

`build(shared, out)` generates bindings for a world exporting and a world importing
the store (from ../shared/corpus/real/wasi-keyvalue-0.2.0-draft2) into `out/kvgen`.
`GoStore` behaves as the wRPC Go keyvalue server did: a bucket's handle is its name,
and bucket calls before `open` answer err(no-such-store). `MintedStore` lets witgen
mint the handles (per caller, per replica). Run as a script it serves one of them:

    python tests/kv_support.py --nats URL --prefix P --bindings DIR [--go]
"""

from __future__ import annotations

import argparse
import importlib
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

KV = "wasi-keyvalue-0.2.0-draft2"
WORLDS = """\
package test:kv;

world kv-server {
  export wasi:keyvalue/store@0.2.0-draft2;
}

world kv-client {
  import wasi:keyvalue/store@0.2.0-draft2;
}
"""


def build(shared: Path, out: Path) -> Path:
    """Generate the bindings package `kvgen` under `out`; return `out` (for sys.path)."""
    from witgen.codegen import render_bindings
    from witgen.resolver import load

    wit = out / "wit"
    if not wit.exists():
        shutil.copytree(shared / "corpus" / "real" / KV, wit / "deps" / "keyvalue")
        (wit / "kv.wit").write_text(WORLDS)
    files = render_bindings(load(str(wit)), inputs=["kv.wit"])
    for rel, text in files.items():
        path = out / "kvgen" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return out


def modules() -> dict[str, ModuleType]:
    return {
        "store": importlib.import_module("kvgen.wasi_keyvalue_v0_2_0_draft2.store"),
        "server": importlib.import_module("kvgen.test_kv.kv_server"),
        "client": importlib.import_module("kvgen.test_kv.kv_client"),
    }


class _Bucket:
    def __init__(self, store: Any, name: str) -> None:
        self.store = store
        self.name = name

    def _data(self) -> Any:
        return self.store.buckets.get(self.name)

    def _missing(self) -> Any:
        from witgen.runtime.values import Err

        return Err(self.store.mods["store"].ErrorNoSuchStore())

    def get(self, key: str) -> Any:
        from witgen.runtime.values import Ok

        data = self._data()
        return self._missing() if data is None else Ok(data.get(key))

    def set_(self, key: str, value: bytes) -> Any:
        from witgen.runtime.values import Ok

        data = self._data()
        if data is None:
            return self._missing()
        data[key] = value
        return Ok(None)

    def delete(self, key: str) -> Any:
        from witgen.runtime.values import Ok

        data = self._data()
        if data is None:
            return self._missing()
        data.pop(key, None)
        return Ok(None)

    def exists(self, key: str) -> Any:
        from witgen.runtime.values import Ok

        data = self._data()
        return self._missing() if data is None else Ok(key in data)

    def list_keys(self, cursor: str | None) -> Any:
        from witgen.runtime.values import Err, Ok

        data = self._data()
        if data is None:
            return self._missing()
        store = self.store.mods["store"]
        if cursor is not None:
            return Err(store.ErrorOther("cursors are not supported"))
        return Ok(store.KeyResponse(sorted(data), None))

    def __exit__(self, *exc: object) -> None:
        self.store.released.append(self.name)


class GoStore:
    """As the Go server: handle = bucket name; calls before `open` -> err(no-such-store)."""

    def __init__(self, mods: dict[str, ModuleType]) -> None:
        self.mods = mods
        self.buckets: dict[str, dict[str, bytes]] = {}
        self.released: list[str] = []

    def open_(self, identifier: str) -> Any:
        from witgen.runtime.values import Ok

        self.buckets.setdefault(identifier, {})
        return Ok(_Bucket(self, identifier))

    def table(self) -> Any:
        table = self.mods["server"].dispatch_table(store=self)
        table.handles.choose(
            "bucket",
            handle_of=lambda bucket: bucket.name.encode(),
            resolve=lambda source, handle: _Bucket(self, handle.decode("utf-8", "replace")),
        )
        return table


class MintedStore(GoStore):
    """Handles minted by witgen: per caller, valid only in the replica that issued them."""

    def table(self) -> Any:
        return self.mods["server"].dispatch_table(store=self)


def main(argv: list[str] | None = None) -> int:
    from witgen.runtime.nats.main import add_arguments, serve_forever

    parser = argparse.ArgumentParser()
    add_arguments(parser, required=True)
    parser.add_argument("--bindings", required=True)
    parser.add_argument("--go", action="store_true")
    args = parser.parse_args(argv)
    sys.path.insert(0, args.bindings)
    mods = modules()
    store = GoStore(mods) if args.go else MintedStore(mods)
    return serve_forever([store.table()], args.nats, prefix=args.prefix)


if __name__ == "__main__":
    sys.exit(main())
