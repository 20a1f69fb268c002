"""The test worlds of the Wasm host tests: WIT, type descriptions and WebAssembly text.

The descriptions below are written the way generated bindings declare their types
(`wit.record` on a dataclass, `wit.enum` on an `enum.Enum`, `wit.functions(...)`).

World `witgen:test/echoer` exports `echo` (one `echo-<kind>: func(v: T) -> T` per type
kind) and imports `host-echo` with the same functions: its core module forwards every
export call to the matching import, so a value goes host -> guest -> host -> guest -> host
and crosses both converters both ways. It also exports `trap`, `spin` (loops forever)
and `count-up` (uses the host resource `counters.counter`).

`stateful_wat(...)` is an actor for `wamli:stateful/actor` in WebAssembly text: its
answers are static data, laid out by the canonical ABI by hand.
"""

from __future__ import annotations

import dataclasses
import enum
import struct
import sys
from pathlib import Path
from typing import TypeAlias

from witgen.runtime import wit
from witgen.runtime.values import Handle

# --------------------------------------------------------------------------- witgen:test types


@wit.record("point", {"x": wit.S32, "y": wit.S32})
@dataclasses.dataclass(slots=True)
class Point:
    x: int
    y: int


@wit.enum("color", ["red", "green", "blue"])
class Color(enum.Enum):
    RED = 0
    GREEN = 1
    BLUE = 2


@wit.flags("perms", ["read", "write", "exec"])
class Perms(enum.Flag):
    READ = 1
    WRITE = 2
    EXEC = 4


@dataclasses.dataclass(slots=True)
class ShapeCircle:
    value: float


@dataclasses.dataclass(slots=True)
class ShapeRect:
    value: Point


@dataclasses.dataclass(slots=True)
class ShapeEmpty:
    pass


Shape: TypeAlias = ShapeCircle | ShapeRect | ShapeEmpty
wit.variant("shape", Shape, {"circle": (ShapeCircle, wit.F64), "rect": (ShapeRect, Point), "empty": (ShapeEmpty, None)})


@dataclasses.dataclass(slots=True)
class TwinLeft:
    value: int


@dataclasses.dataclass(slots=True)
class TwinRight:
    value: int


@dataclasses.dataclass(slots=True)
class TwinNeither:
    pass


Twin: TypeAlias = TwinLeft | TwinRight | TwinNeither
wit.variant("twin", Twin, {"left": (TwinLeft, wit.U32), "right": (TwinRight, wit.U32), "neither": (TwinNeither, None)})


@wit.record(
    "person",
    {"name": wit.STRING, "age": wit.U8, "tags": wit.List(wit.STRING), "home": wit.Option(Point),
     "color": Color, "perms": Perms, "shape": Shape},
)  # fmt: skip
@dataclasses.dataclass(slots=True)
class Person:
    name: str
    age: int
    tags: list[str]
    home: Point | None
    color: Color
    perms: Perms
    shape: Shape


@wit.resource("counter")
class Counter(Handle):
    __slots__ = ()


TYPES_WIT = """
  record point { x: s32, y: s32 }
  enum color { red, green, blue }
  flags perms { read, write, exec }
  variant shape { circle(f64), rect(point), empty }
  variant twin { left(u32), right(u32), neither }
  record person { name: string, age: u8, tags: list<string>, home: option<point>,
                  color: color, perms: perms, shape: shape }
"""

# kind -> (WIT text, description): one echo function per entry.
KINDS: dict[str, tuple[str, wit.Type]] = {
    "bool": ("bool", wit.BOOL),
    "u8": ("u8", wit.U8),
    "u16": ("u16", wit.U16),
    "u32": ("u32", wit.U32),
    "u64": ("u64", wit.U64),
    "s8": ("s8", wit.S8),
    "s16": ("s16", wit.S16),
    "s32": ("s32", wit.S32),
    "s64": ("s64", wit.S64),
    "f32": ("f32", wit.F32),
    "f64": ("f64", wit.F64),
    "char": ("char", wit.CHAR),
    "string": ("string", wit.STRING),
    "bytes": ("list<u8>", wit.List(wit.U8)),
    "list-u32": ("list<u32>", wit.List(wit.U32)),
    "list-string": ("list<string>", wit.List(wit.STRING)),
    "list-point": ("list<point>", wit.List(Point)),
    "tuple": ("tuple<u8, string, f64>", wit.Tuple(wit.U8, wit.STRING, wit.F64)),
    "option-u32": ("option<u32>", wit.Option(wit.U32)),
    "option-option": ("option<option<string>>", wit.Option(wit.Option(wit.STRING))),
    "option-point": ("option<point>", wit.Option(Point)),
    "result": ("result<u32, string>", wit.Result(wit.U32, wit.STRING)),
    "result-same": ("result<u32, u32>", wit.Result(wit.U32, wit.U32)),
    "result-err": ("result<_, string>", wit.Result(None, wit.STRING)),
    "result-ok": ("result<string>", wit.Result(wit.STRING)),
    "result-empty": ("result", wit.Result()),
    "result-option": ("result<option<s64>, point>", wit.Result(wit.Option(wit.S64), Point)),
    "record": ("point", wit.of(Point)),
    "nested-record": ("person", wit.of(Person)),
    "enum": ("color", wit.of(Color)),
    "flags": ("perms", wit.of(Perms)),
    "variant": ("shape", wit.of(Shape)),
    "variant-tagged": ("twin", wit.of(Twin)),
    "list-option": ("list<option<s64>>", wit.List(wit.Option(wit.S64))),
    "list-result": ("list<result<color, string>>", wit.List(wit.Result(Color, wit.STRING))),
}


def echo_functions() -> dict[str, wit.Func]:
    return wit.functions(*(wit.Func(f"echo-{k}", {"v": t}, t) for k, (_, t) in KINDS.items()))


HOST_ECHO = "witgen:test/host-echo"
ECHO = "witgen:test/echo"
COUNTERS = "witgen:test/counters"

COUNTER_FUNCTIONS = wit.functions(
    wit.Func("counter", {"start": wit.U32}, wit.Own(Counter), kind="constructor"),
    wit.Func("counter.incr", {"self": wit.Borrow(Counter)}, wit.U32, kind="method"),
    wit.Func("counter.get", {"self": wit.Borrow(Counter)}, wit.U32, kind="method"),
)
WORLD_FUNCTIONS = wit.functions(
    wit.Func("trap"),
    wit.Func("spin"),
    wit.Func("count-up", {"start": wit.U32, "times": wit.U32}, wit.U32),
)


def test_wit() -> str:
    """The `witgen:test` package."""
    echo = "\n".join(f"  echo-{k}: func(v: {text}) -> {text};" for k, (text, _) in KINDS.items())
    uses = "  use types.{point, color, perms, shape, twin, person};"
    return f"""package witgen:test;

interface types {{{TYPES_WIT}}}

interface counters {{
  resource counter {{
    constructor(start: u32);
    incr: func() -> u32;
    get: func() -> u32;
  }}
}}

interface host-echo {{
{uses}
{echo}
}}

interface echo {{
{uses}
{echo}
}}

world echoer {{
  import host-echo;
  import counters;
  export echo;
  export trap: func();
  export spin: func();
  export count-up: func(start: u32, times: u32) -> u32;
}}
"""


# --------------------------------------------------------------------------- flattening (canonical ABI)


def flatten(t: wit.Type) -> list[str]:
    """The core value types a value of `t` flattens to."""
    match t:
        case wit.Prim(name="u64" | "s64"):
            return ["i64"]
        case wit.Prim(name="f32"):
            return ["f32"]
        case wit.Prim(name="f64"):
            return ["f64"]
        case wit.Prim(name="string") | wit.List():
            return ["i32", "i32"]
        case wit.Prim() | wit.Enum() | wit.Own():
            return ["i32"]
        case wit.Record(fields=fields):
            return [x for f in fields for x in flatten(f.type)]
        case wit.Tuple(items=items):
            return [x for i in items for x in flatten(i)]
        case wit.Flags(names=names):
            return ["i32"] * ((len(names) + 31) // 32)
    payloads: list[wit.Type | None]
    match t:
        case wit.Option(inner=i):
            payloads = [None, i]
        case wit.Result(ok=ok, err=err):
            payloads = [ok, err]
        case wit.Variant(cases=cases):
            payloads = [c.type for c in cases]
        case _:
            raise AssertionError(t)
    joined: list[str] = []
    for p in payloads:
        for i, x in enumerate([] if p is None else flatten(p)):
            if i == len(joined):
                joined.append(x)
            elif joined[i] != x:
                joined[i] = "i32" if {joined[i], x} == {"i32", "f32"} else "i64"
    return ["i32", *joined]


_REALLOC = """
  (global $heap (mut i32) (i32.const 65536))
  (func $realloc (export "cabi_realloc") (param $old i32) (param $old_size i32) (param $align i32) (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (i32.and (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
                           (i32.sub (i32.const 0) (local.get $align))))
    (global.set $heap (i32.add (local.get $p) (local.get $size)))
    (block $fits
      (br_if $fits (i32.le_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536))))
      (br_if $fits (i32.ne (memory.grow (i32.add (i32.shr_u (i32.sub (global.get $heap) (i32.mul (memory.size) (i32.const 65536))) (i32.const 16)) (i32.const 1))) (i32.const -1)))
      unreachable)
    (if (local.get $old_size) (then (memory.copy (local.get $p) (local.get $old) (local.get $old_size))))
    (local.get $p))
"""


def echoer_wat() -> str:
    """The core module of world `echoer` (see the module docstring)."""
    imports, funcs = [], []
    for i, (kind, (_, t)) in enumerate(KINDS.items()):
        flat = flatten(t)
        params = flat if len(flat) <= 16 else ["i32"]
        indirect_result = len(flat) > 1
        imp_params = params + (["i32"] if indirect_result else [])
        imp_result = "" if indirect_result else f"(result {flat[0]})"
        imports.append(
            f'  (import "{HOST_ECHO}" "echo-{kind}" (func $i{i} (param {" ".join(imp_params)}) {imp_result}))'
        )
        gets = " ".join(f"(local.get {n})" for n in range(len(params)))
        ret = "(i32.const 256)" if indirect_result else ""
        result = "(result i32)" if indirect_result else f"(result {flat[0]})"
        funcs.append(
            f'  (func (export "{ECHO}#echo-{kind}") (param {" ".join(params)}) {result}\n'
            f"    (call $i{i} {gets} {ret}) {ret})"
        )
    return "\n".join(
        [
            "(module",
            *imports,
            f'  (import "{COUNTERS}" "[constructor]counter" (func $ctor (param i32) (result i32)))',
            f'  (import "{COUNTERS}" "[method]counter.incr" (func $incr (param i32) (result i32)))',
            f'  (import "{COUNTERS}" "[resource-drop]counter" (func $drop (param i32)))',
            '  (memory (export "memory") 2)',
            _REALLOC,
            *funcs,
            '  (func (export "trap") unreachable)',
            '  (func (export "spin") (loop $l (br $l)))',
            """  (func (export "count-up") (param $start i32) (param $times i32) (result i32) (local $h i32) (local $v i32)
    (local.set $h (call $ctor (local.get $start)))
    (local.set $v (local.get $start))
    (block $done (loop $l
      (br_if $done (i32.eqz (local.get $times)))
      (local.set $v (call $incr (local.get $h)))
      (local.set $times (i32.sub (local.get $times) (i32.const 1)))
      (br $l)))
    (call $drop (local.get $h))
    (local.get $v))""",
            ")",
        ]
    )


# --------------------------------------------------------------------------- the stateful actor in text


class _Data:
    """Static data of a core module: bytes placed from `base`, aligned as asked."""

    def __init__(self, base: int = 1024) -> None:
        self.base = base
        self.buf = bytearray()

    def put(self, data: bytes, align: int = 4) -> int:
        while len(self.buf) % align:
            self.buf.append(0)
        at = self.base + len(self.buf)
        self.buf += data
        return at

    def string(self, s: str) -> bytes:
        raw = s.encode()
        return struct.pack("<II", self.put(raw, 1), len(raw))

    def wat(self) -> str:
        text = "".join(f"\\{b:02x}" for b in self.buf)
        return f'  (data (i32.const {self.base}) "{text}")'


def stateful_wat(state: dict[str, object] | None) -> str:
    """A `wamli:stateful/actor` core module answering from `state` (None: every call errs).

    `state` holds `data` (bytes), `labels` (strings), `model-name`, `graph-encoding`,
    `execution-target` and `tensor-type` (case indices), `dims-in`, `dims-out`.
    """
    d = _Data()
    if state is None:
        error = struct.pack("<I", 404) + d.string("Not Found") + d.string("this actor holds no state")
        err = d.put(b"\x01\0\0\0" + error)
        data_area = labels_area = model_area = err
    else:
        data = bytes(state["data"])  # type: ignore[call-overload]
        data_area = d.put(b"\0\0\0\0" + struct.pack("<II", d.put(data, 1), len(data)))
        labels = [d.string(s) for s in state["labels"]]  # type: ignore[attr-defined]
        labels_area = d.put(b"\0\0\0\0" + struct.pack("<II", d.put(b"".join(labels)), len(labels)))
        dims_in, dims_out = list(state["dims-in"]), list(state["dims-out"])  # type: ignore[call-overload]
        meta = (
            d.string(str(state["model-name"]))
            + d.string(str(state["graph-encoding"]))
            + bytes([int(state["execution-target"]), int(state["tensor-type"]), 0, 0])  # type: ignore[call-overload]
            + struct.pack("<II", d.put(struct.pack(f"<{len(dims_in)}I", *dims_in)), len(dims_in))
            + struct.pack("<II", d.put(struct.pack(f"<{len(dims_out)}I", *dims_out)), len(dims_out))
        )
        model_area = d.put(b"\0\0\0\0" + meta)
    return f"""(module
  (memory (export "memory") 1)
{_REALLOC}
{d.wat()}
  (func (export "wamli:stateful/state#get-data") (result i32) (i32.const {data_area}))
  (func (export "wamli:stateful/state#get-metadata") (result i32) (i32.const {labels_area}))
  (func (export "wamli:stateful/model#get-metadata") (result i32) (i32.const {model_area}))
)"""


# --------------------------------------------------------------------------- wamli:stateful (the samples' bindings)

_root = str(Path(__file__).resolve().parent.parent)
if _root not in sys.path:
    sys.path.insert(0, _root)

from samples.stateful.bindings.wamli_stateful import model as _model  # noqa: E402
from samples.stateful.bindings.wamli_stateful import state as _state  # noqa: E402

Error = _state.Error
ExecutionTarget = _model.ExecutionTarget
TensorType = _model.TensorType
Metadata = _model.Metadata
STATE = "wamli:stateful/state"
MODEL = "wamli:stateful/model"
STATE_FUNCTIONS = _state.FUNCTIONS
MODEL_FUNCTIONS = _model.FUNCTIONS

SAMPLE_STATE: dict[str, object] = {
    "data": bytes(range(16)),
    "labels": ["mobilenet", "v2", "imagenet"],
    "model-name": "mobilenet-v2",
    "graph-encoding": "onnx",
    "execution-target": 0,
    "tensor-type": 9,
    "dims-in": [1, 3, 224, 224],
    "dims-out": [1, 1000],
}


# --------------------------------------------------------------------------- a WASI user

TALKER_WIT = """package witgen:wasi-test;

world talker {
  import wasi:cli/environment@0.2.8;
  import wasi:cli/stdout@0.2.8;
  export say: func(text: string);
  export env-count: func() -> u32;
}
"""
TALKER_FUNCTIONS = wit.functions(wit.Func("say", {"text": wit.STRING}), wit.Func("env-count", {}, wit.U32))


def talker_wat() -> str:
    """`say` writes its text to WASI stdout; `env-count` counts the WASI environment."""
    return f"""(module
  (import "wasi:cli/environment@0.2.8" "get-environment" (func $env (param i32)))
  (import "wasi:cli/stdout@0.2.8" "get-stdout" (func $stdout (result i32)))
  (import "wasi:io/streams@0.2.8" "[method]output-stream.blocking-write-and-flush" (func $write (param i32 i32 i32 i32)))
  (import "wasi:io/streams@0.2.8" "[resource-drop]output-stream" (func $drop (param i32)))
  (memory (export "memory") 2)
{_REALLOC}
  (func (export "say") (param i32 i32) (local $s i32)
    (local.set $s (call $stdout))
    (call $write (local.get $s) (local.get 0) (local.get 1) (i32.const 256))
    (call $drop (local.get $s)))
  (func (export "env-count") (result i32)
    (call $env (i32.const 256))
    (i32.load (i32.const 260)))
)"""
