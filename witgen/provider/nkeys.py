"""NATS nkeys: the text form of the ed25519 and curve25519 keys wasmCloud hands out.

An nkey is base32 (RFC 4648 alphabet, no padding) of

    public key  [type byte]                  + 32 key bytes + CRC16 (2 bytes, little-endian)
    seed        [0x90 | type >> 5, type << 3] + 32 seed bytes + CRC16

where the type byte names the role (`N` server, `U` user, `A` account, `O`
operator, `X` curve/xkey) and 0x90 makes a seed start with `S`. The CRC is
CRC-16/XMODEM (polynomial 0x1021, initial value 0) of everything before it.
Ed25519 seeds (`SN`, `SU`, ...) sign; curve seeds (`SX`) open NaCl boxes.
Only this module parses the text form; everything else handles raw 32-byte keys.
"""

from __future__ import annotations

import base64
import binascii

__all__ = [
    "NkeyError",
    "PREFIX",
    "crc16",
    "decode_public",
    "decode_seed",
    "encode_public",
    "encode_seed",
]


class NkeyError(ValueError):
    """A key that is not a well-formed nkey of the expected kind."""


# Role letter -> type byte (the letter is the first base32 character of a public key).
PREFIX: dict[str, int] = {
    "A": 0 << 3,  # account
    "C": 2 << 3,  # cluster
    "N": 13 << 3,  # server (wasmCloud host ids)
    "O": 14 << 3,  # operator
    "P": 15 << 3,  # private
    "U": 20 << 3,  # user
    "X": 23 << 3,  # curve25519 (xkeys)
}
_SEED = 18 << 3  # "S"
_ROLE = {value: letter for letter, value in PREFIX.items()}


def crc16(data: bytes) -> int:
    """CRC-16/XMODEM of `data`."""
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def _b32decode(text: str, what: str) -> bytes:
    text = text.strip()
    if not text or not text.isascii():
        raise NkeyError(f"{what}: not an nkey (empty or not ASCII)")
    try:
        return base64.b32decode(text + "=" * (-len(text) % 8))
    except (binascii.Error, ValueError):
        raise NkeyError(f"{what}: not an nkey (invalid base32)") from None


def _check_crc(raw: bytes, what: str) -> bytes:
    if len(raw) < 3:
        raise NkeyError(f"{what}: too short for an nkey")
    body, tail = raw[:-2], raw[-2:]
    if crc16(body) != int.from_bytes(tail, "little"):
        raise NkeyError(f"{what}: checksum (CRC16) does not match")
    return body


def _role_letter(role: str) -> int:
    if role not in PREFIX:
        raise NkeyError(f"unknown nkey role {role!r}")
    return PREFIX[role]


def decode_public(text: str, role: str, what: str = "public key") -> bytes:
    """The 32 key bytes of a public nkey of `role` (`"X"`, `"U"`, ...)."""
    expected = _role_letter(role)
    body = _check_crc(_b32decode(text, what), what)
    if body[0] != expected:
        got = _ROLE.get(body[0], f"byte {body[0]:#x}")
        if body[0] == _SEED or body[0] & 0xF8 == _SEED:
            got = "a seed"
        raise NkeyError(f"{what}: expected a public {role}... key, got {got}")
    if len(body) != 33:
        raise NkeyError(f"{what}: a public key holds 32 bytes, this one {len(body) - 1}")
    return body[1:]


def decode_seed(text: str, role: str, what: str = "seed") -> bytes:
    """The 32 seed bytes of a seed `S<role>...` (`"X"` for `SX...`, `"U"` for `SU...`)."""
    expected = _role_letter(role)
    body = _check_crc(_b32decode(text, what), what)
    if len(body) < 2 or body[0] & 0xF8 != _SEED:
        raise NkeyError(f"{what}: expected a seed S{role}..., got a key that is not a seed")
    kind = ((body[0] & 0x07) << 5) | ((body[1] & 0xF8) >> 3)
    if kind != expected:
        got = _ROLE.get(kind, f"type {kind:#x}")
        raise NkeyError(f"{what}: expected a seed S{role}..., got a seed of role {got}")
    if len(body) != 34:
        raise NkeyError(f"{what}: a seed holds 32 bytes, this one {len(body) - 2}")
    return body[2:]


def _encode(body: bytes) -> str:
    raw = body + crc16(body).to_bytes(2, "little")
    return base64.b32encode(raw).decode().rstrip("=")


def encode_public(key: bytes, role: str) -> str:
    """The nkey text of 32 public key bytes: `X...`, `U...`, ..."""
    if len(key) != 32:
        raise NkeyError(f"a public key holds 32 bytes, not {len(key)}")
    return _encode(bytes([_role_letter(role)]) + key)


def encode_seed(seed: bytes, role: str) -> str:
    """The nkey text of 32 seed bytes: `SX...`, `SU...`, ..."""
    if len(seed) != 32:
        raise NkeyError(f"a seed holds 32 bytes, not {len(seed)}")
    kind = _role_letter(role)
    return _encode(bytes([_SEED | kind >> 5, (kind & 31) << 3]) + seed)
