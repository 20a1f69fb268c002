"""`witgen generate --export/--import`: the provider and client sides of interfaces no world
exports, as a world made of them would have them.

The fixture package `example:kv` has a `store` interface (a resource, a variant error)
and an `atomics` interface that uses it, and only a world importing them. Its bindings
import, pass `mypy --strict`, and serve: in-process, and over a real nats-server. The
upstream packages in ../shared/corpus/real are generated and served the same way.
"""

from __future__ import annotations

import importlib
import inspect
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from nats_server import NatsServer, nats  # noqa: E402,F401

from witgen.cli import main  # noqa: E402
from witgen.codegen import CodegenError, render_bindings  # noqa: E402
from witgen.errors import WitError  # noqa: E402
from witgen.model import InterfaceItem  # noqa: E402
from witgen.resolver import load  # noqa: E402
from witgen.runtime import codec  # noqa: E402
from witgen.runtime.errors import ProviderFailure  # noqa: E402
from witgen.runtime.inprocess import InProcessBus  # noqa: E402
from witgen.runtime.values import Err, Ok  # noqa: E402

KV_WIT = """\
package example:kv@1.0.0;

/// A key-value store.
interface store {
  variant error {
    no-such-store,
    access-denied,
    other(string),
  }

  /// Open a bucket by name.
  open: func(identifier: string) -> result<bucket, error>;

  resource bucket {
    get: func(key: string) -> result<option<list<u8>>, error>;
    set: func(key: string, value: list<u8>) -> result<_, error>;
    delete: func(key: string) -> result<_, error>;
  }
}

interface atomics {
  use store.{bucket, error};

  increment: func(bucket: borrow<bucket>, key: string, delta: s64) -> result<s64, error>;
}

/// Components import the store; no world exports it.
world imports {
  import store;
  import atomics;
}
"""

OTHER_WIT = """\
package example:other;

interface store {
  ping: func() -> string;
}
"""

KV2_WIT = """\
package example:kv@2.0.0;

interface store {
  ping: func() -> string;
}
"""

PROVIDER = """\
from __future__ import annotations

from {bind}.example_kv_v1_0_0 import atomics, store
from {bind}.exports import BucketResource, dispatch_table
from witgen.runtime.dispatch import DispatchTable
from witgen.runtime.values import Err, Ok


class Bucket:
    def __init__(self) -> None:
        self.data: dict[str, bytes] = {{}}

    def get(self, key: str) -> Ok[bytes | None] | Err[store.Error]:
        return Ok(self.data.get(key))

    def set_(self, key: str, value: bytes) -> Ok[None] | Err[store.Error]:
        self.data[key] = value
        return Ok(None)

    def delete(self, key: str) -> Ok[None] | Err[store.Error]:
        self.data.pop(key, None)
        return Ok(None)


class Store:
    def open_(self, identifier: str) -> Ok[BucketResource] | Err[store.Error]:
        if identifier != "shelf":
            return Err(store.ErrorNoSuchStore())
        return Ok(Bucket())


class Atomics:
    def increment(self, bucket: atomics.Bucket, key: str, delta: int) -> Ok[int] | Err[atomics.Error]:
        return Err(store.ErrorOther(f"no atomics for {{key}}"))


def table() -> DispatchTable:
    return dispatch_table(store=Store(), atomics=Atomics())
"""


def invoke(*args: str, cwd: Path | None = None) -> tuple[int, str]:
    """`witgen ARGS` in-process: (exit code, stdout and stderr)."""
    old = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        result = CliRunner().invoke(main, list(args), env={"NO_COLOR": "1"})
    finally:
        os.chdir(old)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def write_kv(folder: Path, *deps: tuple[str, str]) -> Path:
    (folder / "deps").mkdir(parents=True, exist_ok=True)
    (folder / "kv.wit").write_text(KV_WIT)
    for name, text in deps:
        (folder / "deps" / name).write_text(text)
    return folder


def import_fresh(root: Path, module: str) -> ModuleType:
    """`module` from the packages under `root` (root stays on sys.path)."""
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    importlib.invalidate_caches()
    return importlib.import_module(module)


def mypy_strict(cwd: Path, *paths: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MYPYPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", *paths],
        cwd=cwd, capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip


@pytest.fixture(scope="module")
def kv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, ModuleType]]]:
    """Bindings of the store and atomics providers (`kvprov`) and of their clients
    (`kvcall`), plus a provider using them (`kvimpl`), under one root folder."""
    root = tmp_path_factory.mktemp("kvexport")
    wit = write_kv(root / "wit")
    code, out = invoke(
        "generate", str(wit), "-o", str(root / "kvprov"),
        "--export", "example:kv/store@1.0.0", "--export", "atomics", "--parts", "types,provider",
    )  # fmt: skip
    assert code == 0, out
    code, out = invoke("generate", str(wit), "-o", str(root / "kvcall"), "--import", "example:kv/store")
    assert code == 0, out
    (root / "kvimpl.py").write_text(PROVIDER.format(bind="kvprov"))
    mods = {
        "exports": import_fresh(root, "kvprov.exports"),
        "imports": import_fresh(root, "kvcall.imports"),
        "impl": import_fresh(root, "kvimpl"),
    }
    try:
        yield root, mods
    finally:
        sys.path.remove(str(root))


# --------------------------------------------------------------------------- what is generated


def test_exports_generate_only_the_world_made_of_them(kv: tuple[Path, dict[str, ModuleType]]) -> None:
    root, mods = kv
    files = sorted(p.relative_to(root / "kvprov").as_posix() for p in (root / "kvprov").rglob("*.py"))
    assert files == [
        "__init__.py",
        "example_kv_v1_0_0/__init__.py",
        "example_kv_v1_0_0/atomics.py",
        "example_kv_v1_0_0/store.py",
        "exports.py",
    ]  # the package's own world `imports` only with --world
    exports = mods["exports"]
    for name in ("StoreProvider", "AtomicsProvider", "BucketResource", "dispatch_table", "serve"):
        assert hasattr(exports, name), name
    assert not hasattr(exports, "StoreClient")  # --parts types,provider
    assert "Exports example:kv/store@1.0.0, example:kv/atomics@1.0.0." in (exports.__doc__ or "")
    imports = mods["imports"]
    assert hasattr(imports, "StoreClient") and hasattr(imports, "BucketProxy")
    assert not hasattr(imports, "StoreProvider")


def test_bindings_and_a_provider_pass_mypy_strict(kv: tuple[Path, dict[str, ModuleType]]) -> None:
    root, _ = kv
    typed = root / "kvtyped.py"  # the provider's table, fully annotated
    typed.write_text(
        "from kvimpl import Atomics, Store\n"
        "from kvprov.exports import dispatch_table\n"
        "from witgen.runtime.dispatch import DispatchTable\n\n"
        "TABLE: DispatchTable = dispatch_table(store=Store(), atomics=Atomics())\n"
    )
    wrong = root / "kvwrong.py"  # a provider whose method takes the wrong type is flagged
    wrong.write_text(
        "from kvprov.exports import dispatch_table\n"
        "from witgen.runtime.values import Err, Ok\n\n"
        "class Store:\n"
        "    def open_(self, identifier: int) -> Ok[None] | Err[None]:\n"
        "        return Ok(None)\n\n"
        "class Atomics:\n"
        "    pass\n\n"
        "dispatch_table(store=Store(), atomics=Atomics())\n"
    )
    done = mypy_strict(root, "kvprov", "kvcall", "kvtyped.py")
    assert done.returncode == 0, done.stdout + done.stderr
    flagged = mypy_strict(root, "kvwrong.py")
    assert flagged.returncode == 1
    assert 'Argument "store" to "dispatch_table" has incompatible type "Store"' in flagged.stdout
    assert 'Argument "atomics" to "dispatch_table" has incompatible type "Atomics"' in flagged.stdout


def test_served_in_process_and_called_through_the_imports_client(kv: tuple[Path, dict[str, ModuleType]]) -> None:
    _, mods = kv
    lattice = InProcessBus()
    with lattice.serve(mods["impl"].table()):
        client = mods["imports"].StoreClient(lattice.connect("alice"))
        opened = client.open_("shelf")
        assert isinstance(opened, Ok)
        bucket = opened.value
        assert bucket.set_("k", b"v") == Ok(None)
        assert bucket.get("k") == Ok(b"v")
        missing = client.open_("cellar")
        assert isinstance(missing, Err) and type(missing.value).__name__ == "ErrorNoSuchStore"
        # atomics: called with encoded parameters, as any caller on the bus would
        atomics = mods["exports"].atomics
        func = atomics.FUNCTIONS["increment"]
        payload = codec.function(func).encode_params(atomics.Bucket(bucket.handle), "n", 1)
        answer = lattice.connect("alice").invoke("example:kv/atomics@1.0.0", "increment", payload)
        result = codec.function(func).decode_result(answer)
        assert isinstance(result, Err) and result.value.value == "no atomics for n"


def test_served_over_nats(nats: NatsServer, kv: tuple[Path, dict[str, ModuleType]]) -> None:
    from witgen.runtime.nats import NatsBus

    _, mods = kv
    server = NatsBus.connect_sync(nats.url, prefix="t.export")
    caller = NatsBus.connect_sync(nats.url, prefix="t.export", source="bob")
    try:
        with server.serve(mods["impl"].table()):
            client = mods["imports"].StoreClient(caller)
            opened = client.open_("shelf")
            assert isinstance(opened, Ok)
            assert opened.value.set_("k", b"over nats") == Ok(None)
            assert opened.value.get("k") == Ok(b"over nats")
    finally:
        caller.close(grace=0)
        server.close(grace=1)


def test_export_with_world_generates_both(tmp_path: Path) -> None:
    wit = write_kv(tmp_path / "wit")
    code, out = invoke("generate", str(wit), "-o", str(tmp_path / "out"), "-w", "imports", "--export", "store")
    assert code == 0, out
    assert (tmp_path / "out" / "exports.py").is_file()
    assert (tmp_path / "out" / "example_kv_v1_0_0" / "imports.py").is_file()
    # check takes the same options: with them the output is fresh, without --export stale
    assert invoke("check", str(wit), "-o", str(tmp_path / "out"), "-w", "imports", "--export", "store")[0] == 0
    code, out = invoke("check", str(wit), "-o", str(tmp_path / "out"), "-w", "imports")
    assert code == 1 and "  extra: " in out and "exports.py" in out


def test_the_synthetic_world_cannot_collide(tmp_path: Path) -> None:
    """An interface or world named `exports` stays in its package's folder."""
    (tmp_path / "wit").mkdir()
    (tmp_path / "wit" / "x.wit").write_text(
        "package example:clash;\n"
        "interface exports { f: func() -> u32; }\n"
        "world imports { import exports; }\n"
    )
    files = render_bindings(load(tmp_path / "wit"), ["imports"], exports=["exports"], format=False)
    assert {"exports.py", "example_clash/exports.py", "example_clash/imports.py"} <= set(files)
    assert "class ExportsProvider(_t.Protocol):" in files["exports.py"]
    assert "from .example_clash import exports" in files["exports.py"]


# --------------------------------------------------------------------------- naming interfaces


@pytest.fixture
def crowded(tmp_path: Path) -> Path:
    """example:kv at two versions and another package with a `store` interface."""
    return write_kv(tmp_path / "wit", ("other.wit", OTHER_WIT), ("kv2.wit", KV2_WIT))


@pytest.mark.parametrize(
    "spec", ["example:kv/atomics@1.0.0", "example:kv/atomics", "atomics", " atomics "]
)
def test_interface_names_as_users_write_them(crowded: Path, spec: str) -> None:
    files = render_bindings(load(crowded), exports=[spec], format=False)
    assert 'table.add_interface("example:kv/atomics@1.0.0"' in files["exports.py"]


def test_unknown_interface_lists_the_known_ones(crowded: Path) -> None:
    code, out = invoke("generate", str(crowded), "-o", str(crowded.parent / "out"), "--export", "example:kv/stor")
    assert code == 1
    assert out == (
        "error: unknown interface 'example:kv/stor'; known: example:kv/atomics@1.0.0, "
        "example:kv/store@1.0.0, example:kv/store@2.0.0, example:other/store\n"
    )
    assert not (crowded.parent / "out").exists()  # nothing written


@pytest.mark.parametrize(
    ("spec", "candidates"),
    [
        ("store", "example:kv/store@1.0.0, example:kv/store@2.0.0, example:other/store"),
        ("example:kv/store", "example:kv/store@1.0.0, example:kv/store@2.0.0"),
    ],
)
def test_ambiguous_interface_lists_the_candidates(crowded: Path, spec: str, candidates: str) -> None:
    code, out = invoke("generate", str(crowded), "-o", str(crowded.parent / "out"), "--import", spec)
    assert (code, out) == (1, f"error: interface '{spec}' is ambiguous; it could be: {candidates}\n")


def test_versioned_names_pick_one_of_several(crowded: Path) -> None:
    files = render_bindings(load(crowded), exports=["example:kv/store@2.0.0", "example:other/store"], format=False)
    text = files["exports.py"]
    assert 'table.add_interface("example:kv/store@2.0.0"' in text
    assert 'table.add_interface("example:other/store"' in text


def test_export_needs_path_or_config(tmp_path: Path) -> None:
    code, out = invoke("generate", "--export", "store", cwd=tmp_path)
    assert code == 2 and "--export needs PATH" in out


def test_unknown_world_with_exports_is_still_an_error(tmp_path: Path) -> None:
    with pytest.raises(CodegenError, match="unknown world `nope`"):
        render_bindings(load(write_kv(tmp_path / "wit")), ["nope"], exports=["store"], format=False)
    with pytest.raises(WitError, match="unknown interface 'nope'"):
        render_bindings(load(write_kv(tmp_path / "wit")), imports=["nope"], format=False)


# --------------------------------------------------------------------------- configured targets


def test_config_export_and_import_drive_generate_and_check(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    (project / ".git").mkdir(parents=True)
    write_kv(project / "wit")
    config = (
        '[tool.witgen]\nwit = "wit"\nout = "bind"\n'
        'export = ["example:kv/store"]\nimport = ["example:kv/atomics"]\n'
    )
    (project / "pyproject.toml").write_text(config)
    code, out = invoke("generate", cwd=project)
    assert code == 0, out
    exports = (project / "bind" / "exports.py").read_text()
    assert "class StoreProvider(_t.Protocol):" in exports and "class AtomicsClient(_b.Client):" in exports
    assert invoke("check", cwd=project) == (0, "bind: fresh (digest) -> bind\n")
    (project / "pyproject.toml").write_text(config.replace('export = ["example:kv/store"]\n', ""))
    code, out = invoke("check", cwd=project)  # only imports now: another file, the old one extra
    assert code == 1
    assert "  missing: bind/imports.py" in out and "  extra: bind/exports.py" in out
    (project / "pyproject.toml").write_text(config.replace("example:kv/store", "example:kv/nope"))
    code, out = invoke("check", cwd=project)
    assert code == 1 and "error: unknown interface 'example:kv/nope'; known: " in out


def test_config_export_must_be_a_list_of_strings(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    (project / ".git").mkdir(parents=True)
    (project / "pyproject.toml").write_text('[tool.witgen]\nwit = "wit"\nout = "bind"\nexport = "store"\n')
    code, out = invoke("generate", cwd=project)
    assert code == 1 and "`export` must be an array of strings" in out


# --------------------------------------------------------------------------- upstream packages


def _serve_every_export(files_root: Path, package: str, exports: list[str]) -> list[str]:
    """Import the generated world, serve a provider made of stubs for every protocol,
    and call each freestanding function that takes no handle; the instances answered."""
    world = import_fresh(files_root, f"{package}.exports")
    impls = {kw: _Refusing() for kw in inspect.signature(world.dispatch_table).parameters}
    answered = []
    lattice = InProcessBus()
    with lattice.serve(world.dispatch_table(**impls)) as serving:
        for instance in serving.table.instances:
            assert instance in exports
            answered.append(instance)
    return answered


class _Refusing:
    """Any method: a provider failure (enough to build and serve a table)."""

    def __getattr__(self, name: str) -> Any:
        def method(*args: Any) -> Any:
            raise ProviderFailure("not implemented")

        return method


UPSTREAM = {
    "wasi-keyvalue-0.2.0-draft2": [
        "wasi:keyvalue/store@0.2.0-draft2",
        "wasi:keyvalue/atomics@0.2.0-draft2",
        "wasi:keyvalue/batch@0.2.0-draft2",
    ],
    "wasmcloud-messaging-0.2.0": ["wasmcloud:messaging/consumer@0.2.0", "wasmcloud:messaging/handler@0.2.0"],
}


@pytest.mark.parametrize("folder", sorted(UPSTREAM))
def test_upstream_interfaces_no_world_exports(shared: Path, tmp_path: Path, folder: str) -> None:
    wit = shared / "corpus" / "real" / folder
    resolve = load(wit)
    exported = {
        resolve.interface_id(item.id)
        for world in resolve.worlds
        for item in world.exports.values()
        if isinstance(item, InterfaceItem)
    }
    assert not exported & set(UPSTREAM[folder])  # what this feature is for
    package = "up_" + folder.replace("-", "_").replace(".", "_")
    args = [a for e in UPSTREAM[folder] for a in ("--export", e.split("@")[0])]
    code, out = invoke("generate", str(wit), "-o", str(tmp_path / package), *args)
    assert code == 0, out
    done = mypy_strict(tmp_path, package)
    assert done.returncode == 0, done.stdout + done.stderr
    try:
        assert sorted(_serve_every_export(tmp_path, package, UPSTREAM[folder])) == sorted(UPSTREAM[folder])
    finally:
        sys.path.remove(str(tmp_path))


def test_upstream_keyvalue_call_answers(shared: Path, tmp_path: Path) -> None:
    """A call of wasi:keyvalue/store.open reaches the provider's stub and comes back."""
    wit = shared / "corpus" / "real" / "wasi-keyvalue-0.2.0-draft2"
    code, out = invoke("generate", str(wit), "-o", str(tmp_path / "upkv"), "--export", "wasi:keyvalue/store")
    assert code == 0, out
    try:
        world = import_fresh(tmp_path, "upkv.exports")
        store = import_fresh(tmp_path, "upkv.wasi_keyvalue_v0_2_0_draft2.store")
        lattice = InProcessBus()
        with lattice.serve(world.dispatch_table(store=_Refusing())):
            payload = codec.function(store.FUNCTIONS["open"]).encode_params("shelf")
            with pytest.raises(ProviderFailure) as caught:
                lattice.invoke("wasi:keyvalue/store@0.2.0-draft2", "open", payload)
        assert caught.value.operation == "wasi:keyvalue/store@0.2.0-draft2.open"
        assert caught.value.message == "not implemented"
    finally:
        sys.path.remove(str(tmp_path))
