"""Processes of the NATS tests: an actor hosted from its component file, or the llm provider.

    python tests/wasm_serve.py provider URL PREFIX
    python tests/wasm_serve.py chat|stateful|echoer|adaptor COMPONENT URL PREFIX [LLM_PREFIX]

Both print `serving ...` on stderr once ready and exit 0 on SIGTERM.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

import wasm_llm as llm
import wasm_world as ww

from witgen.runtime.bus import Bus
from witgen.runtime.nats.main import serve_forever
from witgen.runtime.wasm import ComponentHost
from witgen.runtime.wasm.serve import host_forever
from witgen.runtime.wasm.wasmcloud import WasmcloudBus


def main(argv: list[str]) -> int:
    kind = argv[0]
    if kind == "provider":
        url, prefix = argv[1:3]
        return serve_forever([llm.llm_table(llm.BuiltinLlm())], url, prefix=prefix)
    component, url, prefix, *rest = argv[1:]
    llm_prefix = rest[0] if rest else ""

    def build(bus: Bus, routes: Mapping[str, Bus]) -> ComponentHost:
        if kind == "stateful":
            return ComponentHost(component, exports={ww.STATE: ww.STATE_FUNCTIONS, ww.MODEL: ww.MODEL_FUNCTIONS})
        if kind == "echoer":
            from test_wasm_host import echoer_host

            return echoer_host(component)
        if kind == "chat":
            return ComponentHost(
                component, imports={llm.LLM: llm.LLM_FUNCTIONS}, exports={"": llm.CHAT_FUNCTIONS}, routes=routes
            )
        legacy = WasmcloudBus({llm.LLM: llm.LLM_FUNCTIONS}, links={"default": routes[llm.LLM]})
        return ComponentHost(component, definers=[legacy], exports={llm.LLM: llm.LLM_FUNCTIONS})

    return host_forever(build, url, prefix=prefix, imports={llm.LLM: llm_prefix} if llm_prefix else {})


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
