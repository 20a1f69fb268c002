"""`wasmcloud:bus` for wasmCloud 0.x actors (the 2024-02 `bus.wit`), on witgen's buses.

    legacy = WasmcloudBus({"ollama:llm/llm": llm.FUNCTIONS}, links={"default": lattice})
    host = ComponentHost("adaptor.wasm", definers=[legacy], exports=...)

`wasmcloud:bus/host.call-sync(link-name, operation, payload)` finds `operation` among the
given interfaces' functions (`ollama:llm/llm.chat`, or the 0.x names `ollama:llm/Llm.Chat`
and `Llm.Chat`), decodes the MessagePack payload (`witgen.runtime.legacy`), invokes the
function on the link's bus with the wRPC encoding, and answers the result as MessagePack.
The link is the `link-name` field of the first parameter, else the name set with
`wasmcloud:bus/lattice.set-link-name`, else `default`. Anything that goes wrong on the way
(unknown operation or link, undecodable payload, a failing provider) is the call's `err`
string, which the WIT carries.

The other members are defined (instantiation needs them) and fail clearly:
`host.call` answers an `err` (streams are not supported); `future-result-*`,
`listen-to-future-result` and `guest-config` fail the call with a `BusError` naming them.
`lattice.target-interface` is a host resource recording namespace, package and interface.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wasmtime.component import LinkerInstance, ResourceAny, ResourceHost, ResourceType

from witgen.runtime import codec, legacy, wit
from witgen.runtime.bus import Bus, BusError
from witgen.runtime.dispatch import legacy_names
from witgen.runtime.wasm.host import ComponentHost

__all__ = ["HOST", "LATTICE", "GUEST_CONFIG", "TargetInterface", "WasmcloudBus"]

HOST = "wasmcloud:bus/host"
LATTICE = "wasmcloud:bus/lattice"
GUEST_CONFIG = "wasmcloud:bus/guest-config"
# The `target-*` statics of `target-interface` and the interface each one names.
TARGETS = {
    "wasi-blobstore-blobstore": ("wasi", "blobstore", "blobstore"),
    "wasi-keyvalue-atomic": ("wasi", "keyvalue", "atomic"),
    "wasi-keyvalue-eventual": ("wasi", "keyvalue", "eventual"),
    "wasi-logging-logging": ("wasi", "logging", "logging"),
    "wasmcloud-messaging-consumer": ("wasmcloud", "messaging", "consumer"),
    "wasi-http-outgoing-handler": ("wasi", "http", "outgoing-handler"),
}


@dataclass(frozen=True)
class TargetInterface:
    """A `wasmcloud:bus/lattice.target-interface`."""

    namespace: str
    package: str
    interface: str


class WasmcloudBus:
    """The `wasmcloud:bus` interfaces for one component host (see the module docstring)."""

    instances = (HOST, LATTICE, GUEST_CONFIG)

    def __init__(
        self,
        interfaces: Mapping[str, Mapping[str, wit.Func]],
        links: Mapping[str, Bus] = {},
        *,
        timeout: float | None = None,
    ) -> None:
        self.links = dict(links)
        self.timeout = timeout
        self.link_name: str | None = None  # set-link-name; None is `default`
        self.targets: dict[int, TargetInterface] = {}
        self.operations: dict[str, tuple[str, wit.Func]] = {}
        for instance, funcs in interfaces.items():
            for name, func in funcs.items():
                base = instance.partition("@")[0]
                for op in (f"{instance}.{name}", f"{base}.{name}", *legacy_names(instance, name)):
                    self.operations.setdefault(op, (instance, func))

    # ------------------------------------------------------------------ call-sync

    def call_sync(self, link: str | None, operation: str, payload: bytes) -> bytes | str:
        """The result of one `call-sync`: MessagePack bytes, or the `err` string."""
        found = self.operations.get(operation)
        if found is None:
            return f"unknown operation {operation!r}: no linked interface has it"
        instance, func = found
        name = link or self.link_name or "default"
        bus = self.links.get(name)
        if bus is None:
            return f"{operation}: no link named {name!r}"
        lf, fc = legacy.legacy_function(func), codec.function(func)
        try:
            args = lf.decode_params(payload)
        except Exception as exc:
            return f"{operation}: the payload does not decode: {exc}"
        try:
            out = bus.invoke(instance, func.name, fc.encode_params(*args), timeout=self.timeout)
            return lf.encode_result(fc.decode_result(out))
        except BusError as exc:
            return f"{operation}: {exc.message}"
        except Exception as exc:
            return f"{operation}: {type(exc).__name__}: {exc}"

    # ------------------------------------------------------------------ linker

    def define(self, host: ComponentHost, root: LinkerInstance) -> None:
        rid = host.resource_id(LATTICE, "target-interface")

        def new_target(target: TargetInterface) -> ResourceHost:
            rep = len(self.targets) + 1
            while rep in self.targets:
                rep += 1
            self.targets[rep] = target
            return ResourceHost.own(rep, rid)

        with root.add_instance(LATTICE) as lattice:
            lattice.add_resource("target-interface", ResourceType.host(rid), lambda store, rep: self.targets.pop(rep, None))
            lattice.add_func(
                "[constructor]target-interface",
                host.guard(f"{LATTICE}.[constructor]target-interface",
                           lambda store, ns, pkg, iface: new_target(TargetInterface(ns, pkg, iface))),
            )  # fmt: skip
            for static, names in TARGETS.items():
                lattice.add_func(
                    f"[static]target-interface.{static}",
                    host.guard(f"{LATTICE}.target-interface.{static}",
                               lambda store, names=names: new_target(TargetInterface(*names))),
                )  # fmt: skip
            lattice.add_func("set-link-name", host.guard(f"{LATTICE}.set-link-name", self._set_link_name))
            lattice.add_func("get-link-name", host.guard(f"{LATTICE}.get-link-name", lambda store: self.link_name))

        with root.add_instance(HOST) as bus_host:
            bus_host.add_func("call-sync", host.guard(f"{HOST}.call-sync", self._call_sync))
            bus_host.add_func("call", host.guard(f"{HOST}.call", self._call))
            for name in ("drop-future-result", "future-result-get", "listen-to-future-result"):
                bus_host.add_func(name, host.guard(f"{HOST}.{name}", _unsupported(f"{HOST}.{name}", "futures of `call`")))

        with root.add_instance(GUEST_CONFIG) as config:
            for name in ("get", "get-all"):
                config.add_func(name, host.guard(f"{GUEST_CONFIG}.{name}", _unsupported(f"{GUEST_CONFIG}.{name}", "guest configuration")))

    def _set_link_name(self, store: Any, name: str | None) -> None:
        self.link_name = name

    def _call_sync(self, store: Any, target: Any, operation: str, payload: bytes) -> bytes | str:
        link = None
        if target is not None:
            fields = target.__dict__
            link = fields.get("link-name") or None
            iface = fields.get("iface")
            if isinstance(iface, ResourceAny):
                iface.drop(store)  # the record moved its `own<target-interface>` to the host
        return self.call_sync(link, operation, payload)

    def _call(self, store: Any, target: Any, operation: str) -> str:
        if target is not None and isinstance(target.__dict__.get("iface"), ResourceAny):
            target.__dict__["iface"].drop(store)
        return f"{operation}: {HOST}.call (streams) is not supported by this host; use call-sync"


def _unsupported(where: str, what: str) -> Any:
    def fail(store: Any, *args: Any) -> Any:
        raise BusError(f"{where}: {what} are not supported by this host")

    return fail
