"""Build a guest project into one component with componentize-py, cached by content.

The key is a digest of every file of the project, the componentize-py arguments and
componentize-py's version: the same WIT, options and witgen runtime give the same
component, copied from `<cache>/bridge/<key>.wasm` (`$WITGEN_CACHE_DIR`, else
`$XDG_CACHE_HOME/witgen`, else `~/.cache/witgen`; `WITGEN_CACHE_DIR=""` turns it off).
Entries are signed with this user's key (`witgen.cachesign`): a component there that this
user's witgen did not build (a shared or restored cache folder) is built again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from witgen.bridge.dtors import retarget
from witgen.bridge.plan import BridgeError
from witgen.workflow.formatcache import default_folder, prune_lru, read_entry, write_entry

__all__ = ["build", "componentize_py", "digest"]

KEEP = 12  # cached components (about 18 MB each)


def componentize_py() -> str:
    """The componentize-py executable (the `witgen[bridge]` extra installs it)."""
    beside = Path(sys.executable).parent / "componentize-py"
    found = str(beside) if beside.exists() else shutil.which("componentize-py")
    if found is None:
        raise BridgeError("componentize-py is not installed: pip install 'witgen[bridge]'")
    return found


def _version(tool: str) -> str:
    try:
        done = subprocess.run([tool, "--version"], capture_output=True, text=True, timeout=60)
    except OSError as exc:
        raise BridgeError(f"cannot run {tool}: {exc}") from None
    return done.stdout.strip()


def digest(files: dict[str, bytes], extra: str = "") -> str:
    """A digest of a project's files (paths and bytes) and `extra`."""
    h = hashlib.sha256(extra.encode())
    for rel in sorted(files):
        h.update(f"\0{rel}\0{len(files[rel])}\0".encode())
        h.update(files[rel])
    return h.hexdigest()[:32]


def build(files: dict[str, bytes], output: Path, *, cache: Path | None | bool = True) -> bool:
    """Write the component of project `files` to `output`; True when it came from the cache.

    `files` must hold `componentize.json` (`{"args": [...], "app": module}`, and
    `"dtors": [[destructor, hook], ...]` to retarget, see `witgen.bridge.dtors`), as
    `witgen.bridge.guest.emit` writes it. Raises `BridgeError` with componentize-py's
    message when the build fails; `output` is then left as it was.
    """
    tool = componentize_py()
    spec = json.loads(files["componentize.json"])
    folder = default_folder() if cache is True else (cache or None)
    key = digest(files, _version(tool))
    cached = folder / "bridge" / f"{key}.wasm" if folder is not None else None
    known = read_entry(cached) if cached is not None else None
    if known is not None:
        _install(known, output)
        return True
    with tempfile.TemporaryDirectory(prefix="witgen-bridge-") as tmp:
        project = Path(tmp)
        for rel, data in files.items():
            (project / rel).parent.mkdir(parents=True, exist_ok=True)
            (project / rel).write_bytes(data)
        built = project / "out.wasm"
        cmd = [tool, *spec["args"], "componentize", "-p", ".", spec["app"], "-o", str(built)]
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
        done = subprocess.run(cmd, cwd=project, capture_output=True, text=True, env=env)
        if done.returncode != 0 or not built.is_file():
            detail = (done.stderr or done.stdout).strip().splitlines()
            last = detail[-1] if detail else f"exit status {done.returncode}"
            raise BridgeError(f"componentize-py failed: {last}")
        if spec.get("dtors"):
            built.write_bytes(retarget(built.read_bytes(), [(a, b) for a, b in spec["dtors"]]))
        component = built.read_bytes()
        if cached is not None and write_entry(cached, component):
            prune_lru(cached.parent, KEEP)
        _install(component, output)
    return False


def _install(component: bytes, target: Path) -> None:
    """Write `component` to `target` atomically (a temporary file beside it, then a rename)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(component)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        os.unlink(tmp)
        raise
