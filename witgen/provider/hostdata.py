"""HostData: what a wasmCloud 1.x host tells a provider on its stdin, and link definitions.

The host writes one line, `base64(json(HostData))` + CRLF, and closes stdin. The
JSON is read leniently, as both reference SDKs do: unknown keys are ignored,
missing keys take their defaults (serde leaves `default_rpc_timeout_ms`,
`log_level` and every OTEL option out when unset), and a field of the wrong type
is an error naming the field. `read_host_data` gives up after 5 s without a line.

Secret values are kept out of `repr`: a provider may log a `HostData` or a
`LinkDefinition` and never print a secret.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import select
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Any

__all__ = [
    "HostData",
    "HostDataError",
    "LinkDefinition",
    "SecretValue",
    "decode_json",
    "parse_host_data",
    "read_host_data",
    "secret_value",
]

SecretValue = str | bytes
"""A secret: the host's `{"kind": "String", ...}` as str, `{"kind": "Bytes", ...}` as bytes."""


class HostDataError(ValueError):
    """HostData (or a link definition) that cannot be read; the message says what is wrong."""


def decode_json(raw: bytes, where: str) -> Any:
    """The JSON value in UTF-8 `raw`; HostDataError saying what is wrong, whatever the input
    (nesting past the interpreter's recursion limit, an integer past its digit limit)."""
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise HostDataError(f"{where}: not JSON (not UTF-8 text)") from None
    except json.JSONDecodeError as exc:
        raise HostDataError(f"{where}: not JSON ({exc})") from None
    except RecursionError:
        raise HostDataError(f"{where}: JSON nested too deeply") from None
    except ValueError:  # int("9" * 4301): past sys.get_int_max_str_digits()
        raise HostDataError(
            f"{where}: a number in the JSON has more than {sys.get_int_max_str_digits()} digits"
        ) from None


# --------------------------------------------------------------------------- field readers


def _str(d: Mapping[str, Any], key: str, where: str, default: str = "") -> str:
    value = d.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise HostDataError(f"{where}: `{key}` should be a string, got {type(value).__name__}")
    return value


def _bool(d: Mapping[str, Any], key: str, where: str) -> bool:
    value = d.get(key, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise HostDataError(f"{where}: `{key}` should be true or false, got {value!r}")
    return value


def _str_map(d: Mapping[str, Any], key: str, where: str) -> dict[str, str]:
    value = d.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise HostDataError(f"{where}: `{key}` should be an object of strings")
    return dict(value)


def _bytes_or_null(d: Mapping[str, Any], key: str, where: str) -> bytes | None:
    value = d.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(
        type(b) is int and 0 <= b <= 255 for b in value
    ):
        raise HostDataError(f"{where}: `{key}` should be null or an array of bytes (0-255)")
    return bytes(value)


def secret_value(name: str, raw: Any, where: str) -> SecretValue:
    """One `SecretValue` (`{"kind": "String"|"Bytes", "value": ...}`) as str or bytes."""
    if isinstance(raw, dict):
        kind, value = raw.get("kind"), raw.get("value")
        if kind == "String" and isinstance(value, str):
            return value
        if kind == "Bytes" and isinstance(value, list) and all(
            type(b) is int and 0 <= b <= 255 for b in value
        ):
            return bytes(value)
    # Never echo the value itself.
    raise HostDataError(
        f'{where}: secret {name!r} is not {{"kind": "String"|"Bytes", "value": ...}}'
    )


# --------------------------------------------------------------------------- links


@dataclass(frozen=True, slots=True)
class LinkDefinition:
    """An `InterfaceLinkDefinition`: a link between a source and a target, with both ends' config.

    Secrets stay sealed here (`xkv1` bytes, or None); `witgen.provider.secrets` opens them.
    """

    source_id: str
    target: str
    name: str = "default"
    wit_namespace: str = ""
    wit_package: str = ""
    interfaces: tuple[str, ...] = ()
    source_config: Mapping[str, str] = field(default_factory=dict)
    target_config: Mapping[str, str] = field(default_factory=dict)
    source_secrets: bytes | None = field(default=None, repr=False)
    target_secrets: bytes | None = field(default=None, repr=False)

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        """What identifies a link: (source, target, name, namespace, package)."""
        return (self.source_id, self.target, self.name, self.wit_namespace, self.wit_package)

    @classmethod
    def from_json(cls, d: Any, where: str = "link definition") -> LinkDefinition:
        if not isinstance(d, dict):
            raise HostDataError(f"{where}: expected a JSON object, got {type(d).__name__}")
        source_id = _str(d, "source_id", where)
        target = _str(d, "target", where)
        if not source_id or not target:
            raise HostDataError(f"{where}: `source_id` and `target` are required")
        interfaces = d.get("interfaces") or []
        if not isinstance(interfaces, list) or not all(isinstance(i, str) for i in interfaces):
            raise HostDataError(f"{where}: `interfaces` should be an array of strings")
        return cls(
            source_id=source_id,
            target=target,
            name=_str(d, "name", where, "default") or "default",
            wit_namespace=_str(d, "wit_namespace", where),
            wit_package=_str(d, "wit_package", where),
            interfaces=tuple(interfaces),
            source_config=_str_map(d, "source_config", where),
            target_config=_str_map(d, "target_config", where),
            source_secrets=_bytes_or_null(d, "source_secrets", where),
            target_secrets=_bytes_or_null(d, "target_secrets", where),
        )

    def describe(self) -> str:
        """`src -> target (ns:pkg/a,b, name)` for log lines."""
        ifaces = ",".join(self.interfaces)
        return (
            f"{self.source_id} -> {self.target} "
            f"({self.wit_namespace}:{self.wit_package}/{ifaces}, link {self.name!r})"
        )


# --------------------------------------------------------------------------- host data


@dataclass(frozen=True, slots=True)
class HostData:
    """The fields of wasmCloud's HostData a provider uses (others are ignored)."""

    host_id: str = ""
    lattice_rpc_prefix: str = "default"
    link_name: str = "default"
    lattice_rpc_user_jwt: str = field(default="", repr=False)
    lattice_rpc_user_seed: str = field(default="", repr=False)
    lattice_rpc_url: str = ""
    provider_key: str = ""
    instance_id: str = ""
    env_values: Mapping[str, str] = field(default_factory=dict)
    link_definitions: tuple[LinkDefinition, ...] = ()
    config: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, SecretValue] = field(default_factory=dict, repr=False)
    host_xkey_public_key: str = ""
    provider_xkey_private_key: str = field(default="", repr=False)
    default_rpc_timeout_ms: int | None = None
    structured_logging: bool = False
    log_level: str | None = None
    otel_config: Mapping[str, Any] = field(default_factory=dict)

    @property
    def lattice(self) -> str:
        return self.lattice_rpc_prefix or "default"

    @property
    def nats_url(self) -> str:
        """`lattice_rpc_url`, or the SDKs' default when the host left it empty."""
        return self.lattice_rpc_url or "nats://127.0.0.1:4222"

    @classmethod
    def from_json(cls, d: Any) -> HostData:
        where = "HostData"
        if not isinstance(d, dict):
            raise HostDataError(f"{where}: expected a JSON object, got {type(d).__name__}")
        provider_key = _str(d, "provider_key", where)
        if not provider_key:
            raise HostDataError(f"{where}: `provider_key` is missing or empty")
        links_raw = d.get("link_definitions") or []
        if not isinstance(links_raw, list):
            raise HostDataError(f"{where}: `link_definitions` should be an array")
        links = tuple(
            LinkDefinition.from_json(item, f"{where}: link_definitions[{i}]")
            for i, item in enumerate(links_raw)
        )
        secrets_raw = d.get("secrets") or {}
        if not isinstance(secrets_raw, dict):
            raise HostDataError(f"{where}: `secrets` should be an object")
        secrets = {
            str(name): secret_value(str(name), raw, where) for name, raw in secrets_raw.items()
        }
        timeout = d.get("default_rpc_timeout_ms")
        if timeout is not None and (type(timeout) is not int or not 0 <= timeout < 1 << 64):
            raise HostDataError(f"{where}: `default_rpc_timeout_ms` should be a whole number (0 to 2^64-1)")
        log_level = d.get("log_level")
        if log_level is not None and not isinstance(log_level, str):
            raise HostDataError(f"{where}: `log_level` should be a string")
        otel = d.get("otel_config") or {}
        if not isinstance(otel, dict):
            raise HostDataError(f"{where}: `otel_config` should be an object")
        return cls(
            host_id=_str(d, "host_id", where),
            lattice_rpc_prefix=_str(d, "lattice_rpc_prefix", where, "default"),
            link_name=_str(d, "link_name", where, "default"),
            lattice_rpc_user_jwt=_str(d, "lattice_rpc_user_jwt", where),
            lattice_rpc_user_seed=_str(d, "lattice_rpc_user_seed", where),
            lattice_rpc_url=_str(d, "lattice_rpc_url", where),
            provider_key=provider_key,
            instance_id=_str(d, "instance_id", where),
            env_values=_str_map(d, "env_values", where),
            link_definitions=links,
            config=_str_map(d, "config", where),
            secrets=secrets,
            host_xkey_public_key=_str(d, "host_xkey_public_key", where),
            provider_xkey_private_key=_str(d, "provider_xkey_private_key", where),
            default_rpc_timeout_ms=timeout,
            structured_logging=_bool(d, "structured_logging", where),
            log_level=log_level,
            otel_config=otel,
        )


def parse_host_data(line: bytes | str) -> HostData:
    """HostData from the host's line: base64 (standard alphabet) of the JSON object."""
    if isinstance(line, str):
        line = line.encode("ascii", "replace")
    text = line.strip()
    if not text:
        raise HostDataError("HostData: the line on stdin is empty")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise HostDataError("HostData: the line on stdin is not base64") from None
    return HostData.from_json(decode_json(raw, "HostData"))


def read_host_data(stream: IO[bytes] | None = None, timeout: float = 5.0) -> HostData:
    """Read one line from `stream` (stdin) within `timeout` seconds and parse it."""
    if stream is None:
        stream = sys.stdin.buffer
    line = _read_line(stream, timeout)
    return parse_host_data(line)


def _read_line(stream: IO[bytes], timeout: float) -> bytes:
    # Unbuffered reads of the file descriptor, so that `select` sees what is
    # really pending; at most 1 MiB (a HostData line is a few KiB).
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return stream.readline()
    import time

    deadline = time.monotonic() + timeout
    data = bytearray()
    while b"\n" not in data and len(data) < 1 << 20:
        left = deadline - time.monotonic()
        if left <= 0:
            raise HostDataError(f"HostData: no line on stdin within {timeout:g} s")
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        data += chunk
    line = bytes(data).split(b"\n", 1)[0]
    if not line.strip():
        raise HostDataError("HostData: stdin closed without a line")
    return line
