"""Semantic version ordering, as the reference orders package names and gates."""

from __future__ import annotations

from functools import cache, cmp_to_key

from witgen.model import PackageName


def _split(version: str) -> tuple[tuple[int, ...], list[str], str]:
    core, _, build = version.partition("+")
    core, _, pre = core.partition("-")
    nums = tuple(int(p) if p.isdigit() else 0 for p in core.split("."))
    return nums, (pre.split(".") if pre else []), build


def _cmp_ids(a: list[str], b: list[str]) -> int:
    for x, y in zip(a, b):
        if x == y:
            continue
        if x.isdigit() and y.isdigit():
            return -1 if int(x) < int(y) else 1
        if x.isdigit():
            return -1
        if y.isdigit():
            return 1
        return -1 if x < y else 1
    return (len(a) > len(b)) - (len(a) < len(b))


@cache
def compare_versions(a: str, b: str) -> int:
    """-1, 0 or 1: semver precedence, then build metadata (as the `semver` crate does)."""
    na, pa, ba = _split(a)
    nb, pb, bb = _split(b)
    if na != nb:
        return -1 if na < nb else 1
    if pa != pb:
        if not pa:
            return 1
        if not pb:
            return -1
        return _cmp_ids(pa, pb)
    if ba == bb:
        return 0
    if not ba:
        return -1
    if not bb:
        return 1
    return _cmp_ids(ba.split("."), bb.split("."))


def _cmp_names(a: PackageName, b: PackageName) -> int:
    if a.namespace != b.namespace:
        return -1 if a.namespace.encode() < b.namespace.encode() else 1
    if a.name != b.name:
        return -1 if a.name.encode() < b.name.encode() else 1
    if a.version == b.version:
        return 0
    if a.version is None:
        return -1
    if b.version is None:
        return 1
    return compare_versions(a.version, b.version)


package_sort_key = cmp_to_key(_cmp_names)
