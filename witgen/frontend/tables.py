"""The LALR(1) table of `grammars/wit.lark` and the loop that drives it.

Lark builds the table and says how each reduction makes its node: which children
it keeps, which helper rules it splices in (the `x*` and `x?` rules it adds), whether
a `?rule` with one child is that child, and which builder method (if any) it calls.
`build` reads all of that out of Lark into plain data (`TableData`), so a table
kept in a cache (see `table_cache`, whose entries are signed with this user's key)
loads with `marshal`, without importing Lark. witgen also ships the table it was
released with (`grammars/wit.table.json`, written by `python -m witgen.frontend.write_table`);
it is used only when it was built from the very grammar being loaded (its key is a
digest of the grammar's text) and names the builder's methods as they are, so a first
run needs no Lark either.
`Tables` drives the data with a small loop: Lark's `feed_token` without the
per-token bookkeeping the parse does not need.
"""

from __future__ import annotations

import marshal
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from witgen.errors import Source
from witgen.paths import data_dir

if TYPE_CHECKING:  # the tokenizer is imported with the builder, on a first parse
    from witgen.frontend.lexer import Scanner, Token

try:  # hashlib's import loads OpenSSL, which start-up avoids
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - an interpreter built without it
    from hashlib import blake2b

# A reduction's recipe: the rule's callback name, the children it keeps as
# (index, splice) pairs (None: every child), whether one child alone stands for the
# node (`?rule`), and whether the builder has the method (else a `Node` is made).
Recipe = tuple[str, "tuple[tuple[int, bool], ...] | None", bool, bool]
# A row of the table: terminal or rule name -> (True, next state) for a shift, or
# (False, (symbols popped, recipe index, rule name)) for a reduce.
Row = dict[str, tuple[bool, Any]]
# start state, end state, rows by state, recipes by index
TableData = tuple[int, int, dict[int, Row], list[Recipe]]

FORMAT = 1  # of the data (a table kept in the cache is marshalled with its rows: `load`)
ROWS = 2  # how `parse_rows` works them out (a table cached with older rows is built again)


class TableCache(Protocol):
    """Where built tables are kept between runs (see `witgen.workflow.astcache`)."""

    def get_tables(self, key: str) -> bytes | None: ...

    def put_tables(self, key: str, data: bytes) -> None: ...


# Installed by whoever runs the front end (None: the table is built with Lark).
table_cache: TableCache | None = None


class Node:
    """What a rule without a builder method makes (Lark's `Tree`): its name and children."""

    __slots__ = ("data", "children")

    def __init__(self, data: str, children: list[Any]) -> None:
        self.data = data
        self.children = children

    def __repr__(self) -> str:
        return f"Node({self.data!r}, {self.children!r})"


def grammar_text() -> str:
    return (data_dir("grammars") / "wit.lark").read_text(encoding="utf-8")


SHIPPED = "wit.table.json"  # in the grammars folder, beside wit.lark


def grammar_key(grammar: str) -> str:
    """What a table is a function of: the format of its data and the grammar's text."""
    return blake2b(f"{FORMAT}\0{grammar}".encode(), digest_size=16).hexdigest()


def load(builder: object) -> Tables:
    """The table with its callbacks bound to `builder`: from `table_cache`, else the one
    witgen ships (when it fits the grammar and the builder), else built with Lark."""
    grammar = grammar_text()
    key = grammar_key(grammar)
    cache_key = f"{key}-rows{ROWS}"
    cache = table_cache
    if cache is not None:
        blob = cache.get_tables(cache_key)
        if blob is not None:
            try:
                # the rows the parse loop reads, and the table itself left marshalled:
                # only a syntax error reads it (`Tables.states`)
                start, end, states, recipes, rows = marshal.loads(blob)
                return Tables((start, end, states, recipes), builder, rows)
            except Exception:  # unreadable: build it again
                pass
    data = shipped(key, builder) or build(grammar, builder)
    rows = parse_rows(data)
    if cache is not None:
        start, end, states, recipes = data
        cache.put_tables(cache_key, marshal.dumps((start, end, marshal.dumps(states), recipes, rows)))
    return Tables(data, builder, rows)


def shipped(key: str, builder: object) -> TableData | None:
    """The table in `grammars/wit.table.json` if it was built from the grammar whose key is
    `key` for a builder with `builder`'s methods; None otherwise (or when it is unreadable)."""
    import msgspec.json

    try:
        found = msgspec.json.decode((data_dir("grammars") / SHIPPED).read_bytes())
        if found["key"] != key:
            return None
        recipes: list[Recipe] = []
        for name, include, expand1, method in found["recipes"]:
            if method != callable(getattr(builder, name, None)):
                return None  # the builder's methods changed since the table was written
            kept = None if include is None else tuple((i, splice) for i, splice in include)
            recipes.append((name, kept, expand1, method))
        states: dict[int, Row] = {
            int(state): {
                term: (True, arg) if shift else (False, (arg[0], arg[1], arg[2]))
                for term, (shift, arg) in row.items()
            }
            for state, row in found["states"].items()
        }
        return found["start"], found["end"], states, recipes
    except (OSError, ValueError, KeyError, TypeError, IndexError):  # absent or damaged: build it
        return None


def write_shipped(builder: object) -> str:
    """Build the table of the current grammar and write it as `grammars/wit.table.json`."""
    import msgspec.json

    grammar = grammar_text()
    start, end, states, recipes = build(grammar, builder)
    encode = msgspec.json.encode
    lines = [
        b'{"key": ' + encode(grammar_key(grammar)) + b', "start": ' + encode(start) + b', "end": ' + encode(end) + b",",
        b'"recipes": [',
        b",\n".join(encode(recipe) for recipe in recipes),
        b'], "states": {',
        b",\n".join(encode(str(n)) + b": " + encode(dict(sorted(states[n].items()))) for n in sorted(states)),
        b"}}",
    ]
    path = data_dir("grammars") / SHIPPED
    path.write_bytes(b"\n".join(lines) + b"\n")  # a line per recipe and per state
    return str(path)


def build(grammar: str, builder: object) -> TableData:
    """Build the table with Lark and read its reductions' recipes out of Lark's callbacks."""
    from functools import partial

    from lark import Lark
    from lark.parse_tree_builder import ChildFilterLALR_NoPlaceholders, ExpandSingleChild
    from lark.parsers.lalr_analysis import Shift

    from witgen.frontend.larklexer import NoLexer

    # No `cache=True`: Lark would unpickle a file from the shared temporary folder, which
    # anyone on the machine can plant; the built table is kept in `table_cache` instead.
    lark = Lark(grammar, parser="lalr", lexer=NoLexer, transformer=builder)
    inner = lark.parser.parser.parser
    recipes: list[Recipe] = []
    index: dict[Any, int] = {}
    for rule, callback in inner.callbacks.items():
        include = None
        expand1 = False
        if isinstance(callback, ChildFilterLALR_NoPlaceholders):
            include = tuple((i, bool(splice)) for i, splice in callback.to_include)
            callback = callback.node_builder
        if isinstance(callback, ExpandSingleChild):
            expand1 = True
            callback = callback.node_builder
        if isinstance(callback, partial):  # Lark's tree node: no builder method
            name, method = str(callback.args[0]), False
        else:
            name, method = str(getattr(callback, "__name__", "")), True
            if not name or getattr(builder, name, None) != callback:  # a Lark this code does not know
                raise RuntimeError(f"unexpected Lark callback for {rule}: {callback!r}")
        index[rule] = len(recipes)
        recipes.append((name, include, expand1, method))
    table = inner.parse_table
    states: dict[int, Row] = {}
    for state, actions in table.states.items():
        row: Row = {}
        for term, (action, arg) in actions.items():
            if action is Shift:
                row[str(term)] = (True, arg)
            else:
                row[str(term)] = (False, (len(arg.expansion), index[arg], str(arg.origin.name)))
        states[state] = row
    return table.start_states["start"], table.end_states["start"], states, recipes


def _callback(recipe: Recipe, builder: object) -> Callable[[list[Any]], Any]:
    """The function one reduction calls with its children, as Lark would build it.

    A repetition Lark adds for `x*` (a rule named `__...` without a method) is a plain
    list of its items: the rules that take it in splice that list.
    """
    name, include, expand1, method = recipe
    repetition = not method and name.startswith("__")
    make: Callable[[list[Any]], Any] = (
        getattr(builder, name) if method else (lambda children: Node(name, children))
    )
    if include is None and not expand1:
        return _same if repetition else make
    if include is not None and not expand1 and len(include) == 2 and include[0] == (0, True):
        # `x* x`: the repetition grows by one on the left; its list is used once, here,
        # so it takes the item rather than being copied on every item
        last, splice = include[1]
        if not splice:
            if repetition:
                def grow(children: list[Any]) -> Any:
                    items: list[Any] = children[0]
                    items.append(children[last])
                    return items

                return grow

            def grow_into(children: list[Any]) -> Any:
                items: list[Any] = children[0]
                items.append(children[last])
                return make(items)

            return grow_into

    def reduce(children: list[Any]) -> Any:
        if include is not None:
            kept: list[Any] = []
            for i, splice in include:
                if not splice:
                    kept.append(children[i])
                elif kept:
                    kept.extend(children[i])
                else:
                    kept = children[i]  # a repetition's list, used once: taken over
            children = kept
        if expand1 and len(children) == 1:
            return children[0]
        return _same(children) if repetition else make(children)

    return reduce


def _compose(outer: Callable[[list[Any]], Any], inner: Callable[[list[Any]], Any]) -> Callable[[list[Any]], Any]:
    """The callback of a rule of one symbol (`outer`) over the node `inner` makes."""

    def both(children: list[Any]) -> Any:
        return outer([inner(children)])

    return both


def _same(children: list[Any]) -> list[Any]:
    return children


# Rules of one token whose builder methods never raise (see `Tables.__init__`).
_TOKEN_RULES = frozenset({"id", "primitive"})
# Rules of one symbol that may follow a token rule in the same step (their methods never raise).
_CHAINED_RULES = frozenset({"named_type"})


# A step of the parse loop other than a shift: (symbols popped, the recipes whose callbacks
# make the node, the rule's name) for a reduction, with no recipe for a `?rule` of one
# symbol, whose child stands for it; or (-1, the recipes composed, the state after) for
# a token shifted and reduced at once (see `parse_rows`).
Step = tuple[int, tuple[int, ...], Any]
# By state, each symbol's next state (an int >= 0) or step (~ its index); the steps.
Rows = tuple[list[dict[str, int]], list[Step]]


def parse_rows(data: TableData) -> Rows:
    """The rows the parse loop reads, worked out from the table once (they are kept with it).

    A token that is a rule by itself (`id: ID`, `primitive: U8`): where the state it
    is shifted to can only reduce that rule, it is shifted and reduced in one step. The
    token after it is checked in the state after the rule; the table has no action for it
    there either when it is wrong (an LR parser never shifts a wrong token), and the
    builder's `id` and `primitive` never raise. Where that state can only reduce it further
    to a rule of one symbol (`?ty` of a primitive, a named type), that is done in the same step.
    A `?rule` whose child stands for it takes no step: the goto to the child goes on to the
    rule's.
    """
    _, _, raw, recipes = data
    steps: list[Step] = []
    numbers: dict[Step, int] = {}

    def code(step: Step) -> int:
        number = numbers.get(step)
        if number is None:
            number = numbers[step] = len(steps)
            steps.append(step)
        return ~number

    rows: list[dict[str, int]] = [{} for _ in range(max(raw) + 1)]
    for state, row in raw.items():
        codes = rows[state]
        for term, (shift, arg) in row.items():
            if shift:
                codes[term] = arg
                continue
            size, index, origin = arg
            _, include, expand1, _ = recipes[index]
            alone = size == 1 and expand1 and include is None
            codes[term] = code((size, () if alone else (index,), origin))
    # A goto to a state whose only step is a `?rule` of one symbol standing for its child
    # (a reduction that would only replace that state) goes to that rule's goto at once.
    for state, row in raw.items():
        codes = rows[state]
        for symbol, (shift, target) in row.items():
            if not shift or symbol.isupper():
                continue  # a terminal's shift
            while True:
                reduction = _sole_reduction(raw[target])
                if reduction is None or reduction[0] != 1:
                    break
                _, include, expand1, _ = recipes[reduction[1]]
                if not expand1 or include is not None:
                    break
                target = row[reduction[2]][1]
            codes[symbol] = target
    for state, row in raw.items():
        for term, (shift, target) in row.items():
            if not shift or not term.isupper():
                continue
            reduction = _sole_reduction(raw[target])
            if reduction is None:
                continue
            size, index, origin = reduction
            if size != 1 or recipes[index][0] not in _TOKEN_RULES:
                continue
            composed = [index]
            while True:
                reduction = _sole_reduction(raw[rows[state][origin]])
                if reduction is None or reduction[0] != 1:
                    break
                _, index, next_origin = reduction
                if recipes[index][0] not in _CHAINED_RULES:
                    break  # (a `?rule` standing for its child takes no step: see above)
                composed.append(index)
                origin = next_origin
            rows[state][term] = code((-1, tuple(composed), rows[state][origin]))
    return rows, steps


def _sole_reduction(row: Row) -> tuple[int, int, str] | None:
    """The reduction a state makes whatever comes next, if that is all it can do."""
    actions = set(row.values())
    if len(actions) != 1:
        return None
    ((shift, reduction),) = actions
    return None if shift else reduction


class StoppedAtGate(Exception):
    """The parse stopped at a token that stands for several (a GATE or a VERSION): the file
    is to be read again token by token."""


class Tables:
    """The table, its callbacks bound to a builder, and the parse loop."""

    def __init__(self, data: TableData, builder: object, rows: Rows | None = None) -> None:
        """`rows`: what `parse_rows(data)` gives, when it was kept (it is worked out otherwise,
        and the table's rows may then be left marshalled)."""
        from witgen.frontend.lexer import Token

        self.end_token = Token("$END", "", -1, -1)
        self.start, self.end, raw, recipes = data
        self._states: dict[int, Row] | bytes = raw
        codes, steps = rows if rows is not None else parse_rows(data)
        callbacks = [_callback(recipe, builder) for recipe in recipes]
        bound: list[tuple[int, Callable[[list[Any]], Any] | None, Any]] = []
        for size, indices, last in steps:
            if size < 0:
                callback = callbacks[indices[0]]
                for index in indices[1:]:
                    callback = _compose(callbacks[index], callback)
                bound.append((size, callback, last))
            else:
                bound.append((size, callbacks[indices[0]] if indices else None, last))
        # What the parse loop reads: by state, a symbol's next state (an int: a shift or a
        # goto) or its step (see `parse_rows`) with the builder's callbacks.
        self.actions: list[dict[str, Any]] = [
            {term: code if code >= 0 else bound[~code] for term, code in row.items()} for row in codes
        ]
        # by state: the look-up of a symbol's action there
        self.lookups: list[Callable[[str], Any]] = [row.get for row in self.actions]

    @property
    def states(self) -> dict[int, Row]:
        """The table as built (what error messages walk, without callbacks)."""
        states = self._states
        if isinstance(states, bytes):
            states = self._states = marshal.loads(states)
        assert isinstance(states, dict)
        return states

    def parse(self, scanner: Scanner) -> Any:
        actions = self.actions
        lookups = self.lookups
        state = self.start
        stack = [state]
        values: list[Any] = []
        push_state = stack.append
        push_value = values.append
        accept = self.end
        invalid = scanner.invalid
        for token in scanner.tokens(self.end_token):
            typ = token.type
            while True:
                action = lookups[state](typ)
                if action.__class__ is int:  # shift
                    if invalid and token.start_pos in invalid:
                        raise invalid[token.start_pos]
                    push_state(action)
                    push_value(token)
                    state = action
                    break
                if action is None:
                    from witgen.frontend.lexer import STANDS_FOR

                    if typ in STANDS_FOR:
                        raise StoppedAtGate
                    from witgen.frontend.syntax_errors import syntax_error

                    raise syntax_error(token, self.expected_at(scanner.source, token), scanner)
                size, callback, origin = action
                if size < 0:  # a token that is a rule by itself
                    if invalid and token.start_pos in invalid:
                        raise invalid[token.start_pos]
                    push_value(callback([token]))
                    state = origin
                    push_state(state)
                    break
                if callback is None:  # the child stands for the rule
                    stack[-1] = state = actions[stack[-2]][origin]
                    continue
                if size:
                    args = values[-size:]
                    del values[-size:], stack[-size:]
                    push_value(callback(args))
                else:
                    push_value(callback([]))
                state = actions[stack[-1]][origin]
                push_state(state)
                if state == accept and typ == "$END":
                    return values[-1]
        raise AssertionError("the parse ended without accepting")  # pragma: no cover

    def expected_at(self, source: Source, bad: Token) -> set[str]:
        """What could stand where `bad` is, before the reductions `bad` set off.

        LALR(1) may reduce on a lookahead that only fails later (after a version, a
        `.` is a lookahead of `use a:b/c@1.0.0.{..}`), which loses the context the
        reference parser reports from. So the tokens up to `bad` are run again,
        without callbacks, and the stack is taken just before `bad` comes in.
        """
        from witgen.frontend.lexer import Scanner

        states = self.states
        stack = [self.start]
        for token in Scanner(source, fast_gates=False).tokens():
            if token.start_pos == bad.start_pos:
                break
            while True:
                action = states[stack[-1]].get(token.type)
                if action is None:  # pragma: no cover - the first run got past this token
                    return self.accepts(stack)
                if action[0]:
                    stack.append(action[1])
                    break
                size, _, origin = action[1]
                if size:
                    del stack[-size:]
                stack.append(states[stack[-1]][origin][1])
        return self.accepts(stack)

    def accepts(self, stack: list[int]) -> set[str]:
        """The terminals that would be shifted (after reductions) from this stack."""
        from witgen.frontend.lexer import STANDS_FOR

        states = self.states
        found = set()
        for term in states[stack[-1]]:
            if (not term.isupper() and term != "$END") or term in STANDS_FOR:
                continue  # a rule, or a token the scanner makes of several
            st = list(stack)
            while True:
                action = states[st[-1]].get(term)
                if action is None:
                    break
                if action[0]:
                    found.add(term)
                    break
                size, _, origin = action[1]
                if size:
                    del st[-size:]
                st.append(states[st[-1]][origin][1])
                if term == "$END" and st[-1] == self.end:
                    found.add(term)
                    break
        return found
