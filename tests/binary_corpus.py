"""Reference outputs for the binary decoding tests, made by wasm-tools and kept on disk.

Each input (a WIT folder or file, or a component) is turned into a `.wasm` and read back
by `wasm-tools component wit` (as JSON and as WIT). Results are stored in pytest's cache
folder under a digest of the input and the tool's version, so a later run spends no time
on them; the first run makes them in a small thread pool (the calls are subprocesses).
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path

from msgspec import Struct


class Reference(Struct, frozen=True):
    """A binary and what wasm-tools prints for it (`error` when it cannot make or read it)."""

    wasm: Path
    json: str = ""
    wit: str = ""
    error: str = ""


def _tree_digest(path: Path) -> bytes:
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for p in files:
        h.update(str(p.relative_to(path) if path.is_dir() else p.name).encode() + b"\0")
        h.update(p.read_bytes())
    return h.digest()


class Corpus:
    """Builds and remembers references in `folder`."""

    def __init__(self, wasm_tools: str, folder: Path) -> None:
        self.tool = wasm_tools
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.version = subprocess.run(
            [wasm_tools, "--version"], capture_output=True, text=True, check=True
        ).stdout.strip()

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([self.tool, *args], capture_output=True, text=True)

    def _key(self, *parts: bytes | str) -> str:
        h = hashlib.sha256(self.version.encode())
        for part in parts:
            h.update(part if isinstance(part, bytes) else part.encode())
            h.update(b"\0")
        return h.hexdigest()[:24]

    def _cached(self, key: str, make: Callable[[Path], str]) -> Reference:
        """The reference stored under `key`, made with `make(wasm_path)` (an error or "")."""
        wasm = self.folder / f"{key}.wasm"
        meta = self.folder / f"{key}.json"
        if meta.exists():
            data = json.loads(meta.read_text())
            return Reference(wasm, data["json"], data["wit"], data["error"])
        error = make(wasm)
        ref = Reference(wasm, error=error)
        if not error:
            as_json = self._run("component", "wit", "--json", str(wasm))
            as_wit = self._run("component", "wit", str(wasm))
            if as_json.returncode or as_wit.returncode:
                ref = Reference(wasm, error=(as_json.stderr or as_wit.stderr).strip())
            else:
                ref = Reference(wasm, as_json.stdout, as_wit.stdout)
        tmp = meta.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"json": ref.json, "wit": ref.wit, "error": ref.error}))
        os.replace(tmp, meta)
        return ref

    def package(self, source: Path, features: str = "active") -> Reference:
        """The root package of the WIT at `source`, encoded as a component."""

        def make(wasm: Path) -> str:
            out = self._run(
                "component", "wit", "--wasm", "--features", features, str(source), "-o", str(wasm)
            )
            return out.stderr.strip() if out.returncode else ""

        return self._cached(self._key("package", features, _tree_digest(source)), make)

    def dummy_component(self, source: Path, world: str) -> Reference:
        """A component made by `component new` from a dummy core module for `world`."""

        def make(wasm: Path) -> str:
            core = wasm.with_suffix(".core.wasm")
            out = self._run(
                "component", "embed", "--dummy", "--features", "active", str(source),
                "--world", world, "-o", str(core),
            )  # fmt: skip
            if out.returncode == 0:
                out = self._run("component", "new", str(core), "-o", str(wasm))
            core.unlink(missing_ok=True)
            return out.stderr.strip() if out.returncode else ""

        return self._cached(self._key("dummy", world, _tree_digest(source)), make)

    def dummy_module(self, source: Path, world: str) -> Reference:
        """A core module with the `component-type` section `component embed --dummy` adds."""

        def make(wasm: Path) -> str:
            out = self._run(
                "component", "embed", "--dummy", "--features", "active", str(source),
                "--world", world, "-o", str(wasm),
            )  # fmt: skip
            return out.stderr.strip() if out.returncode else ""

        return self._cached(self._key("module", world, _tree_digest(source)), make)

    def component(self, wasm_path: Path) -> Reference:
        """A component built elsewhere, copied in."""

        def make(wasm: Path) -> str:
            wasm.write_bytes(wasm_path.read_bytes())
            return ""

        return self._cached(self._key("component", _tree_digest(wasm_path)), make)

    def many(self, jobs: Iterable[Callable[[], Reference]]) -> list[Reference]:
        """Run `jobs` two at a time (each is a few subprocesses)."""
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            return list(pool.map(lambda job: job(), jobs))
