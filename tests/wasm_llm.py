"""`ollama:llm/llm` described by hand, as generated bindings will (until they carry descriptions),
and a deterministic provider with the samples' built-in behaviour."""

from __future__ import annotations

import dataclasses

from witgen.runtime import codec, wit
from witgen.runtime.dispatch import DispatchTable, Operation
from witgen.runtime.values import Err, Ok

LLM = "ollama:llm/llm"


@wit.record("message", {"role": wit.STRING, "content": wit.STRING})
@dataclasses.dataclass(slots=True)
class Message:
    role: str
    content: str


@wit.record("chat-request", {"model": wit.STRING, "messages": wit.List(Message)})
@dataclasses.dataclass(slots=True)
class ChatRequest:
    model: str
    messages: list[Message]


@wit.record(
    "chat-response",
    {"model": wit.STRING, "created-at": wit.STRING, "message": Message, "done": wit.BOOL,
     "total-duration": wit.U64, "eval-count": wit.U32},
)  # fmt: skip
@dataclasses.dataclass(slots=True)
class ChatResponse:
    model: str
    created_at: str
    message: Message
    done: bool
    total_duration: int
    eval_count: int


@wit.record("status-error", {"status-code": wit.U32, "status": wit.STRING, "error-message": wit.STRING})
@dataclasses.dataclass(slots=True)
class StatusError:
    status_code: int
    status: str
    error_message: str


@wit.record("show-request", {"name": wit.STRING})
@dataclasses.dataclass(slots=True)
class ShowRequest:
    name: str


@wit.record(
    "model-details",
    {"format": wit.STRING, "family": wit.STRING, "families": wit.List(wit.STRING),
     "parameter-size": wit.STRING, "quantization-level": wit.STRING},
)  # fmt: skip
@dataclasses.dataclass(slots=True)
class ModelDetails:
    format_: str
    family: str
    families: list[str]
    parameter_size: str
    quantization_level: str


@wit.record(
    "show-response",
    {"license": wit.STRING, "modelfile": wit.STRING, "parameters": wit.STRING, "template": wit.STRING,
     "details": ModelDetails},
)  # fmt: skip
@dataclasses.dataclass(slots=True)
class ShowResponse:
    license_: str
    modelfile: str
    parameters: str
    template: str
    details: ModelDetails


@wit.record(
    "model-response",
    {"name": wit.STRING, "modified-at": wit.STRING, "size": wit.U64, "digest": wit.STRING, "details": ModelDetails},
)
@dataclasses.dataclass(slots=True)
class ModelResponse:
    name: str
    modified_at: str
    size: int
    digest: str
    details: ModelDetails


@wit.record("list-response", {"models": wit.List(ModelResponse)})
@dataclasses.dataclass(slots=True)
class ListResponse:
    models: list[ModelResponse]


LLM_FUNCTIONS = wit.functions(
    wit.Func("chat", {"req": ChatRequest}, wit.Result(ChatResponse, StatusError)),
    wit.Func("show", {"req": ShowRequest}, wit.Result(ShowResponse, StatusError)),
    wit.Func("list", {}, wit.Result(ListResponse, StatusError)),
)
CHAT_FUNCTIONS = wit.functions(wit.Func("ask", {"model": wit.STRING, "prompt": wit.STRING}, wit.Result(wit.STRING, wit.STRING)))

DETAILS = ModelDetails("builtin", "echo", ["echo"], "0B", "none")


class BuiltinLlm:
    """`echo:latest` answers the last user message, `reverse:latest` reverses it; others: 404."""

    def chat(self, req: ChatRequest) -> Ok[ChatResponse] | Err[StatusError]:
        if req.model not in ("echo:latest", "reverse:latest"):
            return Err(StatusError(404, "404 Not Found", f"model '{req.model}' not found"))
        last = [m.content for m in req.messages if m.role == "user"][-1]
        reply = last[::-1] if req.model.startswith("reverse") else last
        return Ok(ChatResponse(req.model, "1970-01-01T00:00:00Z", Message("assistant", reply), True, len(last), 1))

    def show(self, req: ShowRequest) -> Ok[ShowResponse] | Err[StatusError]:
        if req.name != "echo:latest":
            return Err(StatusError(404, "404 Not Found", f"model '{req.name}' not found"))
        return Ok(ShowResponse("Apache-2.0", "FROM builtin", "", "{{ .Prompt }}", DETAILS))

    def list_(self) -> Ok[ListResponse] | Err[StatusError]:
        return Ok(ListResponse([ModelResponse("echo:latest", "1970-01-01T00:00:00Z", 0, "builtin-0", DETAILS)]))


def llm_table(impl: object) -> DispatchTable:
    """A dispatch table serving `impl` as `ollama:llm/llm` (what generated code will build)."""
    ops = []
    for name, func in LLM_FUNCTIONS.items():
        fc = codec.function(func)
        method = "list_" if name == "list" else name
        ops.append(Operation(name, lambda call, p, fc=fc: fc.decode_params(p), lambda impl, m=method: getattr(impl, m),
                             lambda call, v, fc=fc: fc.encode_result(v)))  # fmt: skip
    table = DispatchTable()
    table.add_interface(LLM, impl, ops)
    return table
