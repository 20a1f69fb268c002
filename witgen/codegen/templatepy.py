"""Jinja templates as plain Python functions, so that rendering needs no jinja2 at run time.

`python -m witgen.codegen.write_templates` translates every template of the code
generator that uses only what is supported here (output, `if`, `for` with the `loop.`
counters, attribute and item access, `not`/`and`/`or`, comparisons, inline `if`, the
`block` and `join` filters, a loop's `if`) into `witgen/codegen/precompiled.py`; a template using
anything else is left to jinja2. The translation follows Jinja's semantics for the
environment of `witgen.codegen.templating`: output is `str()` of each value (no
autoescape, no finalize), attribute access tries the attribute then the item, a
for-loop's name is local to the loop, an inline `if` without `else` prints nothing,
and an undefined name or attribute is an error, as `StrictUndefined` makes it when
used. Whitespace control (`trim_blocks`, `lstrip_blocks`, the final newline) is
applied by Jinja's own parser before translation.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jinja2
from jinja2 import nodes


class Unsupported(Exception):
    """A template construct this translator does not handle (the template stays Jinja's)."""


_COMPARE = {"eq": "==", "ne": "!=", "lt": "<", "gt": ">", "lteq": "<=", "gteq": ">=", "in": "in", "notin": "not in"}
_FILTERS = {"block": 'filters["block"]', "join": "_join"}
_LOOP = {
    "last": "({i} == {n} - 1)",
    "first": "({i} == 0)",
    "index": "({i} + 1)",
    "index0": "{i}",
    "length": "{n}",
    "revindex": "({n} - {i})",
    "revindex0": "({n} - {i} - 1)",
}


class _Scope:
    """Names bound by enclosing for-loops (Jinja name -> Python local), and the loop counters."""

    def __init__(self, names: dict[str, str], loop: tuple[str, str] | None) -> None:
        self.names = names
        self.loop = loop


class _Translator:
    def __init__(self, globals_: frozenset[str]) -> None:
        self.globals = globals_
        self.lines: list[str] = []
        self.counter = 0

    def fresh(self, stem: str) -> str:
        self.counter += 1
        return f"_{stem}{self.counter}"

    def emit(self, indent: int, line: str) -> None:
        self.lines.append("    " * indent + line)

    # statements

    def body(self, body: list[nodes.Node], scope: _Scope, indent: int) -> None:
        start = len(self.lines)
        for node in body:
            self.statement(node, scope, indent)
        if len(self.lines) == start:
            self.emit(indent, "pass")

    def statement(self, node: nodes.Node, scope: _Scope, indent: int) -> None:
        if isinstance(node, nodes.Output):
            for child in node.nodes:
                if isinstance(child, nodes.TemplateData):
                    self.emit(indent, f"_a({child.data!r})")
                elif isinstance(child, nodes.CondExpr) and child.expr2 is None:
                    value = self.expr(child.expr1, scope)
                    self.emit(indent, f"_a(str({value}) if {self.expr(child.test, scope)} else '')")
                else:
                    self.emit(indent, f"_a(str({self.expr(child, scope)}))")
        elif isinstance(node, nodes.If):
            self.emit(indent, f"if {self.expr(node.test, scope)}:")
            self.body(node.body, scope, indent + 1)
            for branch in node.elif_:
                self.emit(indent, f"elif {self.expr(branch.test, scope)}:")
                self.body(branch.body, scope, indent + 1)
            if node.else_:
                self.emit(indent, "else:")
                self.body(node.else_, scope, indent + 1)
        elif isinstance(node, nodes.For):
            self.for_loop(node, scope, indent)
        else:
            raise Unsupported(type(node).__name__)

    def for_loop(self, node: nodes.For, scope: _Scope, indent: int) -> None:
        if node.else_ or node.recursive:
            raise Unsupported("for with else or recursion")
        names = dict(scope.names)
        targets = node.target.items if isinstance(node.target, nodes.Tuple) else [node.target]
        local_targets = []
        for target in targets:
            if not isinstance(target, nodes.Name):
                raise Unsupported("for target")
            names[target.name] = local = self.fresh(f"l_{target.name}_")
            local_targets.append(local)
        target_text = ", ".join(local_targets) if len(local_targets) == 1 else f"({', '.join(local_targets)})"
        if isinstance(node.target, nodes.Tuple) and len(local_targets) == 1:
            target_text = f"({local_targets[0]},)"
        iterable = self.expr(node.iter, scope)
        if node.test is not None:  # `for x in xs if test`: the loop runs over the items passing it
            kept = self.fresh("kept")
            self.emit(indent, f"{kept}: list[Any] = []")
            self.emit(indent, f"for {target_text} in {iterable}:")
            test = self.expr(node.test, _Scope(names, None))
            self.emit(indent + 1, f"if {test}:")
            self.emit(indent + 2, f"{kept}.append({target_text})")
            iterable = kept
        if any(isinstance(n, nodes.Name) and n.name == "loop" for n in _walk(node.body)):
            items, count, index = self.fresh("items"), self.fresh("n"), self.fresh("i")
            self.emit(indent, f"{items} = list({iterable})")
            self.emit(indent, f"{count} = len({items})")
            self.emit(indent, f"for {index}, {target_text} in enumerate({items}):")
            inner = _Scope(names, (index, count))
        else:
            self.emit(indent, f"for {target_text} in {iterable}:")
            inner = _Scope(names, None)
        self.body(node.body, inner, indent + 1)

    # expressions

    def expr(self, node: nodes.Node, scope: _Scope) -> str:
        if isinstance(node, nodes.Name) and node.ctx == "load":
            if node.name in scope.names:
                return scope.names[node.name]
            if node.name == "loop" or node.name in self.globals:
                raise Unsupported(f"name {node.name}")
            return f"ctx[{node.name!r}]"
        if isinstance(node, nodes.Getattr):
            if isinstance(node.node, nodes.Name) and node.node.name == "loop" and "loop" not in scope.names:
                if scope.loop is None or node.attr not in _LOOP:
                    raise Unsupported(f"loop.{node.attr}")
                index, count = scope.loop
                return _LOOP[node.attr].format(i=index, n=count)
            return f"_getattr({self.expr(node.node, scope)}, {node.attr!r})"
        if isinstance(node, nodes.Getitem):
            if isinstance(node.arg, nodes.Slice):
                raise Unsupported("slice")
            return f"_getitem({self.expr(node.node, scope)}, {self.expr(node.arg, scope)})"
        if isinstance(node, nodes.Const):
            return repr(node.value)
        if isinstance(node, nodes.Not):
            return f"(not {self.expr(node.node, scope)})"
        if isinstance(node, nodes.And):
            return f"({self.expr(node.left, scope)} and {self.expr(node.right, scope)})"
        if isinstance(node, nodes.Or):
            return f"({self.expr(node.left, scope)} or {self.expr(node.right, scope)})"
        if isinstance(node, nodes.CondExpr) and node.expr2 is not None:
            test, yes, no = (self.expr(n, scope) for n in (node.test, node.expr1, node.expr2))
            return f"({yes} if {test} else {no})"
        if isinstance(node, nodes.Compare):
            text = self.expr(node.expr, scope)
            if len(node.ops) != 1 or node.ops[0].op not in _COMPARE:
                raise Unsupported("comparison")
            return f"({text} {_COMPARE[node.ops[0].op]} {self.expr(node.ops[0].expr, scope)})"
        if isinstance(node, nodes.Concat):
            return "''.join((" + "".join(f"str({self.expr(n, scope)}), " for n in node.nodes) + "))"
        if isinstance(node, nodes.Filter):
            if node.node is None or node.name not in _FILTERS or node.kwargs or node.dyn_args or node.dyn_kwargs:
                raise Unsupported(f"filter {node.name}")
            args = [self.expr(node.node, scope), *(self.expr(a, scope) for a in node.args)]
            return f"{_FILTERS[node.name]}({', '.join(args)})"
        raise Unsupported(type(node).__name__)


def _walk(body: list[nodes.Node]) -> Iterator[nodes.Node]:
    for node in body:
        yield node
        yield from node.find_all(nodes.Node)


def translate(env: jinja2.Environment, name: str, function: str) -> str:
    """The source of `def function(ctx, filters) -> str` rendering template `name` as
    `env` would; Unsupported when the template uses a construct not handled here."""
    source = env.loader.get_source(env, name)[0] if env.loader is not None else ""
    tree = env.parse(source, name)
    translator = _Translator(frozenset(env.globals))
    translator.emit(0, f"def {function}(ctx: dict[str, Any], filters: dict[str, Any]) -> str:")
    translator.emit(1, "parts: list[str] = []")
    translator.emit(1, "_a = parts.append")
    translator.body(tree.body, _Scope({}, None), 1)
    translator.emit(1, "return ''.join(parts)")
    return "\n".join(translator.lines) + "\n"

