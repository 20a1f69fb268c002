"""The provider's links: which components call it, which it calls, with config and secrets.

A link definition names both ends; the provider keeps the side that is its own:
- a *target link* (`target == provider_key`): a component calls the provider;
  kept under (source_id, link name) with `target_config` and `target_secrets`;
- a *source link* (`source_id == provider_key`): the provider calls a component;
  kept under (target, link name) with `source_config` and `source_secrets`.

A put for a link already held replaces it (an update, unlike the Rust SDK, which
drops it); a del matches on (source, target, name, namespace, package) and is
ignored when nothing matches. Secrets are opened once, when the link arrives.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from witgen.provider.hostdata import LinkDefinition, SecretValue
from witgen.runtime.context import CallContext

__all__ = ["Link", "Links"]


@dataclass(frozen=True, slots=True)
class Link:
    """One link, seen from the provider: the peer, and this side's config and secrets."""

    definition: LinkDefinition
    is_target: bool  # True: the peer calls the provider; False: the provider calls the peer
    config: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, SecretValue] = field(default_factory=dict, repr=False)

    @property
    def peer(self) -> str:
        """The component at the other end."""
        d = self.definition
        return d.source_id if self.is_target else d.target

    @property
    def name(self) -> str:
        return self.definition.name


class Links:
    """The links held, thread-safe (calls in worker threads read them)."""

    def __init__(self, provider_key: str) -> None:
        self.provider_key = provider_key
        self._lock = threading.Lock()
        self._links: dict[tuple[str, str, str, str, str], Link] = {}

    def side(self, definition: LinkDefinition) -> bool | None:
        """True when the provider is the link's target, False when its source, None when neither."""
        if definition.target == self.provider_key:
            return True
        if definition.source_id == self.provider_key:
            return False
        return None

    def put(self, link: Link) -> Link | None:
        """Hold `link`; return the link it replaces, if any."""
        with self._lock:
            previous = self._links.get(link.definition.key)
            self._links[link.definition.key] = link
            return previous

    def delete(self, definition: LinkDefinition) -> Link | None:
        """Drop the link with the same identity; None when there is none."""
        with self._lock:
            return self._links.pop(definition.key, None)

    def all(self) -> list[Link]:
        with self._lock:
            return list(self._links.values())

    def target_link(self, source_id: str, name: str) -> Link | None:
        """The link over which component `source_id` calls the provider (last put wins)."""
        found = None
        with self._lock:
            for link in self._links.values():
                d = link.definition
                if link.is_target and d.source_id == source_id and d.name == name:
                    found = link
        return found

    def source_link(self, target: str, name: str = "default") -> Link | None:
        """The link over which the provider calls component `target`."""
        found = None
        with self._lock:
            for link in self._links.values():
                d = link.definition
                if not link.is_target and d.target == target and d.name == name:
                    found = link
        return found

    def context(self, source_id: str, link_name: str, headers: Mapping[str, str]) -> CallContext:
        """The call context for a call from `source_id` over link `link_name`."""
        link = self.target_link(source_id, link_name)
        return CallContext(
            source_id=source_id,
            link_name=link_name,
            config=MappingProxyType(dict(link.config)) if link else MappingProxyType({}),
            secrets=MappingProxyType(dict(link.secrets)) if link else MappingProxyType({}),
            headers=MappingProxyType(dict(headers)),
        )
