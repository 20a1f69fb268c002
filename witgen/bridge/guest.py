"""The bridge's guest project: its WIT world and the Python that componentize-py builds.

`emit(plan, wit_dir, settings)` returns `{relative path: bytes}`:

    wit/bridge.wit                 package witgen:bridge, world bridge
    wit/deps/...                   the user's WIT (root package and deps/), and
                                   wasmcloud:messaging@0.2.0 unless the user has it
    witgen/runtime/*.py            the pure-Python codec runtime (descriptions, compiler)
    bridge_types.py                the bridged types described with componentize-py's classes
    bridge_app.py                  the exports: provided interfaces, the messaging handler
    x<n>.py                        resource classes of provided interface n, if it has any
                                   (`witgen.bridge.resources`)
    componentize.json              the componentize-py arguments (world, module names) and
                                   the destructors the build points at hooks (`dtors`)

Values cross the bridge without conversion: componentize-py's generated records, enums,
flags and variant cases have the shapes witgen's descriptions expect, so
`bridge_types` registers those classes with `witgen.runtime.wit` and the compiled codecs
read and build them directly (the result and option wrappers are componentize-py's
`Ok`/`Err`/`Some`, installed in `witgen.runtime.values` before any codec is built).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from witgen import model
from witgen.bridge.names import cpy_class, cpy_snake
from witgen.bridge.plan import ErrorRule, Iface, Plan
from witgen.bridge.resources import DROP, app_hooks, hooks, resource_module, world_lines

__all__ = ["MESSAGING_WIT", "RUNTIME_MODULES", "Settings", "emit"]

MESSAGING = model.PackageName("wasmcloud", "messaging", "0.2.0")
# wasmcloud:messaging@0.2.0, the interface a wasmCloud 2.x host gives components for NATS.
MESSAGING_WIT = """\
package wasmcloud:messaging@0.2.0;

/// Types common to message broker interactions
interface types {
  /// A message sent to or received from a broker
  record broker-message {
    subject: string,
    body: list<u8>,
    reply-to: option<string>,
  }
}

interface handler {
  use types.{broker-message};

  /// Callback handled to invoke a function when a message is received from a subscription
  handle-message: func(msg: broker-message) -> result<_, string>;
}

interface consumer {
  use types.{broker-message};

  /// Perform a request operation on a subject
  request: func(subject: string, body: list<u8>, timeout-ms: u32) -> result<broker-message, string>;

  /// Publish a message to a subject without awaiting a response
  publish: func(msg: broker-message) -> result<_, string>;
}
"""
RUNTIME_MODULES = ("wit", "codec", "compiler", "primitives", "values", "asyncvalues", "errors")
MESSAGING_NAMES = {
    "wasmcloud:messaging/consumer@0.2.0": "wcm_consumer",
    "wasmcloud:messaging/types@0.2.0": "wcm_types",
    "wasmcloud:messaging/handler@0.2.0": "wcm_handler",
}
PRIMS = {"bool", "u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64", "f32", "f64", "char", "string"}
ZEROS = {"bool": "False", "f32": "0.0", "f64": "0.0", "char": "'\\x00'", "string": "''"}


@dataclass(frozen=True, slots=True)
class Settings:
    """Run-time choices baked into the guest."""

    prefix: str
    timeout_ms: int = 30000
    max_payload: int = 1024 * 1024
    # Where exposed interfaces are served (None: `prefix`). A Python provider serving its
    # own tables under `prefix` answers every wRPC subject there, so give the exposed
    # interfaces their own prefix when both run.
    expose_prefix: str | None = None

    @property
    def wrpc_prefix(self) -> str:
        return self.prefix if self.expose_prefix is None else self.expose_prefix


def emit(plan: Plan, wit_dir: Path, settings: Settings) -> dict[str, bytes]:
    """The guest project's files (see the module docstring)."""
    out: dict[str, bytes] = {}
    _copy_wit(plan.resolve, wit_dir, out)
    names = _module_names(plan)
    out["wit/bridge.wit"] = _world(plan).encode()
    runtime = Path(__file__).resolve().parent.parent / "runtime"
    out["witgen/__init__.py"] = b'"""The parts of witgen a bridge component carries."""\n'
    out["witgen/runtime/__init__.py"] = b'"""Wire codecs built from WIT type descriptions."""\n'
    for mod in RUNTIME_MODULES:
        out[f"witgen/runtime/{mod}.py"] = (runtime / f"{mod}.py").read_bytes()
    out["bridge_types.py"] = _black(_Types(plan, names).render()).encode()
    out["bridge_app.py"] = _black(_app(plan, names, settings)).encode()
    for n, it in enumerate(plan.provide):
        if it.resources:
            module = names[it.instance]
            out[f"{module}.py"] = _black(resource_module(plan, n, it, module)).encode()
    args: list[str] = ["-d", "wit", "-w", "witgen:bridge/bridge"]
    for instance, name in sorted(names.items()):
        args += ["--import-interface-name", f"{instance}={name}", "--export-interface-name", f"{instance}={name}"]
    spec: dict[str, object] = {"args": args, "app": "bridge_app"}
    dtors = [[h.dtor, h.function] for h in hooks(plan)]
    if dtors:
        spec["dtors"] = dtors
    out["componentize.json"] = (json.dumps(spec, indent=2) + "\n").encode()
    return out


def _black(text: str) -> str:
    """Generated code is black-formatted, as the bindings are."""
    import black

    from witgen.codegen.render import BLACK_MODE

    return black.format_str(text, mode=BLACK_MODE)


# --------------------------------------------------------------------------- WIT


def _copy_wit(resolve: model.Resolve, wit_dir: Path, out: dict[str, bytes]) -> None:
    """The user's WIT under wit/deps/, plus wasmcloud:messaging when it is missing."""
    if wit_dir.is_file():
        out[f"wit/deps/root/{wit_dir.name}"] = wit_dir.read_bytes()
    else:
        for f in sorted(wit_dir.glob("*.wit")):
            out[f"wit/deps/root/{f.name}"] = f.read_bytes()
        deps = wit_dir / "deps"
        if deps.is_dir():
            for entry in sorted(deps.iterdir()):
                if entry.is_file() and entry.suffix == ".wit":
                    out[f"wit/deps/{entry.name}"] = entry.read_bytes()
                elif entry.is_dir():
                    for f in sorted(entry.rglob("*.wit")):
                        rel = f.relative_to(deps).as_posix()
                        out[f"wit/deps/{rel}"] = f.read_bytes()
    if not any(p.name == MESSAGING for p in resolve.packages):
        out["wit/deps/wasmcloud-messaging-0.2.0/package.wit"] = MESSAGING_WIT.encode()


def _world(plan: Plan) -> str:
    lines = ["package witgen:bridge;", "", "/// A bridge between components of a workload and NATS.", "world bridge {",
             "  import wasmcloud:messaging/consumer@0.2.0;"]  # fmt: skip
    if plan.expose:
        lines.append("  export wasmcloud:messaging/handler@0.2.0;")
    lines += [f"  export {it.instance};" for it in plan.provide]
    lines += [f"  import {it.instance};" for it in plan.expose]
    lines += world_lines(plan)
    return "\n".join([*lines, "}", ""])


def _module_names(plan: Plan) -> dict[str, str]:
    """Python module names componentize-py gives each interface (pinned: x0, x1, ...)."""
    r = plan.resolve
    ids: list[int] = [it.id for it in (*plan.provide, *plan.expose)]
    for tid in _named_types(plan):
        owner = r.types[tid].owner
        if isinstance(owner, model.InterfaceOwner) and owner.id not in ids:
            ids.append(owner.id)
    names = {r.interface_id(i): f"x{n}" for n, i in enumerate(ids)}
    names.update(MESSAGING_NAMES)
    return names


def _named_types(plan: Plan) -> list[int]:
    """Ids of the named types the bridged functions reach, dependencies first."""
    r = plan.resolve
    found: set[int] = set()

    def walk(ty: model.Type) -> None:
        ty = r.dealias(ty)
        if isinstance(ty, str) or ty in found:
            return
        td = r.types[ty]
        if td.name is not None:
            found.add(ty)
        kind = td.kind
        match kind:
            case model.Record(fields=fields):
                children = [f.type for f in fields]
            case model.Variant(cases=cases):
                children = [c.type for c in cases if c.type is not None]
            case model.Tuple(types=types):
                children = list(types)
            case model.Option(type=t) | model.List(type=t) | model.FixedList(type=t):
                children = [t]
            case model.Result(ok=ok, err=err):
                children = [t for t in (ok, err) if t is not None]
            case model.Map(key=k, value=v):
                children = [k, v]
            case model.Handle(resource=rid):
                children = [rid]
            case _:
                children = []
        for child in children:
            walk(child)

    for it in (*plan.provide, *plan.expose):
        for func in it.functions:
            for p in func.params:
                walk(p.type)
            if func.result is not None:
                walk(func.result)
    return sorted(found)


# --------------------------------------------------------------------------- bridge_types


class _Types:
    """Renders `bridge_types.py`: classes, descriptions, functions, error builders."""

    def __init__(self, plan: Plan, names: dict[str, str]) -> None:
        self.plan = plan
        self.r = plan.resolve
        self.names = names

    def cls(self, tid: int) -> str:
        return f"N{tid}"

    def module_of(self, tid: int) -> str:
        owner = self.r.types[tid].owner
        assert isinstance(owner, model.InterfaceOwner), "interface types only"
        return self.names[self.r.interface_id(owner.id)]

    def expr(self, ty: model.Type) -> str:
        """A `witgen.runtime.wit` expression for `ty`."""
        ty = self.r.dealias(ty)
        if isinstance(ty, str):
            return f"wit.{ty.upper()}"
        td = self.r.types[ty]
        if td.name is not None:
            return self.cls(ty)
        match td.kind:
            case model.List(type=t):
                return f"wit.List({self.expr(t)})"
            case model.FixedList(type=t, size=n):
                return f"wit.List({self.expr(t)}, {n})"
            case model.Option(type=t):
                return f"wit.Option({self.expr(t)})"
            case model.Result(ok=ok, err=err):
                return f"wit.Result({self.opt(ok)}, {self.opt(err)})"
            case model.Tuple(types=types):
                return f"wit.Tuple({', '.join(self.expr(t) for t in types)})"
            case model.Map(key=k, value=v):
                return f"wit.Map({self.expr(k)}, {self.expr(v)})"
            case model.Handle(mode=mode, resource=rid):
                return f"wit.{mode.capitalize()}({self.expr(rid)})"
        raise AssertionError(f"unexpected type {td.kind!r}")

    def opt(self, ty: model.Type | None) -> str:
        return "None" if ty is None else self.expr(ty)

    def describe(self, tid: int) -> list[str]:
        td = self.r.types[tid]
        name, mod, c = td.name, self.module_of(tid), self.cls(tid)
        assert name is not None
        kind = td.kind
        if isinstance(kind, model.Variant):
            cases = ", ".join(
                f"{c.name!r}: (_cls({mod!r}, {cpy_class(name) + '_' + cpy_class(c.name)!r}), {self.opt(c.type)})"
                for c in kind.cases
            )
            return [f"{c} = _cls({mod!r}, {cpy_class(name)!r})", f"wit.variant({name!r}, {c}, {{{cases}}})"]
        if isinstance(kind, model.Resource):
            return [f"{c} = wit.resource({name!r})(_adopter({mod!r}, {cpy_class(name)!r}))"]
        head = f"{c} = _cls({mod!r}, {cpy_class(name)!r})"
        match kind:
            case model.Record(fields=fields):
                desc = ", ".join(f"{f.name!r}: {self.expr(f.type)}" for f in fields)
                return [head, f"wit.record({name!r}, {{{desc}}})({c})"]
            case model.Enum(cases=ecases):
                return [head, f"wit.enum({name!r}, {[e.name for e in ecases]!r})({c})"]
            case model.Flags(flags=flags):
                return [head, f"wit.flags({name!r}, {[f.name for f in flags]!r})({c})"]
        # a named anonymous-shaped type (`type t = tuple<..>` is an alias, dealiased above)
        raise AssertionError(f"unexpected named type {kind!r}")

    def func(self, f: model.Function) -> str:
        params = ", ".join(f"{p.name!r}: {self.expr(p.type)}" for p in f.params)
        kind = "" if f.kind.kind == "freestanding" else f", kind={f.kind.kind!r}"
        return f"wit.Func({f.item_name!r}, {{{params}}}, {self.opt(f.result)}{kind})"

    def zero(self, ty: model.Type) -> str:
        ty = self.r.dealias(ty)
        if isinstance(ty, str):
            return ZEROS.get(ty, "0")
        td = self.r.types[ty]
        match td.kind:
            case model.Record(fields=fields):
                return f"{self.cls(ty)}({', '.join(self.zero(f.type) for f in fields)})"
            case model.Tuple(types=types):
                return f"({''.join(self.zero(t) + ', ' for t in types)})"
            case model.Enum():
                return f"list({self.cls(ty)})[0]"
            case model.Flags():
                return f"{self.cls(ty)}(0)"
            case model.Option():
                return "None"
            case model.List(type=t):
                return "b''" if self.r.dealias(t) == "u8" else "[]"
            case model.Map():
                return "{}"
        raise AssertionError(f"no zero value for {td.kind!r}")

    def error_builder(self, key: str, rule: ErrorRule) -> list[str]:
        """`def E_<key>(message)`: the function's error payload for a transport failure."""
        head = [f"def {key}(message: str) -> Any:"]
        if rule.kind == "string":
            return [*head, "    return message"]
        if rule.kind == "trap" or rule.type_id is None:
            return [*head, "    return None"]
        kind = self.r.types[rule.type_id].kind
        if isinstance(kind, model.Record):
            args = []
            for f in kind.fields:
                base = self.r.dealias(f.type)
                if f.name == rule.target:
                    args.append("message")
                elif f.name == "status" and base == "string":
                    args.append("'503 Service Unavailable'")
                elif isinstance(base, str) and base[1:].isdigit() and ("code" in f.name or "status" in f.name):
                    args.append("503")
                else:
                    args.append(self.zero(f.type))
            return [*head, f"    return {self.cls(rule.type_id)}({', '.join(args)})"]
        assert isinstance(kind, model.Variant)
        name = self.r.types[rule.type_id].name or ""
        case_cls = f"_cls({self.module_of(rule.type_id)!r}, {cpy_class(name) + '_' + cpy_class(rule.target)!r})"
        return [*head, f"    return {case_cls}(message)"]

    def render(self) -> str:
        lines = [
            '"""The bridged WIT types, described over componentize-py\'s generated classes."""',
            "",
            "import importlib",
            "from typing import Any",
            "",
            "import componentize_py_types",
            "from witgen.runtime import codec, values, wit",
            "",
            "# Results and nested options are componentize-py's wrappers on both sides of the bridge.",
            "values.Ok = componentize_py_types.Ok  # type: ignore[misc]",
            "values.Err = componentize_py_types.Err  # type: ignore[misc]",
            "values.Some = componentize_py_types.Some  # type: ignore[misc]",
            "",
            "",
            "def _cls(module: str, name: str) -> Any:",
            '    """A class of the generated bindings, from the exports or the imports side."""',
            '    for side in ("exports", "imports"):',
            "        try:",
            '            found = getattr(importlib.import_module(f"wit_world.{side}.{module}"), name, None)',
            "        except ImportError:",
            "            continue",
            "        if found is not None:",
            "            return found",
            '    raise ImportError(f"no class {name} in the bindings of {module}")',
            "",
            "",
        ]
        if hooks(self.plan):
            lines += RESOURCE_HELPERS.splitlines()
        for tid in _named_types(self.plan):
            lines += self.describe(tid)
        lines += ["", "FUNCTIONS = {"]
        for it in (*self.plan.provide, *self.plan.expose):
            lines.append(f"    {it.instance!r}: {{")
            lines += [f"        {f.item_name!r}: {self.func(f)}," for f in it.functions]
            lines.append("    },")
        lines += ["}", ""]
        for n, it in enumerate(self.plan.provide):
            for m, f in enumerate(it.functions):
                lines += ["", *self.error_builder(f"E{n}_{m}", it.rules[f.name])]
        return "\n".join(lines) + "\n"


RESOURCE_HELPERS = '''
# Guest resources the workload's callers hold, by `id()` (what a destructor hook receives).
LIVE: dict[int, Any] = {}
# `[drop]<resource>`'s one parameter: the handle as a list<u8>.
HANDLE_CODEC = codec.function(wit.Func("[drop]", {"handle": wit.List(wit.U8)}))


def _adopter(module: str, name: str) -> Any:
    """What a decoded handle becomes: an instance of the guest resource class, held in LIVE."""
    found: list[Any] = []

    def adopt(handle: bytes) -> Any:
        if not found:
            found.append(getattr(importlib.import_module(module), name))
        obj = found[0].__new__(found[0])
        obj.handle = bytes(handle)
        LIVE[id(obj)] = obj
        return obj

    return adopt


def take_over(target: Any, made: Any) -> None:
    """A constructor's result: `target` (the instance componentize-py made) takes its handle."""
    LIVE.pop(id(made), None)
    target.handle = made.handle
    LIVE[id(target)] = target

'''


# --------------------------------------------------------------------------- bridge_app


APP_HEAD = '''\
"""The bridge: provided interfaces forward to NATS, NATS wRPC calls reach exposed ones."""

import random
from typing import Any, Callable

import bridge_types as T
from componentize_py_types import Err, Ok
from witgen.runtime import codec, wit
from wit_world import exports
from wit_world.imports import wcm_consumer
from wit_world.imports.wcm_types import BrokerMessage

PREFIX = {prefix!r}
RR = {rr!r}
WRPC = {wrpc!r}
TIMEOUT_MS = {timeout}
MAX_PAYLOAD = {max_payload}


class TransportError(Exception):
    """A call that did not get an answer from NATS (raised as a trap when no error value fits)."""


def _call(instance: str, name: str, args: tuple[Any, ...], on_error: Callable[[str], Any],
          moved: tuple[Any, ...] = ()) -> Any:
    """Send one call as a plain request and return (or raise) what the provider answered.

    `moved`: resources whose ownership the call passes on (no destructor comes for them)."""
    for obj in moved:
        T.LIVE.pop(id(obj), None)
    func = T.FUNCTIONS[instance][name]
    fc = codec.function(func)
    where = f"{{instance}}.{{name}}"
    body = fc.encode_params(*args)
    if len(body) > MAX_PAYLOAD:
        problem = f"the parameters of {{where}} are {{len(body)}} bytes, above the NATS max payload ({{MAX_PAYLOAD}})"
    else:
        try:
            reply = bytes(wcm_consumer.request(f"{{RR}}.{{where}}", body, TIMEOUT_MS).body)
        except Err as exc:
            problem = f"{{where}} over NATS ({{RR}}): {{exc.value}}"
        else:
            status = reply[:1]
            if status == b"\\x00":
                try:
                    value = fc.decode_result(reply[1:])
                except codec.CodecError as exc:
                    problem = f"{{where}}: the provider's reply does not decode: {{exc}}"
                else:
                    return _unwrap(func, value)
            elif status == b"\\x01":
                problem = f"{{where}}: the provider failed: {{reply[1:].decode('utf-8', 'replace')}}"
            else:
                problem = f"{{where}}: malformed reply ({{len(reply)}} bytes, status {{status!r}})"
    payload = on_error(problem)
    if payload is None:
        raise TransportError(problem)
    raise Err(payload)


def _unwrap(func: wit.Func, value: Any) -> Any:
    """componentize-py's convention for a returned `result`: the ok value, or raise `Err`."""
    if isinstance(func.result, wit.Result):
        if value.__class__ is Err:
            raise value
        return value.value
    return value


def _publish(subject: str, body: bytes, reply_to: str | None = None) -> None:
    wcm_consumer.publish(BrokerMessage(subject=subject, body=body, reply_to=reply_to))


def _serve(target: Callable[..., Any], func: wit.Func, body: bytes) -> bytes:
    """Decode the parameters, call the sibling component, encode its result."""
    fc = codec.function(func)
    args = fc.decode_params(body)
    if isinstance(func.result, wit.Result):
        try:
            value: Any = Ok(target(*args))
        except Err as exc:
            value = exc
    else:
        value = target(*args)
    return fc.encode_result(value)


def _route(subject: str) -> tuple[str, str] | None:
    """(instance, function) of a wRPC invocation subject, matching the instances served."""
    if not subject.startswith(WRPC + "."):
        return None
    rest = subject[len(WRPC) + 1 :]
    for instance, aliases in INSTANCES.items():
        for alias in aliases:
            if rest.startswith(alias + ".") and rest[len(alias) + 1 :] in T.FUNCTIONS[instance]:
                return instance, rest[len(alias) + 1 :]
    return None
'''

HANDLER = '''

class WcmHandler(exports.WcmHandler):
    """wRPC over NATS: handshake, results (in chunks of the max payload), end of results."""

    def handle_message(self, msg: BrokerMessage) -> None:
        reply = msg.reply_to
        found = _route(msg.subject)
        if found is None:
            # Left to whichever other server under the prefix serves it.
            return
        if reply is None:
            raise Err(f"{msg.subject}: a wRPC invocation needs a reply subject")
        _publish(reply, b"", f"_INBOX.witgen-bridge.{random.getrandbits(64):016x}")
        results = reply + ".results"
        instance, name = found
        try:
            data = _serve(TARGETS[instance][name], T.FUNCTIONS[instance][name], bytes(msg.body))
        except Exception as exc:
            _publish(results, b"")
            raise Err(f"{instance}.{name}: {exc}") from None
        for start in range(0, len(data), MAX_PAYLOAD):
            _publish(results, data[start : start + MAX_PAYLOAD])
        _publish(results, b"")
'''


def _app(plan: Plan, names: dict[str, str], settings: Settings) -> str:
    p, e = settings.prefix, settings.wrpc_prefix
    rr = f"{p}.rr.0.0.1" if p else "rr.0.0.1"
    wrpc = f"{e}.wrpc.0.0.1" if e else "wrpc.0.0.1"
    text = APP_HEAD.format(prefix=p, rr=rr, wrpc=wrpc, timeout=settings.timeout_ms, max_payload=settings.max_payload)
    parts = [text]
    if hooks(plan):
        parts += [DROP, app_hooks(plan)]
    for n, it in enumerate(plan.provide):
        parts.append(_provided_class(n, it, names[it.instance]))
    if plan.expose:
        imports = "".join(f"from wit_world.imports import {names[it.instance]}\n" for it in plan.expose)
        instances = ",\n".join(f"    {it.instance!r}: {_aliases(it.instance)!r}" for it in plan.expose)
        targets = ",\n".join(
            f"    {it.instance!r}: {{"
            + ", ".join(f"{f.name!r}: {names[it.instance]}.{cpy_snake(f.name)}" for f in it.functions)
            + "}"
            for it in plan.expose
        )
        parts.append(f"\n{imports}\nINSTANCES = {{\n{instances},\n}}\nTARGETS = {{\n{targets},\n}}\n")
        parts.append(HANDLER)
    modules = [names[it.instance] for it in plan.provide if it.resources]
    if modules:
        # imported while componentize-py builds, so that the component carries them
        parts.append("\n\n# The resource classes (they import this module's _call).\n")
        parts += [f"import {m}  # noqa: E402\n" for m in modules]
    return "".join(parts)


def _aliases(instance: str) -> list[str]:
    """The instance with and without its version (servers accept both)."""
    bare = instance.partition("@")[0]
    return [instance] if bare == instance else [instance, bare]


def _provided_class(n: int, it: Iface, module: str) -> str:
    """The interface's class: its freestanding functions (resources: `resources.resource_module`)."""
    if all(f.kind.kind != "freestanding" for f in it.functions):
        return ""
    cls = cpy_class(module)
    lines = ["", "", f"class {cls}(exports.{cls}):", f'    """{it.instance}: every call goes to NATS."""']
    for m, f in enumerate(it.functions):
        if f.kind.kind != "freestanding":
            continue
        params = [cpy_snake(p.name) for p in f.params]
        sig = ", ".join(["self", *(f"{p}: Any" for p in params)])
        args = "".join(f"{p}, " for p in params)
        lines += ["", f"    def {cpy_snake(f.name)}({sig}) -> Any:",
                  f"        return _call({it.instance!r}, {f.name!r}, ({args}), T.E{n}_{m})"]  # fmt: skip
    return "\n".join(lines) + "\n"


def write(files: dict[str, bytes], folder: Path) -> None:
    """Write the project under `folder` (created; existing files are replaced)."""
    for rel, data in files.items():
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
