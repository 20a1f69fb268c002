"""`witgen host`: run a component as an actor on a NATS lattice; the component support of `witgen call`.

Both load the component (the compiled-artifact cache of `witgen.runtime.wasm.loader`), pick
the world of `--wit` with the most exports all of which the component exports (or `--world`), generate that
world's bindings with the `host` part into a temporary folder (removed once they are imported),
and build its `<World>Host`. Imports go over NATS: `--import [LINK/]IFACE=PREFIX` sends the
calls of one imported interface (IFACE with or without `@version`) to the provider serving
under PREFIX. The component's limits: `--max-memory` per linear memory, and a deadline of
guest time per call (`--deadline`; `witgen call` uses its `--timeout`).
"""

from __future__ import annotations

import importlib
import itertools
import math
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

import click

from witgen.cli.nats_options import NATS_HELP, servers_option
from witgen.runtime.urls import redact

_counter = itertools.count()
DEFAULT_MAX_MEMORY = "256MiB"


def fail(message: str) -> NoReturn:
    click.echo(f"error: {redact(message)}", err=True)
    sys.exit(1)


def _exports(names: set[str]) -> str:
    """A component's exports for a message; names are quoted (toolchains add one called `exports`)."""
    return "its exports: " + ", ".join(f"`{n}`" for n in sorted(names)) if names else "it exports nothing"


def positive_seconds(ctx: click.Context, param: click.Parameter, value: float) -> float:
    """Validate a duration option: more than 0 and finite."""
    if not (value > 0 and math.isfinite(value)):
        raise click.BadParameter(f"expected seconds, more than 0 and finite; got {value:g}", ctx, param)
    return value


def memory_size(ctx: click.Context, param: click.Parameter, value: str) -> int:
    """Validate a size option (`256MiB`, `1GiB`, `64MB`, bytes) into bytes."""
    from witgen.runtime.wasm.limits import parse_size

    try:
        return parse_size(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


max_memory_option = click.option(
    "--max-memory",
    default=DEFAULT_MAX_MEMORY,
    show_default=True,
    metavar="SIZE",
    callback=memory_size,
    help="Cap on each linear memory of the component (256MiB, 1GiB, 64MB, bytes).",
)


class Actor:
    """A component file, the world it targets and that world's generated host class."""

    def __init__(self, component: str, wit: str, world: str | None) -> None:
        try:
            from witgen.runtime.wasm import ComponentLoadError, engine_for, load
        except ImportError as exc:
            fail(f"hosting components needs wasmtime: pip install 'witgen[wasm]' ({exc})")
        from witgen.errors import WitError
        from witgen.resolver import load as load_wit

        from witgen.cli.progress import CompileReport

        try:
            self.compiled = load(engine_for(), component, progress=CompileReport())
        except ComponentLoadError as exc:
            fail(str(exc))
        except KeyboardInterrupt:  # the compile is abandoned; the cache holds nothing of it
            click.echo(f"interrupted: {component} was not compiled; nothing was cached", err=True)
            sys.exit(130)
        try:
            self.resolve = load_wit(wit)
        except WitError as exc:
            fail(f"cannot load {wit}: {exc.render()}")
        self.component = component
        self.world_id = self._select_world(world)
        self.module = self._generate()
        self.host_class = self._host_class()

    # ------------------------------------------------------------------ the world

    def _world_ids(self) -> dict[str, int]:
        r = self.resolve
        out = {}
        for wid, w in enumerate(r.worlds):
            if w.package is None:
                continue
            pkg = r.packages[w.package].name
            base = f"{pkg.namespace}:{pkg.name}/{w.name}"
            out[f"{base}@{pkg.version}" if pkg.version else base] = wid
        return out

    def export_names(self, wid: int) -> set[str]:
        from witgen import model as m

        r = self.resolve
        names = set()
        for key, item in r.worlds[wid].exports.items():
            if isinstance(item, m.InterfaceItem) and r.interfaces[item.id].name is not None:
                names.add(r.interface_id(item.id))
            elif isinstance(item, m.FunctionItem):
                names.add(item.function.name)
            elif isinstance(key, str):
                names.add(key)
        return names

    def _select_world(self, world: str | None) -> int:
        ids = self._world_ids()
        if world is not None:
            root = self.resolve.root
            found = [wid for name, wid in ids.items() if name == world or name.partition("@")[0] == world]
            found += [wid for wid, w in enumerate(self.resolve.worlds) if w.name == world and w.package == root]
            if not found:
                raise click.UsageError(f"no world {world!r} in the WIT (worlds: {', '.join(sorted(ids))})")
            wid = found[0]
            if not self.export_names(wid) <= self._component_exports():
                fail(f"{self.component} does not match world {world} ({_exports(self._component_exports())})")
            return wid
        exports = self._component_exports()
        # Every export of the world must be the component's (toolchains may add their own).
        sizes = {name: len(self.export_names(wid)) for name, wid in ids.items() if self.export_names(wid) <= exports}
        best = max(sizes.values(), default=0)
        matches = [name for name, size in sizes.items() if size == best and (size or not exports)]
        if not matches:
            fail(f"{self.component} matches no world of the WIT ({_exports(exports)})")
        if len(matches) > 1:
            raise click.UsageError(f"{self.component} matches several worlds ({', '.join(sorted(matches))}): pick one with --world")
        return ids[matches[0]]

    def _component_exports(self) -> set[str]:
        from witgen.runtime.wasm import engine_for

        return set(self.compiled.type.exports(engine_for()))

    # ------------------------------------------------------------------ bindings

    def _generate(self) -> Any:
        from msgspec.structs import replace

        from witgen.codegen import PARTS, render_bindings
        from witgen.codegen.layout import Layout

        r = self.resolve
        world = r.worlds[self.world_id]
        resolve = replace(r, root=world.package) if world.package is not None else r
        try:
            files = render_bindings(resolve, [self._qualified()], parts=PARTS, format=False)
        except Exception as exc:
            fail(f"cannot generate bindings: {exc}")
        package = f"_witgen_host_{next(_counter)}"
        layout = Layout(resolve, [self.world_id], world.package)
        dotted = next(d for d, mod in layout.modules.items() if mod.kind == "world" and mod.owner == self.world_id)
        # Importing the world's module imports every generated module it uses, and nothing
        # imports them later: the folder goes as soon as they are loaded.
        with tempfile.TemporaryDirectory(prefix="witgen-host-") as folder:
            for rel, text in files.items():
                path = Path(folder) / package / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
            sys.path.insert(0, folder)
            try:
                return importlib.import_module(f"{package}.{dotted}")
            finally:
                sys.path.remove(folder)

    def _qualified(self) -> str:
        return next(name for name, wid in self._world_ids().items() if wid == self.world_id)

    def _host_class(self) -> Any:
        from witgen.runtime.wasm.host import ComponentHost

        for value in vars(self.module).values():
            if isinstance(value, type) and issubclass(value, ComponentHost) and value.__module__ == self.module.__name__:
                return value
        fail("the generated bindings hold no host class")

    # ------------------------------------------------------------------ routes

    @property
    def legacy(self) -> bool:
        """True for a 0.x actor: its world imports `wasmcloud:bus/host`."""
        return any(i.partition("@")[0] == "wasmcloud:bus/host" for i in self.host_class.IMPORTS)

    def interfaces(self) -> dict[str, Any]:
        """Every custom interface the bindings describe (a 0.x actor's call-sync targets)."""
        both = {**self.host_class.IMPORTS, **self.host_class.EXPORTS}
        return {i: f for i, f in both.items() if i and not i.startswith(("wasi:", "wasmcloud:bus/"))}

    def routes(self, bus: Any, imports: Sequence[str]) -> dict[str, Any]:
        """`--import [LINK/]IFACE=PREFIX` options -> a NATS endpoint per imported instance.

        For a 0.x actor IFACE is an interface its `call-sync` reaches, and LINK (default
        `default`) the link name that selects the endpoint.
        """
        known = list(self.interfaces() if self.legacy else self.host_class.IMPORTS)
        self.links: dict[str, Any] = {}
        out = {}
        for spec in imports:
            target, eq, prefix = spec.partition("=")
            if not eq or not target:
                raise click.UsageError(f"--import {spec!r}: expected [LINK/]IFACE=PREFIX")
            link = ""
            if target.count("/") > 1 or (target.count("/") == 1 and ":" not in target.partition("/")[0]):
                link, _, target = target.partition("/")
            found = [i for i in known if i == target or i.partition("@")[0] == target]
            if not found:
                raise click.UsageError(
                    f"--import {spec!r}: the world imports no {target} (imports: {', '.join(known) or 'none'})"
                )
            out[found[0]] = self.links[link or "default"] = bus.endpoint(prefix=prefix, link_name=link)
        return out

    def build(self, bus: Any, routes: Mapping[str, Any], **limits: Any) -> Any:
        """The world's host for the component; `limits`: `deadline`, `max_memory`."""
        definers = []
        if self.legacy:
            from witgen.runtime.wasm.wasmcloud import WasmcloudBus

            definers.append(WasmcloudBus(self.interfaces(), links=getattr(self, "links", {})))
            routes = {}
        return self.host_class(self.compiled, bus=bus, routes=routes, definers=definers, name=self.component, **limits)


@click.command(
    epilog="""
\b
Runs until SIGINT or SIGTERM (then drains and exits 0); SIGINT first stops the
component's call in progress, and says so on one line. Exit 1: not a component, a
component that matches no world or needs more than --max-memory to start, NATS
unreachable; exit 2: usage (several worlds match: pass --world; a bad --deadline or
--max-memory).
"""
)
@click.argument("component", type=click.Path(dir_okay=False))
@click.option(
    "--wit",
    type=click.Path(exists=True),
    help="The WIT file or package folder (default: the interface the component itself declares).",
)
@click.option("--world", help="The world the component targets (default: the one its exports match).")
@click.option("--nats", "url", required=True, metavar="URL[,URL...]", callback=servers_option, help=NATS_HELP)
@click.option("--prefix", required=True, help="Subject prefix the actor's exports are served under.")
@click.option("--import", "imports", multiple=True, metavar="[LINK/]IFACE=PREFIX", help="Where an imported interface's provider serves.")
@click.option("--creds", type=click.Path(exists=True, dir_okay=False), help="NATS credentials file.")
@click.option(
    "--deadline", default=10.0, show_default=True, type=float, metavar="SECONDS", callback=positive_seconds,
    help="Guest time allowed per call (time spent in its imports does not count).",
)  # fmt: skip
@max_memory_option
def host(
    component: str, wit: str | None, world: str | None, url: str, prefix: str, imports: tuple[str, ...], creds: str | None,
    deadline: float, max_memory: int,
) -> None:  # fmt: skip
    """Run COMPONENT as an actor: its exports served on NATS, its imports called over NATS."""
    from witgen.console import long_running

    long_running()
    actor = Actor(component, component if wit is None else wit, world)
    from witgen.runtime.wasm.serve import host_forever

    specs = list(imports)

    def build(bus: Any, routes: Mapping[str, Any]) -> Any:
        return actor.build(bus, actor.routes(bus, specs), deadline=deadline, max_memory=max_memory)

    actor.routes(_NoBus(), specs)  # usage errors before connecting
    sys.exit(host_forever(build, url, prefix=prefix, creds=creds, name=f"witgen host {component}"))


class _NoBus:
    def endpoint(self, **options: Any) -> None:
        return None
