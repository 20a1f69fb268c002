"""Generated code stays correct for every name a WIT file can hold.

- Labelled exports and imports (`export primary: store; export backup: store;`) are
  instances of their own, addressed by their label.
- Method names can never shadow a member of the runtime class a generated class extends:
  the reserved set is computed from the runtime classes themselves, and a test walks them.
- Names drawn from the whole identifier grammar (keywords, builtins, dunder-like words,
  every runtime member) give bindings that import, pass mypy --strict and answer calls.
"""

from __future__ import annotations

import importlib
import inspect
import itertools
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wit_loading import load_wit

from witgen.codegen import render_bindings
from witgen.codegen.services import RESERVED, public_members
from witgen.runtime.bus import Client
from witgen.runtime.inprocess import InProcessBus
from witgen.runtime.resources import ResourceProxy

ROOT = Path(__file__).resolve().parent.parent
_count = itertools.count()


def generate(tmp: Path, wit: str) -> str:
    """Write the bindings of `wit` under `tmp` and return the package's import name."""
    name = f"gen_names_{next(_count)}"
    (tmp / f"{name}.wit").write_text(wit)
    files = render_bindings(load_wit(tmp / f"{name}.wit"), inputs=["names.wit"])
    for rel, text in files.items():
        target = tmp / name / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return name


def mypy_strict(cwd: Path, *targets: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, MYPYPATH=str(ROOT))
    cmd = [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", os.devnull, *targets]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)


@pytest.fixture()
def on_path(tmp_path: Path) -> Any:
    sys.path.insert(0, str(tmp_path))
    yield tmp_path
    sys.path.remove(str(tmp_path))


LABELLED = """\
package t:t;
interface store {
  get: func(key: string) -> option<string>;
}
world server {
  export primary: store;
  export backup: store;
}
world caller {
  import primary: store;
  import backup: store;
}
"""


def test_labelled_exports_are_instances_of_their_own(on_path: Path) -> None:
    pkg = generate(on_path, LABELLED)
    server = importlib.import_module(f"{pkg}.t_t.server")
    caller = importlib.import_module(f"{pkg}.t_t.caller")

    class Store:
        def __init__(self, name: str) -> None:
            self.name = name

        def get(self, key: str) -> str | None:
            return f"{self.name}:{key}"

    lattice = InProcessBus()
    with server.serve(lattice, primary=Store("p"), backup=Store("b")):
        bus = lattice.connect("c")
        assert caller.PrimaryClient(bus).get("k") == "p:k"
        assert caller.BackupClient(bus).get("k") == "b:k"
        assert caller.PrimaryClient.INSTANCE == "primary"
        # addressed by the label on the bus, as wRPC addresses plain names
        assert bus.invoke("backup", "get", b"\x01x") == b"\x01\x03b:x"
    proc = mypy_strict(on_path, pkg)
    assert proc.returncode == 0, proc.stdout[-3000:]


def test_reserved_names_are_every_public_member_of_the_runtime_bases() -> None:
    assert RESERVED["client"] == public_members(Client)
    assert RESERVED["proxy"] == public_members(ResourceProxy)
    walked = {n for n, _ in inspect.getmembers(ResourceProxy) if not n.startswith("_")}
    assert walked == RESERVED["proxy"] and {"drop", "handle", "dropped", "drop_async"} <= walked


def _runtime_member_wit_names() -> list[str]:
    """Every public member of the runtime base classes, as a WIT name."""
    names = set().union(*RESERVED.values()) | {n for n in dir(Client) if n.strip("_")}
    out = []
    for n in sorted(names):
        words = [w for w in n.split("_") if w]
        if words and all(w.isalnum() and w[0].isalpha() and (w.islower() or w.isupper()) for w in words):
            out.append("-".join(words).lower())
    return sorted(set(out))


def test_runtime_member_names_in_wit_stay_apart(on_path: Path) -> None:
    names = _runtime_member_wit_names()
    assert {"drop", "handle", "dropped", "drop-async", "bus", "instance", "call", "invoke-raw"} <= set(names)
    methods = "\n".join(f"    %{n}: func(x: u32) -> u32;" for n in names)
    funcs = "\n".join(f"  %{n}: func(x: u32) -> u32;" for n in names)
    wit = f"package h:members;\ninterface api {{\n  resource thing {{\n    constructor();\n{methods}\n  }}\n{funcs}\n}}\n"
    wit += "world server { export api; }\nworld caller { import api; }\n"
    pkg = generate(on_path, wit)
    server = importlib.import_module(f"{pkg}.h_members.server")
    caller = importlib.import_module(f"{pkg}.h_members.caller")

    class Thing:
        def __exit__(self, *exc: object) -> None:
            pass

        def __getattr__(self, name: str) -> Any:
            return lambda x: x + 1

    class Api:
        def thing_constructor(self) -> Thing:
            return Thing()

        def __getattr__(self, name: str) -> Any:
            return lambda x: x + 2

    lattice = InProcessBus()
    with server.serve(lattice, api=Api()):
        client = caller.ApiClient(lattice.connect("c"))
        for n in names:  # every function answers through its client method
            method = getattr(client, _client_method(caller.ApiClient, n))
            assert method(40) == 42
        with client.thing_constructor() as thing:
            for n in names:
                member = _client_method(caller.ThingProxy, n)
                assert getattr(thing, member)(40) == 41
            assert isinstance(thing.handle, bytes)  # the runtime's own members still work
        assert thing.dropped
    proc = mypy_strict(on_path, pkg)
    assert proc.returncode == 0, proc.stdout[-3000:]


def _client_method(cls: type, wit_name: str) -> str:
    """The generated method calling `wit_name` (found from its source, not from naming rules)."""
    for name, fn in vars(cls).items():
        source = _source(fn) if callable(fn) else ""
        if f'("{wit_name}"' in source or f'.{wit_name}"' in source:
            return name
    raise AssertionError(f"no method of {cls.__name__} calls {wit_name}")


def _source(fn: Any) -> str:
    try:
        return inspect.getsource(fn)
    except (TypeError, OSError):
        return ""


# --------------------------------------------------------------------------- names from the grammar

PYTHON_WORDS = ["class", "def", "import", "from", "return", "lambda", "async", "await", "none", "true",
                "false", "match", "case", "type", "global", "pass", "yield", "del", "is", "not", "in"]  # fmt: skip
BUILTINS = ["list", "dict", "int", "str", "print", "id", "object", "len", "bytes", "super", "self", "cls"]
WIT_WORDS = ["record", "func", "interface", "world", "use", "resource", "flags", "enum", "variant", "u8",
             "string", "option", "result", "own", "borrow", "static", "constructor", "stream", "future",
             "include", "with", "export", "package", "as", "tuple", "bool", "char", "ok", "err", "some"]  # fmt: skip
DUNDER_LIKE = ["init", "new", "slots", "module", "annotations", "dataclass", "fields", "post-init", "wit",
               "dataclasses", "enum", "typing", "types", "functions", "value", "encode", "decode", "buf"]  # fmt: skip
WORDS = sorted(set(PYTHON_WORDS + BUILTINS + WIT_WORDS + DUNDER_LIKE + _runtime_member_wit_names()))

word = st.one_of(
    st.sampled_from([w for w in WORDS if "-" not in w]),
    st.from_regex(r"[a-z][a-z0-9]{0,5}", fullmatch=True),
    st.from_regex(r"[A-Z][A-Z0-9]{0,3}", fullmatch=True),
)
wit_name = st.one_of(st.sampled_from(WORDS), st.lists(word, min_size=1, max_size=3).map("-".join))


def distinct(names: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for n in names:
        key = n.lower().replace("-", "")
        if key not in seen:
            seen.add(key)
            out.append(n)
    return out


names_strategy = (
    st.lists(wit_name, min_size=4, max_size=10)
    .map(distinct)
    .filter(lambda ns: len(ns) >= 4 and "echo-it" not in ns and "self" not in ns[:3]
            and f"{ns[2]}-constructor".lower() not in [n.lower() for n in ns])
)


def names_wit(names: list[str]) -> str:
    """An interface using `names` for a record, an enum, a resource, fields, cases,
    parameters, methods and functions (WIT's own scoping rules kept: types and functions
    share the interface's names, a method is not named like its resource, no `self`)."""
    rec, enm, res, *rest = names
    params = ", ".join(f"%{n}: u32" for n in names if n != "self")
    # `<res>-constructor` maps to the Python name of the resource's constructor
    funcs = "\n".join(f"  %{n}: func({params}) -> u32;" for n in [*rest, f"{res}-constructor"])
    methods = "\n".join(f"    %{n}: func({params}) -> u32;" for n in names if n != res)
    return (
        "package h:names;\ninterface api {\n"
        f"  record %{rec} {{ {', '.join(f'%{n}: u32' for n in names)} }}\n"
        f"  enum %{enm} {{ {', '.join(f'%{n}' for n in names)} }}\n"
        f"  resource %{res} {{\n    constructor();\n{methods}\n  }}\n"
        f"{funcs}\n"
        f"  %echo-it: func(r: %{rec}, e: %{enm}) -> tuple<%{rec}, %{enm}>;\n"
        "}\nworld server { export api; }\nworld caller { import api; }\n"
    )


def test_names_from_the_identifier_grammar(tmp_path: Path) -> None:
    packages: list[str] = []
    sys.path.insert(0, str(tmp_path))
    try:

        @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
        @given(names_strategy)
        def check(names: list[str]) -> None:
            pkg = generate(tmp_path, names_wit(names))
            packages.append(pkg)
            exercise(importlib.import_module(f"{pkg}.h_names.server"), importlib.import_module(f"{pkg}.h_names.caller"),
                     importlib.import_module(f"{pkg}.h_names.api"), names)  # fmt: skip

        check()
    finally:
        sys.path.remove(str(tmp_path))
    proc = mypy_strict(tmp_path, *packages)
    assert proc.returncode == 0, proc.stdout[-4000:]


def exercise(server: ModuleType, caller: ModuleType, api: ModuleType, names: list[str]) -> None:
    """Serve the interface with a provider that sums its arguments; call every function."""

    class Obj:
        def __exit__(self, *exc: object) -> None:
            pass

        def __getattr__(self, name: str) -> Any:
            return lambda *a: sum(a) + 1

    protocol = server.ApiProvider

    class Api:
        def __getattr__(self, name: str) -> Any:
            returns = str(inspect.signature(getattr(protocol, name)).return_annotation)
            if "Resource" in returns:  # the constructor returns the resource's object
                return lambda *a: Obj()
            if name == "echo_it":
                return lambda r, e: (r, e)
            return lambda *a: sum(a)

    lattice = InProcessBus()
    with server.serve(lattice, api=Api()):
        client = caller.ApiClient(lattice.connect("c"))
        args = list(range(1, len([n for n in names if n != "self"]) + 1))
        calls = [fn for n, fn in vars(type(client)).items() if callable(fn) and not n.startswith("_")]
        plain = [fn for fn in calls if len(inspect.signature(fn).parameters) == len(args) + 1]
        assert len(plain) == len(names) - 2
        for fn in plain:
            assert fn(client, *args) == sum(args)
        record_cls = next(v for v in vars(api).values() if isinstance(v, type) and hasattr(v, "__dataclass_fields__"))
        enum_cls = next(v for v in vars(api).values() if isinstance(v, type) and issubclass(v, __import__("enum").Enum))
        rec = record_cls(*range(len(names)))
        member = list(enum_cls)[-1]
        assert client.echo_it(rec, member) == (rec, member)
        ctors = [fn for fn in calls if "Proxy" in str(inspect.signature(fn).return_annotation)]
        assert len(ctors) == 1
        ctor = ctors[0]
        with ctor(client) as obj:
            methods = [fn for n, fn in vars(type(obj)).items() if callable(fn) and not n.startswith("_")]
            assert len(methods) == len(names) - 1
            for fn in methods:
                assert fn(obj, *args) == sum(args) + 1
