"""The bridge's guest codecs, run on componentize-py's generated classes, put the same bytes
on the wire as witgen's bindings of the same WIT (records, variants, enums, flags, options,
tuples, bytes, nested results), and read back what they wrote.

The guest project is the one `witgen bridge --emit-source` writes, with componentize-py's
bindings generated into it (`componentize-py bindings`); its modules run in CPython in a
subprocess, importing the guest's own copy of the witgen runtime.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from witgen.bridge import Settings
from witgen.bridge.build import componentize_py
from witgen.bridge.guest import emit, write
from witgen.bridge.plan import plan
from witgen.codegen import render_bindings
from witgen.resolver import load
from witgen.runtime import codec
from witgen.runtime.values import Err, Ok

WIT = """\
package test:shapes;

interface shapes {
  enum level { low, high, max }
  flags perms { read, write, exec }
  record point { x: s32, y: f64 }
  variant failure { timeout(u32), other(string), gone }
  record bag {
    level: level,
    perms: perms,
    at: option<point>,
    pair: tuple<u8, string>,
    blob: list<u8>,
    points: list<point>,
    nested: option<option<u16>>,
    inner: result<char, failure>,
  }
  check: func(b: bag, f: failure) -> result<bag, failure>;
}
"""

GUEST = """
import json, sys
sys.path.insert(0, sys.argv[1])
import bridge_types as T
from componentize_py_types import Err, Ok, Some
from witgen.runtime import codec
from wit_world.exports import x0 as m

bag = m.Bag(
    level=m.Level.MAX,
    perms=m.Perms.READ | m.Perms.EXEC,
    at=m.Point(-5, 2.5),
    pair=(7, "seven"),
    blob=b"\\x00\\xff",
    points=[m.Point(1, 0.5), m.Point(-1, -0.25)],
    nested=Some(None),
    inner=Err(m.Failure_Other("inner")),
)
fc = codec.function(T.FUNCTIONS["test:shapes/shapes"]["check"])
params = fc.encode_params(bag, m.Failure_Timeout(300))
ok = fc.encode_result(Ok(bag))
err = fc.encode_result(Err(m.Failure_Gone()))
assert fc.decode_params(params) == (bag, m.Failure_Timeout(300))
assert fc.decode_result(ok) == Ok(bag)
assert fc.decode_result(err).value == m.Failure_Gone()
print(json.dumps({"params": params.hex(), "ok": ok.hex(), "err": err.hex()}))
"""


@pytest.fixture(scope="module")
def guest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("guest")
    (root / "wit").mkdir()
    (root / "wit" / "shapes.wit").write_text(WIT)
    project = root / "project"
    write(emit(plan(load(root / "wit"), ["shapes"], []), root / "wit", Settings("p")), project)
    args = json.loads((project / "componentize.json").read_text())["args"]
    subprocess.run([componentize_py(), *args, "bindings", "."], cwd=project, check=True, capture_output=True)
    return project


def test_guest_codecs_match_the_bindings(guest: Path, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", GUEST, str(guest)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    wire = {k: bytes.fromhex(v) for k, v in json.loads(done.stdout).items()}

    files = render_bindings(load(guest / "wit" / "deps" / "root"), inputs=("shapes.wit",))
    out = tmp_path / "host_shapes"
    for rel, text in files.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(text)
    sys.path.insert(0, str(tmp_path))
    try:
        m = importlib.import_module("host_shapes.test_shapes.shapes")
    finally:
        sys.path.remove(str(tmp_path))
    from witgen.runtime.values import Some

    bag = m.Bag(
        level=m.Level.MAX,
        perms=m.Perms.READ | m.Perms.EXEC,
        at=m.Point(-5, 2.5),
        pair=(7, "seven"),
        blob=b"\x00\xff",
        points=[m.Point(1, 0.5), m.Point(-1, -0.25)],
        nested=Some(None),
        inner=Err(m.FailureOther("inner")),
    )
    fc = codec.function(m.FUNCTIONS["check"])
    assert fc.encode_params(bag, m.FailureTimeout(300)) == wire["params"]
    assert fc.encode_result(Ok(bag)) == wire["ok"]
    assert fc.encode_result(Err(m.FailureGone())) == wire["err"]


RESOURCE_WIT = """\
package test:res;

interface store {
  variant error { no-such-store, other(string) }
  resource bucket {
    constructor(name: string);
    get: func(key: string) -> result<option<list<u8>>, error>;
  }
  record shelf { name: string, bucket: bucket }
  open: func(identifier: string) -> result<bucket, error>;
  shelves: func() -> list<shelf>;
}
"""

RESOURCE_GUEST = """
import json, sys
sys.path.insert(0, sys.argv[1])
import bridge_types as T
import x0
from witgen.runtime import codec

F = T.FUNCTIONS["test:res/store"]
wire = {k: bytes.fromhex(v) for k, v in json.loads(sys.argv[2]).items()}
opened = codec.function(F["open"]).decode_result(wire["open"])
bucket = opened.value
# a handle in a result is the guest resource, holding the provider's bytes, known to LIVE
assert type(bucket) is x0.Bucket and bucket.handle == bytes.fromhex("00ff10"), bucket
assert T.LIVE[id(bucket)] is bucket
[shelf] = codec.function(F["shelves"]).decode_result(wire["shelves"])
assert type(shelf.bucket) is x0.Bucket and shelf.bucket.handle == b"b2"
# a constructor's instance takes over the handle the provider returned
made = codec.function(F["bucket"]).decode_result(wire["made"])
target = x0.Bucket.__new__(x0.Bucket)
T.take_over(target, made)
assert target.handle == b"m" and id(made) not in T.LIVE and T.LIVE[id(target)] is target
print(json.dumps({
    "get": codec.function(F["bucket.get"]).encode_params(bucket, "k").hex(),
    "shelves": codec.function(F["shelves"]).encode_result([shelf]).hex(),
    "drop": T.HANDLE_CODEC.encode_params(bucket.handle).hex(),
}))
"""


def test_guest_resources_carry_the_providers_handles(tmp_path: Path) -> None:
    (tmp_path / "wit").mkdir()
    (tmp_path / "wit" / "res.wit").write_text(RESOURCE_WIT)
    project = tmp_path / "project"
    write(emit(plan(load(tmp_path / "wit"), ["store"], []), tmp_path / "wit", Settings("p")), project)
    args = json.loads((project / "componentize.json").read_text())["args"]
    subprocess.run([componentize_py(), *args, "bindings", "."], cwd=project, check=True, capture_output=True)

    files = render_bindings(load(tmp_path / "wit"), inputs=("res.wit",))
    for rel, text in files.items():
        (tmp_path / "host_res" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "host_res" / rel).write_text(text)
    sys.path.insert(0, str(tmp_path))
    try:
        m = importlib.import_module("host_res.test_res.store")
    finally:
        sys.path.remove(str(tmp_path))
    from witgen.runtime.resources import encode_handle

    # what a witgen provider puts on the wire
    sent = {
        "open": codec.function(m.FUNCTIONS["open"]).encode_result(Ok(m.Bucket(b"\x00\xff\x10"))),
        "shelves": codec.function(m.FUNCTIONS["shelves"]).encode_result([m.Shelf("s", m.Bucket(b"b2"))]),
        "made": codec.function(m.FUNCTIONS["bucket"]).encode_result(m.Bucket(b"m")),
    }
    done = subprocess.run([sys.executable, "-c", RESOURCE_GUEST, str(project), json.dumps({k: v.hex() for k, v in sent.items()})],
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    wire = {k: bytes.fromhex(v) for k, v in json.loads(done.stdout).items()}
    # the guest sends what a witgen client sends: the handle's bytes first, then the key
    assert wire["get"] == codec.function(m.FUNCTIONS["bucket.get"]).encode_params(m.Bucket(b"\x00\xff\x10"), "k")
    assert wire["shelves"] == sent["shelves"]
    assert wire["drop"] == encode_handle(b"\x00\xff\x10")
