"""Feature gates: `@since`, `@unstable`, `@deprecated`, `@external-id`.

`stability()` reads an item's attributes (stage A) and `Gates.include()`
decides, once the package is known (stage B), whether a gated item is kept.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from witgen.frontend import ast
from witgen.errors import Span, WitError
from witgen.model import PackageName, Stability, Stable, Unstable

from witgen.resolver.semver import compare_versions


def stability(attrs: Sequence[ast.Attribute]) -> tuple[Stability, str | None]:
    """The stability and external id that a list of attributes gives an item."""
    if not attrs:
        return None, None
    since: ast.Since | None = None
    unstable: ast.Unstable | None = None
    deprecated: ast.Deprecated | None = None
    external: ast.ExternalId | None = None
    for attr in attrs:
        if isinstance(attr, ast.Since):
            if since is not None:
                raise WitError("cannot specify @since twice", attr.span)
            since = attr
        elif isinstance(attr, ast.Unstable):
            if unstable is not None:
                raise WitError("cannot specify @unstable twice", attr.span)
            unstable = attr
        elif isinstance(attr, ast.Deprecated):
            if deprecated is not None:
                raise WitError("cannot specify @deprecated twice", attr.span)
            deprecated = attr
        else:
            if external is not None:
                raise WitError("cannot specify @external-id twice", attr.span)
            external = attr
    dep = deprecated.version if deprecated is not None else None
    ext = external.value if external is not None else None
    if since is not None and unstable is not None:
        raise WitError("cannot specify both @since and @unstable", since.span)
    if since is not None:
        return Stable(since.version, dep), ext
    if unstable is not None:
        return Unstable(unstable.feature, dep), ext
    if deprecated is not None:
        raise WitError(
            "cannot specify both @deprecated without @since or @unstable", deprecated.span
        )
    return None, ext


class Gates:
    """The enabled features, and the inclusion rule for gated items."""

    def __init__(self, features: Collection[str], all_features: bool) -> None:
        self.features = frozenset(features)
        self.all_features = all_features

    def include(self, stab: Stability, package: PackageName, span: Span | None) -> bool:
        """Whether an item with this stability is kept in `package`."""
        if stab is None:
            return True
        if isinstance(stab, Stable):
            version = package.version
            if version is None:
                raise WitError(
                    f"package [{package}] contains a feature gate with a version "
                    "specifier, so it must have a version",
                    span,
                )
            if compare_versions(stab.since, version) > 0:
                raise WitError(
                    f"feature gate cannot reference unreleased version {stab.since} of "
                    f"package [{package}] (current version {version})",
                    span,
                )
            return True
        return self.all_features or stab.feature in self.features


def version_debug(version: str) -> str:
    """The Rust `Debug` form of a `semver::Version`."""
    core, _, build = version.partition("+")
    core, _, pre = core.partition("-")
    major, minor, patch = (core.split(".") + ["0", "0"])[:3]
    out = f"Version {{ major: {major}, minor: {minor}, patch: {patch}"
    if pre:
        out += f', pre: Prerelease("{pre}")'
    if build:
        out += f', build: BuildMetadata("{build}")'
    return out + " }"


def stability_debug(stab: Stability) -> str:
    """The Rust `Debug` form of a stability, as used in merge errors."""
    if stab is None:
        return "Unknown"
    dep = "None" if stab.deprecated is None else f"Some({version_debug(stab.deprecated)})"
    if isinstance(stab, Stable):
        return f"Stable {{ since: {version_debug(stab.since)}, deprecated: {dep} }}"
    return f'Unstable {{ feature: "{stab.feature}", deprecated: {dep} }}'
