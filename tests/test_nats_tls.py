"""wRPC over NATS with TLS: a `tls://` URL against a nats-server with a self-signed certificate."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from nats_server import NatsServer, nats_server_path  # noqa: E402

from samples.ollama import actor, provider  # noqa: E402
from witgen.cli import main as witgen  # noqa: E402
from witgen.runtime.bus import TransportError  # noqa: E402
from witgen.runtime.nats import NatsBus  # noqa: E402


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    if nats_server_path() is None or shutil.which("openssl") is None:
        pytest.skip("needs nats-server and openssl")
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    with NatsServer("--tls", "--tlscert", str(cert), "--tlskey", str(key)) as server:
        yield f"tls://127.0.0.1:{server.port}", str(cert)


def test_calls_over_tls(tls_server: tuple[str, str]) -> None:
    url, ca = tls_server
    serving = NatsBus.connect_sync(url, tls_ca=ca, prefix="t.tls")
    caller = NatsBus.connect_sync(url, tls_ca=ca, prefix="t.tls")
    try:
        serving.serve(provider.dispatch_table())
        assert actor.ask(actor.LlmClient(caller), "reverse:latest", "tls") == "slt"
        r = CliRunner().invoke(
            witgen, ["call", "--nats", url, "--tls-ca", ca, "--prefix", "t.tls", "--wit",
                     str(ROOT / "samples" / "ollama" / "wit"), "ollama:llm/llm.show", '{name: "echo:latest"}'],
        )
        assert r.exit_code == 0 and r.output.startswith("ok({license:")
    finally:
        caller.close()
        serving.close()


def test_untrusted_certificate_is_one_clear_error(tls_server: tuple[str, str]) -> None:
    url, _ = tls_server
    with pytest.raises(TransportError, match="cannot connect to tls://127.0.0.1:.*CERTIFICATE_VERIFY_FAILED"):
        NatsBus.connect_sync(url)
    r = CliRunner().invoke(
        witgen, ["call", "--nats", url, "--wit", str(ROOT / "samples" / "ollama" / "wit"), "ollama:llm/llm.list"]
    )
    assert r.exit_code == 1 and r.output.count("\n") == 1 and "cannot connect" in r.output
