"""Both samples end to end on the in-process bus: `python -m samples.demo`.

First the samples' bindings are regenerated from their WIT (`witgen generate` for
the `stateful` and `ollama` targets of pyproject.toml; nothing is written when
they are fresh). Then:
- stateful: an actor holding immutable state serves `wamli:stateful/state` and
  `wamli:stateful/model`; the provider pulls the state through its clients; an
  actor without state answers with the WIT error value.
- ollama: the provider serves `ollama:llm/llm` (the built-in model, or the Ollama
  server given with `--ollama-url`); the actor lists, shows and chats, asks for a
  model that does not exist, and calls once by the wasmCloud 0.x name
  `ollama:llm/Llm.Chat`.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def generate(quiet: bool = False) -> int:
    """Regenerate the samples' bindings with the project's `[tool.witgen]` targets."""
    import click

    from witgen.cli import main

    args = ["generate", "-t", "stateful", "-t", "ollama", "--config", str(ROOT / "pyproject.toml")]
    if quiet:
        args.append("-q")
    try:
        main.main(args, prog_name="witgen", standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def run_stateful(say: Callable[[str], None]) -> None:
    from samples.stateful import actor, provider
    from witgen.runtime.inprocess import InProcessBus
    from witgen.runtime.values import Err

    say("== wamli:stateful: a provider pulls an actor's immutable state")
    lattice = InProcessBus()
    serving = lattice.serve(actor.dispatch_table(actor.SAMPLE_STATE))
    say(f"actor serves {', '.join(serving.table.instances)}")
    pulled = provider.pull(lattice.connect("stateful-provider"))
    if isinstance(pulled, Err):
        say(f"provider: pull failed: {pulled.value}")
    else:
        p = pulled.value
        m = p.metadata
        say(f"provider <- state.get-data      ok: {len(p.data)} bytes {p.data[:8].hex()}...")
        say(f"provider <- state.get-metadata  ok: {list(p.labels)}")
        say(
            f"provider <- model.get-metadata  ok: {m.model_name} ({m.graph_encoding}) on "
            f"{m.execution_target.name}, {m.tensor_type.name} "
            f"{m.tensor_dimensions_in} -> {m.tensor_dimensions_out}"
        )
    serving.close()

    lattice.serve(actor.dispatch_table(None))
    empty = provider.pull(lattice.connect("stateful-provider"))
    if isinstance(empty, Err):
        e = empty.value
        say(f"an actor without state answers: error {e.status_code} {e.status}: {e.error}")


def run_ollama(say: Callable[[str], None], url: str | None) -> None:
    from samples.ollama import actor, provider
    from samples.ollama.bindings.ollama_llm import llm as llm_types
    from samples.ollama.bindings.ollama_llm.llm import ChatRequest, Message, ShowRequest
    from witgen.runtime import codec
    from witgen.runtime.inprocess import InProcessBus
    from witgen.runtime.values import Err

    backend = f"the Ollama server at {url}" if url else "the built-in model"
    say(f"== ollama:llm: an actor calls an LLM provider ({backend})")
    lattice = InProcessBus()
    lattice.serve(provider.dispatch_table(url))
    llm = actor.LlmClient(lattice.connect("ollama-actor"))

    listed = llm.list_()
    if isinstance(listed, Err):
        say(f"actor <- list   error {listed.value.status_code}: {listed.value.error_message}")
        names: list[str] = []
    else:
        names = [m.name for m in listed.value.models]
        say(f"actor <- list   ok: {names}")
    model = names[-1] if names else "llama3"
    shown = llm.show(ShowRequest(name=model))
    if isinstance(shown, Err):
        say(f"actor <- show   error {shown.value.status_code}: {shown.value.error_message}")
    else:
        d = shown.value.details
        say(f"actor <- show   ok: {model}: family {d.family}, {d.parameter_size}, format {d.format_}")
    say(f"actor <- chat   {actor.ask(llm, model, 'Is it enough to just implement the WIT?')}")
    say(f"actor <- chat   {actor.ask(llm, 'no-such-model', 'hello')}")

    # The same operation by its wasmCloud 0.x name, as `wasmcloud:bus/host.call-sync` sent it.
    chat = codec.function(llm_types.FUNCTIONS["chat"])
    payload = chat.encode_params(ChatRequest(model=model, messages=[Message(role="user", content="legacy")]))
    reply = chat.decode_result(lattice.invoke("", "ollama:llm/Llm.Chat", payload))
    text = reply.value.message.content if not isinstance(reply, Err) else reply.value.error_message
    say(f"0.x caller <- ollama:llm/Llm.Chat  {text}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m samples.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--ollama-url", help="call this Ollama server instead of the built-in model")
    parser.add_argument("--no-generate", action="store_true", help="use the committed bindings as they are")
    args = parser.parse_args(argv)
    if not args.no_generate:
        rc = generate()
        if rc:
            return rc
        importlib.invalidate_caches()
    def say(line: str) -> None:
        print(line, flush=True)

    try:
        run_stateful(say)
        run_ollama(say, args.ollama_url)
    except BrokenPipeError:  # the output was piped into `head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
