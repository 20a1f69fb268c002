"""`ollama:llm/llm` for the Wasm tests: the samples' generated bindings and provider.

The chat actor's world (`ollama:chat/chat-actor`, in samples/ollama/component/chat.wit)
has no committed bindings: its one function is described here as generated code would.
"""

from __future__ import annotations

import sys
from pathlib import Path

from witgen.runtime import wit
from witgen.runtime.dispatch import DispatchTable

_root = str(Path(__file__).resolve().parent.parent)
if _root not in sys.path:
    sys.path.insert(0, _root)

from samples.ollama import provider as _provider  # noqa: E402
from samples.ollama.bindings.ollama_llm import llm as _llm  # noqa: E402
from samples.ollama.bindings.ollama_llm import provider as _provider_world  # noqa: E402

LLM = "ollama:llm/llm"
LLM_FUNCTIONS = _llm.FUNCTIONS
Message = _llm.Message
ChatRequest = _llm.ChatRequest
ChatResponse = _llm.ChatResponse
StatusError = _llm.StatusError
ShowRequest = _llm.ShowRequest
BuiltinLlm = _provider.BuiltinLlm
CHAT_FUNCTIONS = wit.functions(
    wit.Func("ask", {"model": wit.STRING, "prompt": wit.STRING}, wit.Result(wit.STRING, wit.STRING))
)


def llm_table(impl: object) -> DispatchTable:
    """The samples' provider world serving `impl` as `ollama:llm/llm`."""
    return _provider_world.dispatch_table(llm=impl)  # type: ignore[arg-type]
