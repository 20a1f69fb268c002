"""NATS server URLs: lists read and checked (`split_servers`), passwords hidden (`redact`)."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from witgen.runtime.urls import SCHEMES, describe, redact, split_servers

USE = "(use nats://, tls://, ws:// or wss://)"

# --------------------------------------------------------------------------- strategies

labels = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=10)
hosts = st.one_of(
    st.lists(labels, min_size=1, max_size=3).map(".".join),
    st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t))),
    st.just("[::1]"),
)
ports = st.integers(1, 65535)
users = st.text(string.ascii_letters + string.digits + "_-.", min_size=1, max_size=12)
# Whatever a user may type as a password, short of white space, quotes and commas
# (commas separate servers); `@`, `/`, `:` and `#` included.
passwords = st.text(
    string.ascii_letters + string.digits + "!$%&*+-.;=@/:#?[]^_{|}~", min_size=1, max_size=16
)
tcp_schemes = st.sampled_from(["nats", "tls"])
prose = st.text(string.ascii_letters + " .:;-!", max_size=30)


# --------------------------------------------------------------------------- redact


def test_redact_keeps_the_user_and_hides_the_password() -> None:
    assert redact("nats://alice:s3cret@h:4222") == "nats://alice:***@h:4222"


def test_redact_hides_a_token_given_alone() -> None:
    assert redact("nats://s3cret-token@h:4222") == "nats://***@h:4222"


def test_redact_leaves_urls_without_credentials_alone() -> None:
    text = "cannot connect to nats://127.0.0.1:4222: no server answers there"
    assert redact(text) == text


@given(tcp_schemes, users, passwords, hosts, ports)
def test_a_password_never_survives(scheme: str, user: str, password: str, host: str, port: int) -> None:
    url = f"{scheme}://{user}:{password}@{host}:{port}"
    assert redact(url) == f"{scheme}://{user}:***@{host}:{port}"


@given(st.lists(st.tuples(tcp_schemes, users, passwords, hosts, ports), min_size=1, max_size=4), st.sampled_from([",", ", "]))
def test_every_url_of_a_comma_list_is_redacted(
    servers: list[tuple[str, str, str, str, int]], comma: str
) -> None:
    text = comma.join(f"{s}://{u}:{p}@{h}:{port}" for s, u, p, h, port in servers)
    expected = comma.join(f"{s}://{u}:***@{h}:{port}" for s, u, _, h, port in servers)
    assert redact(text) == expected


@given(prose, users, passwords, hosts, ports, prose)
def test_urls_inside_messages_are_redacted(
    before: str, user: str, password: str, host: str, port: int, after: str
) -> None:
    text = f"{before}nats://{user}:{password}@{host}:{port} {after}"
    assert redact(text) == f"{before}nats://{user}:***@{host}:{port} {after}"


@given(passwords.filter(lambda t: ":" not in t), hosts)
def test_a_token_url_is_redacted_whole(token: str, host: str) -> None:
    assert redact(f"error: 'tls://{token}@{host}' refused") == f"error: 'tls://***@{host}' refused"


@given(st.text(max_size=60))
def test_redact_is_idempotent_and_keeps_text_without_urls(text: str) -> None:
    once = redact(text)
    assert redact(once) == once
    if "://" not in text and "netloc='" not in text:
        assert once == text


def test_a_parsed_url_in_a_repr_is_redacted() -> None:
    text = "ParseResult(scheme='nats', netloc='alice:s3cret@h:4222', path='')"
    assert "s3cret" not in redact(text) and "alice:***@h:4222" in redact(text)


def test_describe_joins_redacted_servers() -> None:
    assert describe(["nats://tok@a:4222", "nats://b:4222"]) == "nats://***@a:4222, nats://b:4222"
    assert describe("nats://alice:pw@a:1") == "nats://alice:***@a:1"


# --------------------------------------------------------------------------- split_servers


@given(st.lists(st.tuples(st.sampled_from(SCHEMES[:2]), hosts, ports), min_size=1, max_size=5), st.sampled_from([",", ", ", " , "]))
def test_a_comma_list_and_a_list_give_the_same_servers(
    servers: list[tuple[str, str, int]], comma: str
) -> None:
    urls = [f"{s}://{h}:{p}" for s, h, p in servers]
    assert split_servers(comma.join(urls)) == urls
    assert split_servers(urls) == urls
    assert split_servers(tuple(urls)) == urls


@given(hosts, ports)
def test_a_bare_host_and_port_is_nats(host: str, port: int) -> None:
    assert split_servers(f"{host}:{port}") == [f"nats://{host}:{port}"]


def test_the_four_schemes_nats_py_connects_with() -> None:
    assert split_servers("nats://a:4222, tls://b:4222") == ["nats://a:4222", "tls://b:4222"]
    assert split_servers(["ws://a:8080", "wss://b/nats"]) == ["ws://a:8080", "wss://b/nats"]
    assert split_servers("NATS://a:1") == ["nats://a:1"]
    assert split_servers("localhost") == ["nats://localhost"]
    assert split_servers("nats://alice:s3cret@h:4222/") == ["nats://alice:s3cret@h:4222/"]


def test_an_unsupported_scheme_names_the_url_and_the_schemes() -> None:
    with pytest.raises(ValueError) as exc:
        split_servers("http://x:4222")
    assert str(exc.value) == f"http://x:4222: unsupported scheme 'http' {USE}"


@given(
    st.text(string.ascii_lowercase, min_size=1, max_size=8).filter(lambda s: s not in SCHEMES),
    users,
    passwords,
    hosts,
    ports,
)
def test_a_bad_scheme_error_never_shows_the_password(
    scheme: str, user: str, password: str, host: str, port: int
) -> None:
    with pytest.raises(ValueError) as exc:
        split_servers(f"nats://a:1,{scheme}://{user}:{password}@{host}:{port}")
    assert str(exc.value) == f"{scheme}://{user}:***@{host}:{port}: unsupported scheme {scheme!r} {USE}"


@pytest.mark.parametrize(
    "text, message",
    [
        ("", f"no NATS server URL given {USE}"),
        (" , ", f"no NATS server URL given {USE}"),
        ("a:1,,b:2", "a:1,,b:2: an empty entry in the server list"),
        ("nats://h:0", "nats://h:0: the port should be a number from 1 to 65535"),
        ("nats://h:65536", "nats://h:65536: the port should be a number from 1 to 65535"),
        ("nats://h:port", "nats://h:***: the port should be a number from 1 to 65535"),
        ("nats://:4222", "nats://:4222: no host name"),
        ("nats://alice:s3cret@:4222", "nats://alice:***@:4222: no host name"),
        ("nats://exa mple:4222", "nats://exa mple:4222: 'exa mple' is not a host name"),
        ("nats://h:4222/x", "nats://h:4222/x: a nats:// URL has no path or query"),
        ("tls://h:4222?x=1", "tls://h:4222?x=1: a tls:// URL has no path or query"),
        ("host/path", f"host/path: not a server URL {USE}"),
        (
            "ws://a:80, nats://b:4222",
            "ws://a:80, nats://b:4222: ws:// and wss:// servers cannot be mixed with nats:// and tls:// ones",
        ),
        # A comma in a password splits the URL: neither half shows it.
        ("nats://alice:se,cret@h:4222", "nats://alice:***: the port should be a number from 1 to 65535"),
        ("nats://alice:pa/ss@h:4222", "nats://alice:***@h:4222: the port should be a number from 1 to 65535"),
    ],
)
def test_bad_servers_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError) as exc:
        split_servers(text)
    assert str(exc.value) == message


def test_a_list_entry_that_is_not_text_is_refused() -> None:
    with pytest.raises(ValueError, match="should be a string, got int"):
        split_servers(["nats://a:1", 4222])  # type: ignore[list-item]


def test_the_module_imports_only_the_standard_library() -> None:
    import subprocess
    import sys

    code = (
        "import sys; before = set(sys.modules); import witgen.runtime.urls; "
        "top = {m.split('.')[0] for m in set(sys.modules) - before}; "
        "print(sorted(top - set(sys.stdlib_module_names) - {'witgen'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
