"""The engine behind `witgen wire`: WAVE text <-> bytes through the generated codec.

A selector names what is encoded: a named type (`ns:pkg/iface.name`, with
`@1.2.3` before `.name` for a versioned package), a type expression over
built-in types (`list<option<u8>>`, compiled as a one-line WIT package), or a
function's parameter tuple / result (`ns:pkg/iface.func`, resource members as
`iface.res.method`). Names are matched against what the WIT defines, never
split on dots, so versions with dots are no problem.

The codec is the generated one: the bindings are rendered in memory, imported
from the rendered strings, and WAVE values are converted to the generated
Python types (`witgen.wave.convert`) and back.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import itertools
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

from msgspec import structs

if TYPE_CHECKING:
    from witgen.runtime.codec import Codec, FunctionCodec

from witgen.errors import WitError
from witgen.model import Function, Interface, Param, Resolve, Type
from witgen.wave.reader import WaveError, parse_args, parse_value
from witgen.wave.printer import format_args, to_wave

Mode = Literal["type", "params", "result"]


class WireError(Exception):
    """Bad input for `witgen wire`; the message names the place."""


# --------------------------------------------------------------------------- loading


def load_wit(path: str | Path) -> Resolve:
    """Resolve a `.wit` file or package folder with witgen's front end."""
    from witgen.resolver import load

    return load(Path(path))


EXPRESSION_PACKAGE = "witgen:wire"


def load_type_expression(expr: str) -> tuple[Resolve, int]:
    """Compile `type value = <expr>;` in a one-line WIT package; return it and the type id."""
    text = f"package {EXPRESSION_PACKAGE};\n\ninterface types {{\n  type value = {expr};\n}}\n"
    with tempfile.TemporaryDirectory(prefix="witgen-wire-") as tmp:
        path = Path(tmp) / "value.wit"
        path.write_text(text, "utf-8")
        try:
            resolve = load_wit(path)
        except WitError as exc:
            raise WireError(
                f"invalid type expression `{expr}`: {exc.message}"
            ) from None
    for iface in resolve.interfaces:
        if iface.name == "types" and "value" in iface.types:
            return resolve, iface.types["value"]
    raise WireError(f"invalid type expression `{expr}`")  # pragma: no cover


# --------------------------------------------------------------------------- selectors


@dataclass(frozen=True)
class Target:
    """What a selector names: one type, or a function's parameters or result."""

    mode: Mode
    selector: str
    interface: int  # -1 for a function a world imports or exports directly
    type: Type | None = None
    function: Function | None = None
    world: int | None = None  # the world of such a function

    def instance(self, resolve: Resolve) -> str:
        """The instance a call addresses: the interface's id, or "" for a world's function."""
        return "" if self.world is not None else resolve.interface_id(self.interface)

    @property
    def params(self) -> tuple[Param, ...]:
        assert self.function is not None
        return self.function.params


def world_function(resolve: Resolve, name: str) -> tuple[int, Function] | None:
    """The function named `name` that a world of the root package imports or exports
    directly (the first world that has it); None when there is none."""
    from witgen.model import FunctionItem

    root = resolve.root
    wids = list(resolve.packages[root].worlds.values()) if root is not None else range(len(resolve.worlds))
    for wid in wids:
        world = resolve.worlds[wid]
        for item in (*world.exports.values(), *world.imports.values()):
            if isinstance(item, FunctionItem) and item.function.name == name:
                return wid, item.function
    return None


def _interface_matches(resolve: Resolve, selector: str) -> list[tuple[int, str, bool]]:
    """(interface id, rest after `iface.`, version given) for every qualified prefix."""
    out = []
    for iid, iface in enumerate(resolve.interfaces):
        if iface.name is None or iface.package is None:
            continue
        pkg = resolve.packages[iface.package].name
        base = f"{pkg.namespace}:{pkg.name}/{iface.name}"
        prefixes = [(base, False)]
        if pkg.version:
            prefixes.append((f"{base}@{pkg.version}", True))
        if "/" not in selector:
            prefixes = [(iface.name, False)]
        for prefix, versioned in prefixes:
            if selector.startswith(prefix + ".") and len(selector) > len(prefix) + 1:
                out.append((iid, selector[len(prefix) + 1 :], versioned))
    return out


def _pick_interface(
    resolve: Resolve, selector: str, what: str
) -> list[tuple[int, str]]:
    matches = _interface_matches(resolve, selector)
    if any(versioned for *_, versioned in matches):
        matches = [m for m in matches if m[2]]
    if not matches:
        known = sorted(
            {
                resolve.interface_id(i)
                for i, f in enumerate(resolve.interfaces)
                if f.package is not None and f.name
            }
        )
        raise WireError(
            f"no interface matches the {what} selector `{selector}`"
            f" (loaded: {', '.join(known) or 'none'})"
        )
    return [(iid, rest) for iid, rest, _ in matches]


def _ambiguous(resolve: Resolve, selector: str, iids: Sequence[int]) -> WireError:
    names = ", ".join(sorted(resolve.interface_id(i) for i in iids))
    return WireError(
        f"`{selector}` is ambiguous: it matches {names};"
        " give the full name with its version (ns:pkg/iface@1.2.3.name)"
    )


def select(resolve: Resolve, mode: Mode, selector: str) -> Target:
    """Resolve `--type NAME`, `--params FUNC` or `--result FUNC` against the model."""
    if mode == "type":
        found = [
            (iid, rest)
            for iid, rest in _pick_interface(resolve, selector, "type")
            if rest in resolve.interfaces[iid].types
        ]
        if not found:
            iid, rest = _pick_interface(resolve, selector, "type")[0]
            raise WireError(
                _unknown("type", rest, resolve, resolve.interfaces[iid], iid)
            )
        if len(found) > 1:
            raise _ambiguous(resolve, selector, [i for i, _ in found])
        iid, rest = found[0]
        return Target(mode, selector, iid, type=resolve.interfaces[iid].types[rest])
    if "/" not in selector and "." not in selector:
        direct = world_function(resolve, selector)
        if direct is None:
            raise WireError(_no_world_function(resolve, selector))
        return Target(mode, selector, -1, function=direct[1], world=direct[0])
    funcs = [
        (iid, func)
        for iid, rest in _pick_interface(resolve, selector, "function")
        for func in resolve.interfaces[iid].functions.values()
        if func.item_name == rest
    ]
    if not funcs:
        iid, rest = _pick_interface(resolve, selector, "function")[0]
        raise WireError(
            _unknown("function", rest, resolve, resolve.interfaces[iid], iid)
        )
    if len(funcs) > 1:
        raise _ambiguous(resolve, selector, [i for i, _ in funcs])
    iid, func = funcs[0]
    return Target(mode, selector, iid, function=func)


def _no_world_function(resolve: Resolve, name: str) -> str:
    """A bare name that no world of the root package has: what the worlds do have."""
    from witgen.model import FunctionItem

    root = resolve.root
    wids = list(resolve.packages[root].worlds.values()) if root is not None else range(len(resolve.worlds))
    known = sorted(
        {
            item.function.name
            for wid in wids
            for item in (*resolve.worlds[wid].exports.values(), *resolve.worlds[wid].imports.values())
            if isinstance(item, FunctionItem)
        }
    )
    have = f"their own functions: {', '.join(known)}" if known else "they have no functions of their own"
    return (
        f"no world of the root package imports or exports a function `{name}` ({have});"
        " an interface's function is named ns:pkg/iface.function"
    )


def _unknown(what: str, name: str, resolve: Resolve, iface: Interface, iid: int) -> str:
    if what == "type":
        known = sorted(iface.types)
    else:
        known = sorted(f.item_name for f in iface.functions.values())
    listing = ", ".join(known) if known else "none"
    return f"unknown {what} `{name}` in {resolve.interface_id(iid)} (it defines: {listing})"


# --------------------------------------------------------------------------- bindings


class _StringFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports the modules of one rendered package straight from their source strings."""

    def __init__(self, prefix: str, files: dict[str, str]) -> None:
        self.prefix = prefix
        self.sources: dict[str, tuple[str, bool]] = {}
        for rel, text in files.items():
            if not rel.endswith(".py"):
                continue
            parts = rel[:-3].split("/")
            is_pkg = parts[-1] == "__init__"
            if is_pkg:
                parts = parts[:-1]
            self.sources[".".join([prefix, *parts])] = (text, is_pkg)

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.sources:
            return None
        is_pkg = self.sources[fullname][1]
        return importlib.util.spec_from_loader(fullname, self, is_package=is_pkg)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        text, is_pkg = self.sources[module.__name__]
        if is_pkg:
            module.__path__ = []
        filename = f"<witgen wire {module.__name__}>"
        exec(compile(text, filename, "exec"), module.__dict__)


_counter = itertools.count()
# Rendering runs black over every module: `witgen wire` in a long-lived process
# (tests, a REPL) reuses what it generated for an unchanged model.
_CACHE: dict[tuple[int | None, str], Bindings] = {}


class Bindings:
    """The generated bindings of a resolve, rendered in memory and imported."""

    def __init__(self, resolve: Resolve, interface: int, world: int | None = None) -> None:
        from witgen.codegen import render_bindings
        from witgen.codegen.layout import Layout

        if world is not None:
            # A world's own functions: that world's module and what it reaches.
            pid = resolve.worlds[world].package
            assert pid is not None
            self.resolve = structs.replace(resolve, root=pid)
            self.layout = Layout(self.resolve, [world], pid)
            selected: tuple[str, ...] = (resolve.worlds[world].name,)
        else:
            # The types of every interface of the selected interface's package,
            # whatever its worlds say.
            pid = resolve.interfaces[interface].package
            assert pid is not None
            packages = tuple(
                structs.replace(p, worlds={}) if i == pid else p
                for i, p in enumerate(resolve.packages)
            )
            self.resolve = structs.replace(resolve, packages=packages, root=pid)
            self.layout = Layout(self.resolve, [], pid)
            selected = ()
        files = render_bindings(self.resolve, selected, parts=("types",), format=False)  # only imported
        self.prefix = f"_witgen_wire_{next(_counter)}"
        self._finder = _StringFinder(self.prefix, files)
        sys.meta_path.insert(0, self._finder)
        self._modules: dict[str, ModuleType] = {}

    @classmethod
    def cached(cls, resolve: Resolve, interface: int, world: int | None = None) -> Bindings:
        """Bindings for the package of `interface` (or for `world`), rendered once per
        process and model."""
        pid = resolve.interfaces[interface].package if world is None else -2 - world
        key = (pid, resolve.to_json())
        found = _CACHE.get(key)
        if found is None:
            found = _CACHE[key] = cls(resolve, interface, world)
            while len(_CACHE) > 8:
                del _CACHE[next(iter(_CACHE))]
        return found

    def module(self, dotted: str) -> ModuleType:
        mod = self._modules.get(dotted)
        if mod is None:
            mod = importlib.import_module(f"{self.prefix}.{dotted}")
            self._modules[dotted] = mod
        return mod

    def type_attr(self, tid: int) -> Any:
        """The generated class (or alias) of a named type."""
        names = self.layout.names[tid]
        return getattr(self.module(names.module), names.py)

    def type_codec(self, tid: int) -> Codec[Any]:
        """The codec of a named type, from its module's `TYPES` registry."""
        from witgen.runtime import codec, wit

        names = self.layout.names[tid]
        name = self.resolve.types[tid].name
        desc = self.module(names.module).TYPES[name]
        if isinstance(desc, wit.Resource):
            raise WireError(f"`{name}` has no codec: a resource travels as own<R> or borrow<R>")
        return codec.of(desc)

    def function_codec(self, iid: int, func: Function, world: int | None = None) -> FunctionCodec:
        """The parameter and result codecs of a function, from its module's `FUNCTIONS`
        (the world's module for a function the world imports or exports directly)."""
        from witgen.codegen.types import function_names
        from witgen.runtime import codec

        wire, _, _ = function_names(func, self.resolve)
        owner = self.layout.world_module[world] if world is not None else self.layout.interface_module[iid]
        mod = self.module(owner.dotted)
        return codec.function(mod.FUNCTIONS[wire])


# --------------------------------------------------------------------------- the engine


class Wire:
    """Encode and decode WAVE values of one selector with the generated codec."""

    def __init__(
        self, resolve: Resolve, target: Target, bindings: Bindings | None = None
    ) -> None:
        """`bindings` may be shared by several targets of the same package."""
        from witgen.wave.convert import Converter

        self.resolve = resolve
        self.target = target
        self.bindings = bindings or Bindings.cached(resolve, target.interface, target.world)
        self.convert = Converter(self.bindings)

    @classmethod
    def open(cls, wit: str | Path | None, mode: Mode, selector: str) -> Wire:
        """Load the WIT (or compile a type expression) and resolve the selector."""
        if mode == "type" and "/" not in selector and "." not in selector:
            resolve, tid = load_type_expression(selector)
            target = Target(mode, selector, _owner(resolve, tid), type=tid)
            return cls(resolve, target)
        if wit is None:
            raise WireError(f"`{selector}` names a WIT item: pass --wit PATH")
        try:
            resolve = load_wit(wit)
        except WitError as exc:
            text = exc.render()  # the loader may already name the path
            raise WireError(text if text.startswith(f"{wit} ") else f"cannot load {wit}: {text}") from None
        return cls(resolve, select(resolve, mode, selector))

    # ------------------------------------------------------------------ encode

    def encode(self, text: str) -> bytes:
        """WAVE text (a value, or comma-separated arguments for params) -> bytes."""
        from witgen.runtime.codec import CodecError

        t = self.target
        try:
            if t.mode == "type":
                assert t.type is not None
                value = parse_value(text, t.type, self.resolve)
                py = self.convert.to_py(value, t.type)
                return self._type_codec().encode(py)
            assert t.function is not None
            if t.mode == "params":
                values = parse_args(text, t.params, self.resolve)
                pys = tuple(
                    self.convert.to_py(v, p.type) for v, p in zip(values, t.params)
                )
                fc = self.bindings.function_codec(t.interface, t.function, t.world)
                return fc.encode_params(*pys)
            if t.function.result is None:
                if text.strip() not in ("", "()"):
                    raise WireError(
                        f"`{t.selector}` has no result: the value must be `()`"
                    )
                return b""
            value = parse_value(text, t.function.result, self.resolve)
            py = self.convert.to_py(value, t.function.result)
            return self.bindings.function_codec(t.interface, t.function, t.world).encode_result(py)
        except WaveError as exc:
            raise WireError(exc.render()) from None
        except CodecError as exc:
            raise WireError(f"cannot encode the value: {exc}") from None

    def encode_args(self, args: Sequence[str]) -> bytes:
        """A function's parameters from one WAVE text per parameter (`--params` mode).

        An error names the argument (`<arg 2>`) and the place in its text.
        """
        from witgen.runtime.codec import CodecError

        pys = self.args_values(args)
        try:
            return self.function_codec().encode_params(*pys)
        except CodecError as exc:
            raise WireError(f"cannot encode the arguments: {exc}") from None

    def args_values(self, args: Sequence[str]) -> list[Any]:
        """A function's arguments as generated Python values, one WAVE text per parameter
        (a stream's items as a list: a complete `values.Stream`)."""
        t = self.target
        assert t.function is not None and t.mode == "params"
        if len(args) != len(t.params):
            raise WireError(
                f"`{t.selector}` takes {len(t.params)} argument(s), {len(args)} given"
            )
        pys = []
        for i, (text, p) in enumerate(zip(args, t.params), 1):
            try:
                value = parse_value(text, p.type, self.resolve, f"<arg {i}>")
            except WaveError as exc:
                raise WireError(self._argument_error(p, exc)) from None
            pys.append(self.convert.to_py(value, p.type))
        return pys

    def function_codec(self) -> FunctionCodec:
        """The codec of the selected function's parameters and result."""
        t = self.target
        assert t.function is not None
        return self.bindings.function_codec(t.interface, t.function, t.world)

    def _argument_error(self, param: Param, exc: WaveError) -> str:
        """`parameter 'count': expected u32, got "abc"`; other errors keep their place."""
        if exc.expected is None or exc.span is None:
            return exc.with_prefix(f"parameter '{param.name}': ").render()
        from witgen.witout.printer import type_text

        text = exc.span.text()
        got = text if len(text) <= 40 else text[:37] + "..."
        line = f"parameter '{param.name}': expected {type_text(self.resolve, exc.expected)}, got {got}"
        if text != exc.span.source.text.strip():  # a value inside the argument
            row, col = exc.span.source.line_col(exc.span.start)
            line += f" (at {exc.span.source.path}:{row}:{col})"
        return line

    # ------------------------------------------------------------------ decode

    def decode(self, data: bytes) -> str:
        """Bytes -> canonical WAVE text."""
        from witgen.runtime.codec import CodecError

        t = self.target
        try:
            if t.mode == "type":
                assert t.type is not None
                py = self._type_codec().decode(data)
                return to_wave(self.convert.from_py(py, t.type), t.type, self.resolve)
            assert t.function is not None
            if t.mode == "params":
                pys = self.bindings.function_codec(t.interface, t.function, t.world).decode_params(data)
                values = [
                    self.convert.from_py(v, p.type) for v, p in zip(pys, t.params)
                ]
                return format_args(values, t.params, self.resolve)
            if t.function.result is None:
                if data:
                    raise WireError(
                        f"`{t.selector}` has no result, but {len(data)} byte(s) were given"
                    )
                return "()"
            py = self.bindings.function_codec(t.interface, t.function, t.world).decode_result(data)
            return to_wave(
                self.convert.from_py(py, t.function.result),
                t.function.result,
                self.resolve,
            )
        except CodecError as exc:
            raise WireError(f"invalid encoding: {exc}") from None
        except WaveError as exc:
            raise WireError(exc.render()) from None

    def _type_codec(self) -> Codec[Any]:
        """The codec of the target type (its own, or the one it aliases)."""
        assert isinstance(self.target.type, int)
        return self.bindings.type_codec(self.target.type)


def _owner(resolve: Resolve, tid: int) -> int:
    for iid, iface in enumerate(resolve.interfaces):
        if tid in iface.types.values():
            return iid
    raise WireError("the type expression has no interface")  # pragma: no cover


def parse_hex(text: str) -> bytes:
    """Hex digits, spaces allowed between them; an error names the offending position."""
    digits = "".join(text.split())
    for i, ch in enumerate(digits):
        if ch not in "0123456789abcdefABCDEF":
            raise WireError(f"invalid hex digit {ch!r} at position {i}")
    if len(digits) % 2:
        raise WireError(f"truncated hex: {len(digits)} digits, an odd number")
    return bytes.fromhex(digits)
