"""Real components as actors on a NATS lattice: provider, hosted actors and callers in separate processes.

A real nats-server on 127.0.0.1; the llm provider and each actor (hosted from its
component file by `witgen.runtime.wasm.serve.host_forever`) run as their own processes
(`tests/wasm_serve.py`); this process calls them over wRPC with the wire codecs.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("nats", reason="the NATS tests need nats-py (pip install 'witgen[nats]')")

import wasm_llm as llm  # noqa: E402
import wasm_world as ww  # noqa: E402
from nats_server import NatsServer, Served, nats  # noqa: E402,F401
from wasm_fixtures import (  # noqa: E402,F401
    adaptor_py_wasm,
    build_dir,
    test_wit_dir,
    chat_py_wasm,
    echoer_wasm,
    stateful_wat_wasm,
    stateless_wat_wasm,
)

from witgen.runtime import codec  # noqa: E402
from witgen.runtime.bus import BusError  # noqa: E402
from witgen.runtime.nats import NatsBus  # noqa: E402
from witgen.runtime.values import Err, Ok  # noqa: E402

from test_wasm_host import EXPECTED_METADATA, NO_STATE  # noqa: E402

SERVE = str(Path(__file__).resolve().parent / "wasm_serve.py")
pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def lattice(
    nats: NatsServer, echoer_wasm: Path, stateful_wat_wasm: Path, stateless_wat_wasm: Path, chat_py_wasm: Path, adaptor_py_wasm: Path
) -> Iterator[NatsBus]:
    procs = [
        Served(SERVE, "provider", nats.url, "t.llm"),
        Served(SERVE, "stateful", str(stateful_wat_wasm), nats.url, "t.stateful"),
        Served(SERVE, "stateful", str(stateless_wat_wasm), nats.url, "t.empty"),
        Served(SERVE, "chat", str(chat_py_wasm), nats.url, "t.chat", "t.llm"),
        Served(SERVE, "echoer", str(echoer_wasm), nats.url, "t.echoer"),
        Served(SERVE, "adaptor", str(adaptor_py_wasm), nats.url, "t.adaptor", "t.llm"),
    ]
    bus = NatsBus.connect_sync(nats.url, source="caller")
    try:
        yield bus
    finally:
        bus.close()
        codes = [p.stop() for p in procs]
        assert codes == [0] * len(procs), [p.log for p in procs]


def test_a_provider_pulls_the_state_of_a_wat_actor_over_nats(lattice: NatsBus) -> None:
    get_data = codec.function(ww.STATE_FUNCTIONS["get-data"])
    labels = codec.function(ww.STATE_FUNCTIONS["get-metadata"])
    metadata = codec.function(ww.MODEL_FUNCTIONS["get-metadata"])
    actor = lattice.endpoint(prefix="t.stateful")
    assert get_data.decode_result(actor.invoke(ww.STATE, "get-data", b"")) == Ok(bytes(range(16)))
    assert labels.decode_result(actor.invoke(ww.STATE, "get-metadata", b"")) == Ok(["mobilenet", "v2", "imagenet"])
    assert metadata.decode_result(actor.invoke(ww.MODEL, "get-metadata", b"")) == Ok(EXPECTED_METADATA)
    empty = lattice.endpoint(prefix="t.empty")
    assert get_data.decode_result(empty.invoke(ww.STATE, "get-data", b"")) == Err(NO_STATE)


def test_the_chat_actor_calls_the_provider_over_nats(lattice: NatsBus) -> None:
    ask = codec.function(llm.CHAT_FUNCTIONS["ask"])
    chat = lattice.endpoint(prefix="t.chat")
    assert ask.decode_result(chat.invoke("", "ask", ask.encode_params("reverse:latest", "lattice"))) == Ok("ecittal")
    assert ask.decode_result(chat.invoke("", "ask", ask.encode_params("nope", "x"))) == Err(
        "404 Not Found: model 'nope' not found"
    )


def test_the_0x_adaptor_serves_llm_and_forwards_over_nats(lattice: NatsBus) -> None:
    adaptor = lattice.endpoint(prefix="t.adaptor")
    chat = codec.function(llm.LLM_FUNCTIONS["chat"])
    request = llm.ChatRequest("echo:latest", [llm.Message("user", "via call-sync")])
    answer = chat.decode_result(adaptor.invoke(llm.LLM, "chat", chat.encode_params(request)))
    assert answer == llm.BuiltinLlm().chat(request)
    listing = codec.function(llm.LLM_FUNCTIONS["list"])
    assert listing.decode_result(adaptor.invoke(llm.LLM, "list", b"")) == llm.BuiltinLlm().list_()


def test_a_trapping_call_over_nats_fails_clearly_and_the_next_one_works(lattice: NatsBus) -> None:
    actor = lattice.endpoint(prefix="t.echoer")
    with pytest.raises(BusError, match="trap: the component trapped: wasm `unreachable` instruction executed"):
        actor.invoke("", "trap", b"")
    count_up = codec.function(ww.WORLD_FUNCTIONS["count-up"])
    assert count_up.decode_result(actor.invoke("", "count-up", count_up.encode_params(40, 2))) == 42
    person = ww.Person("grace", 85, ["navy"], None, ww.Color.RED, ww.Perms(0), ww.ShapeEmpty())
    echo = codec.function(ww.echo_functions()["echo-nested-record"])
    assert echo.decode_result(actor.invoke(ww.ECHO, "echo-nested-record", echo.encode_params(person))) == person


def test_the_0x_adaptor_carries_the_providers_errors_over_nats(lattice: NatsBus) -> None:
    adaptor = lattice.endpoint(prefix="t.adaptor")
    show = codec.function(llm.LLM_FUNCTIONS["show"])
    missing = llm.ShowRequest("no-such-model")
    answer = show.decode_result(adaptor.invoke(llm.LLM, "show", show.encode_params(missing)))
    assert answer == llm.BuiltinLlm().show(missing)
    assert isinstance(answer, Err) and answer.value.status_code == 404
