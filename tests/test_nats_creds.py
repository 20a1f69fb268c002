"""NATS credentials (`--creds FILE`): a nats-server in operator mode, a user's .creds file.

The operator, account and user keys and JWTs are made here with nkeys (what `nsc`
would write), the account preloaded in the server's memory resolver.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from nats_server import NatsServer, Served, nats_server_path  # noqa: E402

from witgen.cli import main as witgen  # noqa: E402
from witgen.runtime.bus import TransportError  # noqa: E402
from witgen.runtime.nats import NatsBus  # noqa: E402

nkeys = pytest.importorskip("nkeys")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _key(prefix: int) -> tuple[bytes, Any, str]:
    seed = nkeys.encode_seed(os.urandom(32), prefix)
    pair = nkeys.from_seed(bytearray(seed))
    return seed, pair, pair.public_key.decode()


def _jwt(signer: Any, claims: dict[str, Any]) -> str:
    claims = dict(claims, iat=int(time.time()))
    digest = hashlib.sha256(json.dumps(claims, separators=(",", ":")).encode()).digest()
    claims["jti"] = base64.b32encode(digest).decode().rstrip("=")
    head = _b64(json.dumps({"typ": "JWT", "alg": "ed25519-nkey"}).encode())
    body = _b64(json.dumps(claims, separators=(",", ":")).encode())
    return f"{head}.{body}.{_b64(signer.sign(f'{head}.{body}'.encode()))}"


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    if nats_server_path() is None:
        pytest.skip("nats-server is not installed")
    d = tmp_path_factory.mktemp("creds")
    _, operator, op_pub = _key(nkeys.PREFIX_BYTE_OPERATOR)
    _, account, acc_pub = _key(nkeys.PREFIX_BYTE_ACCOUNT)
    user_seed, _, user_pub = _key(nkeys.PREFIX_BYTE_USER)
    unlimited = {"subs": -1, "data": -1, "payload": -1}
    op_jwt = _jwt(operator, {"iss": op_pub, "sub": op_pub, "name": "op", "nats": {"type": "operator", "version": 2}})
    acc_jwt = _jwt(operator, {"iss": op_pub, "sub": acc_pub, "name": "acc", "nats": {
        "limits": {**unlimited, "imports": -1, "exports": -1, "wildcards": True, "conn": -1, "leaf": -1},
        "default_permissions": {"pub": {}, "sub": {}}, "type": "account", "version": 2}})
    user_jwt = _jwt(account, {"iss": acc_pub, "sub": user_pub, "name": "user", "nats": {
        "pub": {}, "sub": {}, **unlimited, "type": "user", "version": 2}})
    (d / "server.conf").write_text(
        f"operator: {op_jwt}\nresolver: MEMORY\nresolver_preload: {{\n  {acc_pub}: {acc_jwt}\n}}\n"
    )
    creds = d / "user.creds"
    creds.write_text(
        f"-----BEGIN NATS USER JWT-----\n{user_jwt}\n------END NATS USER JWT------\n\n"
        f"-----BEGIN USER NKEY SEED-----\n{user_seed.decode()}\n------END USER NKEY SEED------\n"
    )
    with NatsServer("-c", str(d / "server.conf")) as server:
        yield server.url, str(creds)


def test_without_credentials_one_clear_error(secured: tuple[str, str]) -> None:
    url, _ = secured
    with pytest.raises(TransportError, match="cannot connect to nats://127.0.0.1:.*Authorization Violation"):
        NatsBus.connect_sync(url)


def test_provider_and_call_with_credentials(secured: tuple[str, str]) -> None:
    url, creds = secured
    with Served("-m", "samples.ollama.provider", "--nats", url, "--prefix", "t.creds", "--creds", creds) as p:
        r = CliRunner().invoke(
            witgen, ["call", "--nats", url, "--creds", creds, "--prefix", "t.creds", "--wit",
                     str(ROOT / "samples" / "ollama" / "wit"), "ollama:llm/llm.show", '{name: "reverse:latest"}'],
        )
        assert r.exit_code == 0 and 'family: "reverse"' in r.output
        assert p.stop() == 0
