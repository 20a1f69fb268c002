"""`--nats URL[,URL...]`: the NATS servers a command connects to, checked before it starts."""

from __future__ import annotations

import click

from witgen.runtime.urls import split_servers

__all__ = ["NATS_HELP", "servers_option"]

NATS_HELP = "The NATS server(s), comma-separated: nats://, tls://, ws:// or wss://; user:password@ or token@ allowed."


def servers_option(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """The option's callback: the servers as one checked comma list (None when not given);
    a bad URL is a usage error naming it, its password hidden, and the schemes that work."""
    if value is None:
        return None
    try:
        return ",".join(split_servers(value))
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None
