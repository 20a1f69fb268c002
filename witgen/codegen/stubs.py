"""A provider's starting point: one class with a stub for every function a world exports.

`provider_stubs` builds, from the same layout as the bindings, what the templates of
`witgen new provider` print: a class implementing every provider protocol of the world,
a class per resource it hands out, each method raising `NotImplementedError("not
implemented: <instance>.<function>")` (the caller receives a `ProviderFailure` naming
it), and one call a test can make in-process. Annotations are those of the protocols,
with the bindings' modules imported under names of the project file's own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from msgspec import Struct, field

from witgen import model as m
from witgen.codegen import root_package, selected_worlds
from witgen.codegen.layout import CodegenError, Layout, Module
from witgen.codegen.modules import resolve_module_tokens
from witgen.codegen.services import Method, ProviderView, world_chunks
from witgen.codegen.shapes import MODULE_TOKEN, Emitter, module_token
from witgen.naming import pascal, snake, upper

__all__ = ["ProviderStubs", "StubClass", "StubMethod", "TestCall", "provider_stubs"]

# What the project files import besides the bindings (annotations and test code use them).
_RUNTIME_IMPORTS = (("_v", "from witgen.runtime import values as _v"),)
_VALUE_NAMES = ("Err", "Ok", "Some")
# Names the templates of `witgen new provider` define or import themselves.
FIXED_NAMES = frozenset(
    {"dispatch_table", "main", "annotations", "argparse", "sys", "pytest", "codec"}
    | {"ProviderFailure", "InProcessBus", "add_arguments", "serve_forever", "_d"}
    | {name for name, _ in _RUNTIME_IMPORTS}
    | set(_VALUE_NAMES)
)
_TOKEN_RE = re.compile(re.escape(MODULE_TOKEN) + r"(\w+?)__end__")
_NAME_RE = re.compile(r"(?<![\w.])([A-Za-z_]\w*)")


class StubMethod(Struct):
    """One method that answers "not implemented" until it is written."""

    name: str
    params: list[tuple[str, str]]  # (name, annotation), without `self`
    result: str
    is_async: bool
    label: str  # `instance.function`, as callers name the operation
    doc: str = ""

    @property
    def signature(self) -> str:
        params = "".join(f", {n}: {a}" for n, a in self.params)
        return f"{'async def' if self.is_async else 'def'} {self.name}(self{params}) -> {self.result}:"


class StubClass(Struct):
    """A class implementing a provider protocol (or a resource's protocol)."""

    name: str
    implements: list[str]  # the protocols, as the project file names them
    methods: list[StubMethod]
    what: str  # for its docstring: the interfaces, or the resource


class TestCall(Struct):
    """A call of one function with example arguments, for the project's test."""

    instance: str
    function: str  # wire name
    functions: str  # the FUNCTIONS registry holding it, as the test names it
    args: list[str]  # Python expressions
    label: str


class ProviderStubs(Struct):
    """Everything the provider and test templates print."""

    world: str  # the world, as people read it
    world_module: str  # dotted, relative to the bindings package
    world_alias: str  # the name provider.py imports the world module under
    instances: list[str]
    provider: StubClass
    resources: list[StubClass]
    keywords: list[str]  # keyword parameters of the world's `dispatch_table`
    modules: list[tuple[str, str]]  # (dotted module, alias) provider.py imports
    runtime_imports: list[str]  # import lines provider.py needs from witgen.runtime
    test: TestCall | None = None
    test_modules: list[tuple[str, str]] = field(default_factory=list)
    test_runtime_imports: list[str] = field(default_factory=list)


def provider_stubs(
    resolve: m.Resolve, worlds: Sequence[str] = (), exports: Sequence[str] = ()
) -> ProviderStubs:
    """The stubs of the one world named (`worlds`) or made of `exports`."""
    if bool(worlds) == bool(exports) or len(worlds) > 1:
        raise CodegenError("name one world, or the interfaces to export")
    resolve, ids = selected_worlds(resolve, worlds, exports)
    wid = ids[-1]
    layout = Layout(resolve, ids, root_package(resolve))
    mod = layout.world_module[wid]
    svc, chunks = world_chunks(layout, mod, ("provider",))
    views: list[ProviderView] = [ctx["p"] for template, ctx in chunks if template == "provider.py.jinja"]
    world = resolve.worlds[wid]
    title = _world_title(resolve, world)
    if not views:
        raise CodegenError(f"{title} exports nothing: a provider implements a world's exports")
    resource_names = {py: resolve.types[rid].name or py for rid, py in svc._resource_protocols.items()}
    return _Builder(layout, mod, world, title, resource_names).build(views)


def _world_title(resolve: m.Resolve, world: m.World) -> str:
    if world.package is None:  # made of the interfaces named: they say what it is
        return ", ".join(
            resolve.interface_id(item.id) for item in world.exports.values() if isinstance(item, m.InterfaceItem)
        )
    return f"world {resolve.packages[world.package].name}/{world.name}"


class _Builder:
    def __init__(
        self, layout: Layout, mod: Module, world: m.World, title: str, resource_names: dict[str, str]
    ) -> None:
        self.resource_names = resource_names  # resource protocol -> WIT resource name
        self.layout = layout
        self.r = layout.resolve
        self.mod = mod
        self.world = world
        self.title = title
        self.em = Emitter(layout, mod)
        self.classes: set[str] = set()

    def class_name(self, base: str) -> str:
        name = base
        while name in FIXED_NAMES or name in self.classes:
            name += "_"
        self.classes.add(name)
        return name

    def build(self, views: list[ProviderView]) -> ProviderStubs:
        provider = StubClass(self.class_name("Provider"), [], [], ", ".join(v.instance or "world functions" for v in views))
        resources: list[StubClass] = []
        for view in views:
            provider.implements.append(self.local(view.protocol.name))
            for method in view.protocol.methods:
                if any(method.name == known.name for known in provider.methods):
                    raise CodegenError(
                        f"two exports have a function named {method.name}: one class cannot implement both"
                    )
                provider.methods.append(self.stub(view.instance, method))
            for res in view.resources:
                base = res.name.removesuffix("Resource") or res.name
                methods = [self.stub(view.instance, mth) for mth in res.methods]
                what = f"resource `{self.resource_names.get(res.name, base)}` of {view.instance or self.title}"
                resources.append(StubClass(self.class_name(base), [self.local(res.name)], methods, what))
        texts = [a for cls in (provider, *resources) for mth in cls.methods for _, a in mth.params]
        texts += [mth.result for cls in (provider, *resources) for mth in cls.methods]
        texts += provider.implements + [i for cls in resources for i in cls.implements]
        aliases = self.aliases(texts)
        for cls in (provider, *resources):
            cls.implements = [resolve_module_tokens(t, aliases) for t in cls.implements]
            for mth in cls.methods:
                mth.params = [(n, resolve_module_tokens(a, aliases)) for n, a in mth.params]
                mth.result = resolve_module_tokens(mth.result, aliases)
        body = " ".join(texts)
        stubs = ProviderStubs(
            world=self.title,
            world_module=self.mod.dotted,
            world_alias=aliases[self.mod.dotted],
            instances=[v.instance for v in views],
            provider=provider,
            resources=resources,
            keywords=[v.kw for v in views],
            modules=sorted(aliases.items()),
            runtime_imports=_runtime_imports(body),
        )
        self.add_test(stubs, views)
        return stubs

    def local(self, text: str) -> str:
        """`text` with the world module's own names qualified by its module."""
        ns = self.mod.ns
        token = module_token(self.mod.dotted)
        return _NAME_RE.sub(lambda mt: f"{token}.{mt.group(1)}" if mt.group(1) in ns else mt.group(1), text)

    def qualified(self, tid: int, py: str | None = None) -> str:
        """A named type's class (or `py`, a class of its module), qualified by its module."""
        names = self.layout.names[tid]
        return f"{module_token(names.module)}.{py or names.py}"

    def stub(self, instance: str, method: Method) -> StubMethod:
        params = [(n, self.local(a)) for n, a in method.params]
        label = f"{instance}.{method.wire}" if instance else method.wire
        doc = method.doc
        return StubMethod(method.name, params, self.local(method.result), method.is_async, label, doc)

    def aliases(self, texts: list[str]) -> dict[str, str]:
        """The name each bindings module gets in a project file: its own, unless another
        module or a name of the file has it."""
        dotted = {self.mod.dotted} | {d.replace("__dot__", ".") for t in texts for d in _TOKEN_RE.findall(t)}
        stems: dict[str, int] = {}
        for d in dotted:
            stem = d.rpartition(".")[2]
            stems[stem] = stems.get(stem, 0) + 1
        out = {}
        for d in sorted(dotted):
            stem = d.rpartition(".")[2]
            taken = stem in FIXED_NAMES or stem in self.classes
            out[d] = stem if stems[stem] == 1 and not taken else self.layout.modules[d].alias
        return out

    # ------------------------------------------------------------------ the test's call

    def add_test(self, stubs: ProviderStubs, views: list[ProviderView]) -> None:
        """The first function callable with example arguments (none take a handle),
        a freestanding one if there is one, else a constructor or static function."""
        items = [(k, i) for k, i in self.world.exports.items() if isinstance(i, m.InterfaceItem)]
        world_funcs = [i.function for i in self.world.exports.values() if isinstance(i, m.FunctionItem)]
        groups: list[tuple[m.InterfaceItem | None, list[m.Function]]] = [
            (item, list(self.r.interfaces[item.id].functions.values())) for _, item in items
        ]
        if world_funcs:
            groups.append((None, world_funcs))
        kinds = [("freestanding", "async-freestanding"), ("constructor", "static", "async-static")]
        candidates = [(view, item, f) for wanted in kinds for view, (item, funcs) in zip(views, groups)
                      for f in funcs if f.kind.kind in wanted]  # fmt: skip
        for view, item, f in candidates:
            examples = [self.example(p.type) for p in f.params]
            args = [a for a in examples if a is not None]
            if len(args) < len(examples):
                continue
            owner = self.layout.interface_module[item.id] if item is not None else self.mod
            texts = [*args, module_token(owner.dotted)]
            aliases = self.aliases(texts)
            wire = f.item_name
            stubs.test = TestCall(
                instance=view.instance,
                function=wire,
                functions=f"{aliases[owner.dotted]}.FUNCTIONS",
                args=[resolve_module_tokens(a, aliases) for a in args],
                label=f"{view.instance}.{wire}" if view.instance else wire,
            )
            used = {d.replace("__dot__", ".") for t in texts for d in _TOKEN_RE.findall(t)}
            stubs.test_modules = sorted((d, a) for d, a in aliases.items() if d in used)
            stubs.test_runtime_imports = _runtime_imports(" ".join(stubs.test.args))
            return

    def example(self, ty: m.Type | None) -> str | None:
        """A Python expression of a value of `ty`, or None when it cannot be made (handles,
        streams, futures)."""
        if ty is None:
            return "None"
        if isinstance(ty, str):
            return _PRIMITIVE_EXAMPLES.get(ty)
        td = self.r.types[ty]
        kind = td.kind
        match kind:
            case m.Alias(t):
                return self.example(t)
            case m.Option(_):
                return "None"
            case m.Result(ok, _):
                inner = self.example(ok)
                return None if inner is None else f"Ok({inner})"
            case m.List(t):
                return 'b""' if t == "u8" else "[]"
            case m.FixedList(t, size):
                if t == "u8":
                    return f"bytes({size})"
                item = self.example(t)
                return None if item is None else "[" + ", ".join([item] * size) + "]"
            case m.Map(_, _):
                return "{}"
            case m.Tuple(types):
                items = [self.example(t) for t in types]
                if any(i is None for i in items):
                    return None
                return "(" + ", ".join(i for i in items if i is not None) + ("," if len(items) == 1 else "") + ")"
            case m.Record(fields):
                values = [self.example(f.type) for f in fields]
                if any(v is None for v in values):
                    return None
                args = ", ".join(f"{snake(f.name)}={v}" for f, v in zip(fields, values))
                return f"{self.qualified(ty)}({args})"
            case m.Enum(cases):
                return f"{self.qualified(ty)}.{upper(cases[0].name)}"
            case m.Flags(_):
                return f"{self.qualified(ty)}(0)"
            case m.Variant(cases):
                assert td.name is not None
                for case in cases:
                    cls = self.qualified(ty, pascal(f"{td.name}-{case.name}"))
                    if case.type is None:
                        return f"{cls}()"
                    value = self.example(case.type)
                    if value is not None:
                        return f"{cls}({value})"
        return None


_PRIMITIVE_EXAMPLES = {
    "bool": "False",
    **{t: "0" for t in ("u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64")},
    "f32": "0.0",
    "f64": "0.0",
    "char": '"a"',
    "string": '""',
}


def _runtime_imports(body: str) -> list[str]:
    """The witgen.runtime imports `body` uses (besides the bindings)."""
    lines = [line for name, line in _RUNTIME_IMPORTS if re.search(rf"(?<![\w.]){name}\.", body)]
    values = [n for n in _VALUE_NAMES if re.search(rf"(?<![\w.]){n}\b", body)]
    if values:
        lines.append(f"from witgen.runtime.values import {', '.join(values)}")
    return lines
