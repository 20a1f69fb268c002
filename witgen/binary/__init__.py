"""WIT from WebAssembly binaries: a WIT package encoded as a component, or a component's own
interface, decoded into the same `witgen.model.Resolve` the text front end builds (and
printed, as `--json` or WIT, exactly as `wasm-tools component wit` prints it).

Modules: `reader` (bytes, LEB128, sections), `syntax` (names, sorts, type references),
`types` (type identities and resource substitution), `state` and `typedefs` (index
spaces and type definitions of a component), `component` (sections of a component),
`decoder` (types to WIT), `metadata` (the `package-docs` section), `builder` (the Resolve
under construction), `coremodule` (a core module's `component-type` sections).
"""

from __future__ import annotations

import os

from witgen import model
from witgen.binary.component import ComponentInfo, read_component
from witgen.binary.decoder import DecodeError, Decoder
from witgen.binary.names import NameError_, parse
from witgen.binary.reader import BinaryError, header_kind, printable

__all__ = ["BinaryError", "decode", "is_binary", "is_binary_file", "load_binary"]

WAT_HINT = "convert it first: wasm-tools parse {path} -o {stem}.wasm"


def is_binary(data: bytes) -> bool:
    return data[:4] == b"\0asm"


def is_binary_file(path: str) -> bool:
    """Whether the file at `path` is WebAssembly (named `.wasm`/`.wat`, or binary inside)."""
    if path.endswith((".wasm", ".wat")):
        return True
    try:
        with open(path, "rb") as f:
            return is_binary(f.read(4))
    except OSError:
        return False


def decode(data: bytes, package_only: bool = False) -> model.Resolve:
    """The WIT of `data`: an encoded WIT package, a component, or a core module with
    `component-type` sections. Raises BinaryError (one line: what, and at which byte).

    `package_only`: a component (rather than an encoded WIT package) is an error."""
    kind = header_kind(data)
    if kind == "module":
        from witgen.binary.coremodule import decode_module

        return decode_module(data)
    return decode_component_info(read_component(data), package_only)


def decode_component_info(info: ComponentInfo, package_only: bool = False) -> model.Resolve:
    version = _wit_package_version(info)
    decoder = Decoder(info.store)
    if version is None:
        if package_only:
            raise DecodeError("found an actual component instead of an encoded WIT package in wasm")
        return _decode_component(decoder, info)
    from witgen.binary.builder import PackageDraft

    if version == 1:
        if len(info.externs) > 1:
            raise DecodeError("more than one top-level exported component type found")
        ext = info.externs[0]
        package = decoder.decode_v1_package(ext.name, ext.item)
    else:
        name: model.PackageName | None = None
        package = PackageDraft(model.PackageName("", ""))
        for ext in info.externs:
            assert ext.item.entity.id is not None
            component = info.store.component_of(ext.item.entity.id)
            if len(component.exports) != 1:
                raise DecodeError(
                    f"Expected a single export, but found {len(component.exports)} instead"
                )
            ((export_name, item),) = component.exports.items()
            if item.entity.sort == "component":
                found = decoder.decode_world(export_name, item, package)
            elif item.entity.sort == "instance":
                found = decoder.decode_interface(export_name, component.imports, item, package)
            else:
                raise DecodeError(f"export `{export_name}` is not a world or an interface")
            if name is not None and name != found:
                raise DecodeError("item defined with mismatched package name")
            name = found
        if name is None:
            raise DecodeError("no exported component type found")
        package.name = name
    pid = decoder.finish(package)
    if info.package_docs is not None:
        from witgen.binary.metadata import inject

        inject(decoder.b, pid, info.package_docs)
    return decoder.b.freeze(pid)


def _wit_package_version(info: ComponentInfo) -> int | None:
    """1 or 2 for the two encodings of a WIT package; None for a component."""
    if not info.externs:
        return None
    for ext in info.externs:
        entity = ext.item.entity
        if ext.is_import or entity.sort != "type" or entity.id is None or entity.id[0] != "c":
            return None
    try:
        first = parse(info.externs[0].name)
    except NameError_:
        return None
    if first.kind == "interface" and first.interface == "wit":
        return 1
    return 2 if first.kind == "label" else None


def _decode_component(decoder: Decoder, info: ComponentInfo) -> model.Resolve:
    from witgen.binary.builder import PackageDraft, WorldDraft

    world = decoder.b.add_world(WorldDraft("root"))
    package = PackageDraft(model.PackageName("root", "component"), worlds={"root": world})
    for ext in info.externs:
        if ext.is_import:
            decoder.decode_component_import(ext.name, ext.item, world, package)
        else:
            decoder.decode_component_export(ext.name, ext.item, world, package)
    pid = decoder.finish(package)
    return decoder.b.freeze(pid)


def load_binary(path: str | os.PathLike[str], package_only: bool = False) -> model.Resolve:
    """Decode the `.wasm` (or `.wat`) file at `path`; errors name the file."""
    p = os.fspath(path)
    with open(p, "rb") as f:
        data = f.read()
    if not is_binary(data):
        data = _wat_to_wasm(p, data)
    try:
        return decode(data, package_only)
    except BinaryError as exc:
        raise exc.with_prefix(printable(f"failed to decode {p}: ")) from None
    except RecursionError:
        raise BinaryError(f"failed to decode {p}: types nested too deeply") from None


def _wat_to_wasm(path: str, data: bytes) -> bytes:
    """The binary of a file in the WebAssembly text format (with wasmtime, when installed)."""
    stem = os.path.splitext(path)[0]
    hint = WAT_HINT.format(path=path, stem=stem)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BinaryError(f"{path} is neither a WebAssembly binary nor text: {hint}") from None
    try:
        import wasmtime
    except ImportError:
        raise BinaryError(
            f"{path} is WebAssembly text, which needs wasmtime (pip install 'witgen[wasm]'), or {hint}"
        ) from None
    try:
        return bytes(wasmtime.wat2wasm(text))
    except wasmtime.WasmtimeError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid text"
        raise BinaryError(f"failed to parse {path} as WebAssembly text: {first}") from None
