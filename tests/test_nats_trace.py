"""Agreement with the recorded wRPC-over-NATS traces (wrpc-nats-trace.md), both directions.

The Go peers are played with the raw NATS protocol over a socket (tests/raw_nats.py),
not nats-py: the Go client's messages against a witgen server built from the generated
wasi:keyvalue bindings, and a witgen client against a raw server answering as the Go
server did. Payloads are compared byte for byte with the trace, subjects by shape.
"""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import kv_support  # noqa: E402
from nats_server import NatsServer, nats, nats_server_path  # noqa: E402,F401
from raw_nats import Frame, RawNats  # noqa: E402

from witgen.runtime.nats import NatsBus  # noqa: E402
from witgen.runtime.values import Err, Ok  # noqa: E402

INSTANCE = "wasi:keyvalue/store@0.2.0-draft2"
SUBJECT = f"go.wrpc.0.0.1.{INSTANCE}."
INBOX = re.compile(r"^_INBOX\.[A-Za-z0-9]+\.[A-Za-z0-9]+$")

EXAMPLE = bytes.fromhex("07") + b"example"
# (function, params, results) straight from the trace's keyvalue table.
TRACE = [
    ("open", EXAMPLE, bytes.fromhex("00") + EXAMPLE),
    ("bucket.set", EXAMPLE + b"\x03foo\x03bar", bytes.fromhex("00")),
    ("bucket.exists", EXAMPLE + b"\x03foo", bytes.fromhex("0001")),
    ("bucket.get", EXAMPLE + b"\x03foo", bytes.fromhex("0001") + b"\x03bar"),
    ("bucket.get", EXAMPLE + b"\x07missing", bytes.fromhex("0000")),
    ("bucket.list-keys", EXAMPLE + b"\x00", bytes.fromhex("0001") + b"\x03foo\x00"),
    ("bucket.list-keys", EXAMPLE + b"\x01\x01x", bytes.fromhex("010219") + b"cursors are not supported"),
]
BEFORE_OPEN = bytes.fromhex("0100")


@pytest.fixture(scope="module")
def kv(tmp_path_factory: pytest.TempPathFactory, shared: Path) -> Iterator[dict[str, Any]]:
    root = kv_support.build(shared, tmp_path_factory.mktemp("kv"))
    sys.path.insert(0, str(root))
    try:
        yield kv_support.modules()
    finally:
        sys.path.remove(str(root))


# --------------------------------------------------------------------------- the Go client's messages


def go_call(raw: RawNats, n: int, function: str, params: bytes, *, continued: bool = False) -> list[Frame]:
    """One exchange as the Go client made it; the frames received, checked by shape."""
    rc = f"_INBOX.goclient{n}"
    raw.sub(rc + ".results", 1)
    raw.sub(rc, 2)
    raw.pub(SUBJECT + function, b"" if continued else params, reply=rc)
    handshake = raw.read()
    assert (handshake.subject, handshake.sid, handshake.payload, handshake.headers) == (rc, "2", b"", b"")
    rs = handshake.reply
    assert INBOX.match(rs) and not rs.startswith(rc), rs
    if continued:
        raw.pub(rs + ".params", params)
        raw.pub(rs + ".params", b"")  # end of the parameter stream
    frames = []
    while True:
        frame = raw.read()
        assert (frame.subject, frame.sid, frame.reply) == (rc + ".results", "1", "")
        frames.append(frame)
        if not frame.payload:
            break
    raw.unsub(2)
    if not continued:
        raw.pub(rs + ".params", b"")  # the client closes its parameter stream
    raw.unsub(1)
    return frames


@pytest.fixture
def go_server(nats: NatsServer, kv: dict[str, Any]) -> Iterator[kv_support.GoStore]:
    store = kv_support.GoStore(kv)
    bus = NatsBus.connect_sync(nats.url, prefix="go")
    bus.serve(store.table())
    try:
        yield store
    finally:
        bus.close()


def test_go_client_against_witgen_server(nats: NatsServer, go_server: kv_support.GoStore) -> None:
    raw = RawNats(nats.url)
    try:
        # any bucket call before `open`: err(no-such-store)
        frames = go_call(raw, 0, "bucket.get", EXAMPLE + b"\x03foo")
        assert [f.payload for f in frames] == [BEFORE_OPEN, b""]
        for n, (function, params, results) in enumerate(TRACE, 1):
            frames = go_call(raw, n, function, params)
            assert [f.payload for f in frames] == [results, b""], function
            assert all(f.headers == b"" for f in frames)
        assert go_server.buckets == {"example": {"foo": b"bar"}}
    finally:
        raw.close()


def test_go_client_continuation(nats: NatsServer, go_server: kv_support.GoStore) -> None:
    """An empty invocation payload, then the parameters on R_s.params and an empty message."""
    raw = RawNats(nats.url)
    try:
        for n, (function, params, results) in enumerate(TRACE, 1):
            frames = go_call(raw, n, function, params, continued=True)
            assert [f.payload for f in frames] == [results, b""], function
    finally:
        raw.close()


# --------------------------------------------------------------------------- a raw server answering as Go did


class GoServer(threading.Thread):
    """Answers TRACE exchanges with the Go server's messages; records what it saw."""

    def __init__(self, url: str, answers: dict[tuple[str, bytes], bytes]) -> None:
        super().__init__(daemon=True)
        self.raw = RawNats(url)
        self.raw.sub("go.wrpc.0.0.1.>", 1)
        self.raw.ping()
        self.answers = answers
        self.seen: list[tuple[str, str, bytes]] = []  # (function, reply, params)
        self.closed: list[str] = []  # R_s of every params close received
        self.errors: list[str] = []

    def run(self) -> None:
        sid = 10
        try:
            while True:
                frame = self.raw.read(timeout=60)
                if frame.subject.endswith(".params"):
                    if frame.payload == b"":
                        self.closed.append(frame.subject[: -len(".params")])
                    continue
                assert frame.subject.startswith(SUBJECT), frame.subject
                function = frame.subject[len(SUBJECT) :]
                sid += 1
                rs = f"_INBOX.goserver.{sid}"
                self.raw.sub(rs + ".params", sid)
                self.raw.pub(frame.reply, b"", reply=rs)  # handshake
                params = frame.payload
                expected = [p for f, p in self.answers if f == function and p.startswith(params)]
                if params not in expected:  # cut: the rest follows on R_s.params
                    while True:
                        more = self.raw.read()
                        assert more.subject == rs + ".params", more.subject
                        if not more.payload:
                            self.closed.append(rs)
                            break
                        params += more.payload
                self.seen.append((function, frame.reply, params))
                self.raw.pub(frame.reply + ".results", self.answers[(function, params)])
                self.raw.pub(frame.reply + ".results", b"")
        except (ConnectionError, OSError):
            pass
        except Exception as exc:  # reported by the test
            self.errors.append(repr(exc))


def test_witgen_client_against_go_server(kv: dict[str, Any]) -> None:
    # A server with a small max payload, so that the 3000-byte value is continued.
    if nats_server_path() is None:
        pytest.skip("nats-server is not installed")
    big = bytes(range(256)) * 12
    set_big = EXAMPLE + b"\x03big" + b"\xe0\x17" + big[:3040]
    answers = {(f, p): r for f, p, r in TRACE}
    answers[("bucket.set", set_big)] = b"\x00"
    config = Path(kv["store"].__file__).parents[2] / "small.conf"
    config.write_text("max_payload: 1024\n")
    with NatsServer("-c", str(config)) as server:
        go = GoServer(server.url, answers)
        go.start()
        bus = NatsBus.connect_sync(server.url, prefix="go")
        try:
            store = kv["client"].StoreClient(bus)
            opened = store.open_("example")
            assert isinstance(opened, Ok)
            bucket = opened.value
            assert bucket.handle == b"example"  # the Go server's handle: the bucket's name
            assert bucket.set_("foo", b"bar") == Ok(None)
            assert bucket.exists("foo") == Ok(True)
            assert bucket.get("foo") == Ok(b"bar")
            assert bucket.get("missing") == Ok(None)
            keys = bucket.list_keys(None)
            assert isinstance(keys, Ok) and keys.value.keys == ["foo"] and keys.value.cursor is None
            err = bucket.list_keys("x")
            assert isinstance(err, Err) and err.value == kv["store"].ErrorOther("cursors are not supported")
            assert bucket.set_("big", big[:3040]) == Ok(None)
        finally:
            bus.close()
            go.raw.close()
            go.join(5)
    assert go.errors == []
    assert [(f, p) for f, _, p in go.seen] == [(f, p) for f, p, _ in TRACE] + [("bucket.set", set_big)]
    replies = [r for _, r, _ in go.seen]
    assert all(INBOX.match(r) for r in replies) and len(set(replies)) == len(replies)
    # every exchange's parameter stream was closed with an empty message on R_s.params
    assert len(go.closed) == len(go.seen)
