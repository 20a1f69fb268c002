"""The actor side of `ollama:llm/llm`: the generated clients and a small conversation.

The actor never sees how the provider answers (built-in model or Ollama server):
it encodes a `chat-request`, the bus carries the bytes, and it gets back either a
`chat-response` or the provider's `status-error`.
"""

from __future__ import annotations

from samples.ollama.bindings.ollama_llm.actor import LlmAsyncClient, LlmClient
from samples.ollama.bindings.ollama_llm.llm import ChatRequest, ChatResponse, Message, StatusError
from witgen.runtime.values import Err, Ok

__all__ = ["LlmAsyncClient", "LlmClient", "ask", "ask_async"]


def _request(model: str, prompt: str, system: str | None) -> ChatRequest:
    messages = [Message(role="user", content=prompt)]
    if system is not None:
        messages.insert(0, Message(role="system", content=system))
    return ChatRequest(model=model, messages=messages)


def _answer(result: Ok[ChatResponse] | Err[StatusError]) -> str:
    if isinstance(result, Err):
        e = result.value
        return f"error {e.status_code} ({e.status}): {e.error_message}"
    return result.value.message.content


def ask(llm: LlmClient, model: str, prompt: str, system: str | None = None) -> str:
    """One question, one answer; a provider error becomes a readable line."""
    return _answer(llm.chat(_request(model, prompt, system)))


async def ask_async(llm: LlmAsyncClient, model: str, prompt: str, system: str | None = None) -> str:
    """`ask` from asyncio."""
    return _answer(await llm.chat(_request(model, prompt, system)))
