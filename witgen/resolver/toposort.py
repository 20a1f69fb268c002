"""Kahn's toposort with a min-heap on declaration index, as wit-parser does it."""

from __future__ import annotations

try:  # the C functions without heapq.py's import
    from _heapq import heapify, heappop, heappush
except ImportError:  # pragma: no cover - an interpreter without them
    from heapq import heapify, heappop, heappush

from witgen.frontend import ast
from witgen.errors import WitError

_OLD_FLOATS = {"float32": "f32", "float64": "f64"}


def toposort(kind: str, deps: dict[str, list[ast.Id]], old_float_hint: bool = False) -> list[str]:
    """Names of `deps` ordered so that every name comes after the names it depends on.

    Whenever several names are ready the one declared first wins. Errors:
    `{kind} `x` does not exist` (an edge to an unknown name) and
    `{kind} `x` depends on itself` (a cycle).
    """
    names = list(deps)
    index = {n: i for i, n in enumerate(names)}
    remaining = [0] * len(names)
    reverse: list[list[int]] = [[] for _ in names]
    for i, edges in enumerate(deps.values()):
        remaining[i] = len(edges)
        for edge in edges:
            j = index.get(edge.name)
            if j is None:
                msg = f"{kind} `{edge.name}` does not exist"
                if old_float_hint and edge.name in _OLD_FLOATS:
                    msg += (
                        f"\nthe `{edge.name}` type has been renamed to "
                        f"`{_OLD_FLOATS[edge.name]}` and is no longer accepted, but the "
                        "`WIT_REQUIRE_F32_F64=0` environment variable can be used to "
                        "temporarily disable this error"
                    )
                raise WitError(msg, edge.span)
            reverse[j].append(i)
    heap = [i for i, r in enumerate(remaining) if r == 0]
    heapify(heap)
    order: list[str] = []
    while heap:
        i = heappop(heap)
        order.append(names[i])
        for j in reverse[i]:
            remaining[j] -= 1
            if remaining[j] == 0:
                heappush(heap, j)
    if len(order) == len(names):
        return order
    for i, edges in enumerate(deps.values()):
        if remaining[i] == 0:
            continue
        for edge in edges:
            if remaining[index[edge.name]] != 0:
                raise WitError(f"{kind} `{edge.name}` depends on itself", edge.span)
    raise AssertionError("cycle not found")
