"""Where an invocation goes: its target (`<instance>.<function>`) -> table and operation.

Instances and resource members contain dots, so a target is never split on dots:
`Routes` matches it whole against what its tables serve.
"""

from __future__ import annotations

from witgen.runtime.dispatch import BoundOperation, DispatchTable

__all__ = ["Route", "Routes"]

Route = tuple[DispatchTable, BoundOperation]


class Routes:
    """Subject tail (`<instance>.<function>`) -> the table and operation serving it."""

    def __init__(self) -> None:
        self.tables: list[DispatchTable] = []
        self._exact: dict[str, Route] = {}
        self.generation = 0  # changes whenever a table is added or removed

    def add(self, table: DispatchTable) -> None:
        if table in self.tables:
            raise ValueError(f"{table!r} is already served on this connection")
        exact = dict(self._exact)
        for instance, function in table.keys():
            bound = table.find(instance, function)
            if bound is None:  # pragma: no cover - keys() lists what find() answers
                continue
            tail = f"{instance}.{function}" if instance else function
            other = exact.get(tail)
            if other is not None and other[0] is not table:
                raise ValueError(f"operation {tail!r} is already served by {other[0]!r}")
            exact[tail] = (table, bound)
        self.tables.append(table)
        self._exact = exact  # readers never see a half-built map
        self.generation += 1

    def remove(self, table: DispatchTable) -> None:
        if table in self.tables:
            self.tables.remove(table)
            self._exact = {k: r for k, r in self._exact.items() if r[0] is not table}
            self.generation += 1

    def find(self, tail: str) -> Route | None:
        return self._exact.get(tail)

    def split(self, tail: str) -> tuple[str, str]:
        """(instance, function) of a tail nothing serves, for messages: longest instance."""
        best = ""
        for table in self.tables:
            for instance in table.instances:
                for name in (instance, instance.partition("@")[0]):
                    if name and tail.startswith(name + ".") and len(name) > len(best):
                        best = name
        return (best, tail[len(best) + 1 :]) if best else ("", tail)
