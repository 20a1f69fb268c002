"""Link secrets sealed by the host: `xkv1` + 24-byte nonce + NaCl box.

The host seals `json({name: SecretValue})` with its own curve key for the
provider's (`XKey::seal`); the provider opens it with `provider_xkey_private_key`
(`SX...`) and the sender `host_xkey_public_key` (`X...`). PyNaCl (the
`witgen[wasmcloud]` extra) does the box. Errors say what failed and never show a
secret's value or the ciphertext.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from witgen.provider.hostdata import HostDataError, SecretValue, decode_json, secret_value
from witgen.provider.nkeys import NkeyError, decode_public, decode_seed, encode_public

__all__ = ["SecretError", "XKeys", "open_sealed", "require_nacl", "seal"]

MAGIC = b"xkv1"
NONCE = 24


class SecretError(ValueError):
    """Sealed secrets that cannot be opened or read."""


def require_nacl() -> None:
    """Raise a one-line `SecretError` when PyNaCl is not installed."""
    try:
        import nacl.public  # noqa: F401
    except ImportError:
        raise SecretError(
            "opening link secrets needs PyNaCl: pip install 'witgen[wasmcloud]'"
        ) from None


class XKeys:
    """The provider's curve key pair and the host's public key, from HostData."""

    __slots__ = ("_private", "_public", "_host")

    def __init__(self, provider_seed: str, host_public: str) -> None:
        require_nacl()
        import nacl.public

        try:
            seed = decode_seed(provider_seed, "X", "provider_xkey_private_key")
        except NkeyError as exc:
            raise SecretError(str(exc)) from None
        self._private = nacl.public.PrivateKey(seed)
        self._public = encode_public(bytes(self._private.public_key), "X")
        self._host: nacl.public.PublicKey | None = None
        if host_public:
            try:
                raw = decode_public(host_public, "X", "host_xkey_public_key")
            except NkeyError as exc:
                raise SecretError(str(exc)) from None
            self._host = nacl.public.PublicKey(raw)

    def __repr__(self) -> str:
        return f"<XKeys {self._public}>"

    @property
    def public_key(self) -> str:
        """The provider's `X...` public key (the link-put subject carries it)."""
        return self._public

    def open(self, sealed: bytes | None, what: str = "secrets") -> dict[str, SecretValue]:
        """The secrets in `sealed` (None: no secrets)."""
        if sealed is None:
            return {}
        if self._host is None:
            raise SecretError(f"{what}: sealed, but HostData has no host_xkey_public_key")
        return open_sealed(sealed, self._private, self._host, what)


def open_sealed(
    sealed: bytes, recipient: object, sender: object, what: str = "secrets"
) -> dict[str, SecretValue]:
    """Open `xkv1` bytes with nacl `PrivateKey` `recipient` from `PublicKey` `sender`."""
    import nacl.exceptions
    import nacl.public

    assert isinstance(recipient, nacl.public.PrivateKey)
    assert isinstance(sender, nacl.public.PublicKey)
    if len(sealed) < len(MAGIC) + NONCE or not sealed.startswith(MAGIC):
        raise SecretError(f"{what}: not sealed secrets (no xkv1 header)")
    nonce = sealed[len(MAGIC) : len(MAGIC) + NONCE]
    try:
        plain = nacl.public.Box(recipient, sender).decrypt(sealed[len(MAGIC) + NONCE :], nonce)
    except nacl.exceptions.CryptoError:
        raise SecretError(
            f"{what}: cannot be opened (wrong keys or damaged ciphertext)"
        ) from None
    try:
        data = decode_json(plain, f"{what}: opened secrets")
    except HostDataError as exc:
        raise SecretError(str(exc)) from None
    if not isinstance(data, dict):
        raise SecretError(f"{what}: the opened secrets are not a JSON object")
    try:
        return {str(name): secret_value(str(name), raw, what) for name, raw in data.items()}
    except HostDataError as exc:
        raise SecretError(str(exc)) from None


def seal(secrets: Mapping[str, SecretValue], sender_seed: str, recipient_public: str) -> bytes:
    """What the host does (`XKey::seal`): for tests and tools that play the host."""
    import nacl.public
    import nacl.utils

    body = {
        name: (
            {"kind": "String", "value": value}
            if isinstance(value, str)
            else {"kind": "Bytes", "value": list(value)}
        )
        for name, value in secrets.items()
    }
    private = nacl.public.PrivateKey(decode_seed(sender_seed, "X", "sender seed"))
    public = nacl.public.PublicKey(decode_public(recipient_public, "X", "recipient key"))
    nonce = nacl.utils.random(NONCE)
    box = nacl.public.Box(private, public).encrypt(json.dumps(body).encode(), nonce)
    return MAGIC + nonce + box.ciphertext
