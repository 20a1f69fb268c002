"""Building test components: WebAssembly text and componentize-py, cached by content.

`wat_component` turns a core module in WebAssembly text into a component for a world
(`wasm-tools parse`, `component embed`, `component new`); `python_component` runs
componentize-py. Both keep the result in `folder` under a digest of everything that goes
into the build (the tool's version included), behind an exclusive file lock, so that
pytest-xdist workers and later runs build each component once.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        raise FileNotFoundError(f"{name} is not installed beside {sys.executable}")
    return str(path)


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _digest(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()[:32]


def _tree(folder: Path) -> list[bytes]:
    """Every file under `folder` (sorted relative path and content)."""
    return [
        f"{p.relative_to(folder).as_posix()}\0".encode() + p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    ]


def _version(cmd: str) -> str:
    return subprocess.run([cmd, "--version"], capture_output=True, text=True, check=True).stdout.strip()


def _cached(out: Path, build: callable) -> Path:  # type: ignore[valid-type]
    if out.exists():
        return out
    with locked(out.with_suffix(".lock")):
        if not out.exists():
            tmp = out.with_suffix(".tmp")
            build(tmp)
            os.replace(tmp, out)
    return out


def wat_component(wat: str, wit_dir: Path, world: str, folder: Path) -> Path:
    """The component of a core module in text form, built for `world` of `wit_dir`."""
    from conftest import wasm_tools_path

    wasm_tools = wasm_tools_path() or tool("wasm-tools")
    key = _digest(wat, world, _version(wasm_tools), *_tree(wit_dir))
    out = folder / f"wat-{key}.wasm"

    def build(tmp: Path) -> None:
        core = tmp.with_suffix(".core.wasm")
        embedded = tmp.with_suffix(".embed.wasm")
        subprocess.run([wasm_tools, "parse", "-o", str(core)], input=wat.encode(), check=True)
        subprocess.run(
            [wasm_tools, "component", "embed", str(wit_dir), "--world", world, str(core), "-o", str(embedded)],
            check=True,
        )
        subprocess.run([wasm_tools, "component", "new", str(embedded), "-o", str(tmp)], check=True)
        core.unlink()
        embedded.unlink()

    return _cached(out, build)


def python_component(app_dir: Path, module: str, wit_dir: Path, world: str, folder: Path) -> Path:
    """The componentize-py build of `module` (in `app_dir`) for `world` of `wit_dir`."""
    cpy = tool("componentize-py")
    key = _digest(module, world, _version(cpy), *_tree(wit_dir), *_tree(app_dir))
    out = folder / f"py-{key}.wasm"

    def build(tmp: Path) -> None:
        subprocess.run(
            [cpy, "-d", str(wit_dir), "-w", world, "componentize", "-p", str(app_dir), module, "-o", str(tmp)],
            check=True,
            capture_output=True,
        )

    return _cached(out, build)
