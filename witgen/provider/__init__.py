"""Python capability providers under a wasmCloud 1.x host (the `witgen[wasmcloud]` extra).

    from witgen.provider import run_provider
    run_provider(my_world.dispatch_table(llm=MyLlm()))

`run_provider` reads HostData from stdin (`hostdata`), connects to the lattice
(`connect`), serves the dispatch tables over wRPC on `{lattice}.{provider-id}`
(`transport`), and answers the host's control plane (`control`): links with
their config and sealed secrets (`links`, `secrets`, `nkeys`), health, config
updates and shutdown. A method serving a call reads its caller, link, config
and secrets from `witgen.runtime.context.current()`.
"""

from witgen.provider.hostdata import HostData, HostDataError, LinkDefinition, SecretValue
from witgen.provider.links import Link, Links
from witgen.provider.runner import Provider, run_provider, serve_provider

__all__ = [
    "HostData",
    "HostDataError",
    "Link",
    "LinkDefinition",
    "Links",
    "Provider",
    "SecretValue",
    "run_provider",
    "serve_provider",
]
