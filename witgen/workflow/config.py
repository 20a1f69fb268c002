"""Targets: what to generate, from `[tool.witgen]` in pyproject.toml or from options.

The configuration is one table, optionally with a list of targets; keys set on
`[tool.witgen]` itself are defaults for every target:

    [tool.witgen]
    parts = ["types", "provider", "client"]

    [[tool.witgen.targets]]
    name = "stateful"
    wit = "samples/stateful/wit"
    out = "samples/stateful/bindings"
    worlds = ["provider"]
    features = ["beta"]          # or all-features = true

    [[tool.witgen.targets]]
    name = "kv"
    wit = "wit/keyvalue"
    out = "kv/bindings"
    export = ["wasi:keyvalue/store"]  # a provider of interfaces no world exports
    import = ["wasi:keyvalue/atomics"]  # clients of interfaces no world imports

`export` and `import` name interfaces (`ns:pkg/iface[@version]`, or a bare name
that one package alone has) of a world made for them, generated as `OUT/exports.py`
(`OUT/imports.py` without exports); with them, only the `worlds` listed are
generated besides. Without `targets`, `[tool.witgen]` itself is the one target. Paths are relative
to the directory of the pyproject.toml. Unknown keys are errors, so that a typo
never silently generates something else.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

PARTS = ("types", "provider", "client", "host")
DEFAULT_PARTS = ("types", "provider", "client")  # "host" needs the wasm extra: opt in
TARGET_KEYS = {"name", "wit", "out", "worlds", "features", "all-features", "parts", "export", "import"}


class ConfigError(Exception):
    """An invalid `[tool.witgen]` table or option set."""


class UnknownTarget(ConfigError):
    """A target name that the configuration does not define (a usage error on the command line)."""


class Target(NamedTuple):
    """One generation job: a WIT folder (or file) into one output package.

    A NamedTuple rather than a dataclass: `check` must start fast.
    """

    name: str
    wit: Path
    out: Path
    worlds: tuple[str, ...] = ()
    features: tuple[str, ...] = ()
    all_features: bool = False
    parts: tuple[str, ...] = DEFAULT_PARTS
    # Directory that the WIT input paths in generated headers are relative to.
    root: Path = Path(".")
    # Interfaces of a world made for them: provided (`export`) and called (`import`).
    exports: tuple[str, ...] = ()
    imports: tuple[str, ...] = ()

    def options(self) -> dict[str, Any]:
        """The options that shape the output, as plain JSON-able data."""
        options: dict[str, Any] = {
            "worlds": list(self.worlds),
            "features": sorted(set(self.features)),
            "all_features": self.all_features,
            "parts": [p for p in PARTS if p in self.parts],
        }
        if self.exports or self.imports:  # absent otherwise: digests stay as they were
            options["exports"] = list(self.exports)
            options["imports"] = list(self.imports)
        return options


def parse_list(value: str | None) -> tuple[str, ...]:
    """`a,b, c` -> ("a", "b", "c"); None or blank -> ()."""
    if not value:
        return ()
    return tuple(item.strip() for item in value.split(",") if item.strip())


def check_parts(parts: Iterable[str]) -> tuple[str, ...]:
    """`parts` validated: a non-empty selection of PARTS."""
    result = tuple(parts)
    unknown = [p for p in result if p not in PARTS]
    if unknown:
        raise ConfigError(f"unknown part {unknown[0]!r} (expected one of {', '.join(PARTS)})")
    if not result:
        raise ConfigError("`parts` is empty")
    return result


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml with a `[tool.witgen]` table, from `start` upwards.

    The search stops at the root of the enclosing git repository.
    """
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file() and b"[tool.witgen" in candidate.read_bytes():
            return candidate
        if (folder / ".git").exists():
            return None
    return None


def load_config(pyproject: Path) -> list[Target]:
    """The targets of a pyproject.toml's `[tool.witgen]` table."""
    import tomllib  # here: a command given PATH reads no configuration

    try:
        with pyproject.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{pyproject}: {exc}") from None
    table = data.get("tool", {}).get("witgen")
    if not isinstance(table, dict):
        raise ConfigError(f"{pyproject}: no [tool.witgen] table")
    return targets_from_table(table, pyproject.parent, str(pyproject))


def targets_from_table(table: dict[str, Any], root: Path, where: str) -> list[Target]:
    """Targets from a parsed `[tool.witgen]` table whose paths are relative to `root`."""
    defaults = dict(table)
    entries = defaults.pop("targets", None)
    unknown = set(defaults) - TARGET_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key {sorted(unknown)[0]!r} in [tool.witgen]")
    if entries is None:
        entries = [{}]
    elif not isinstance(entries, list) or not entries:
        raise ConfigError(f"{where}: `targets` must be a non-empty array of tables")
    targets = []
    for i, entry in enumerate(entries):
        label = f"{where}: [[tool.witgen.targets]] #{i + 1}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{label}: expected a table")
        unknown = set(entry) - TARGET_KEYS
        if unknown:
            raise ConfigError(f"{label}: unknown key {sorted(unknown)[0]!r}")
        targets.append(_target({**defaults, **entry}, root, label))
    names = [t.name for t in targets]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"{where}: two targets are named {dupes[0]!r}")
    outs = [t.out.resolve() for t in targets]
    for i, out in enumerate(outs):
        for other in outs[i + 1 :]:
            if out == other or out in other.parents or other in out.parents:
                raise ConfigError(f"{where}: two targets write into {out}")
    return targets


def _target(entry: dict[str, Any], root: Path, label: str) -> Target:
    def text(key: str) -> str:
        value = entry.get(key)
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{label}: `{key}` must be a non-empty string")
        return value

    def strings(key: str) -> tuple[str, ...]:
        value = entry.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{label}: `{key}` must be an array of strings")
        return tuple(value)

    wit, out = text("wit"), text("out")
    all_features = entry.get("all-features", False)
    if not isinstance(all_features, bool):
        raise ConfigError(f"{label}: `all-features` must be true or false")
    name = entry.get("name", out)
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{label}: `name` must be a non-empty string")
    try:
        parts = check_parts(strings("parts")) if "parts" in entry else DEFAULT_PARTS
    except ConfigError as exc:
        raise ConfigError(f"{label}: {exc}") from None
    return Target(
        name=name,
        wit=root / wit,
        out=root / out,
        worlds=strings("worlds"),
        features=strings("features"),
        all_features=all_features,
        parts=parts,
        root=root,
        exports=strings("export"),
        imports=strings("import"),
    )


def select(targets: Sequence[Target], names: Sequence[str]) -> list[Target]:
    """The targets named in `names` (all of them when `names` is empty)."""
    if not names:
        return list(targets)
    known = {t.name: t for t in targets}
    missing = [n for n in names if n not in known]
    if missing:
        raise UnknownTarget(f"no target named {missing[0]!r} (known: {', '.join(known)})")
    return [known[n] for n in dict.fromkeys(names)]
