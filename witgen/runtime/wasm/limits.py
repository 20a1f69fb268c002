"""What one hosted component may use: guest time per call, memory, and a way to stop it.

    limits = Limits(engine, deadline=10.0, max_memory=256 * MIB)
    limits.attach(store)      # a new store: its memory cap and its epoch callback
    limits.start(store)       # a call begins with its whole time budget
    limits.pause()            # the guest calls into Python: its time stops counting ...
    limits.resume(store)      # ... and counts again once Python returns
    limits.cancel()           # stop the running guest now (this call only)
    limits.interrupt()        # stop the running guest now, and refuse every later call

Time: the engine's epoch advances every `loader.TICK` seconds (the loader's ticker). A
store's epoch deadline is at most `SLICE` ticks ahead; when the epoch reaches it, wasmtime
calls back (`wasmtime_store_epoch_deadline_callback`), and the callback either grants the
guest another slice or ends it with an error: its call used up `deadline` seconds of guest
time (`stopped == DEADLINE`), or the call was cancelled or the host interrupted (`stopped ==
INTERRUPTED`). Guest time is the CPU time of the thread running the guest (the call's own
thread: `start`, `pause`, `resume` and the callback all run there), from `start`/`resume` to
`pause`, so time spent in Python imports does not count, and neither does time the guest
waits for a CPU: on a busy machine a call gets the same budget of work as on an idle one.
A guest that waits instead of computing (WASI sleeps and polls take no CPU time) is stopped
all the same once `WALL_FACTOR` deadlines of wall time have passed outside its imports.
`cancel` and `interrupt` advance the epoch at once, so a spinning guest stops within a tick.

The callback is Python called from wasmtime: an exception escaping it would leave wasmtime
with no answer, so nothing may raise there, a `KeyboardInterrupt` included (the host keeps
Ctrl-C out of the main thread's calls: `ComponentHost.call`).

Memory: `Store.set_limits(memory_size=max_memory)` caps each linear memory; past it
`memory.grow` fails (the guest usually traps then), and a component whose initial memory is
larger cannot be instantiated.
"""

from __future__ import annotations

import ctypes
import math
import re
import time
from typing import Any

import wasmtime
from wasmtime import _ffi

from witgen.runtime.wasm.loader import TICK

__all__ = [
    "DEADLINE", "DEFAULT_MAX_MEMORY", "INTERRUPTED", "MIB", "SLICE", "WALL_FACTOR", "Limits", "parse_size", "size_text",
]  # fmt: skip

MIB = 1 << 20
DEFAULT_MAX_MEMORY = 256 * MIB
SLICE = 5  # ticks between two checks of a running guest
WALL_FACTOR = 10  # wall time outside imports, in deadlines, after which a waiting guest is stopped
DEADLINE = "deadline"
INTERRUPTED = "interrupted"

_Callback = ctypes.CFUNCTYPE(
    ctypes.c_size_t,
    ctypes.POINTER(_ffi.wasmtime_context_t),
    ctypes.c_void_p,
    ctypes.POINTER(ctypes.c_uint64),
    ctypes.POINTER(ctypes.c_uint8),
)
_NO_FINALIZER = ctypes.cast(0, ctypes.CFUNCTYPE(None, ctypes.c_void_p))
_CONTINUE = 0  # WASMTIME_UPDATE_DEADLINE_CONTINUE
_set_deadline = _ffi.wasmtime_context_set_epoch_deadline
_SLICE_SECONDS = SLICE * TICK
_thread_time = time.thread_time  # CLOCK_THREAD_CPUTIME_ID: this thread's CPU time
_monotonic = time.monotonic


class Limits:
    """The time budget, memory cap and interruption of one host's stores (see the module docstring)."""

    def __init__(self, engine: wasmtime.Engine, *, deadline: float | None, max_memory: int | None) -> None:
        if deadline is not None and not (deadline > 0 and math.isfinite(deadline)):
            raise ValueError(f"deadline must be a positive number of seconds, not {deadline!r}")
        if max_memory is not None and not (isinstance(max_memory, int) and max_memory > 0):
            raise ValueError(f"max_memory must be a positive number of bytes, not {max_memory!r}")
        self.engine = engine
        self.deadline = deadline
        self.max_memory = max_memory
        self.stopped: str | None = None  # why the guest was stopped during the current call
        self.cancelled = False  # the current call is to stop
        self.interrupted = False  # every call is to stop
        self._budget = math.inf if deadline is None else deadline
        self._first_ticks = self._ticks(self._budget)
        self._left = math.inf  # seconds of guest CPU time left in the current call
        self._since = 0.0  # the thread's CPU time when the guest last started running
        self._wall_left = math.inf  # seconds of wall time (outside imports) left
        self._wall_since = 0.0  # when the guest last started running
        self._callback = _Callback(self._on_epoch)  # kept alive as long as the stores

    def attach(self, store: wasmtime.Store) -> None:
        """Give a new store the memory cap and the epoch callback."""
        if self.max_memory is not None:
            store.set_limits(memory_size=self.max_memory)
        _ffi.wasmtime_store_epoch_deadline_callback(store.ptr(), self._callback, None, _NO_FINALIZER)

    def start(self, store: Any) -> None:
        """A call (or an instantiation) begins: the whole budget, nothing stopped yet."""
        self.stopped = None
        self.cancelled = False
        self._left = self._budget
        self._wall_left = self._budget * WALL_FACTOR
        self._since = _thread_time()
        self._wall_since = _monotonic()
        _set_deadline(store._context(), self._first_ticks)

    def pause(self) -> None:
        """The guest calls the host: the time until `resume` is not the guest's."""
        self._left -= _thread_time() - self._since
        self._wall_left -= _monotonic() - self._wall_since

    def resume(self, store: Any) -> None:
        """The guest runs again (`store`: a `Store` or the `StoreContext` of a host function)."""
        self._since = _thread_time()
        self._wall_since = _monotonic()
        left = self._left  # CPU time never outruns wall time: a check when it could be used up
        _set_deadline(store._context(), SLICE if left > _SLICE_SECONDS else self._ticks(left))

    def cancel(self) -> None:
        """Stop the running guest at its next epoch check (the current call only)."""
        self.cancelled = True
        self._check_now()

    def interrupt(self) -> None:
        """Stop the running guest at its next epoch check; refuse every later call."""
        self.interrupted = True
        self._check_now()

    def _check_now(self) -> None:
        for _ in range(SLICE + 1):  # past the running store's deadline: it calls back now
            self.engine.increment_epoch()

    @staticmethod
    def _ticks(left: float) -> int:
        return max(1, min(SLICE, math.ceil(left / TICK))) if left != math.inf else SLICE

    def _on_epoch(self, context: Any, data: Any, delta: Any, kind: Any) -> int:
        """wasmtime's epoch callback: another slice (0), or an error that ends the guest."""
        try:
            if self.interrupted or self.cancelled:
                return self._stop(INTERRUPTED)
            left = self._left - (_thread_time() - self._since)
            if left <= 0 or self._wall_left - (_monotonic() - self._wall_since) <= 0:
                return self._stop(DEADLINE)
            delta[0] = self._ticks(left)
            kind[0] = _CONTINUE
            return 0
        except BaseException:  # never seen; an answer wasmtime can use all the same
            return self._stop(INTERRUPTED)

    def _stop(self, why: str) -> int:
        self.stopped = why
        error = _ffi.wasmtime_error_new(f"witgen: {why}".encode())
        address: int = ctypes.cast(error, ctypes.c_void_p).value or 0
        return address


# --------------------------------------------------------------------------- sizes

_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1 << 10, "m": 1000**2, "mb": 1000**2, "mib": 1 << 20,
          "g": 1000**3, "gb": 1000**3, "gib": 1 << 30}  # fmt: skip
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*")


def parse_size(text: str) -> int:
    """`256MiB`, `1.5GiB`, `64M`, `1048576` -> bytes; ValueError saying what is accepted."""
    found = _SIZE.fullmatch(text)
    unit = found.group(2).lower() if found else ""
    if found is None or unit not in _UNITS:
        raise ValueError(f"{text!r} is not a size (examples: 256MiB, 1GiB, 64MB, 1048576)")
    size = int(float(found.group(1)) * _UNITS[unit])
    if size <= 0:
        raise ValueError(f"{text!r}: the size must be more than 0 bytes")
    return size


def size_text(size: int) -> str:
    """Bytes as people read them: `256 MiB`, `1.5 GiB`, `1000 bytes`."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:g} {unit}"
    return f"{size} bytes"
