"""The provider's NATS connection, authenticated as HostData says.

`lattice_rpc_url` (default `nats://127.0.0.1:4222`; several servers may be given,
comma-separated, each checked by `witgen.runtime.urls.split_servers`); with `lattice_rpc_user_jwt`
and `lattice_rpc_user_seed`, JWT auth: nats-py's `user_jwt_cb` sends the JWT and
`signature_cb` signs the server's nonce with the seed's ed25519 key (PyNaCl).
A seed without a JWT authenticates as a bare nkey user. No TLS options: HostData
has none, and nats-py upgrades to TLS when the server asks for it.
"""

from __future__ import annotations

import base64
import logging
from typing import Any

from witgen.provider.hostdata import HostData, HostDataError
from witgen.provider.nkeys import NkeyError, decode_seed, encode_public
from witgen.runtime.urls import redact, split_servers

__all__ = ["auth_options", "connect", "servers_of"]

log = logging.getLogger("witgen.provider")


def auth_options(host: HostData) -> tuple[dict[str, Any], str | None]:
    """nats-py `connect` options for HostData's credentials, and the nkey for seed-only auth."""
    jwt, seed_text = host.lattice_rpc_user_jwt.strip(), host.lattice_rpc_user_seed.strip()
    if not jwt and not seed_text:
        return {}, None
    if not seed_text:
        raise HostDataError("HostData: lattice_rpc_user_jwt is set but lattice_rpc_user_seed is empty")
    try:
        seed = decode_seed(seed_text, "U", "lattice_rpc_user_seed")
    except NkeyError as exc:
        raise HostDataError(f"HostData: {exc}") from None
    from witgen.provider.secrets import SecretError, require_nacl

    try:
        require_nacl()
    except SecretError as exc:
        raise HostDataError(str(exc).replace("link secrets", "NATS credentials")) from None
    import nacl.signing

    key = nacl.signing.SigningKey(seed)

    def sign(nonce: str) -> bytes:
        return base64.b64encode(key.sign(nonce.encode()).signature)

    options: dict[str, Any] = {"signature_cb": sign}
    if jwt:
        options["user_jwt_cb"] = lambda: jwt.encode()
        return options, None
    return options, encode_public(bytes(key.verify_key), "U")


def servers_of(host: HostData) -> list[str]:
    """The servers `lattice_rpc_url` names; HostDataError (password hidden) when one is bad."""
    try:
        return split_servers(host.nats_url)
    except ValueError as exc:
        raise HostDataError(f"HostData: lattice_rpc_url: {exc}") from None


async def connect(host: HostData, *, name: str = "", initial_attempts: int = 3, **extra: Any) -> Any:
    """A connected nats-py client for the lattice (raises on failure to connect)."""
    from witgen.runtime.nats.connection import client_class

    servers = servers_of(host)
    options, public_nkey = auth_options(host)
    nc = client_class()()
    if public_nkey is not None:
        # nats-py sends `nkey` only when it set up the seed itself (which needs the
        # `nkeys` package); tell it the public key signature_cb signs for.
        nc._public_nkey = public_nkey

    async def error_cb(exc: Exception) -> None:
        log.warning("nats: %s", redact(str(exc)) or type(exc).__name__)

    # A few attempts at first, so that a wrong URL or refused credentials end the
    # process with a clear error (the host restarts it); once connected, reconnect
    # for as long as it takes.
    await nc.connect(
        servers=servers,
        name=name or host.provider_key,
        allow_reconnect=True,
        max_reconnect_attempts=initial_attempts,
        reconnect_time_wait=1,
        connect_timeout=5,
        error_cb=error_cb,
        **options,
        **extra,
    )
    nc.options["max_reconnect_attempts"] = -1
    return nc
