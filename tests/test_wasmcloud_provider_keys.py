"""HostData parsing, nkeys decoding, sealed link secrets and the per-call context.

Secrets vectors are sealed with PyNaCl from fixed keys, exactly as the host's
`XKey::seal` lays them out (`xkv1` + nonce + box); keys are nkeys text built
from fixed seed bytes and checked against PyNaCl's own key derivation.
"""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

nacl_public = pytest.importorskip("nacl.public")

from witgen.provider import nkeys  # noqa: E402
from witgen.provider.hostdata import (  # noqa: E402
    HostData,
    HostDataError,
    LinkDefinition,
    parse_host_data,
    read_host_data,
)
from witgen.provider.links import Link, Links  # noqa: E402
from witgen.provider.secrets import MAGIC, SecretError, XKeys, seal  # noqa: E402
from witgen.runtime import context  # noqa: E402

HOST_SEED = nkeys.encode_seed(bytes(range(32)), "X")
PROVIDER_SEED = nkeys.encode_seed(bytes(range(100, 132)), "X")
# A curve seed as `nk -gen curve` prints it, from another project.
FOREIGN_SEED = "SXAK5Q7G7ZME7KLXT6BL6IGR7LCKOOBUSNTZCYEACXZP2WIWSWPARSQYKY"


def public_of(seed: str) -> str:
    raw = nkeys.decode_seed(seed, "X")
    return nkeys.encode_public(bytes(nacl_public.PrivateKey(raw).public_key), "X")


# --------------------------------------------------------------------------- nkeys


def test_crc16_is_xmodem() -> None:
    # The CRC-16/XMODEM check value ("123456789").
    assert nkeys.crc16(b"123456789") == 0x31C3


def test_seed_and_public_round_trip_with_their_letters() -> None:
    raw = bytes(range(100, 132))
    seed = nkeys.encode_seed(raw, "X")
    assert seed.startswith("SX") and len(seed) == 58
    assert nkeys.decode_seed(seed, "X") == raw
    public = public_of(seed)
    assert public.startswith("X") and len(public) == 56
    assert nkeys.decode_public(public, "X") == bytes(nacl_public.PrivateKey(raw).public_key)
    user = nkeys.encode_seed(raw, "U")
    assert user.startswith("SU") and nkeys.decode_seed(user, "U") == raw


def test_a_seed_from_elsewhere_decodes_and_re_encodes() -> None:
    raw = nkeys.decode_seed(FOREIGN_SEED, "X")
    assert len(raw) == 32
    assert nkeys.encode_seed(raw, "X") == FOREIGN_SEED


def _flip(text: str, at: int) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    c = text[at]
    return text[:at] + alphabet[(alphabet.index(c) + 1) % 32] + text[at + 1 :]


@pytest.mark.parametrize(
    ("text", "role", "kind", "message"),
    [
        (_flip(PROVIDER_SEED, 20), "X", "seed", "checksum (CRC16) does not match"),
        (PROVIDER_SEED, "U", "seed", "expected a seed SU..., got a seed of role X"),
        (public_of(PROVIDER_SEED), "X", "seed", "expected a seed SX..., got a key that is not a seed"),
        (PROVIDER_SEED, "X", "public", "expected a public X... key, got a seed"),
        (nkeys.encode_public(bytes(32), "U"), "X", "public", "expected a public X... key, got U"),
        (_flip(public_of(PROVIDER_SEED), 30), "X", "public", "checksum (CRC16) does not match"),
        ("SX!!", "X", "seed", "invalid base32"),
        ("", "X", "seed", "empty"),
        (PROVIDER_SEED[:-4], "X", "seed", ""),
    ],
)
def test_bad_keys_are_rejected_saying_why(text: str, role: str, kind: str, message: str) -> None:
    decode = nkeys.decode_seed if kind == "seed" else nkeys.decode_public
    with pytest.raises(nkeys.NkeyError) as info:
        decode(text, role)
    assert message in str(info.value)


# --------------------------------------------------------------------------- sealed secrets


def test_secrets_sealed_by_the_host_open_with_the_provider_key() -> None:
    sealed = seal({"api-key": "s3cr3t", "cert": b"\x00\x01\xff"}, HOST_SEED, public_of(PROVIDER_SEED))
    assert sealed.startswith(MAGIC)
    keys = XKeys(PROVIDER_SEED, public_of(HOST_SEED))
    assert keys.public_key == public_of(PROVIDER_SEED)
    assert keys.open(sealed) == {"api-key": "s3cr3t", "cert": b"\x00\x01\xff"}
    assert keys.open(None) == {}


def test_a_fixed_vector_built_by_hand_with_pynacl() -> None:
    # The host's layout spelled out: xkv1, a fixed nonce, Box(host private, provider public).
    host = nacl_public.PrivateKey(nkeys.decode_seed(HOST_SEED, "X"))
    provider = nacl_public.PrivateKey(nkeys.decode_seed(PROVIDER_SEED, "X"))
    nonce = bytes(range(24))
    body = json.dumps({"SECRET_token": {"kind": "String", "value": "tok"}}).encode()
    ct = nacl_public.Box(host, provider.public_key).encrypt(body, nonce).ciphertext
    sealed = b"xkv1" + nonce + ct
    assert len(sealed) == 4 + 24 + 16 + len(body)
    assert XKeys(PROVIDER_SEED, public_of(HOST_SEED)).open(sealed) == {"SECRET_token": "tok"}


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda s: b"xkv2" + s[4:], "no xkv1 header"),
        (lambda s: s[:20], "no xkv1 header"),
        (lambda s: s[:-1] + bytes([s[-1] ^ 1]), "cannot be opened"),
        (lambda s: s[:10] + bytes([s[10] ^ 1]) + s[11:], "cannot be opened"),
    ],
)
def test_bad_ciphertext_is_rejected_without_showing_secrets(mutate, message) -> None:  # type: ignore[no-untyped-def]
    sealed = seal({"pw": "hunter2"}, HOST_SEED, public_of(PROVIDER_SEED))
    with pytest.raises(SecretError) as info:
        XKeys(PROVIDER_SEED, public_of(HOST_SEED)).open(mutate(sealed))
    assert message in str(info.value)
    assert "hunter2" not in str(info.value)


def test_secrets_from_another_sender_do_not_open() -> None:
    other = nkeys.encode_seed(bytes(range(50, 82)), "X")
    sealed = seal({"pw": "x"}, other, public_of(PROVIDER_SEED))
    with pytest.raises(SecretError, match="wrong keys"):
        XKeys(PROVIDER_SEED, public_of(HOST_SEED)).open(sealed)


def test_bad_xkeys_in_host_data_are_clear_errors() -> None:
    with pytest.raises(SecretError, match="provider_xkey_private_key: checksum"):
        XKeys(_flip(PROVIDER_SEED, 12), public_of(HOST_SEED))
    with pytest.raises(SecretError, match="host_xkey_public_key: expected a public X"):
        XKeys(PROVIDER_SEED, HOST_SEED)


# --------------------------------------------------------------------------- HostData


EXAMPLE = {
    "host_id": "NABCDHOST",
    "lattice_rpc_prefix": "default",
    "link_name": "default",
    "lattice_rpc_user_jwt": "",
    "lattice_rpc_user_seed": "",
    "lattice_rpc_url": "nats://127.0.0.1:4222",
    "provider_key": "myapp-pyprov",
    "env_values": {},
    "instance_id": "6f1c1e7e-2f7e-4a51-9d1e-8f2b2d6b9c11",
    "link_definitions": [
        {
            "source_id": "myapp-comp",
            "target": "myapp-pyprov",
            "name": "default",
            "wit_namespace": "wasi",
            "wit_package": "keyvalue",
            "interfaces": ["store", "atomics"],
            "source_config": {},
            "target_config": {"bucket": "b1"},
            "source_secrets": None,
            "target_secrets": None,
        }
    ],
    "cluster_issuers": [],
    "config": {"foo": "bar"},
    "secrets": {"SECRET_api": {"kind": "String", "value": "s3cr3t"}},
    "host_xkey_public_key": "XAB",
    "provider_xkey_private_key": "SXA",
    "default_rpc_timeout_ms": 2000,
    "structured_logging": False,
    "log_level": "info",
    "otel_config": {"enable_observability": False, "protocol": "Http", "additional_ca_paths": [], "trace_level": "info"},
    "some_future_field": {"ignored": True},
}


def line_of(obj: object) -> bytes:
    return base64.b64encode(json.dumps(obj).encode()) + b"\r\n"


def test_the_reference_example_parses() -> None:
    host = parse_host_data(line_of(EXAMPLE))
    assert host.provider_key == "myapp-pyprov"
    assert host.lattice == "default"
    assert host.config == {"foo": "bar"}
    assert host.secrets == {"SECRET_api": "s3cr3t"}
    assert host.default_rpc_timeout_ms == 2000
    (link,) = host.link_definitions
    assert link.key == ("myapp-comp", "myapp-pyprov", "default", "wasi", "keyvalue")
    assert link.interfaces == ("store", "atomics")
    assert link.target_config == {"bucket": "b1"}
    assert "s3cr3t" not in repr(host)


def test_optional_fields_may_be_missing() -> None:
    host = parse_host_data(line_of({"provider_key": "p", "secrets": {"b": {"kind": "Bytes", "value": [1, 2]}}}))
    assert host.nats_url == "nats://127.0.0.1:4222"
    assert host.log_level is None and host.default_rpc_timeout_ms is None
    assert host.link_definitions == () and host.secrets == {"b": b"\x01\x02"}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"", "empty"),
        (b"not base64 at all!", "not base64"),
        (base64.b64encode(b"\xff\xfe"), "not UTF-8"),
        (base64.b64encode(b"{nope"), "not JSON"),
        (line_of([1, 2]), "expected a JSON object"),
        (line_of({"host_id": "N"}), "`provider_key` is missing"),
        (line_of({"provider_key": 5}), "`provider_key` should be a string"),
        (line_of({"provider_key": "p", "config": {"a": 1}}), "`config` should be an object of strings"),
        (line_of({"provider_key": "p", "link_definitions": [{"source_id": "a"}]}), "link_definitions[0]"),
        (
            line_of({"provider_key": "p", "secrets": {"k": {"kind": "String", "value": 7}}}),
            "secret 'k' is not",
        ),
    ],
)
def test_garbage_is_a_clear_error(line: bytes, message: str) -> None:
    with pytest.raises(HostDataError) as info:
        parse_host_data(line)
    assert message in str(info.value)


def test_link_secrets_are_byte_arrays() -> None:
    d = dict(EXAMPLE["link_definitions"][0])  # type: ignore[index]
    d["target_secrets"] = [120, 107, 118, 49]
    assert LinkDefinition.from_json(d).target_secrets == b"xkv1"
    d["target_secrets"] = [300]
    with pytest.raises(HostDataError, match="array of bytes"):
        LinkDefinition.from_json(d)


def test_reading_stdin_gives_up_after_the_timeout() -> None:
    r, w = os.pipe()
    try:
        with os.fdopen(r, "rb", buffering=0) as stream:
            with pytest.raises(HostDataError, match="no line on stdin within 0.3 s"):
                read_host_data(stream, timeout=0.3)
    finally:
        os.close(w)


def test_reading_stdin_takes_one_line_in_pieces() -> None:
    r, w = os.pipe()
    line = line_of({"provider_key": "p"})
    os.write(w, line[:5])

    def rest() -> None:
        os.write(w, line[5:])
        os.close(w)

    timer = threading.Timer(0.1, rest)
    timer.start()
    with os.fdopen(r, "rb", buffering=0) as stream:
        assert read_host_data(stream, timeout=5).provider_key == "p"
    timer.join()
    # A stream without a file descriptor is read as is.
    assert read_host_data(io.BytesIO(line)).provider_key == "p"


def test_a_provider_process_with_garbage_on_stdin_exits_1_with_one_line() -> None:
    code = "from witgen.provider import run_provider; run_provider()"
    for stdin in (b"garbage\r\n", b""):
        proc = subprocess.run(
            [sys.executable, "-c", code], input=stdin, capture_output=True, timeout=30, env={}
        )
        assert proc.returncode == 1
        lines = proc.stderr.decode().strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: HostData:"), proc.stderr


# --------------------------------------------------------------------------- links and context


def test_links_keep_their_own_side_and_a_repeated_put_updates() -> None:
    links = Links("prov")
    d = LinkDefinition("comp", "prov", target_config={"a": "1"}, source_config={"x": "y"})
    assert links.side(d) is True
    assert links.put(Link(d, True, d.target_config)) is None
    d2 = LinkDefinition("comp", "prov", target_config={"a": "2"})
    previous = links.put(Link(d2, True, d2.target_config))
    assert previous is not None and previous.config == {"a": "1"}
    ctx = links.context("comp", "default", {"source-id": "comp"})
    assert ctx.config == {"a": "2"} and ctx.source_id == "comp"
    assert links.context("other", "default", {}).config == {}
    assert links.delete(LinkDefinition("comp", "prov", name="other")) is None
    assert links.delete(LinkDefinition("comp", "prov")) is not None
    assert links.side(LinkDefinition("a", "b")) is None
    out = LinkDefinition("prov", "actor")
    links.put(Link(out, False, {"k": "v"}))
    found = links.source_link("actor")
    assert found is not None and found.peer == "actor"


def test_the_context_follows_the_call_into_worker_threads() -> None:
    assert context.current().source_id == ""
    context.set_resolver(lambda src, link, headers: context.CallContext(src, link, {"from": src}))
    try:
        token = context.enter({"source-id": "comp-a", "link-name": "blue"})
        try:
            with ThreadPoolExecutor(1) as pool:
                seen = pool.submit(context.run_in_context(context.current)).result()
                bare = pool.submit(context.current).result()
        finally:
            context.leave(token)
    finally:
        context.set_resolver(None)
    assert (seen.source_id, seen.link_name, seen.config) == ("comp-a", "blue", {"from": "comp-a"})
    assert bare.source_id == ""  # a thread not given the context sees none
    assert context.current().source_id == ""


def test_host_data_defaults() -> None:
    assert HostData(provider_key="p").lattice == "default"
