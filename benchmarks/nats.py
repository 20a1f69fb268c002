"""Calls over NATS: plain request/reply, hand-written wRPC, and witgen, in one run.

    .venv/bin/python benchmarks/nats.py [--calls N] [--in-flight K]

One nats-server (127.0.0.1, a free port) and one responder process; the same
ollama `chat` request and response bytes for all three:
  (a) plain nats-py request/reply (`nc.request`, one reply message);
  (b) the wRPC exchange written by hand on nats-py, one wildcard subscription per
      side (invocation, handshake, results, end of results, params close): the
      ceiling for this protocol in Python;
  (c) witgen: the generated `LlmAsyncClient` -> `NatsBus` -> NATS -> the
      runtime's responder -> dispatch table -> the sample's built-in provider (a
      sync method marked `nonblocking`, so run inline on the loop) -> back;
  (c') the same with a provider whose `chat` is not marked: it runs in the
      provider thread pool (a handoff to a worker thread and back).
Each is timed sequentially and with K calls in flight: calls per second, p50 and
p99 latency, the best of R interleaved rounds (5 by default; the cases in turn, in reverse order every
other round, so that none always follows another). Printed: (c)/(b), (c')/(b), and (b)/(a),
the cost of the protocol itself; then, with K in flight, the ratios of each round and their
median, against the targets: (c)/(b) at least 1.0, (c')/(b) at least 0.8. Last, with K in
flight, the CPU time (user + system) each process spent per call, median of the rounds
(Linux: read from /proc): the caller (this process), the responder and nats-server. The
three share the machine's cores, so calls per second follow the sum.
The responder lowers its GIL switch interval as the serve entry point does.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# This script is called nats.py: keep its folder off the path so `import nats` is nats-py.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

INSTANCE = "ollama:llm/llm"
RR_SUBJECT = "bench.rr.chat"
HAND_PREFIX = "bench.hand"
WITGEN_PREFIX = "bench.witgen"
POOL_PREFIX = "bench.pool"
HAND_SUBJECT = f"{HAND_PREFIX}.wrpc.0.0.1.{INSTANCE}.chat"


def chat_bytes() -> tuple[bytes, bytes]:
    """The encoded request and response of one `chat` call (5 messages), as witgen sends them."""
    from samples.ollama import provider
    from samples.ollama.actor import LlmClient
    from samples.ollama.bindings.ollama_llm.llm import ChatRequest, Message

    table = provider.dispatch_table()

    class Recorder:
        source = ""
        request = response = b""

        def invoke(self, instance: str, function: str, payload: bytes, *, timeout: float | None = None) -> bytes:
            self.request = payload
            self.response = table.dispatch(instance, function, payload)
            return self.response

    recorder = Recorder()
    messages = [Message("system", "You answer briefly.")] + [
        Message("user" if i % 2 == 0 else "assistant", f"message {i}: " + "words " * 30) for i in range(4)
    ]
    LlmClient(recorder).chat(ChatRequest("echo:latest", messages))  # type: ignore[arg-type]
    return recorder.request, recorder.response


# --------------------------------------------------------------------------- the responder process


async def respond(url: str) -> int:
    import signal

    import nats

    from samples.ollama import provider
    from samples.ollama.bindings.ollama_llm import provider as world
    from samples.ollama.bindings.ollama_llm.llm import ChatRequest, ChatResponse, StatusError
    from witgen.runtime.nats import NatsBus
    from witgen.runtime.nats.main import SWITCH_INTERVAL
    from witgen.runtime.values import Err, Ok

    class PooledLlm(provider.BuiltinLlm):
        def chat(self, req: ChatRequest) -> Ok[ChatResponse] | Err[StatusError]:  # not marked
            return super().chat(req)

    sys.setswitchinterval(SWITCH_INTERVAL)  # as the serve entry point does
    _, response = chat_bytes()
    nc = await nats.connect(url)

    async def plain(msg: Any) -> None:
        await nc.publish(msg.reply, response)

    inbox = nc.new_inbox()
    ids = itertools.count()

    async def wrpc(msg: Any) -> None:
        reply = msg.reply
        await nc.publish(reply, b"", reply=f"{inbox}.{next(ids)}")
        await nc.publish(reply + ".results", response)
        await nc.publish(reply + ".results", b"")

    async def params(msg: Any) -> None:
        pass  # the client's params close

    await nc.subscribe(RR_SUBJECT, queue="bench", cb=plain)
    await nc.subscribe(f"{HAND_PREFIX}.wrpc.0.0.1.>", queue=HAND_PREFIX, cb=wrpc)
    await nc.subscribe(inbox + ".>", cb=params)
    bus = await NatsBus.connect(url)
    await bus.endpoint(prefix=WITGEN_PREFIX).serve_async(provider.dispatch_table())
    await bus.endpoint(prefix=POOL_PREFIX).serve_async(world.dispatch_table(llm=PooledLlm()))
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print("serving", file=sys.stderr, flush=True)
    await stop.wait()
    await bus.close_async()
    await nc.close()
    return 0


# --------------------------------------------------------------------------- the callers


class HandWrpc:
    """A wRPC caller written by hand: one wildcard subscription on its inbox."""

    def __init__(self, nc: Any) -> None:
        self.nc = nc
        self.inbox = nc.new_inbox()
        self.skip = len(self.inbox) + 1
        self.pending: dict[str, tuple[asyncio.Future[bytes], list[bytes]]] = {}
        self.ids = itertools.count()

    async def start(self) -> None:
        await self.nc.subscribe(self.inbox + ".>", cb=self.on_message)

    async def on_message(self, msg: Any) -> None:
        cid, _, leg = msg.subject[self.skip :].partition(".")
        entry = self.pending.get(cid)
        if entry is None:
            return
        if not leg:
            await self.nc.publish(msg.reply + ".params", b"")
        elif msg.data:
            entry[1].append(msg.data)
        else:
            entry[0].set_result(b"".join(entry[1]))

    async def call(self, payload: bytes) -> bytes:
        cid = str(next(self.ids))
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bytes] = loop.create_future()
        self.pending[cid] = (future, [])
        timer = loop.call_later(10, future.cancel)
        try:
            await self.nc.publish(HAND_SUBJECT, payload, reply=f"{self.inbox}.{cid}")
            return await future
        finally:
            del self.pending[cid]
            timer.cancel()


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of process `pid` so far (None where /proc cannot tell)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


class CpuMeter:
    """CPU seconds of the processes of one run: this one (the caller), the responder, nats-server."""

    names = ("caller", "responder", "nats-server")

    def __init__(self, responder: int, server: int) -> None:
        self.pids = (os.getpid(), responder, server)

    def read(self) -> tuple[float | None, ...]:
        return tuple(cpu_seconds(pid) for pid in self.pids)

    @staticmethod
    def per_call(
        before: tuple[float | None, ...], after: tuple[float | None, ...], calls: int
    ) -> tuple[float | None, ...]:
        """Microseconds of CPU per call in each process."""
        return tuple(None if a is None or b is None else (b - a) / calls * 1e6 for a, b in zip(before, after))


WARM_UP = 200  # calls made before each measurement (at most as many as are measured)


async def measure(call: Callable[[], Awaitable[Any]], calls: int, in_flight: int) -> tuple[float, float, float]:
    """(calls per second, p50 ms, p99 ms)."""
    for _ in range(min(WARM_UP, calls)):
        await call()
    latencies: list[float] = []
    left = calls

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            t = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - t)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    elapsed = time.perf_counter() - start
    q = statistics.quantiles(latencies, n=100)
    return calls / elapsed, q[49] * 1000, q[98] * 1000


Figures = dict[tuple[str, int], tuple[float, float, float]]
CpuFigures = dict[str, list[tuple[float | None, ...]]]


async def bench(
    url: str, calls: int, in_flight: int, rounds: int, meter: CpuMeter
) -> tuple[Figures, list[Figures], CpuFigures]:
    """The best figures of each case over the rounds, every round's figures, and each
    round's CPU per call of each process with K in flight, by case."""
    import nats

    from samples.ollama.actor import LlmAsyncClient
    from samples.ollama.bindings.ollama_llm.llm import ChatRequest, Message
    from witgen.runtime.nats import NatsBus

    request, response = chat_bytes()
    nc = await nats.connect(url)
    hand = HandWrpc(nc)
    await hand.start()
    bus = await NatsBus.connect(url, prefix=WITGEN_PREFIX)
    llm = LlmAsyncClient(bus)
    pooled = LlmAsyncClient(bus.endpoint(prefix=POOL_PREFIX))
    messages = [Message("system", "You answer briefly.")] + [
        Message("user" if i % 2 == 0 else "assistant", f"message {i}: " + "words " * 30) for i in range(4)
    ]
    chat = ChatRequest("echo:latest", messages)

    async def a() -> None:
        msg = await nc.request(RR_SUBJECT, request, timeout=10)
        assert msg.data == response

    async def b() -> None:
        assert await hand.call(request) == response

    async def c() -> None:
        await llm.chat(chat)

    async def d() -> None:
        await pooled.chat(chat)

    # the same bytes travel in (c): checked once through the bus itself
    assert await bus.invoke_async(INSTANCE, "chat", request) == response
    results: Figures = {}
    each: list[Figures] = []
    cpu: CpuFigures = {}
    cases = [("a", a), ("b", b), ("c", c), ("d", d)]
    for number in range(rounds):  # interleaved rounds, the best of each: a shared machine is noisy
        each.append({})
        for name, fn in cases if number % 2 == 0 else cases[::-1]:
            for k, n in ((1, max(1, calls // 5)), (in_flight, calls)):
                before = meter.read()
                figures = each[-1][(name, k)] = await measure(fn, n, k)
                if k == in_flight:  # (the warm-up calls counted too: they are the same calls)
                    cpu.setdefault(name, []).append(meter.per_call(before, meter.read(), n + min(WARM_UP, n)))
                if figures[0] > results.get((name, k), (0.0,))[0]:
                    results[(name, k)] = figures
    await bus.close_async()
    await nc.close()
    return results, each, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000, help="calls with K in flight (sequential: a fifth)")
    parser.add_argument("--in-flight", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds; the best of each is kept")
    parser.add_argument("--respond", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.respond:
        return asyncio.run(respond(args.respond))

    from nats_server import NatsServer

    with NatsServer() as server:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "tests")]))
        responder = subprocess.Popen(
            [sys.executable, __file__, "--respond", server.url], env=env, stderr=subprocess.PIPE, text=True
        )
        assert responder.stderr is not None
        line = responder.stderr.readline()
        if not line.startswith("serving"):
            print(f"the responder did not start: {line}{responder.stderr.read()}", file=sys.stderr)
            return 1
        assert server.proc is not None
        meter = CpuMeter(responder.pid, server.proc.pid)
        try:
            results, each, cpu = asyncio.run(bench(server.url, args.calls, args.in_flight, args.rounds, meter))
        finally:
            responder.terminate()
            responder.wait(20)
    request, response = chat_bytes()
    print(f"ollama chat over NATS: request {len(request)} bytes, response {len(response)} bytes; "
          f"{args.calls // 5} sequential calls, {args.calls} with {args.in_flight} in flight, best of {args.rounds} rounds")
    names = {
        "a": "(a) nats-py request/reply",
        "b": "(b) wRPC by hand on nats-py",
        "c": "(c) witgen -> sample provider",
        "d": "(c') same, in thread pool",
    }
    print(f"{'':32} {'sequential':>30} {f'{args.in_flight} in flight':>30}")
    print(f"{'':32} {'calls/s':>10} {'p50 ms':>9} {'p99 ms':>9} {'calls/s':>10} {'p50 ms':>9} {'p99 ms':>9}")
    for key, label in names.items():
        s, p = results[(key, 1)], results[(key, args.in_flight)]
        print(f"{label:32} {s[0]:10.0f} {s[1]:9.3f} {s[2]:9.3f} {p[0]:10.0f} {p[1]:9.3f} {p[2]:9.3f}")
    for k, label in ((1, "sequential"), (args.in_flight, f"{args.in_flight} in flight")):
        cb = results[("c", k)][0] / results[("b", k)][0]
        db = results[("d", k)][0] / results[("b", k)][0]
        ba = results[("b", k)][0] / results[("a", k)][0]
        print(f"{label:>16}: (c)/(b) = {cb:.2f}   (c')/(b) = {db:.2f}   (b)/(a) = {ba:.2f}")
    k = args.in_flight
    for case, label, target in (("c", "(c)/(b)", 1.0), ("d", "(c')/(b)", 0.8)):
        ratios = [r[(case, k)][0] / r[("b", k)][0] for r in each]
        median = statistics.median(ratios)
        verdict = "met" if median >= target else "MISSED"
        print(f"{k} in flight, round by round: {label} = {', '.join(f'{x:.2f}' for x in ratios)};"
              f" median {median:.2f} (target >= {target}: {verdict})")
    print_cpu(cpu, names, k)
    return 0


def print_cpu(cpu: CpuFigures, names: dict[str, str], in_flight: int) -> None:
    """Each case's CPU per call in each process (median of the rounds), where /proc tells."""
    rows: list[tuple[str, list[float]]] = []
    for key, label in names.items():
        columns = list(zip(*cpu.get(key, [])))
        if not columns or any(x is None for column in columns for x in column):
            return  # not on Linux: no /proc to read
        rows.append((label, [statistics.median(x for x in column if x is not None) for column in columns]))
    print(f"CPU per call with {in_flight} in flight, us (user + system, median of the rounds; "
          f"at the clock's {1000 / os.sysconf('SC_CLK_TCK'):.0f} ms ticks)")
    print(f"{'':32} {''.join(f'{name:>12}' for name in CpuMeter.names)} {'sum':>10}")
    for label, medians in rows:
        print(f"{label:32} {''.join(f'{m:12.1f}' for m in medians)} {sum(medians):10.1f}")


if __name__ == "__main__":
    sys.exit(main())
