"""The in-process bus: a lattice inside one Python process, no server needed.

    lattice = InProcessBus()                 # an anonymous endpoint on a new lattice
    serving = lattice.serve(table)           # a provider's DispatchTable answers calls
    actor = lattice.connect("actor-1")       # another endpoint, caller id "actor-1"
    actor.invoke("wamli:stateful/state", "get-data", b"")

Every endpoint made with `connect` shares its lattice: whatever one serves, all
can call. A call runs the dispatch table directly in the caller's thread (sync)
or task (asyncio), with the endpoint's source id, so resource handles are kept
per endpoint. Payloads and results are bytes, exactly as a network transport
would carry them: nothing else crosses the bus, which keeps tests on this bus
honest about the wire.
"""

from __future__ import annotations

import asyncio
import threading

from witgen.runtime.errors import BusTimeout, UnknownOperation
from witgen.runtime.dispatch import BoundOperation, DispatchTable

__all__ = ["InProcessBus", "Registration"]

_Route = tuple[DispatchTable, BoundOperation]


class _Lattice:
    """The routing state all endpoints of one in-process lattice share."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.tables: list[DispatchTable] = []
        # (instance, function) -> route, for every canonical address and alias.
        self.routes: dict[tuple[str, str], _Route] = {}

    def add(self, table: DispatchTable) -> None:
        with self.lock:
            if table in self.tables:
                raise ValueError(f"{table!r} is already served on this bus")
            routes = dict(self.routes)
            for key in table.keys():
                if key in routes and routes[key][0] is not table:
                    raise ValueError(f"operation {key} is already served by {routes[key][0]!r}")
                bound = table.find(*key)
                assert bound is not None
                routes[key] = (table, bound)
            self.tables.append(table)
            self.routes = routes  # readers never see a half-built map

    def remove(self, table: DispatchTable) -> None:
        with self.lock:
            if table not in self.tables:
                return
            self.tables.remove(table)
            self.routes = {k: r for k, r in self.routes.items() if r[0] is not table}

    def resolve(self, instance: str, function: str) -> _Route:
        """The slow path: a legacy short name under any instance."""
        for table in self.tables:
            bound = table.find(instance, function)
            if bound is not None:
                return table, bound
        raise UnknownOperation("no provider serves this operation", instance, function)


class Registration:
    """A table served on an in-process lattice; `close()` stops serving it."""

    def __init__(self, lattice: _Lattice, table: DispatchTable) -> None:
        self._lattice = lattice
        self.table = table

    def close(self) -> None:
        self._lattice.remove(self.table)
        self.table.handles.release_all()

    def __enter__(self) -> Registration:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class InProcessBus:
    """One endpoint of an in-process lattice (see the module docstring)."""

    __slots__ = ("_lattice", "_source")

    def __init__(self, source: str = "") -> None:
        self._lattice = _Lattice()
        self._source = source

    def __repr__(self) -> str:
        return f"<InProcessBus source={self._source!r}>"

    @property
    def source(self) -> str:
        return self._source

    def connect(self, source: str) -> InProcessBus:
        """Another endpoint on the same lattice, calling as `source`."""
        other = InProcessBus.__new__(InProcessBus)
        other._lattice = self._lattice
        other._source = source
        return other

    def serve(self, table: DispatchTable) -> Registration:
        """Answer calls to `table`'s operations from every endpoint of this lattice."""
        self._lattice.add(table)
        return Registration(self._lattice, table)

    def release(self) -> int:
        """This endpoint goes away: release the resources it holds in every provider."""
        return sum(t.release(self._source) for t in list(self._lattice.tables))

    def route(self, instance: str, function: str) -> _Route:
        """The table and operation serving (instance, function); `UnknownOperation` if none."""
        route = self._lattice.routes.get((instance, function))
        return route if route is not None else self._lattice.resolve(instance, function)

    def invoke(
        self, instance: str, function: str, payload: bytes, *, timeout: float | None = None
    ) -> bytes:
        """Run the operation in this thread and return its encoded result."""
        route = self._lattice.routes.get((instance, function))
        if route is None:
            route = self._lattice.resolve(instance, function)
        if type(payload) is not bytes:
            payload = bytes(payload)  # as a wire would: no views into the caller's buffer
        return route[0].run(route[1], payload, self._source, timeout)

    async def invoke_async(
        self, instance: str, function: str, payload: bytes, *, timeout: float | None = None
    ) -> bytes:
        """Run the operation in this task and return its encoded result."""
        route = self._lattice.routes.get((instance, function))
        if route is None:
            route = self._lattice.resolve(instance, function)
        if type(payload) is not bytes:
            payload = bytes(payload)
        if timeout is None:
            return await route[0].run_async(route[1], payload, self._source)
        try:
            return await asyncio.wait_for(
                route[0].run_async(route[1], payload, self._source), timeout
            )
        except TimeoutError:
            raise BusTimeout(f"no result within {timeout} s", instance, function) from None
