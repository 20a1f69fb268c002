"""The actor side of `ollama:llm/llm`: a typed client and a small conversation.

The actor never sees how the provider answers (built-in model or Ollama server):
it encodes a `chat-request`, the bus carries the bytes, and it gets back either a
`chat-response` or the provider's `status-error`.
"""

from __future__ import annotations

from samples.ollama.bindings.ollama_llm import llm as llm_bindings
from samples.ollama.bindings.ollama_llm.llm import (
    ChatRequest,
    ChatResponse,
    ListResponse,
    Message,
    ShowRequest,
    ShowResponse,
    StatusError,
)
from samples.wiring import call
from witgen.runtime.bus import Client
from witgen.runtime.values import Err, Ok


class LlmClient(Client):
    """Calls `ollama:llm/llm`."""

    INSTANCE = "ollama:llm/llm"

    def chat(self, req: ChatRequest) -> Ok[ChatResponse] | Err[StatusError]:
        result: Ok[ChatResponse] | Err[StatusError] = call(self, llm_bindings.FUNCTIONS, "chat", req)
        return result

    def show(self, req: ShowRequest) -> Ok[ShowResponse] | Err[StatusError]:
        result: Ok[ShowResponse] | Err[StatusError] = call(self, llm_bindings.FUNCTIONS, "show", req)
        return result

    def list_(self) -> Ok[ListResponse] | Err[StatusError]:
        result: Ok[ListResponse] | Err[StatusError] = call(self, llm_bindings.FUNCTIONS, "list")
        return result


def ask(llm: LlmClient, model: str, prompt: str, system: str | None = None) -> str:
    """One question, one answer; a provider error becomes a readable line."""
    messages = [Message(role="user", content=prompt)]
    if system is not None:
        messages.insert(0, Message(role="system", content=system))
    result = llm.chat(ChatRequest(model=model, messages=messages))
    if isinstance(result, Err):
        e = result.value
        return f"error {e.status_code} ({e.status}): {e.error_message}"
    return result.value.message.content
