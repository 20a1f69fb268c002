"""Import and export names of components: `ns:pkg/iface@1.0.0`, `[method]r.m`, plain labels."""

from __future__ import annotations

import re

from msgspec import Struct

from witgen import model

_WORD = r"[a-z][a-z0-9]*|[A-Z][A-Z0-9]*"
_KEBAB = re.compile(rf"(?:{_WORD})(?:-(?:{_WORD}))*\Z")
_LOWER_KEBAB = re.compile(r"[a-z][a-z0-9]*(?:-[a-z][a-z0-9]*)*\Z")
_SEMVER = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?\Z"
)


class NameError_(ValueError):
    """A name that is not a valid component name."""


class Name(Struct, frozen=True):
    """A parsed name: `kind` is label, constructor, method, static, interface or other."""

    raw: str
    kind: str
    resource: str = ""  # constructor/method/static: the resource's name
    namespace: str = ""  # interface: `ns`
    package: str = ""  # interface: `pkg`
    interface: str = ""  # interface: `iface`
    version: str | None = None  # interface: the text after `@`

    def package_name(self, version_suffix: str | None) -> model.PackageName:
        """The package of an interface name (a version suffix appended to its version)."""
        version = self.version
        if version is not None:
            if version_suffix is not None:
                version += version_suffix
            if not _SEMVER.match(version):
                raise NameError_(f"invalid version `{version}` in `{self.raw}`")
        return model.PackageName(self.namespace, self.package, version)


def is_kebab(text: str) -> bool:
    return bool(_KEBAB.match(text))


def parse(raw: str) -> Name:
    """The kind and parts of `raw`; NameError_ when it is none of the forms."""
    for prefix, kind in (("[constructor]", "constructor"), ("[method]", "method"), ("[static]", "static")):
        if raw.startswith(prefix):
            rest = raw[len(prefix) :]
            if kind == "constructor":
                if not is_kebab(rest):
                    raise NameError_(f"`{rest}` is not in kebab case")
                return Name(raw, kind, resource=rest)
            resource, dot, method = rest.partition(".")
            if not dot or not is_kebab(resource) or not is_kebab(method):
                raise NameError_(f"`{raw}` is not a valid resource function name")
            return Name(raw, kind, resource=resource)
    if raw.startswith(("[async]", "[async method]", "[async static]")):
        raise NameError_(f"`{raw}` uses a name prefix that is no longer supported")
    if raw.startswith(("unlocked-dep=", "locked-dep=", "url=", "integrity=")):
        return Name(raw, "other")
    if ":" in raw:
        return _interface(raw)
    if not is_kebab(raw):
        raise NameError_(f"`{raw}` is not in kebab case")
    return Name(raw, "label")


def _interface(raw: str) -> Name:
    path, at, version = raw.partition("@")
    pkg, slash, projection = path.partition("/")
    namespace, _, package = pkg.rpartition(":")
    if not namespace or not _LOWER_KEBAB.match(package) or not all(
        _LOWER_KEBAB.match(part) for part in namespace.split(":")
    ):
        raise NameError_(f"`{raw}` is not a valid package name")
    if not slash:
        raise NameError_(f"expected `/` after package name in `{raw}`")
    parts = projection.split("/")
    if not all(is_kebab(p) for p in parts):
        raise NameError_(f"`{projection}` is not in kebab case")
    return Name(
        raw,
        "interface",
        namespace=namespace,
        package=package,
        interface=parts[0],
        version=version if at else None,
    )
