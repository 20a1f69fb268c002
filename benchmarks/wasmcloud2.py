"""Per-call latency and calls per second through `witgen bridge` in wasmCloud 2.x, in one run.

    .venv/bin/python benchmarks/wasmcloud2.py [--calls N]

One `wash dev` workload (as tests/test_bridge_wash.py builds it: an HTTP app, the
stateful actor, one bridge that provides ollama:llm/llm and exposes the actor) on a
nats-server on 127.0.0.1, and the Python ollama provider serving on NATS. Sequential
calls, each case in turn:

1. bare NATS round trip: a plain request to an echo responder (nats-py both sides);
2. the provider alone over NATS: Python -> NATS -> provider -> back (the request/reply
   leg, as the bridge sends it, to `python -m samples.ollama.provider`);
3. the app alone: HTTP GET /alone (the app answers without calling anything);
4. --provide: HTTP GET /chat, app -> bridge -> NATS -> Python provider -> back;
5. --expose: the generated StateClient on a NatsBus, Python -> NATS -> bridge
   -> actor -> back (wRPC: handshake, result, end of results).

Prints p50 / p90 per call and calls per second, and the bridges' p50 against the app
alone and against the bare round trip. Needs the test extra and ../shared (wasi:http WIT).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# benchmarks/nats.py would shadow nats-py
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from bridge_guests import actor_project, app_project  # noqa: E402
from nats_server import NatsServer, Served  # noqa: E402
from test_bridge_wash import EXPOSE, OLLAMA_WIT, PREFIX, SETTINGS, STATEFUL_WIT, bridge_wit  # noqa: E402
from wasmcloud2 import WashDev, componentize  # noqa: E402

from samples.ollama.bindings.ollama_llm import llm  # noqa: E402
from samples.stateful.provider import StateClient  # noqa: E402
from witgen.bridge import make_bridge  # noqa: E402
from witgen.runtime import codec  # noqa: E402
from witgen.runtime.nats import NatsBus  # noqa: E402

SHARED = ROOT.parent / "shared"


def measure(call: Callable[[], object], n: int) -> list[float]:
    for _ in range(3):
        call()
    times = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return times


class Echo:
    """A nats-py echo responder on its own loop thread, and a blocking request to it."""

    def __init__(self, url: str) -> None:
        import nats

        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

        async def start() -> object:
            nc = await nats.connect(url)

            async def echo(msg: object) -> None:
                await msg.respond(msg.data)  # type: ignore[attr-defined]

            await nc.subscribe("bench.echo", cb=echo)
            return nc

        self.nc = asyncio.run_coroutine_threadsafe(start(), self.loop).result()

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.nc.close(), self.loop).result(10)  # type: ignore[attr-defined]
        self.loop.call_soon_threadsafe(self.loop.stop)

    def request(self, subject: str, body: bytes) -> bytes:
        fut = asyncio.run_coroutine_threadsafe(self.nc.request(subject, body, timeout=10), self.loop)  # type: ignore[attr-defined]
        return bytes(fut.result().data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    n = parser.parse_args().calls
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        app = componentize(app_project(SHARED / "corpus/real/wasi-http-0.2.8", OLLAMA_WIT), folder / "app.wasm")
        actor = componentize(actor_project(STATEFUL_WIT, ROOT / "samples/stateful/component/app.py"), folder / "actor.wasm")
        bridge = folder / "bridge.wasm"
        make_bridge(bridge_wit(folder / "wit"), SETTINGS, ["ollama:llm/llm"],
                    ["wamli:stateful/state", "wamli:stateful/model"], output=bridge)  # fmt: skip
        with contextlib.ExitStack() as stack:
            nats = stack.enter_context(NatsServer())
            t0 = time.perf_counter()
            wash = WashDev(folder, nats.url, app, {"bridge": bridge, "actor": actor},
                           {"subscriptions": f"{EXPOSE}.wrpc.0.0.1.>"}, timeout=3600)  # fmt: skip
            stack.callback(wash.stop)
            print(f"wash dev: workload of 3 components listening after {time.perf_counter() - t0:.1f} s")
            echo = Echo(nats.url)
            stack.callback(echo.close)
            provider = Served("-m", "samples.ollama.provider", "--nats", nats.url, "--prefix", PREFIX)
            stack.callback(provider.stop)
            bus = NatsBus.connect_sync(nats.url, source="bench")
            stack.callback(bus.close)
            request = llm.ChatRequest("echo:latest", [llm.Message("user", "hi")])
            chat = codec.function(llm.FUNCTIONS["chat"]).encode_params(request)
            state = StateClient(bus.endpoint(prefix=EXPOSE))
            cases = {
                "bare NATS round trip": lambda: echo.request("bench.echo", b"x"),
                "provider alone over NATS": lambda: echo.request(f"{PREFIX}.rr.0.0.1.ollama:llm/llm.chat", chat),
                "app alone (HTTP)": lambda: wash.get("/alone"),
                "--provide: app -> bridge -> Python": lambda: wash.get("/chat?model=echo:latest&q=hi"),
                "--expose: Python -> bridge -> actor": lambda: state.get_data(),
            }
            results = {name: measure(call, n) for name, call in cases.items()}
    p50 = {name: statistics.median(t) for name, t in results.items()}
    print(f"{n} sequential calls per case")
    print(f"{'case':40} {'p50 ms':>8} {'p90 ms':>8} {'calls/s':>9}")
    for name, t in results.items():
        p90 = statistics.quantiles(t, n=10)[-1]
        print(f"{name:40} {p50[name] * 1e3:8.2f} {p90 * 1e3:8.2f} {len(t) / sum(t):9.0f}")
    bare, alone = p50["bare NATS round trip"], p50["app alone (HTTP)"]
    for name in ("--provide: app -> bridge -> Python", "--expose: Python -> bridge -> actor"):
        print(f"{name}: {p50[name] / alone:.1f}x the app alone, {p50[name] / bare:.0f}x the bare round trip")


if __name__ == "__main__":
    main()
