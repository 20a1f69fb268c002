"""Loading components: one engine, compiled artifacts cached on disk, per-call deadlines.

    engine = engine_for()                      # epoch interruption on, shared per process
    component = load(engine, "actor.wasm")     # compiles once, then deserializes the artifact

Compiling a component is slow (seconds for a componentize-py build), so the artifact of
`Component.serialize` is kept under `<cache>/wasm/<key>.cwasm`, the key a digest of the
component's bytes, the wasmtime version and the engine configuration. Concurrent processes
(pytest-xdist workers) take an exclusive `flock` on `<key>.lock` while one compiles; the
others wait and then deserialize. `Component.deserialize` trusts its input (an artifact is
native code), so every artifact is signed with this user's key (`witgen.cachesign`) and the
signature is checked first: an artifact that is damaged, or that this user's witgen did not
write (a shared or restored cache folder), is never deserialized but compiled again.

A compile runs in a worker thread while the caller waits in short polls, so Ctrl-C in the
main thread ends the wait at once (KeyboardInterrupt; the abandoned compile finishes in its
daemon thread and writes nothing); `load(..., progress=...)` is told of the compile as it goes.

Location: `$WITGEN_CACHE_DIR`, else `$XDG_CACHE_HOME/witgen`, else `~/.cache/witgen`;
`WITGEN_CACHE_DIR=""` turns the disk cache off (every load compiles).

Deadlines: the engine counts epochs; a daemon thread ticks it every `TICK` seconds, and
`witgen.runtime.wasm.limits.Limits` turns the ticks into each call's deadline.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.metadata
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import wasmtime
from wasmtime.component import Component

from witgen import cachesign

__all__ = ["TICK", "Compiling", "ComponentLoadError", "cache_folder", "engine_for", "load", "start_ticker"]

TICK = 0.01  # seconds per epoch
POLL = 0.1  # seconds between looks at a compile in progress (and progress reports)
WASMTIME_VERSION = importlib.metadata.version("wasmtime")
# Everything about the engine that changes compiled code; part of the cache key.
ENGINE_SETTINGS = (("epoch_interruption", True), ("wasm_component_model", True))


class ComponentLoadError(Exception):
    """A file that cannot be read or is not a valid component; the message says which."""


@dataclass(frozen=True)
class Compiling:
    """A compile in progress, as `load` reports it: at the start, every `POLL` seconds, and
    once more with `done` when it ends (compiled, failed or interrupted)."""

    where: str  # the file path as given, or "component bytes"
    size: int  # bytes of the component
    cached: bool  # whether the result goes to the disk cache (the next load deserializes it)
    elapsed: float  # seconds since the compile started
    done: bool = False


Progress = Callable[[Compiling], None]


def cache_folder() -> Path | None:
    """The compiled-artifact folder from the environment, or None when caching is off."""
    configured = os.environ.get("WITGEN_CACHE_DIR")
    if configured is not None:
        return Path(configured) / "wasm" if configured else None
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "witgen" / "wasm"


_engine: wasmtime.Engine | None = None
_engine_lock = threading.Lock()


def engine_for() -> wasmtime.Engine:
    """The process's engine (one engine lets every component share the epoch ticker)."""
    global _engine
    with _engine_lock:
        if _engine is None:
            config = wasmtime.Config()
            for name, value in ENGINE_SETTINGS:
                setattr(config, name, value)
            _engine = wasmtime.Engine(config)
            start_ticker(_engine)
        return _engine


def start_ticker(engine: wasmtime.Engine) -> None:
    """Increment `engine`'s epoch every `TICK` seconds from a daemon thread."""

    def tick() -> None:
        while True:
            time.sleep(TICK)
            engine.increment_epoch()

    threading.Thread(target=tick, name="witgen-wasm-epoch", daemon=True).start()


def cache_key(wasm: bytes) -> str:
    """The artifact name for a component's bytes under this wasmtime and engine config."""
    h = hashlib.sha256()
    h.update(f"wasmtime {WASMTIME_VERSION} {ENGINE_SETTINGS!r}\0".encode())
    h.update(wasm)
    return h.hexdigest()


def load(
    engine: wasmtime.Engine, source: str | os.PathLike[str] | bytes, *, progress: Progress | None = None
) -> Component:
    """A compiled component from a file path or its bytes, through the on-disk cache.

    `progress` is called while a compile runs (not for an artifact read from the cache).
    Ctrl-C during a compile raises KeyboardInterrupt at once and caches nothing.
    """
    if isinstance(source, bytes):
        wasm, where = source, "component bytes"
    else:
        where = os.fspath(source)
        try:
            wasm = Path(where).read_bytes()
        except OSError as exc:
            raise ComponentLoadError(f"{where}: cannot read: {exc.strerror or exc}") from None
    if wasm[:8] != b"\0asm\x0d\x00\x01\x00":
        kind = "a core module" if wasm[:8] == b"\0asm\x01\x00\x00\x00" else "not WebAssembly"
        raise ComponentLoadError(f"{where}: not a component ({kind})")
    folder = cache_folder()
    if folder is None:
        return _compile(engine, wasm, where, progress, cached=False)
    key = cache_key(wasm)
    artifact = folder / f"{key}.cwasm"
    component = _read_artifact(engine, artifact)
    if component is not None:
        return component
    with _locked(folder / f"{key}.lock"):
        component = _read_artifact(engine, artifact)  # another process may have written it
        if component is not None:
            return component
        component = _compile(engine, wasm, where, progress, cached=True)
        with _sigint_deferred():  # a whole entry or none, and no temporary file left behind
            _write_artifact(artifact, bytes(component.serialize()))
        return component


def _compile(engine: wasmtime.Engine, wasm: bytes, where: str, progress: Progress | None, *, cached: bool) -> Component:
    """`Component(engine, wasm)` in a daemon thread (wasmtime's C call releases the GIL),
    waited for in `POLL` steps so that a signal handler runs in the caller at once."""
    outcome: list[Component | BaseException] = []

    def compile_() -> None:
        try:
            outcome.append(Component(engine, wasm))
        except BaseException as exc:  # handed to the caller's thread
            outcome.append(exc)

    worker = threading.Thread(target=compile_, name="witgen-wasm-compile", daemon=True)
    started = time.monotonic()
    worker.start()
    try:
        while True:
            if progress is not None:
                progress(Compiling(where, len(wasm), cached, time.monotonic() - started))
            worker.join(POLL)
            if not worker.is_alive():
                break
    finally:
        if progress is not None:
            progress(Compiling(where, len(wasm), cached, time.monotonic() - started, done=True))
    result = outcome[0]
    if isinstance(result, Component):
        return result
    if isinstance(result, wasmtime.WasmtimeError):
        first = str(result).strip().splitlines()[0] if str(result).strip() else "invalid"
        raise ComponentLoadError(f"{where}: not a valid component: {first}") from None
    raise result


@contextlib.contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Inside, SIGINT waits (in the main thread): its handler runs once the block is done."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received and callable(previous):
            previous(signal.SIGINT, None)
        elif received and previous == signal.SIG_DFL:
            signal.raise_signal(signal.SIGINT)


def _read_artifact(engine: wasmtime.Engine, path: Path) -> Component | None:
    """The deserialized artifact at `path`; None when absent, damaged, unsigned or unusable."""
    body = cachesign.read_entry(path)
    if body is None:
        return None  # never handed to deserialize
    try:
        return Component.deserialize(engine, body)
    except wasmtime.WasmtimeError:
        return None


def _write_artifact(path: Path, body: bytes) -> None:
    """Write signed and atomically (temporary file, then rename); a failure only costs the cache."""
    cachesign.write_entry(path, body)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock between processes (and threads: each holds its own descriptor)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        yield  # an unwritable cache folder: compile without sharing
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
