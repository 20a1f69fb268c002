"""A call's deadline counts the guest's own time: its CPU time, not the wall time of a busy machine.

The counter world (WebAssembly text below, built with wasm-tools) exports `count`, which
writes `counting` to WASI stdout and then counts to its argument (work of a known size),
and `nap`, which sleeps through WASI (monotonic-clock and poll) a number of times.

- A process that does not run (SIGSTOP: what a loaded machine does to it, at length) for
  twice the deadline, while its guest counts, still returns the count.
- A guest that waits instead of computing is stopped all the same, once `WALL_FACTOR`
  deadlines of wall time have passed.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
import wasm_build
import wasm_fixtures
import wasm_world as ww
from wasm_fixtures import build_dir  # noqa: F401

from witgen.runtime import wit
from witgen.runtime.bus import BusTimeout
from witgen.runtime.wasm import ComponentHost
from witgen.runtime.wasm.limits import WALL_FACTOR

from test_wasm_hardening import witgen_process  # noqa: E402

pytestmark = pytest.mark.timeout(300)
WORK = "witgen:guest-time/work"
FUNCTIONS = wit.functions(
    wit.Func("count", {"rounds": wit.U32}, wit.U32),
    wit.Func("nap", {"ms": wit.U32, "times": wit.U32}, wit.U32),
)
DEADLINE = 1.0  # seconds of guest time per call
WORK_SHARE = 0.25  # of the deadline: the CPU time a `count` of the test takes

COUNTER_WIT = """package witgen:guest-time;

interface work {
  /// Writes `counting` to stdout, then counts to `rounds`; returns the count.
  count: func(rounds: u32) -> u32;
  /// Sleeps `times` times for `ms` milliseconds; returns `times`.
  nap: func(ms: u32, times: u32) -> u32;
}

world counter {
  import wasi:cli/stdout@0.2.8;
  import wasi:clocks/monotonic-clock@0.2.8;
  import wasi:io/poll@0.2.8;
  export work;
}
"""

COUNTER_WAT = f"""(module
  (import "wasi:cli/stdout@0.2.8" "get-stdout" (func $stdout (result i32)))
  (import "wasi:io/streams@0.2.8" "[method]output-stream.blocking-write-and-flush" (func $write (param i32 i32 i32 i32)))
  (import "wasi:io/streams@0.2.8" "[resource-drop]output-stream" (func $drop (param i32)))
  (import "wasi:clocks/monotonic-clock@0.2.8" "subscribe-duration" (func $after (param i64) (result i32)))
  (import "wasi:io/poll@0.2.8" "[method]pollable.block" (func $block (param i32)))
  (import "wasi:io/poll@0.2.8" "[resource-drop]pollable" (func $drop_pollable (param i32)))
  (memory (export "memory") 2)
{ww._REALLOC}
  (data (i32.const 512) "counting\\n")
  (func (export "{WORK}#count") (param $rounds i32) (result i32) (local $s i32) (local $i i32)
    (local.set $s (call $stdout))
    (call $write (local.get $s) (i32.const 512) (i32.const 9) (i32.const 256))
    (call $drop (local.get $s))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $rounds)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (local.get $i))
  (func (export "{WORK}#nap") (param $ms i32) (param $times i32) (result i32) (local $i i32) (local $p i32)
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $times)))
        (local.set $p (call $after (i64.mul (i64.extend_i32_u (local.get $ms)) (i64.const 1000000))))
        (call $block (local.get $p))
        (call $drop_pollable (local.get $p))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (local.get $i))
)"""


@pytest.fixture(scope="module")
def counter_wit(build_dir: Path, shared: Path) -> Path:  # noqa: F811
    deps = shared / "corpus" / "real" / "wasi-http-0.2.8" / "deps"
    files = {"counter.wit": COUNTER_WIT}
    files.update({f"deps/{p.relative_to(deps).as_posix()}": p.read_text() for p in sorted(deps.rglob("*.wit"))})
    return wasm_fixtures.wit_folder(build_dir, files)


@pytest.fixture(scope="module")
def counter(build_dir: Path, counter_wit: Path) -> Path:  # noqa: F811
    return wasm_build.wat_component(COUNTER_WAT, counter_wit, "counter", build_dir)


def counter_host(path: Path, deadline: float | None) -> ComponentHost:
    return ComponentHost(path, exports={WORK: FUNCTIONS}, deadline=deadline)


def rounds_for(path: Path, share: float) -> int:
    """How far `count` goes in `share` of the deadline of this thread's CPU time."""
    host = counter_host(path, deadline=None)
    probe = 1 << 22
    while True:
        before = time.thread_time()
        assert host.call(WORK, "count", probe) == probe
        used = time.thread_time() - before
        if used >= 0.05 or probe >= 1 << 31:
            return min(int(probe * share * DEADLINE / max(used, 1e-6)), (1 << 32) - 1)
        probe <<= 1


def test_time_the_guest_does_not_run_is_not_its_time(tmp_path: Path, counter: Path, counter_wit: Path) -> None:
    rounds = rounds_for(counter, WORK_SHARE)
    proc = witgen_process(tmp_path / "tmp", "call", "--component", str(counter), "--wit", str(counter_wit),
                          "--timeout", str(DEADLINE), f"{WORK}.count", str(rounds))  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "counting\n"
        proc.send_signal(signal.SIGSTOP)  # the guest counts: it stands still for two deadlines
        time.sleep(2 * DEADLINE)
        proc.send_signal(signal.SIGCONT)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert (proc.returncode, out, err) == (0, f"{rounds}\n", "")


def test_a_guest_that_waits_is_stopped_after_its_wall_time_allowance(counter: Path) -> None:
    host = counter_host(counter, deadline=0.05)
    # Sleeping takes no CPU time: naps of the deadline's length, twice as many as WALL_FACTOR allows.
    naps = 2 * WALL_FACTOR
    with pytest.raises(BusTimeout, match=r"^witgen:guest-time/work.nap: the component ran past its 0.05 s deadline"):
        host.call(WORK, "nap", 50, naps)
    assert host.call(WORK, "nap", 1, 2) == 2  # a new instance, working
    assert host.call(WORK, "count", 1000) == 1000
