"""Calls over NATS: plain request/reply, hand-written wRPC, and witgen, in one run.

    .venv/bin/python benchmarks/nats.py [--calls N] [--in-flight K]

One nats-server (127.0.0.1, a free port) and one responder process; the same
ollama `chat` request and response bytes for all three:
  (a) plain nats-py request/reply (`nc.request`, one reply message);
  (b) the wRPC exchange written by hand on nats-py, one wildcard subscription per
      side (invocation, handshake, results, end of results, params close): the
      ceiling for this protocol in Python;
  (c) witgen: the generated `LlmAsyncClient` -> `NatsBus` -> NATS -> the
      runtime's serve entry point -> dispatch table -> the sample's built-in
      provider (a sync method, run in the provider thread pool) -> back.
Each is timed sequentially and with K calls in flight: calls per second, p50 and
p99 latency, the best of R interleaved rounds. Printed: (c)/(b), the target being at least 0.8 both ways, and
(b)/(a), the cost of the protocol itself.
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
    import nats

    from samples.ollama import provider
    from witgen.runtime.nats.main import serve

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
    try:
        return await serve([provider.dispatch_table()], url, prefix=WITGEN_PREFIX)
    finally:
        await nc.close()


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


async def measure(call: Callable[[], Awaitable[Any]], calls: int, in_flight: int) -> tuple[float, float, float]:
    """(calls per second, p50 ms, p99 ms)."""
    for _ in range(min(200, calls)):  # warm up
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


async def bench(url: str, calls: int, in_flight: int, rounds: int) -> dict[tuple[str, int], tuple[float, float, float]]:
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

    # the same bytes travel in (c): checked once through the bus itself
    assert await bus.invoke_async(INSTANCE, "chat", request) == response
    results: dict[tuple[str, int], tuple[float, float, float]] = {}
    for _ in range(rounds):  # interleaved rounds, the best of each: a shared machine is noisy
        for name, fn in (("a", a), ("b", b), ("c", c)):
            for k, n in ((1, max(1, calls // 5)), (in_flight, calls)):
                figures = await measure(fn, n, k)
                if figures[0] > results.get((name, k), (0.0,))[0]:
                    results[(name, k)] = figures
    await bus.close_async()
    await nc.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000, help="calls with K in flight (sequential: a fifth)")
    parser.add_argument("--in-flight", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the best of each is kept")
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
        try:
            results = asyncio.run(bench(server.url, args.calls, args.in_flight, args.rounds))
        finally:
            responder.terminate()
            responder.wait(20)
    request, response = chat_bytes()
    print(f"ollama chat over NATS: request {len(request)} bytes, response {len(response)} bytes; "
          f"{args.calls // 5} sequential calls, {args.calls} with {args.in_flight} in flight, best of {args.rounds} rounds")
    names = {"a": "(a) nats-py request/reply", "b": "(b) wRPC by hand on nats-py", "c": "(c) witgen client -> dispatch"}
    print(f"{'':32} {'sequential':>30} {f'{args.in_flight} in flight':>30}")
    print(f"{'':32} {'calls/s':>10} {'p50 ms':>9} {'p99 ms':>9} {'calls/s':>10} {'p50 ms':>9} {'p99 ms':>9}")
    for key, label in names.items():
        s, p = results[(key, 1)], results[(key, args.in_flight)]
        print(f"{label:32} {s[0]:10.0f} {s[1]:9.3f} {s[2]:9.3f} {p[0]:10.0f} {p[1]:9.3f} {p[2]:9.3f}")
    for k, label in ((1, "sequential"), (args.in_flight, f"{args.in_flight} in flight")):
        cb = results[("c", k)][0] / results[("b", k)][0]
        ba = results[("b", k)][0] / results[("a", k)][0]
        print(f"{label:>16}: (c)/(b) = {cb:.2f} (target >= 0.8)   (b)/(a) = {ba:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
