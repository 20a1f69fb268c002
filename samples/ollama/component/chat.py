"""The chat actor as a real Wasm component (componentize-py, world `ollama:chat/chat-actor`).

`ask(model, prompt)` calls the imported `ollama:llm/llm.chat` and returns the reply's
content; a `status-error` from the provider becomes the `err` string. Built from a WIT
folder holding `chat.wit` with `deps/ollama-llm/llm.wit` (the sample's interface).
"""

import wit_world
from componentize_py_types import Err
from wit_world.imports import llm


class WitWorld(wit_world.WitWorld):
    def ask(self, model: str, prompt: str) -> str:
        request = llm.ChatRequest(model=model, messages=[llm.Message(role="user", content=prompt)])
        try:
            response = llm.chat(request)
        except Err as failed:
            error = failed.value
            raise Err(f"{error.status}: {error.error_message}") from None
        return response.message.content
