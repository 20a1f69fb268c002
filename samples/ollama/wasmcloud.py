"""The ollama provider under a wasmCloud 1.x host.

    python -m samples.ollama.provider --wasmcloud    # or no options, HostData on stdin

Provider config `ollama_url` (e.g. `http://127.0.0.1:11434`) forwards calls to an
Ollama server; without it the built-in models answer. Each component's link may
set `default-model` in its target config: a request naming no model uses it,
read from the call's context (`witgen.runtime.context.current()`).
"""

from __future__ import annotations

from typing import Any

from samples.ollama.bindings.ollama_llm import provider as provider_world
from samples.ollama.bindings.ollama_llm.llm import ChatRequest, ShowRequest
from samples.ollama.provider import BuiltinLlm, OllamaLlm
from witgen.provider import Provider, run_provider
from witgen.runtime import context
from witgen.runtime.dispatch import DispatchTable

DEFAULT_MODEL = "default-model"


def _model(name: str) -> str:
    return name or context.current().config.get(DEFAULT_MODEL, "")


class LinkedLlm:
    """`llm` with each link's `default-model` filled in; the rest as `inner` answers."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def chat(self, req: ChatRequest) -> Any:
        return self.inner.chat(ChatRequest(_model(req.model), req.messages))

    def show(self, req: ShowRequest) -> Any:
        return self.inner.show(ShowRequest(_model(req.name)))

    def list_(self) -> Any:
        return self.inner.list_()


def tables(provider: Provider) -> DispatchTable:
    url = provider.config.get("ollama_url")
    inner = OllamaLlm(url) if url else BuiltinLlm()
    return provider_world.dispatch_table(llm=LinkedLlm(inner))


def main() -> None:
    """Serve `llm` under the host whose HostData is on stdin."""
    run_provider(tables)

