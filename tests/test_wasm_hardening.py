"""The Wasm host's guards, on real components: values it hands to the guest, memory, time, Ctrl-C.

- A provider's result is checked as the wire codec checks values (ranges, classes) before
  wasmtime sees it; one that does not fit names the provider and where in the value.
- Linear memory is capped (`max_memory`, `--max-memory`, 256 MiB by default).
- Guest time per call is capped (`deadline`, `witgen host --deadline`, `witgen call --timeout`).
- SIGINT stops a spinning guest at once: `interrupt(host)`, Ctrl-C in the main thread,
  `witgen call --component` (exit 130) and `witgen host` (exit 0), one line each.
- `witgen call --component` and `witgen host` leave no folder behind.

The worker world (WebAssembly text below, built with wasm-tools) exports `spin`, which
writes `spinning` to WASI stdout and then loops, so a test knows when the guest spins.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import wasm_build
import wasm_fixtures
import wasm_world as ww
from click.testing import CliRunner
from wasm_fixtures import build_dir, echoer_wasm, test_wit_dir  # noqa: F401

from witgen.cli import main as witgen
from witgen.runtime import codec, wit
from witgen.runtime.bus import BusError, ProviderFailure
from witgen.runtime.values import Err, Ok
from witgen.runtime.wasm.host import Interrupted, interrupt

from test_wasm_host import Counters, Echo, echoer_host  # noqa: E402

pytestmark = pytest.mark.timeout(900)  # a cold build of the components takes a while
ROOT = Path(__file__).resolve().parent.parent
WORK = "witgen:hardening/work"
GROW = codec.function(wit.Func("grow", {"pages": wit.U32}, wit.S32))

WORKER_WIT = """package witgen:hardening;

interface work {
  /// Writes `spinning` to stdout, then loops forever.
  spin: func();
  /// `memory.grow(pages)`: the size before in pages, or -1 when refused.
  grow: func(pages: u32) -> s32;
  /// Grows the memory by `pages` and writes the last byte it expects then to have.
  fill: func(pages: u32) -> u32;
}

world worker {
  import wasi:cli/stdout@0.2.8;
  export work;
}
"""


def worker_wat() -> str:
    return f"""(module
  (import "wasi:cli/stdout@0.2.8" "get-stdout" (func $stdout (result i32)))
  (import "wasi:io/streams@0.2.8" "[method]output-stream.blocking-write-and-flush" (func $write (param i32 i32 i32 i32)))
  (import "wasi:io/streams@0.2.8" "[resource-drop]output-stream" (func $drop (param i32)))
  (memory (export "memory") 2)
{ww._REALLOC}
  (data (i32.const 512) "spinning\\n")
  (func (export "{WORK}#spin") (local $s i32)
    (local.set $s (call $stdout))
    (call $write (local.get $s) (i32.const 512) (i32.const 9) (i32.const 256))
    (call $drop (local.get $s))
    (loop $l (br $l)))
  (func (export "{WORK}#grow") (param $n i32) (result i32)
    (memory.grow (local.get $n)))
  (func (export "{WORK}#fill") (param $n i32) (result i32) (local $end i32)
    (local.set $end (i32.mul (i32.add (memory.size) (local.get $n)) (i32.const 65536)))
    (drop (memory.grow (local.get $n)))
    (i32.store8 (i32.sub (local.get $end) (i32.const 1)) (i32.const 1))
    (memory.size))
)"""


@pytest.fixture(scope="module")
def worker_wit(build_dir: Path, shared: Path) -> Path:  # noqa: F811
    deps = shared / "corpus" / "real" / "wasi-http-0.2.8" / "deps"
    files = {"worker.wit": WORKER_WIT}
    files.update({f"deps/{p.relative_to(deps).as_posix()}": p.read_text() for p in sorted(deps.rglob("*.wit"))})
    return wasm_fixtures.wit_folder(build_dir, files)


@pytest.fixture(scope="module")
def worker(build_dir: Path, worker_wit: Path) -> Path:  # noqa: F811
    return wasm_build.wat_component(worker_wat(), worker_wit, "worker", build_dir)


def witgen_process(tmp: Path, *args: str) -> subprocess.Popen[str]:
    """`python -m witgen ARGS` with its temporary files under `tmp`."""
    tmp.mkdir(exist_ok=True)
    env = dict(os.environ, TMPDIR=str(tmp), PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-m", "witgen", *args], cwd=ROOT, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def witgen_run(tmp: Path, *args: str) -> tuple[int, str, str]:
    proc = witgen_process(tmp, *args)
    out, err = proc.communicate(timeout=300)
    return proc.returncode, out, err


def left_behind(tmp: Path) -> list[str]:
    return sorted(p.name for p in tmp.glob("witgen-host-*"))


# --------------------------------------------------------------------------- values from providers

POINT = ww.Point(1, 2)
PERSON = ww.Person("ada", 36, ["x"], POINT, ww.Color.GREEN, ww.Perms.READ, ww.ShapeCircle(1.5))
# kind -> (an argument that fits, what the provider returns instead, the reason and where)
INVALID: dict[str, tuple[Any, Any, str]] = {
    "u32": (7, 2**40, "u32 out of range: 1099511627776 at result"),
    "u32-negative": (7, -1, "u32 out of range: -1 at result"),
    "u8": (7, "x", "expected u8, got str: 'x' at result"),
    "s8": (7, 128, "s8 out of range: 128 at result"),
    "u64": (7, 2**64, "u64 out of range: 18446744073709551616 at result"),
    "s64": (7, -(2**63) - 1, "s64 out of range: -9223372036854775809 at result"),
    "f32": (1.0, 1e39, "f32 out of range: 1e+39 at result"),
    "f64": (1.0, "1.0", "expected f64, got str: '1.0' at result"),
    "bool": (True, 1, "expected bool, got int: 1 at result"),
    "char": ("a", "ab", "a char must be one Unicode scalar value, not 'ab' at result"),
    "string": ("a", "\ud800", "string is not valid Unicode (lone surrogate) at result"),
    "bytes": (b"a", [1, 300], "u8 out of range: 300 at result[1]"),
    "list-u32": ([1], [1, 2**32], "u32 out of range: 4294967296 at result[1]"),
    "list-string": (["a"], "abc", "expected list<string>, got str: 'abc' at result"),
    "tuple": ((1, "a", 1.0), (1, "a"), "expected 3 item(s) for tuple<u8, string, f64>, got 2 at result"),
    "record": (POINT, ww.Point(1, 2**31), "s32 out of range: 2147483648 at result.y"),
    "nested-record": (PERSON, ww.Person("ada", 36, ["x"], ww.Point(0, -(2**40)), ww.Color.GREEN, ww.Perms.READ,
                                        ww.ShapeCircle(1.5)), "s32 out of range: -1099511627776 at result.home.some.y"),
    "option-u32": (None, 2**32, "u32 out of range: 4294967296 at result.some"),
    "result": (Ok(1), Ok(-1), "u32 out of range: -1 at result.ok"),
    "result-err": (Err("no"), 5, "5 is neither Ok(..) nor Err(..) for result<_, string> at result"),
    "variant": (ww.ShapeEmpty(), ww.ShapeRect(ww.Point(2**31, 0)), "s32 out of range: 2147483648 at result.rect.x"),
    "variant-tagged": (ww.TwinNeither(), ww.TwinLeft(-1), "u32 out of range: -1 at result.left"),
    "enum": (ww.Color.RED, "red", "'red' is not a case of enum color at result"),
    "flags": (ww.Perms.READ, 3, "expected flags perms, got int: 3 at result"),
    "list-result": ([Ok(ww.Color.RED)], [Ok(ww.Color.RED), Err(5)], "expected string, got int: 5 at result[1].err"),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_a_providers_invalid_result_names_the_provider_not_the_guest(echoer_wasm: Path, case: str) -> None:  # noqa: F811
    kind = case.removesuffix("-negative")
    argument, returned, where = INVALID[case]

    class Wrong(Echo):
        def __getattr__(self, name: str) -> Any:
            if name == f"echo_{kind.replace('-', '_')}":
                return lambda v: returned
            return super().__getattr__(name)

    host = echoer_host(echoer_wasm, providers={ww.HOST_ECHO: Wrong(), ww.COUNTERS: Counters()})
    with pytest.raises(ProviderFailure) as failure:
        host.call(ww.ECHO, f"echo-{kind}", argument)
    assert str(failure.value) == (
        f"{ww.ECHO}.echo-{kind}: provider {ww.HOST_ECHO}.echo-{kind} returned an invalid value: {where}"
    )
    assert host.call("", "count-up", 1, 2) == 3  # the host goes on


def test_an_argument_out_of_range_is_refused_before_the_guest_sees_it(echoer_wasm: Path) -> None:  # noqa: F811
    echo = Echo()
    host = echoer_host(echoer_wasm, providers={ww.HOST_ECHO: echo, ww.COUNTERS: Counters()})
    with pytest.raises(BusError, match=r"^witgen:test/echo.echo-u32: argument does not fit the WIT type: "
                                       r"u32 out of range: 1099511627776 at v$"):  # fmt: skip
        host.call(ww.ECHO, "echo-u32", 2**40)
    with pytest.raises(BusError, match=r"echo-list-point: argument does not fit the WIT type: "
                                       r"s32 out of range: 2147483648 at v\[1\]\.x$"):  # fmt: skip
        host.call(ww.ECHO, "echo-list-point", [POINT, ww.Point(2**31, 0)])
    assert echo.seen == []
    assert host.call(ww.ECHO, "echo-u32", 2**32 - 1) == 2**32 - 1


# --------------------------------------------------------------------------- memory


def test_a_component_past_its_memory_cap_fails_that_call_and_the_host_goes_on(echoer_wasm: Path) -> None:  # noqa: F811
    host = echoer_host(echoer_wasm, max_memory=1 << 20)
    with pytest.raises(BusError) as failure:
        host.call(ww.ECHO, "echo-string", "x" * (2 << 20))  # the guest's allocator cannot grow
    assert str(failure.value) == (
        "witgen:test/echo.echo-string: the component trapped: wasm `unreachable` instruction executed "
        "(its memory is capped at 1 MiB)"
    )
    assert host.call(ww.ECHO, "echo-string", "x" * 1000) == "x" * 1000
    roomy = echoer_host(echoer_wasm, max_memory=8 << 20)
    assert roomy.call(ww.ECHO, "echo-string", "x" * (2 << 20)) == "x" * (2 << 20)


def test_memory_cap_from_the_command_line(tmp_path: Path, worker: Path, worker_wit: Path) -> None:
    call = ("call", "--component", str(worker), "--wit", str(worker_wit))
    tmp = tmp_path / "tmp"
    # 256 MiB by default: 2 pages and 4096 more do not fit, a GiB does.
    assert witgen_run(tmp, *call, f"{WORK}.grow", "4096") == (0, "-1\n", "")
    assert witgen_run(tmp, *call, "--max-memory", "1GiB", f"{WORK}.grow", "4096") == (0, "2\n", "")
    assert witgen_run(tmp, *call, "--max-memory", "4MiB", f"{WORK}.fill", "32") == (0, "34\n", "")
    assert witgen_run(tmp, *call, "--max-memory", "1MiB", f"{WORK}.fill", "32") == (
        1, "", f"error: {WORK}.fill: the component trapped: out of bounds memory access (its memory is capped at 1 MiB)\n"
    )  # fmt: skip
    assert witgen_run(tmp, *call, "--max-memory", "32KiB", f"{WORK}.grow", "1") == (
        1, "", f"error: {worker}: cannot instantiate: memory minimum size of 2 pages exceeds memory limits "
               "(its memory is capped at 32 KiB)\n",
    )  # fmt: skip
    assert left_behind(tmp) == []
    for bad in ("lots", "0", "-5MiB", "12parsecs"):
        result = CliRunner().invoke(witgen, [*call, "--max-memory", bad, f"{WORK}.grow", "1"])
        assert result.exit_code == 2 and "Invalid value for '--max-memory'" in result.output, result.output


def test_witgen_call_component_leaves_no_folder_behind(tmp_path: Path, worker: Path, worker_wit: Path) -> None:
    tmp = tmp_path / "tmp"
    call = ("call", "--component", str(worker), "--wit", str(worker_wit))
    assert witgen_run(tmp, *call, f"{WORK}.grow", "1") == (0, "2\n", "")
    code, out, err = witgen_run(tmp, *call, "--nats", "nats://127.0.0.1:1", f"{WORK}.grow", "1")
    assert (code, out) == (1, "") and err.startswith("error: transport error: "), err
    assert left_behind(tmp) == []


# --------------------------------------------------------------------------- time and interruption


def test_interrupt_stops_a_spinning_guest_long_before_its_deadline(echoer_wasm: Path) -> None:  # noqa: F811
    for deadline in (60.0, None):
        host = echoer_host(echoer_wasm, deadline=deadline)
        threading.Timer(1.0, interrupt, [host]).start()  # once the call runs
        with pytest.raises(Interrupted, match=r"^spin: interrupted: the call was stopped$"):
            host.call("", "spin")  # a deadline would be BusTimeout, after a minute
        with pytest.raises(Interrupted, match="the host takes no more calls"):
            host.call("", "count-up", 1, 1)


def test_no_deadline_lets_a_long_call_finish(echoer_wasm: Path) -> None:  # noqa: F811
    host = echoer_host(echoer_wasm, deadline=None)
    assert host.call("", "count-up", 1, 20000) == 20001


def test_ctrl_c_in_the_main_thread_stops_the_guest_then_raises(echoer_wasm: Path, caplog: pytest.LogCaptureFixture) -> None:  # noqa: F811
    assert threading.current_thread() is threading.main_thread()
    host = echoer_host(echoer_wasm, deadline=20.0)
    threading.Timer(1.0, os.kill, [os.getpid(), signal.SIGINT]).start()  # once the call runs
    with caplog.at_level(logging.WARNING, "witgen.runtime"), pytest.raises(KeyboardInterrupt):
        host.call("", "spin")
    assert "spin was cancelled" in caplog.text and "deadline" not in caplog.text
    assert host.call("", "count-up", 1, 2) == 3  # a new instance, working


def test_host_deadline_is_validated(worker: Path, worker_wit: Path) -> None:
    for bad in ("0", "-1", "nan", "inf"):
        result = CliRunner().invoke(
            witgen, ["host", str(worker), "--wit", str(worker_wit), "--nats", "nats://127.0.0.1:4222",
                     "--prefix", "p", "--deadline", bad],
        )  # fmt: skip
        assert result.exit_code == 2 and "Invalid value for '--deadline'" in result.output, result.output


def test_call_timeout_is_the_components_deadline(tmp_path: Path, worker: Path, worker_wit: Path) -> None:
    code, out, err = witgen_run(tmp_path / "tmp", "call", "--component", str(worker), "--wit", str(worker_wit),
                                "--timeout", "0.5", f"{WORK}.spin")  # fmt: skip
    assert (code, out, err) == (1, "spinning\n", f"error: {WORK}.spin: the component ran past its 0.5 s deadline and was stopped\n")


def test_ctrl_c_stops_witgen_call_component_with_one_line(tmp_path: Path, worker: Path, worker_wit: Path) -> None:
    tmp = tmp_path / "tmp"
    proc = witgen_process(tmp, "call", "--component", str(worker), "--wit", str(worker_wit), "--timeout", "600",
                          f"{WORK}.spin")  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "spinning\n"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)  # the deadline is ten minutes away
    finally:
        proc.kill()
    assert (proc.returncode, out, err) == (130, "", f"interrupted: {worker} was stopped\n")
    assert left_behind(tmp) == []


# --------------------------------------------------------------------------- witgen host on NATS

pytest.importorskip("nats", reason="the NATS tests need nats-py (pip install 'witgen[nats]')")
from nats_server import NatsServer, nats  # noqa: E402,F401

from witgen.runtime.nats import NatsBus  # noqa: E402


@contextlib.contextmanager
def hosted(nats: NatsServer, tmp: Path, worker: Path, wit_dir: Path, deadline: str) -> Iterator[tuple[subprocess.Popen[str], NatsBus]]:
    """`witgen host` of the worker (memory capped at 1 MiB) and a bus to call it."""
    proc = witgen_process(tmp, "host", str(worker), "--wit", str(wit_dir), "--nats", nats.url,
                          "--prefix", "hard.worker", "--deadline", deadline, "--max-memory", "1MiB")  # fmt: skip
    assert proc.stderr is not None
    bus = None
    try:
        first = proc.stderr.readline()
        assert first.startswith("serving"), first + proc.stderr.read()
        bus = NatsBus.connect_sync(nats.url, prefix="hard.worker", timeout=120)
        yield proc, bus
    finally:
        if bus is not None:
            bus.close()
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def invoke(bus: NatsBus, function: str, payload: bytes = b"") -> bytes | str:
    try:
        return bus.invoke(WORK, function, payload)
    except BusError as exc:
        return str(exc)


def test_witgen_host_applies_its_deadline_and_memory_cap(nats: NatsServer, tmp_path: Path, worker: Path, worker_wit: Path) -> None:  # noqa: F811
    tmp = tmp_path / "tmp"
    with hosted(nats, tmp, worker, worker_wit, deadline="1") as (proc, bus):
        assert GROW.decode_result(bus.invoke(WORK, "grow", GROW.encode_params(100))) == -1  # 1 MiB: 16 pages
        assert "the component ran past its 1.0 s deadline and was stopped" in str(invoke(bus, "spin"))
        assert GROW.decode_result(bus.invoke(WORK, "grow", GROW.encode_params(1))) == 2  # a new instance
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0 and "Traceback" not in err
    assert left_behind(tmp) == []


def test_ctrl_c_stops_witgen_host_and_its_spinning_call(nats: NatsServer, tmp_path: Path, worker: Path, worker_wit: Path) -> None:  # noqa: F811
    tmp = tmp_path / "tmp"
    with hosted(nats, tmp, worker, worker_wit, deadline="600") as (proc, bus):
        answer: list[bytes | str] = []
        caller = threading.Thread(target=lambda: answer.append(invoke(bus, "spin")))
        caller.start()
        assert proc.stdout is not None and proc.stdout.readline() == "spinning\n"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)  # the deadline is ten minutes away
        caller.join(120)
    assert proc.returncode == 0
    assert err.splitlines()[0] == f"interrupted: {worker} stops taking calls; the call in progress was stopped", err
    assert "Traceback" not in err
    assert "interrupted: the call was stopped" in str(answer[0])
    assert left_behind(tmp) == []
