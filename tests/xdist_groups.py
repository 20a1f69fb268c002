"""Tests marked `xdist_group(name)` run in one pytest-xdist worker (`--dist loadgroup`).

xdist tells its scheduler an item's group by appending `@name` to the item's node id
through the attribute pytest kept node ids in before 9.2; pytest 9.2 keeps structured node
ids (`_id`) and no longer reads that attribute, so groups were silently ignored and every
worker started its own wasmCloud host or NATS cluster. The hook below (the conftest's) puts
the suffix where this pytest reads node ids, on workers only, unless it is there already.
"""

from __future__ import annotations

import pytest


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("loadgroup", False):  # set on xdist workers under --dist loadgroup
        return
    try:
        from _pytest.nodeid import NodeId
    except ImportError:  # a pytest before structured node ids: xdist's own suffix works
        return
    for item in items:
        names = {str(m.args[0] if m.args else m.kwargs.get("name", "default")) for m in item.iter_markers("xdist_group")}
        suffix = "@" + "_".join(sorted(names))
        if names and not item.nodeid.endswith(suffix) and isinstance(getattr(item, "_id", None), NodeId):
            item._id = NodeId.parse(item.nodeid + suffix)
