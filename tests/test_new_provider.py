"""`witgen new provider`: a runnable provider project for a package it has never seen.

The package `acme:inventory` (written here, with a dependency folder) has a resource
with a constructor, static and methods, records, enums, flags and variants, and only
a world importing it. The project made for it passes `mypy --strict`, its own test
passes under pytest, `witgen check` finds its bindings fresh, and `python -m NAME`
serves it on a real nats-server, where a call comes back "not implemented".
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from nats_server import NatsServer, nats  # noqa: E402,F401

from witgen.cli import main  # noqa: E402

COMMON_WIT = """\
package acme:common@1.0.0;

/// Shared vocabulary of the inventory.
interface types {
  enum unit { piece, kilogram }
  flags tags { fragile, cold }
  record item {
    sku: string,
    count: u32,
    unit: unit,
    tags: tags,
    note: option<string>,
  }
  variant problem { not-found(string), full, other(u16) }
}
"""

INVENTORY_WIT = """\
package acme:inventory@0.3.0;

/// Shelves that hold items.
interface shelves {
  use acme:common/types@1.0.0.{item, problem, unit};

  /// A shelf in the warehouse.
  resource shelf {
    constructor(name: string);
    stock: static func(name: string) -> result<shelf, problem>;
    put: func(entry: item) -> result<u64, problem>;
    take: func(sku: string, count: u32) -> result<item, problem>;
    %list: func() -> list<item>;
  }

  /// How many of `sample` there are, counted in `unit`.
  count-all: func(sample: item, unit: unit) -> tuple<u64, u32>;
  describe: func(sku: string) -> result<string, problem>;
  lookup: func(shelf: borrow<shelf>, sku: string) -> option<item>;
}

/// Looks at shelves it is given.
interface audit {
  use shelves.{shelf};
  inspect: func(shelf: borrow<shelf>) -> bool;
}

world components {
  import shelves;
}

world warehouse {
  export shelves;
  export audit-day: func(day: u32) -> string;
}
"""


def invoke(cwd: Path, *args: str) -> tuple[int, str]:
    """`witgen ARGS` in-process in `cwd`: (exit code, stdout and stderr)."""
    old = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(main, list(args), env={"NO_COLOR": "1"})
    finally:
        os.chdir(old)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def run(cwd: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """A Python module as a process in `cwd` (the project folder), as a user runs it."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env
    )


def write_wit(folder: Path) -> Path:
    (folder / "deps" / "common").mkdir(parents=True)
    (folder / "deps" / "common" / "types.wit").write_text(COMMON_WIT)
    (folder / "inventory.wit").write_text(INVENTORY_WIT)
    return folder


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the WIT (in `source/`) where projects are made."""
    root = tmp_path_factory.mktemp("newprov")
    write_wit(root / "source")
    return root


@pytest.fixture(scope="module")
def inventory(workspace: Path) -> Path:
    """`witgen new provider inventory_kv --export acme:inventory/shelves`."""
    code, out = invoke(workspace, "new", "provider", "inventory_kv", "--wit", "source", "--export", "acme:inventory/shelves")
    assert code == 0, out
    assert out.splitlines()[0] == "created inventory_kv: the provider of acme:inventory/shelves@0.3.0"
    return workspace / "inventory_kv"


def test_the_project_folder(inventory: Path) -> None:
    files = sorted(
        p.relative_to(inventory).as_posix()
        for p in inventory.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and ".mypy_cache" not in p.parts
        and ".pytest_cache" not in p.parts
    )  # fmt: skip
    assert files == [
        "README.md",
        "inventory_kv/__init__.py",
        "inventory_kv/__main__.py",
        "inventory_kv/bindings/.witgen-manifest.json",
        "inventory_kv/bindings/__init__.py",
        "inventory_kv/bindings/acme_common_v1_0_0/__init__.py",
        "inventory_kv/bindings/acme_common_v1_0_0/types.py",
        "inventory_kv/bindings/acme_inventory_v0_3_0/__init__.py",
        "inventory_kv/bindings/acme_inventory_v0_3_0/shelves.py",
        "inventory_kv/bindings/exports.py",
        "inventory_kv/provider.py",
        "pyproject.toml",
        "tests/test_provider.py",
        "wit/deps/common/types.wit",
        "wit/inventory.wit",
    ]
    assert (inventory / "wit" / "inventory.wit").read_text() == INVENTORY_WIT
    assert (inventory / "wit" / "deps" / "common" / "types.wit").read_text() == COMMON_WIT
    config = (inventory / "pyproject.toml").read_text()
    assert '[tool.witgen]\nwit = "wit"\nout = "inventory_kv/bindings"\nexport = ["acme:inventory/shelves@0.3.0"]\n' in config
    provider = (inventory / "inventory_kv" / "provider.py").read_text()
    for method in ("shelf_constructor", "shelf_stock", "count_all", "describe", "lookup", "put", "take", "list_"):
        assert f"    def {method}(self" in provider, method
    assert provider.count('raise ProviderFailure("not implemented")') == 8
    assert "class Provider:" in provider and "class Shelf:" in provider
    assert not list(inventory.parent.glob(".inventory_kv-*"))  # no building folder left behind


def test_the_project_passes_mypy_strict(inventory: Path) -> None:
    done = run(inventory, "-m", "mypy", "--strict", "--no-incremental")  # [tool.mypy] files: package, tests
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success: no issues found in 10 source files" in done.stdout


def test_the_projects_own_test_passes(inventory: Path) -> None:
    done = run(inventory, "-m", "pytest", "-q", "-p", "no:cacheprovider")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
    test = (inventory / "tests" / "test_provider.py").read_text()
    assert 'bus.invoke("acme:inventory/shelves@0.3.0", "count-all", payload)' in test


def test_witgen_check_finds_the_bindings_fresh(inventory: Path) -> None:
    assert invoke(inventory, "check") == (0, "inventory_kv/bindings: fresh (digest) -> inventory_kv/bindings\n")


@pytest.fixture(scope="module")
def served(nats: NatsServer, inventory: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`python -m inventory_kv --nats URL --prefix t.inventory`, run in the project folder."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    args = [sys.executable, "-m", "inventory_kv", "--nats", nats.url, "--prefix", "t.inventory"]
    proc = subprocess.Popen(args, cwd=inventory, env=env, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    first = proc.stderr.readline()
    if not first.startswith("serving"):
        proc.kill()
        pytest.fail(f"python -m inventory_kv did not start: {first}{proc.stderr.read()}")
    drain = threading.Thread(target=proc.stderr.read, daemon=True)  # keep the pipe flowing
    drain.start()
    try:
        yield nats.url, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_served_and_called_with_witgen_call(served: tuple[str, subprocess.Popen[str]], inventory: Path) -> None:
    url, _ = served
    code, out = invoke(
        inventory, "call", "--nats", url, "--prefix", "t.inventory", "--wit", "wit", "--timeout", "1",
        "acme:inventory/shelves.describe", '"sku-1"',
    )  # fmt: skip
    assert code == 1
    assert "timeout" not in out  # answered within the one second the call waits
    assert out.startswith("error: acme:inventory/shelves@0.3.0.describe: ") and "not implemented" in out


def test_a_call_is_answered_not_implemented_within_a_second(served: tuple[str, subprocess.Popen[str]], inventory: Path) -> None:
    """A typed caller waits one second at most: the answer is the provider's failure, not
    a timeout. The times are measured for the record; what is asserted is the answer."""
    from witgen.runtime.errors import BusTimeout, ProviderFailure
    from witgen.runtime.nats import NatsBus
    from witgen.wave.wire import Wire

    url, _ = served
    engine = Wire.open(str(inventory / "wit"), "params", "acme:inventory/shelves.describe")
    payload = engine.encode_args(['"sku-1"'])
    bus = NatsBus.connect_sync(url, prefix="t.inventory")
    answered: list[float] = []
    try:
        for _ in range(5):
            start = time.perf_counter()
            try:
                bus.invoke("acme:inventory/shelves@0.3.0", "describe", payload, timeout=1.0)
            except BusTimeout as exc:  # pragma: no cover - the failure this test is for
                pytest.fail(f"no answer within a second: {exc}")
            except ProviderFailure as exc:
                answered.append(time.perf_counter() - start)
                assert exc.operation == "acme:inventory/shelves@0.3.0.describe"
                assert "not implemented" in exc.message
            else:  # pragma: no cover
                pytest.fail("the stub answered with a value")
    finally:
        bus.close(grace=0)
    assert len(answered) == 5
    print(f"not-implemented answers over NATS: {', '.join(f'{t * 1000:.1f} ms' for t in answered)}")


def test_the_server_stops_cleanly_on_sigterm(served: tuple[str, subprocess.Popen[str]]) -> None:
    _, proc = served
    proc.terminate()
    assert proc.wait(20) == 0


# --------------------------------------------------------------------------- other shapes


def test_a_world_with_world_functions(workspace: Path) -> None:
    code, out = invoke(workspace, "new", "provider", "warehouse_prov", "--wit", "source", "--world", "warehouse", "-q")
    assert (code, out) == (0, "")
    project = workspace / "warehouse_prov"
    provider = (project / "warehouse_prov" / "provider.py").read_text()
    assert "    def audit_day(self, day: int) -> str:" in provider
    assert "return warehouse.dispatch_table(shelves=provider, warehouse=provider)" in provider
    assert 'worlds = ["warehouse"]' in (project / "pyproject.toml").read_text()
    done = run(project, "-m", "mypy", "--strict", "--no-incremental")
    assert done.returncode == 0, done.stdout + done.stderr
    done = run(project, "-m", "pytest", "-q", "-p", "no:cacheprovider")
    assert done.returncode == 0, done.stdout + done.stderr


def test_exports_whose_functions_all_take_handles(workspace: Path) -> None:
    """No function can be called without a handle: the project's test checks the table."""
    code, out = invoke(workspace, "new", "provider", "audit_prov", "--wit", "source", "--export", "audit", "-q")
    assert (code, out) == (0, "")
    project = workspace / "audit_prov"
    test = (project / "tests" / "test_provider.py").read_text()
    assert 'assert set(table.instances) == {"acme:inventory/audit@0.3.0"}' in test
    done = run(project, "-m", "mypy", "--strict", "--no-incremental")
    assert done.returncode == 0, done.stdout + done.stderr
    done = run(project, "-m", "pytest", "-q", "-p", "no:cacheprovider")
    assert done.returncode == 0, done.stdout + done.stderr


def test_an_empty_folder_is_used(workspace: Path) -> None:
    (workspace / "empty_prov").mkdir()
    code, out = invoke(workspace, "new", "provider", "empty_prov", "--wit", "source", "--export", "describe", "-q")
    assert code == 1 and "unknown interface 'describe'" in out  # a function, not an interface
    assert list((workspace / "empty_prov").iterdir()) == []
    code, out = invoke(workspace, "new", "provider", "empty_prov", "--wit", "source", "--export", "shelves", "-q")
    assert (code, out) == (0, "")
    assert (workspace / "empty_prov" / "empty_prov" / "provider.py").is_file()


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("my-kv", "'my-kv' is not a valid Python package name: use letters, digits and underscores, "
                  "not starting with a digit (try 'my_kv')"),
        ("1kv", "'1kv' is not a valid Python package name"),
        ("kv.store", "'kv.store' is not a valid Python package name"),
        ("class", "'class' is a Python keyword, not a valid package name"),
        ("json", "'json' is the name of a module the project needs (it would hide it): choose another name"),
        ("witgen", "'witgen' is the name of a module the project needs"),
    ],
)  # fmt: skip
def test_a_name_that_is_no_package_is_refused(workspace: Path, name: str, why: str) -> None:
    code, out = invoke(workspace, "new", "provider", name, "--wit", "source", "--export", "shelves")
    assert code == 2
    assert f"Invalid value for NAME: {why}" in out
    assert not (workspace / name).exists()


def test_an_existing_folder_is_refused(workspace: Path) -> None:
    taken = workspace / "taken_prov"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine")
    code, out = invoke(workspace, "new", "provider", "taken_prov", "--wit", "source", "--export", "shelves")
    assert (code, out) == (1, "error: taken_prov is not empty: choose a new name, or empty it first\n")
    assert [p.name for p in taken.iterdir()] == ["notes.txt"]
    (workspace / "a_file").write_text("")
    code, out = invoke(workspace, "new", "provider", "a_file", "--wit", "source", "--export", "shelves")
    assert (code, out) == (1, "error: a_file exists and is not a folder: choose a new name, or empty it first\n")


def test_unknown_and_ambiguous_exports_write_nothing(workspace: Path) -> None:
    code, out = invoke(workspace, "new", "provider", "nothing_prov", "--wit", "source", "--export", "acme:inventory/shelve")
    assert (code, out) == (
        1,
        "error: unknown interface 'acme:inventory/shelve'; known: acme:common/types@1.0.0, "
        "acme:inventory/audit@0.3.0, acme:inventory/shelves@0.3.0\n",
    )
    assert not (workspace / "nothing_prov").exists()
    assert not list(workspace.glob(".nothing_prov-*"))


def test_world_or_exports_but_not_both(workspace: Path) -> None:
    for extra in ((), ("--world", "warehouse", "--export", "shelves")):
        code, out = invoke(workspace, "new", "provider", "both_prov", "--wit", "source", *extra)
        assert code == 2 and "pass --world WORLD or --export IFACE" in out
    code, out = invoke(workspace, "new", "provider", "both_prov", "--wit", "source", "--world", "components")
    assert (code, out) == (
        1,
        "error: world acme:inventory@0.3.0/components exports nothing: a provider implements a world's exports\n",
    )
    assert not (workspace / "both_prov").exists()


def test_a_project_for_upstream_keyvalue(shared: Path, tmp_path: Path) -> None:
    """wasi:keyvalue has no world exporting store, atomics or batch: the project
    provides all three, type-checks and passes its own test."""
    wit = shared / "corpus" / "real" / "wasi-keyvalue-0.2.0-draft2"
    args = ["--export", "wasi:keyvalue/store", "--export", "atomics", "--export", "wasi:keyvalue/batch@0.2.0-draft2"]
    code, out = invoke(tmp_path, "new", "provider", "keyvalue", "--wit", str(wit), *args, "-q")
    assert (code, out) == (0, "")
    project = tmp_path / "keyvalue"
    provider = (project / "keyvalue" / "provider.py").read_text()
    assert "class Provider:" in provider and "class Bucket:" in provider and "class Cas:" in provider
    done = run(project, "-m", "mypy", "--strict", "--no-incremental")
    assert done.returncode == 0, done.stdout + done.stderr
    done = run(project, "-m", "pytest", "-q", "-p", "no:cacheprovider")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
