"""The `ollama:llm/llm` provider: a deterministic built-in model, or a real Ollama server.

`BuiltinLlm` answers from a fixed table of two small "models", so demos and tests
give the same bytes every time. `OllamaLlm` forwards each call to an Ollama
server's REST API (`POST /api/chat`, `POST /api/show`, `GET /api/tags`) with
urllib; HTTP and connection failures become the WIT error value `status-error`.
Both implement the generated provider stub (`LlmProvider`) with plain methods and
serve sync and asyncio callers alike. Over NATS, `OllamaLlm`'s blocking requests
run in the runtime's worker threads: `--workers` of them at once, `--queue` more
waiting, then callers are told the provider is busy.

Both also serve `ollama:llm/streaming`: `chat-stream` gives the reply as a stream of
tokens while the model writes them (`OllamaLlm` reads Ollama's streamed `/api/chat`).
The wasmCloud 1.x path (`wasmcloud.py`) serves `llm` alone.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from typing import Any

from samples.ollama.bindings.ollama_llm import streaming_provider
from samples.ollama.bindings.ollama_llm.llm import (
    ChatRequest,
    ChatResponse,
    ListResponse,
    Message,
    ModelDetails,
    ModelResponse,
    ShowRequest,
    ShowResponse,
    StatusError,
)
from witgen.runtime.dispatch import DispatchTable, nonblocking
from witgen.runtime.values import Err, Ok

# --------------------------------------------------------------------------- built-in


def _details(family: str, size: str) -> ModelDetails:
    return ModelDetails(
        format_="builtin",
        family=family,
        families=[family],
        parameter_size=size,
        quantization_level="none",
    )


# name -> (what the model does, its details)
_MODELS = {
    "echo:latest": ("echoes the last user message", _details("echo", "0B")),
    "reverse:latest": ("answers with the last user message reversed", _details("reverse", "0B")),
}


def _not_found(name: str) -> StatusError:
    return StatusError(status_code=404, status="404 Not Found", error_message=f"model '{name}' not found")


def _builtin_reply(req: ChatRequest) -> tuple[str, str] | StatusError:
    """(the last user message, the built-in model's reply to it), or why there is none."""
    if req.model not in _MODELS:
        return _not_found(req.model)
    user = [m.content for m in req.messages if m.role == "user"]
    if not user:
        return StatusError(400, "400 Bad Request", "no user message to answer")
    last = user[-1]
    return last, last[::-1] if req.model.startswith("reverse") else last


def tokens(text: str) -> list[str]:
    """`text` cut into the pieces a model would stream: each word with the spaces after it."""
    return re.findall(r"\s*\S+\s*", text) if text.strip() else ([text] if text else [])


class BuiltinLlm:
    """A deterministic stand-in for a language model: no server, same answers every time.

    Its methods compute and never block: marked `nonblocking`, a NATS server runs
    them inline on its event loop rather than in its worker threads. `chat_stream`
    yields the reply's tokens, `token_delay` seconds apart (0: at once), as a model
    that writes them one by one would.
    """

    def __init__(self, token_delay: float = 0.0) -> None:
        self.token_delay = token_delay

    @nonblocking
    def chat(self, req: ChatRequest) -> Ok[ChatResponse] | Err[StatusError]:
        found = _builtin_reply(req)
        if isinstance(found, StatusError):
            return Err(found)
        last, reply = found
        return Ok(
            ChatResponse(
                model=req.model,
                created_at="1970-01-01T00:00:00Z",
                message=Message(role="assistant", content=reply),
                done=True,
                total_duration=len(last) * 1000,
                eval_count=len(reply.split()),
            )
        )

    async def chat_stream(self, req: ChatRequest) -> Ok[AsyncIterator[str]] | Err[StatusError]:
        found = _builtin_reply(req)
        if isinstance(found, StatusError):
            return Err(found)
        return Ok(self._write(found[1]))

    async def _write(self, reply: str) -> AsyncIterator[str]:
        for i, token in enumerate(tokens(reply)):
            if i and self.token_delay:
                await asyncio.sleep(self.token_delay)
            yield token

    @nonblocking
    def show(self, req: ShowRequest) -> Ok[ShowResponse] | Err[StatusError]:
        entry = _MODELS.get(req.name)
        if entry is None:
            return Err(_not_found(req.name))
        about, details = entry
        return Ok(
            ShowResponse(
                license_="Apache-2.0",
                modelfile=f"# {req.name}: {about}\nFROM builtin",
                parameters="",
                template="{{ .Prompt }}",
                details=details,
            )
        )

    @nonblocking
    def list_(self) -> Ok[ListResponse] | Err[StatusError]:
        return Ok(
            ListResponse(
                models=[
                    ModelResponse(
                        name=name,
                        modified_at="1970-01-01T00:00:00Z",
                        size=0,
                        digest=f"builtin-{i}",
                        details=details,
                    )
                    for i, (name, (_, details)) in enumerate(_MODELS.items())
                ]
            )
        )


# --------------------------------------------------------------------------- Ollama REST


class OllamaLlm:
    """Forwards every call to the Ollama server at `url` (e.g. `http://127.0.0.1:11434`)."""

    def __init__(self, url: str, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def _request(self, path: str, body: dict[str, Any] | None = None) -> Ok[Any] | Err[StatusError]:
        opened = self._open(path, body)
        if isinstance(opened, Err):
            return opened
        try:
            with opened.value as response:
                return Ok(json.loads(response.read()))
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            return Err(StatusError(503, "503 Service Unavailable", f"ollama unreachable: {reason}"))
        except ValueError as exc:
            return Err(StatusError(502, "502 Bad Gateway", f"ollama sent invalid JSON: {exc}"))

    def _open(self, path: str, body: dict[str, Any] | None = None) -> Ok[Any] | Err[StatusError]:
        """The open HTTP response of `path`, or the error status the call ends with."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method="GET" if body is None else "POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            return Ok(urllib.request.urlopen(request, timeout=self.timeout))
        except urllib.error.HTTPError as exc:
            try:
                message = str(json.loads(exc.read()).get("error", exc.reason))
            except (ValueError, AttributeError):
                message = str(exc.reason)
            return Err(StatusError(exc.code, f"{exc.code} {exc.reason}", message))
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            return Err(StatusError(503, "503 Service Unavailable", f"ollama unreachable: {reason}"))
        except ValueError as exc:
            return Err(StatusError(502, "502 Bad Gateway", f"ollama sent invalid JSON: {exc}"))

    # Plain methods that block on the network: transports run them in their worker
    # threads (over NATS: bounded by --workers and --queue), never on an event loop.
    def chat(self, req: ChatRequest) -> Ok[ChatResponse] | Err[StatusError]:
        return self._chat(req)

    def show(self, req: ShowRequest) -> Ok[ShowResponse] | Err[StatusError]:
        return self._show(req)

    def list_(self) -> Ok[ListResponse] | Err[StatusError]:
        return self._list()

    async def chat_stream(self, req: ChatRequest) -> Ok[AsyncIterator[str]] | Err[StatusError]:
        """`POST /api/chat` with `stream: true`: each line of the answer is one token."""
        body = {
            "model": req.model,
            "messages": [{"role": m.role, "content": m.content} for m in req.messages],
            "stream": True,
        }
        opened = await asyncio.to_thread(self._open, "/api/chat", body)
        if isinstance(opened, Err):
            return opened
        return Ok(self._tokens(opened.value))

    async def _tokens(self, response: Any) -> AsyncIterator[str]:
        try:
            while line := await asyncio.to_thread(response.readline):
                try:
                    part = json.loads(line)
                    content = str(part["message"]["content"])
                except (ValueError, KeyError, TypeError) as exc:
                    raise ValueError(f"unexpected line from /api/chat: {exc!r}") from None
                if content:
                    yield content
                if part.get("done"):
                    break
        finally:
            response.close()

    def _chat(self, req: ChatRequest) -> Ok[ChatResponse] | Err[StatusError]:
        body = {
            "model": req.model,
            "messages": [{"role": m.role, "content": m.content} for m in req.messages],
            "stream": False,
        }
        answer = self._request("/api/chat", body)
        if isinstance(answer, Err):
            return answer
        try:
            d = answer.value
            return Ok(
                ChatResponse(
                    model=str(d["model"]),
                    created_at=str(d.get("created_at", "")),
                    message=Message(role=str(d["message"]["role"]), content=str(d["message"]["content"])),
                    done=bool(d.get("done", True)),
                    total_duration=int(d.get("total_duration", 0)),
                    eval_count=int(d.get("eval_count", 0)),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            return Err(_bad_shape("/api/chat", exc))

    def _show(self, req: ShowRequest) -> Ok[ShowResponse] | Err[StatusError]:
        answer = self._request("/api/show", {"name": req.name, "model": req.name})
        if isinstance(answer, Err):
            return answer
        try:
            d = answer.value
            return Ok(
                ShowResponse(
                    license_=str(d.get("license", "")),
                    modelfile=str(d.get("modelfile", "")),
                    parameters=str(d.get("parameters", "")),
                    template=str(d.get("template", "")),
                    details=_details_from(d.get("details") or {}),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            return Err(_bad_shape("/api/show", exc))

    def _list(self) -> Ok[ListResponse] | Err[StatusError]:
        answer = self._request("/api/tags")
        if isinstance(answer, Err):
            return answer
        try:
            return Ok(
                ListResponse(
                    models=[
                        ModelResponse(
                            name=str(m["name"]),
                            modified_at=str(m.get("modified_at", "")),
                            size=int(m.get("size", 0)),
                            digest=str(m.get("digest", "")),
                            details=_details_from(m.get("details") or {}),
                        )
                        for m in answer.value.get("models", [])
                    ]
                )
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            return Err(_bad_shape("/api/tags", exc))


def _details_from(d: dict[str, Any]) -> ModelDetails:
    return ModelDetails(
        format_=str(d.get("format", "")),
        family=str(d.get("family", "")),
        families=[str(f) for f in d.get("families") or []],
        parameter_size=str(d.get("parameter_size", "")),
        quantization_level=str(d.get("quantization_level", "")),
    )


def _bad_shape(path: str, exc: Exception) -> StatusError:
    return StatusError(502, "502 Bad Gateway", f"unexpected answer from {path}: {exc!r}")



def dispatch_table(url: str | None = None, token_delay: float = 0.0) -> DispatchTable:
    """The provider's exports `llm` and `streaming`: built-in (streaming its tokens
    `token_delay` seconds apart), or forwarding to the Ollama server at `url`."""
    model = BuiltinLlm(token_delay) if url is None else OllamaLlm(url)
    return streaming_provider.dispatch_table(llm=model, streaming=model)


def main(argv: list[str] | None = None) -> int:
    """`python -m samples.ollama.provider (--nats URL --prefix P | --tcp HOST:PORT)`: serve
    `llm` and `streaming` over NATS or TCP.

    `--wasmcloud` (or no options with stdin not a terminal, as a wasmCloud 1.x host
    starts it): read HostData from stdin and run under that host.
    """
    import argparse

    given = sys.argv[1:] if argv is None else argv
    if given == ["--wasmcloud"] or (not given and not sys.stdin.isatty()):
        from samples.ollama.wasmcloud import main as wasmcloud_main

        wasmcloud_main()  # exits

    parser = argparse.ArgumentParser(prog="python -m samples.ollama.provider", description=main.__doc__)
    parser.add_argument("--ollama-url", help="forward to this Ollama server instead of the built-in model")
    parser.add_argument(
        "--token-delay",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="the built-in model's pause between the tokens of a streamed reply (default 0)",
    )
    try:
        from witgen.runtime.nats.main import add_arguments, limits, serve_forever
    except ImportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    add_arguments(parser, required=True)
    args = parser.parse_args(argv)
    return serve_forever(
        [dispatch_table(args.ollama_url, args.token_delay)],
        args.nats,
        prefix=args.prefix,
        creds=args.creds,
        tls_ca=args.tls_ca,
        name=args.name,
        **limits(args),
    )


if __name__ == "__main__":
    sys.exit(main())
