"""Provider stubs, dispatch tables and clients of a world, as view models for the templates.

A world module gets, for what the world *exports* (the provider side):
- `<Iface>Provider`, a `typing.Protocol` per exported interface (and `<World>Functions`
  for world-level functions) with one method per function; resources defined there get a
  `<Res>Resource` protocol with their methods; constructors and statics are provider methods
  (`<res>_constructor`, `<res>_<static>`). Sync methods may also return an awaitable, so sync
  and asyncio implementations both satisfy the protocol.
- `dispatch_table(**impls)` / `serve(bus, **impls)`: the `witgen.runtime.dispatch` operations,
  built by the runtime from the functions' descriptions: they decode parameters, turn
  handles into the provider's objects (per caller), call, and encode the result.

and for what it *imports* (the caller side): `<Iface>Client` / `<Iface>AsyncClient` with one
method per function, and `<Res>Proxy` / `<Res>AsyncProxy` handle proxies with the resource's
methods and `drop()` / context manager.

Handles are converted at the top level of parameters and results and inside anonymous
`option`, `result`, `tuple` and `list` types; inside records and variants they stay the
types layer's opaque `Handle` values.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from msgspec import Struct, field

from witgen import model as m
from witgen.codegen.layout import Layout, Module
from witgen.codegen.render import LINE_LENGTH, Chunk, chunk
from witgen.codegen.shapes import Emitter, module_token
from witgen.codegen.types import SCOPE_RESERVED, Arg, call, function_names, param_names
from witgen.naming import NameCollision, Namespace, docstring, pascal, snake


def public_members(cls: type) -> frozenset[str]:
    """The names a generated subclass of a runtime class must not reuse for its methods."""
    return frozenset(n for n in dir(cls) if not n.startswith("_"))


# Reserved per generated class: every public member of its runtime base, `public_members`
# of `witgen.runtime.bus.Client` and `witgen.runtime.resources.ResourceProxy` (a test keeps
# these equal; spelled out so that generating code does not import the runtime).
RESERVED = {
    "client": frozenset({"FUNCTIONS", "INSTANCE", "PROXIES"}),
    "proxy": frozenset({"RESOURCE", "drop", "drop_async", "dropped", "handle"}),
}


def method_name(name: str, reserved: frozenset[str], taken: set[str]) -> str:
    """`name`, with trailing underscores while the class has it: a member of its runtime
    base, or an earlier method (a function `x-constructor` beside resource `x`'s
    constructor). Claims the result in `taken`."""
    while name in reserved or name in taken:
        name += "_"
    taken.add(name)
    return name


class Method(Struct):
    """One function as a provider method, operation, or client method."""

    wire: str
    name: str  # Python method name
    doc: str
    is_async: bool
    kind: str
    params: list[tuple[str, str]]  # (python name, annotation) without `self` handles
    result: str  # annotation
    body: list[str] = field(default_factory=list)  # client body, or operation helpers
    signature: str = ""
    # A provider method returning a stream is a plain `def` (an async generator is no
    # implementation of `async def m() -> AsyncIterator[T]` for mypy).
    plain: bool = False

    @property
    def defkw(self) -> str:
        return "async def" if self.is_async and not self.plain else "def"

    @property
    def returns(self) -> str:
        """The provider-side return annotation: sync methods may return an awaitable."""
        if self.is_async and not self.plain:
            return self.result
        return f"{self.result} | _t.Awaitable[{self.result}]"

    def header(self, returns: str, stub: bool = False) -> str:
        """The `def` line at class level: one line when it fits, else one parameter a line
        with a trailing comma (black keeps that layout); `stub` ends it with `: ...`."""
        params = ["self", *(f"{n}: {a}" for n, a in self.params)]
        end = f" -> {returns}:" + (" ..." if stub else "")
        flat = f"{self.defkw} {self.name}({', '.join(params)}){end}"
        if 4 + len(flat) <= LINE_LENGTH:
            return flat
        return f"{self.defkw} {self.name}(\n" + "".join(f"        {p},\n" for p in params) + f"    ){end}"

    @property
    def client_header(self) -> str:
        return self.header(self.result)

    @property
    def provider_header(self) -> str:
        return self.header(self.returns)

    @property
    def stub_header(self) -> str:
        return self.header(self.returns, stub=True)


class ServiceView(Struct):
    """A provider protocol, or a client class (sync or async)."""

    name: str
    doc: str
    instance: str
    methods: list[Method]
    base: str = ""
    resource: str = ""  # WIT resource name, for proxies
    functions: str = ""  # the FUNCTIONS registry a client calls
    proxies: list[str] = field(default_factory=list)  # `Resource: Proxy` items of a client


class ProviderView(Struct):
    """Everything the provider template prints for one export."""

    kw: str  # keyword of dispatch_table / serve
    instance: str
    protocol: ServiceView
    resources: list[ServiceView]
    resource_names: list[str]
    functions: str  # the FUNCTIONS registry serving these functions
    methods: list[tuple[str, str]]  # (wire name, Python method name) of each served function
    local_resources: list[str]  # resource classes this provider implements
    ops_fn: str

    @property
    def add_interface(self) -> str:
        """The dispatch table's `table.add_interface(...)` statement, laid out as black does."""
        args: list[str | Arg] = [f'"{self.instance}"', self.kw, f"{self.ops_fn}()"]
        if self.resource_names:
            names = ", ".join(f'"{n}"' for n in self.resource_names)
            args.append(f"resources=({names}{',' if len(self.resource_names) == 1 else ''})")
        return call("table.add_interface", args, 4)


def _resource_name(r: m.Resolve, rid: int) -> tuple[int, str]:
    """The resource type behind `rid` (aliases followed) and its WIT name."""
    target = r.dealias(rid)
    assert isinstance(target, int)
    name = r.types[target].name
    assert name is not None
    return target, name


class Services:
    """Builds the service views of one world module."""

    def __init__(self, layout: Layout, mod: Module) -> None:
        self.layout = layout
        self.r = layout.resolve
        self.mod = mod
        self.em = Emitter(layout, mod)
        self.ns = mod.ns
        self.world = self.r.worlds[mod.owner]
        self._kws: set[str] = set()  # keyword parameters of dispatch_table / serve
        self._resource_protocols: dict[int, str] = {}  # emitted once per module

    # ------------------------------------------------------------------ helpers

    def claim(self, py: str, wit: str, *alternatives: str) -> str:
        """Claim `py`, else the first free alternative, else `py` with trailing underscores."""
        for candidate in (py, *alternatives):
            if candidate not in self.ns:
                return self.ns.claim(candidate, wit)
        while True:
            try:
                return self.ns.claim(py, wit)
            except NameCollision:
                py += "_"

    def qualified(self, item: m.InterfaceItem | None) -> str:
        """`ns-pkg-iface` of an interface, for names that must not clash."""
        if item is None:
            return self.world.name
        iface = self.r.interfaces[item.id]
        if iface.package is None or iface.name is None:
            return iface.name or "iface"
        pkg = self.r.packages[iface.package].name
        return f"{pkg.namespace}-{pkg.name}-{iface.name}"

    def functions_ref(self, owner: m.InterfaceItem | None) -> str:
        """The `FUNCTIONS` registry holding an interface's functions (imports its module)."""
        if owner is None:
            return "FUNCTIONS"
        target = self.layout.interface_module[owner.id]
        if target.dotted == self.mod.dotted:
            return "FUNCTIONS"
        self.em.imports.add(target.dotted)
        return f"{module_token(target.dotted)}.FUNCTIONS"

    def holds(self, ty: m.Type | None, kind: str = "", seen: frozenset[int] = frozenset()) -> bool:
        """True if `ty` is or holds a future or a stream (`kind="stream"`: a stream)."""
        if ty is None or isinstance(ty, str) or ty in seen:
            return False
        seen = seen | {ty}
        match self.r.types[ty].kind:
            case m.Stream():
                return True
            case m.Future(t):
                return kind != "stream" or self.holds(t, kind, seen)
            case m.Alias(t) | m.Option(t) | m.List(t) | m.FixedList(t, _):
                return self.holds(t, kind, seen)
            case m.Map(k, v):
                return self.holds(k, kind, seen) or self.holds(v, kind, seen)
            case m.Result(ok, err):
                return self.holds(ok, kind, seen) or self.holds(err, kind, seen)
            case m.Tuple(types):
                return any(self.holds(t, kind, seen) for t in types)
            case m.Record(fields):
                return any(self.holds(f.type, kind, seen) for f in fields)
            case m.Variant(cases):
                return any(self.holds(c.type, kind, seen) for c in cases)
        return False

    def has_handle(self, ty: m.Type | None, wanted: Callable[[int], bool]) -> bool:
        if ty is None or isinstance(ty, str):
            return False
        kind = self.r.types[ty].kind
        match kind:
            case m.Handle(_, res):
                return wanted(_resource_name(self.r, res)[0])
            case m.Alias(t):
                return self.has_handle(t, wanted)
            case m.Option(t):
                return not self.em.can_be_none(t) and self.has_handle(t, wanted)
            case m.Result(ok, err):
                return self.has_handle(ok, wanted) or self.has_handle(err, wanted)
            case m.Tuple(types):
                return any(self.has_handle(t, wanted) for t in types)
            case m.List(t):
                return self.has_handle(t, wanted)
        return False

    def convert(self, ty: m.Type | None, wanted: Callable[[int], bool], annot: Callable[[int], str]) -> str:
        """The annotation of `ty` with handles of `wanted` resources shown as `annot(rid)`.

        Handles are converted at the top level and inside anonymous option, result, tuple
        and list types (the runtime converts the values the same way).
        """
        em = self.em
        if ty is None:
            return "None"
        if not self.has_handle(ty, wanted):
            return em.annot(ty)
        assert isinstance(ty, int)
        match self.r.types[ty].kind:
            case m.Handle(_, res):
                return annot(_resource_name(self.r, res)[0])
            case m.Alias(t):
                return self.convert(t, wanted, annot)
            case m.Option(t):
                return f"{self.convert(t, wanted, annot)} | None"
            case m.Result(ok, err):
                return f"Ok[{self.convert(ok, wanted, annot)}] | Err[{self.convert(err, wanted, annot)}]"
            case m.Tuple(types):
                return f"tuple[{', '.join(self.convert(t, wanted, annot) for t in types)}]"
            case m.List(t):
                return f"list[{self.convert(t, wanted, annot)}]"
        return em.annot(ty)

    def resources(self, item: m.InterfaceItem | None) -> list[int]:
        """Resource types an interface (or, for None, this world) defines, in order."""
        if item is not None:
            ids = list(self.r.interfaces[item.id].types.values())
        else:
            items = (*self.world.imports.values(), *self.world.exports.values())
            ids = [i.id for i in items if isinstance(i, m.TypeItem)]
            ids = [t for t in ids if self.r.types[t].owner == m.WorldOwner(self.mod.owner)]
        return [t for t in dict.fromkeys(ids) if isinstance(self.r.types[t].kind, m.Resource)]

    def functions(self, owner: m.InterfaceItem | None) -> list[m.Function]:
        if owner is not None:
            return list(self.r.interfaces[owner.id].functions.values())
        return []

    # ------------------------------------------------------------------ provider side

    def provider(self, key: m.WorldKey, item: m.InterfaceItem | None, funcs: list[m.Function]) -> ProviderView:
        r, em = self.r, self.em
        if item is not None:
            iface = r.interfaces[item.id]
            # A labelled item (`export primary: store`, or an inline interface) is its own
            # instance on the bus, addressed by its label as wRPC addresses plain names.
            labelled = isinstance(key, str)
            wit_name = key if isinstance(key, str) else iface.name or "iface"
            instance = wit_name if labelled or iface.name is None else r.interface_id(item.id)
            doc_text = iface.docs
            owner: m.Owner = m.InterfaceOwner(item.id)
        else:
            wit_name = self.world.name
            instance = ""
            doc_text = None
            owner = m.WorldOwner(self.mod.owner)

        def local(rid: int) -> bool:
            return r.types[rid].owner == owner

        prefix = snake(wit_name, avoid_builtins=False).rstrip("_")
        base = pascal(wit_name).rstrip("_")
        suffix = "Provider" if item is not None else "Functions"
        qual = pascal(self.qualified(item)).rstrip("_")
        proto_name = self.claim(f"{base}{suffix}", f"provider {instance}", f"{qual}{suffix}")
        res_protos: dict[int, str] = {}
        new_protos: set[int] = set()  # protocols this export defines (not an earlier label)
        for res_id in self.resources(item):
            rname = r.types[res_id].name or ""
            if local(res_id):
                stem = pascal(rname).rstrip("_")
                if res_id not in self._resource_protocols:
                    name = self.claim(f"{stem}Resource", f"resource {res_id}", f"{qual}{stem}Resource")
                    self._resource_protocols[res_id] = name
                    new_protos.add(res_id)
                res_protos[res_id] = self._resource_protocols[res_id]

        def impl_annot(rid: int) -> str:
            return res_protos.get(rid) or em.annot(rid)

        def wanted(rid: int) -> bool:
            return rid in res_protos

        methods: list[Method] = []
        res_methods: dict[int, list[Method]] = {rid: [] for rid in res_protos}
        served: list[tuple[str, str]] = []
        proto_taken: set[str] = set()
        res_taken: dict[int, set[str]] = {}
        for f in funcs:
            wire, py, member = function_names(f, r)
            names = param_names(f)
            is_method = f.kind.kind in ("method", "async-method")
            rid: int | None = _resource_name(r, f.kind.resource)[0] if f.kind.resource is not None else None
            if is_method and rid not in res_protos:
                continue  # a method of a resource this provider does not implement
            params = [
                (n, self.convert(prm.type, wanted, impl_annot))
                for i, (n, prm) in enumerate(zip(names, f.params, strict=True))
                if not (is_method and i == 0)
            ]
            em.sending = True
            try:
                res_a = self.convert(f.result, wanted, impl_annot)
            finally:
                em.sending = False
            taken = res_taken.setdefault(rid, set()) if is_method and rid is not None else proto_taken
            name = method_name(member if is_method else py, frozenset(), taken)
            method = Method(wire, name, docstring(f.docs), f.kind.is_async, f.kind.kind, params, res_a)
            method.plain = self.holds(f.result, "stream")
            method.signature = "".join(f", {n}: {a}" for n, a in params)
            if is_method and rid is not None:
                res_methods[rid].append(method)
            else:
                methods.append(method)
            served.append((wire, method.name))
        resources = [
            ServiceView(res_protos[rid], docstring(r.types[rid].docs), instance, res_methods[rid])
            for rid in res_protos
            if rid in new_protos
        ]
        kw = self.claim_kw(snake(wit_name))
        ops_fn = self.claim(f"{prefix}_operations", f"operations of {instance}", f"{snake(self.qualified(item))}_operations")
        proto = ServiceView(proto_name, docstring(doc_text), instance, methods)
        names_ = [r.types[rid].name or "" for rid in res_protos]
        classes = [em.ref(rid) for rid in res_protos]
        return ProviderView(kw, instance, proto, resources, names_, self.functions_ref(item), served, classes, ops_fn)

    def claim_kw(self, prefix: str) -> str:
        kw = prefix or "functions"
        while kw in self._kws or kw in SCOPE_RESERVED or kw in ("bus", "table"):
            kw += "_"
        self._kws.add(kw)
        return kw

    # ------------------------------------------------------------------ client side

    def client(
        self, key: m.WorldKey, item: m.InterfaceItem | None, funcs: list[m.Function], proxies: dict[int, tuple[str, str]]
    ) -> tuple[ServiceView, ServiceView, list[ServiceView]]:
        """Sync client, async client, and proxies (sync and async) of one import."""
        r, em = self.r, self.em
        if item is not None:
            iface = r.interfaces[item.id]
            # A labelled item (`export primary: store`, or an inline interface) is its own
            # instance on the bus, addressed by its label as wRPC addresses plain names.
            labelled = isinstance(key, str)
            wit_name = key if isinstance(key, str) else iface.name or "iface"
            instance = wit_name if labelled or iface.name is None else r.interface_id(item.id)
            doc_text = iface.docs
        else:
            wit_name, instance, doc_text = self.world.name, "", None
        base = pascal(wit_name).rstrip("_") if item is not None else f"{pascal(wit_name).rstrip('_')}Imports"
        functions = self.functions_ref(item)

        def wanted(rid: int) -> bool:
            return rid in proxies

        def build(is_async: bool) -> tuple[list[Method], dict[int, list[Method]]]:
            methods: list[Method] = []
            res_methods: dict[int, list[Method]] = {rid: [] for rid in proxies}
            which = 1 if is_async else 0
            client_taken: set[str] = set()
            proxy_taken: dict[int, set[str]] = {}

            def proxy_annot(res: int) -> str:
                return proxies[res][which]

            def either_annot(res: int) -> str:
                return f"{proxies[res][which]} | {em.annot(res)}"

            for f in funcs:
                wire, py, member = function_names(f, r)
                names = param_names(f)
                is_method = f.kind.kind in ("method", "async-method")
                rid = _resource_name(r, f.kind.resource)[0] if f.kind.resource is not None else None
                if is_method and rid not in proxies:
                    continue
                em.sending = True
                try:
                    params = [
                        (n, self.convert(prm.type, wanted, either_annot))
                        for i, (n, prm) in enumerate(zip(names, f.params, strict=True))
                        if not (is_method and i == 0)
                    ]
                finally:
                    em.sending = False
                res_a = self.convert(f.result, wanted, proxy_annot)
                args: list[str | Arg] = [f'"{wire}"', *(n for n, _ in params)]
                if any(self.holds(p.type) for p in f.params) or self.holds(f.result):
                    # Futures and streams flow while the call runs: not bytes in, bytes out.
                    callee = "await _w.call_async" if is_async else "_w.call"
                    args.insert(0, "self")
                else:
                    callee = "await self._call_async" if is_async else "self._call"
                if f.result is not None:
                    callee = f"result: {res_a} = {callee}"
                lines = call(callee, args, 8).split("\n")
                body = [lines[0], *(line[8:] for line in lines[1:])]  # the template indents
                if f.result is not None:
                    body.append("return result")
                if is_method and rid is not None:
                    name = method_name(member, RESERVED["proxy"], proxy_taken.setdefault(rid, set()))
                else:
                    name = method_name(py, RESERVED["client"], client_taken)
                method = Method(wire, name, docstring(f.docs), is_async, f.kind.kind, params, res_a, body)
                method.signature = "".join(f", {n}: {a}" for n, a in params)
                if is_method and rid is not None:
                    res_methods[rid].append(method)
                else:
                    methods.append(method)
            return methods, res_methods

        sync_m, sync_res = build(False)
        async_m, async_res = build(True)
        qual = pascal(self.qualified(item)).rstrip("_")
        sync_name = self.claim(f"{base}Client", f"client {instance}", f"{qual}Client")
        async_name = self.claim(f"{base}AsyncClient", f"async client {instance}", f"{qual}AsyncClient")
        def proxy_map(which: int) -> list[str]:
            return [f"{em.ref(rid)}: {names[which]}" for rid, names in proxies.items()]

        sync_client = ServiceView(sync_name, docstring(doc_text), instance, sync_m, "_b.Client", "", functions, proxy_map(0))
        async_client = ServiceView(async_name, docstring(doc_text), instance, async_m, "_b.Client", "", functions, proxy_map(1))
        proxy_views = []
        for rid, (sync_name, async_name) in proxies.items():
            owner = r.types[rid].owner
            if item is None or owner != m.InterfaceOwner(item.id):
                continue
            doc = docstring(r.types[rid].docs)
            rname = r.types[rid].name or ""
            proxy_views.append(ServiceView(sync_name, doc, instance, sync_res[rid], "_r.ResourceProxy", rname))
            proxy_views.append(ServiceView(async_name, doc, instance, async_res[rid], "_r.ResourceProxy", rname))
        return sync_client, async_client, proxy_views


def world_chunks(layout: Layout, mod: Module, parts: Collection[str]) -> tuple[Services, list[Chunk]]:
    """The service chunks of a world module: provider stubs + dispatch table, clients."""
    svc = Services(layout, mod)
    r, world = svc.r, svc.world
    chunks: list[Chunk] = []
    if "provider" in parts:
        providers = []
        world_funcs = [i.function for i in world.exports.values() if isinstance(i, m.FunctionItem)]
        for key, item in world.exports.items():
            if isinstance(item, m.InterfaceItem):
                providers.append(svc.provider(key, item, svc.functions(item)))
        if world_funcs:
            providers.append(svc.provider("", None, world_funcs))
        for pv in providers:
            chunks.append(chunk("provider.py.jinja", p=pv))
        if providers:
            table = svc.claim("dispatch_table", "dispatch_table")
            serve = svc.claim("serve", "serve")
            chunks.append(chunk("dispatch.py.jinja", providers=providers, table=table, serve=serve))
    if "client" in parts:
        imports = [(k, i) for k, i in world.imports.items() if isinstance(i, m.InterfaceItem)]
        proxies: dict[int, tuple[str, str]] = {}
        for _, item in imports:
            for rid in svc.resources(item):
                stem = pascal(r.types[rid].name or "").rstrip("_")
                qual = pascal(svc.qualified(item)).rstrip("_") + stem
                proxies[rid] = (
                    svc.claim(f"{stem}Proxy", f"proxy {rid}", f"{qual}Proxy"),
                    svc.claim(f"{stem}AsyncProxy", f"async proxy {rid}", f"{qual}AsyncProxy"),
                )
        clients: list[ServiceView] = []
        proxy_views: list[ServiceView] = []
        for key, item in imports:
            sync_c, async_c, views = svc.client(key, item, svc.functions(item), proxies)
            clients += [sync_c, async_c]
            proxy_views += [v for v in views if all(v.name != seen.name for seen in proxy_views)]
        world_funcs = [i.function for i in world.imports.values() if isinstance(i, m.FunctionItem)]
        if world_funcs:
            sync_c, async_c, _ = svc.client("", None, world_funcs, proxies)
            clients += [sync_c, async_c]
        if proxy_views:
            chunks.append(chunk("proxies.py.jinja", proxies=proxy_views))
        for client in clients:
            chunks.append(chunk("client.py.jinja", c=client))
    return svc, chunks
