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
