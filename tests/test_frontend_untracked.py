"""Syntax trees hold no cycles: their nodes are left out of the garbage collector's work."""

from __future__ import annotations

import gc

from msgspec import Struct

from witgen.errors import Source, Span
from witgen.frontend import ast
from witgen.frontend.parser import parse_file

WIT = """package demo:shop@1.0.0;

/// Orders.
interface orders {
    use types.{id};
    @since(version = 1.0.0)
    record order { id: id, note: option<string>, lines: list<tuple<u32, string>> }
    variant state { open, shipped(u64) }
    resource cart {
        constructor(owner: string);
        add: func(o: borrow<order>) -> result<_, string>;
    }
    place: func(o: order) -> result<u64, string>;
}

interface types { type id = u64; }

world shop { import orders; export run: func(); include other; }
world other {}
"""


def _nodes(value: object) -> list[Struct]:
    """Every AST node under `value` (spans and sources excluded)."""
    found: list[Struct] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, (tuple, list)):
            stack.extend(item)
        elif isinstance(item, Struct) and type(item).__module__ == ast.__name__:
            found.append(item)
            stack.extend(getattr(item, name) for name in item.__struct_fields__)
    return found


def test_parsed_nodes_are_not_tracked() -> None:
    tree = parse_file(Source("shop.wit", WIT))
    nodes = _nodes(tree)
    kinds = {type(node).__name__ for node in nodes}
    assert {"File", "InterfaceDecl", "RecordDecl", "ResourceDecl", "WorldDecl", "Id", "Docs"} <= kinds
    assert [type(node).__name__ for node in nodes if gc.is_tracked(node)] == []


def test_spans_of_a_parsed_tree_are_not_tracked() -> None:
    tree = parse_file(Source("shop.wit", WIT))
    spans = [node.span for node in _nodes(tree) if isinstance(getattr(node, "span", None), Span)]
    assert len(spans) > 20
    assert [span for span in spans if gc.is_tracked(span)] == []
