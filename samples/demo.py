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
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from witgen.runtime.bus import Bus

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
    from samples.stateful import actor
    from witgen.runtime.inprocess import InProcessBus

    say("== wamli:stateful: a provider pulls an actor's immutable state")
    lattice = InProcessBus()
    serving = lattice.serve(actor.dispatch_table(actor.SAMPLE_STATE))
    say(f"actor serves {', '.join(serving.table.instances)}")
    pull_state(say, lattice.connect("stateful-provider"))
    serving.close()

    lattice.serve(actor.dispatch_table(None))
    pull_state(say, lattice.connect("stateful-provider"))


def pull_state(say: Callable[[str], None], bus: Bus) -> None:
    """The provider's side of the stateful sample: pull the state, print what came."""
    from samples.stateful import provider
    from witgen.runtime.values import Err

    pulled = provider.pull(bus)
    if not isinstance(pulled, Err):
        p = pulled.value
        m = p.metadata
        say(f"provider <- state.get-data      ok: {len(p.data)} bytes {p.data[:8].hex()}...")
        say(f"provider <- state.get-metadata  ok: {list(p.labels)}")
        say(
            f"provider <- model.get-metadata  ok: {m.model_name} ({m.graph_encoding}) on "
            f"{m.execution_target.name}, {m.tensor_type.name} "
            f"{m.tensor_dimensions_in} -> {m.tensor_dimensions_out}"
        )
    elif pulled.value.status_code == 404:
        e = pulled.value
        say(f"an actor without state answers: error {e.status_code} {e.status}: {e.error}")
    else:
        say(f"provider: pull failed: {pulled.value}")


def run_ollama(say: Callable[[str], None], url: str | None) -> None:
    from samples.ollama import provider
    from witgen.runtime.inprocess import InProcessBus

    backend = f"the Ollama server at {url}" if url else "the built-in model"
    say(f"== ollama:llm: an actor calls an LLM provider ({backend})")
    lattice = InProcessBus()
    lattice.serve(provider.dispatch_table(url))
    converse(say, lattice.connect("ollama-actor"))


def converse(say: Callable[[str], None], bus: Bus) -> None:
    """The actor's side of the ollama sample: list, show, chat, an error, a 0.x call."""
    from samples.ollama import actor
    from samples.ollama.bindings.ollama_llm import llm as llm_types
    from samples.ollama.bindings.ollama_llm.llm import ChatRequest, Message, ShowRequest
    from witgen.runtime import codec
    from witgen.runtime.values import Err

    llm = actor.LlmClient(bus)

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
    reply = chat.decode_result(bus.invoke("", "ollama:llm/Llm.Chat", payload))
    text = reply.value.message.content if not isinstance(reply, Err) else reply.value.error_message
    say(f"0.x caller <- ollama:llm/Llm.Chat  {text}")


# --------------------------------------------------------------------------- across processes


class ProcessFailed(Exception):
    """A sample process did not start serving."""


@contextmanager
def process(say: Callable[[str], None], *args: str) -> Iterator[subprocess.Popen[str]]:
    """`python -m <args>` from the repository root, until it reports that it serves."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    proc = subprocess.Popen(
        [sys.executable, "-m", *args], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()
    if not line.startswith("serving"):
        proc.kill()
        rest = proc.stderr.read()
        proc.wait()
        raise ProcessFailed(f"{args[0]} did not start: {(line + rest).strip() or proc.returncode}")
    say(f"[{args[0]} pid {proc.pid}] {line.strip()}")
    relay = threading.Thread(target=_relay, args=(proc.stderr,), daemon=True)
    relay.start()
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        relay.join(1)
        say(f"[{args[0]} pid {proc.pid}] stopped, exit status {code}")


def _relay(stream: IO[str]) -> None:
    for line in stream:
        sys.stderr.write(line)


def run_over_nats(say: Callable[[str], None], url: str, ollama_url: str | None) -> int:
    """Provider and actors as separate processes; every exchange over wRPC on NATS."""
    try:
        from witgen.runtime.nats import NatsBus
    except ImportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    from witgen.runtime.bus import BusError

    ollama_args = ["--ollama-url", ollama_url] if ollama_url else []
    try:
        bus = NatsBus.connect_sync(url)
    except BusError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        with (
            process(say, "samples.stateful.actor", "--nats", url, "--prefix", "demo.stateful"),
            process(say, "samples.stateful.actor", "--nats", url, "--prefix", "demo.stateless", "--no-state"),
            process(say, "samples.ollama.provider", "--nats", url, "--prefix", "demo.ollama", *ollama_args),
        ):
            say("== wamli:stateful over NATS: a provider pulls an actor's immutable state")
            pull_state(say, bus.endpoint(prefix="demo.stateful", source="stateful-provider"))
            pull_state(say, bus.endpoint(prefix="demo.stateless", source="stateful-provider"))
            backend = f"the Ollama server at {ollama_url}" if ollama_url else "the built-in model"
            say(f"== ollama:llm over NATS: an actor calls an LLM provider ({backend})")
            converse(say, bus.endpoint(prefix="demo.ollama", source="ollama-actor"))
    except (ProcessFailed, BusError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        bus.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m samples.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--ollama-url", help="call this Ollama server instead of the built-in model")
    parser.add_argument("--no-generate", action="store_true", help="use the committed bindings as they are")
    parser.add_argument(
        "--nats", metavar="URL", help="run provider and actors as processes on the NATS server at URL"
    )
    args = parser.parse_args(argv)
    if not args.no_generate:
        rc = generate()
        if rc:
            return rc
        importlib.invalidate_caches()
    def say(line: str) -> None:
        print(line, flush=True)

    try:
        if args.nats:
            return run_over_nats(say, args.nats, args.ollama_url)
        run_stateful(say)
        run_ollama(say, args.ollama_url)
    except BrokenPipeError:  # the output was piped into `head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
