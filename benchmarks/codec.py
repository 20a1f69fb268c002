"""Encode/decode speed and size of the generated codec against the usual typed paths.

    .venv/bin/python benchmarks/codec.py [--number N] [--repeats R]

The message is an ollama-style `chat-request` (samples/ollama/wit/llm.wit): a
model name and 5 messages of about 200 characters. In the same run:

- witgen: `codec.of(ChatRequest)`, the codec the runtime builds from the generated
  module's type description (bindings rendered from the WIT in memory, as `witgen wire`
  does); the one-time cost of building it is printed too;
- typed msgpack: hand-written `to_dict` / `from_dict` on slots dataclasses plus
  `msgpack.packb` / `msgpack.unpackb` (what a user would otherwise write);
- typed orjson: the same `to_dict` / `from_dict` with `orjson.dumps` / `loads`;
- raw msgpack: `msgpack.packb` / `unpackb` on plain dicts (no typed values).

Each figure is the best of R repeats of N operations, in operations per CPU second;
"bytes" is the size of one encoded message.
"""

from __future__ import annotations

import argparse
import sys
import time
import timeit
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import msgpack  # type: ignore[import-untyped]  # noqa: E402
import orjson  # noqa: E402

from witgen.runtime import codec  # noqa: E402
from witgen.runtime import compiler  # noqa: E402
from witgen.wave.wire import Bindings, load_wit, select  # noqa: E402

WIT = ROOT / "samples" / "ollama" / "wit" / "llm.wit"

CONTENTS = [
    "You are a careful assistant for a team that runs capability providers in a "
    "wasmCloud lattice. Answer briefly, cite the WIT interface you rely on, and say "
    "when you are unsure about a detail of the wire format.",
    "Our provider decodes chat requests from NATS and forwards them to a local Ollama "
    "server. Latency matters: what does the codec cost per message, and how large "
    "is a typical request once it is encoded for the bus?",
    "A chat request is a record with the model name and a list of messages; each "
    "message has a role and a content string. Strings are length-prefixed UTF-8, "
    "lists carry their element count first, records nothing.",
    "Then a message of two hundred characters costs two hundred and two bytes or so, "
    "plus the role. Could you compare that with MessagePack maps keyed by field name, "
    "which is what the legacy actors send today? Café ☕ included.",
    "MessagePack repeats every key in every map, so five messages carry the words "
    "role and content five times each. The typed codec knows the schema on both "
    "sides and writes only the values, which keeps messages smaller on the wire.",
]


# --------------------------------------------------------------------------- hand-written typed path


@dataclass(slots=True)
class Message:
    role: str
    content: str

    def to_dict(self) -> dict[str, Any]:
        return {"role": self.role, "content": self.content}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Message:
        return cls(d["role"], d["content"])


@dataclass(slots=True)
class ChatRequest:
    model: str
    messages: list[Message]

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "messages": [m.to_dict() for m in self.messages]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ChatRequest:
        return cls(d["model"], [Message.from_dict(m) for m in d["messages"]])


def roles() -> list[str]:
    return ["system", "user", "assistant", "user", "assistant"]


# --------------------------------------------------------------------------- measuring


def best_rates(
    funcs: list[Callable[[], object]], number: int, repeats: int
) -> list[float]:
    """Operations per second of each function: the best of `repeats` runs of `number` calls.

    The runs are interleaved (one of each function per round) and timed in CPU
    time of this process, so that a busy neighbour on a shared machine neither
    counts nor favours one contender.
    """
    best = [float("inf")] * len(funcs)
    for _ in range(repeats):
        for i, func in enumerate(funcs):
            timer = timeit.Timer(func, timer=time.process_time)
            best[i] = min(best[i], timer.timeit(number=number))
    return [number / t for t in best]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--number", type=int, default=2000, help="operations per repeat"
    )
    parser.add_argument(
        "--repeats", type=int, default=30, help="repeats; the best is kept"
    )
    args = parser.parse_args()

    resolve = load_wit(WIT)
    target = select(resolve, "type", "ollama:llm/llm.chat-request")
    bindings = Bindings(resolve, target.interface)
    assert isinstance(target.type, int)
    msg_tid = resolve.interfaces[target.interface].types["message"]
    GenRequest = bindings.type_attr(target.type)
    GenMessage = bindings.type_attr(msg_tid)
    desc = bindings.module(bindings.layout.names[target.type].module).TYPES["chat-request"]
    started = time.perf_counter()
    compiler._Builder().pair(desc)  # what a first use costs (not cached: built afresh)
    build_ms = (time.perf_counter() - started) * 1000
    chat_codec = codec.of(desc)
    encode, decode = chat_codec.encode, chat_codec.decode

    model = "llama3.1:8b-instruct"
    gen_value = GenRequest(model, [GenMessage(r, c) for r, c in zip(roles(), CONTENTS)])
    typed_value = ChatRequest(model, [Message(r, c) for r, c in zip(roles(), CONTENTS)])
    raw_value = typed_value.to_dict()

    wire = encode(gen_value)
    assert decode(wire) == gen_value
    packed = msgpack.packb(typed_value.to_dict())
    assert ChatRequest.from_dict(msgpack.unpackb(packed)) == typed_value
    dumped = orjson.dumps(typed_value.to_dict())
    assert ChatRequest.from_dict(orjson.loads(dumped)) == typed_value

    contenders: list[tuple[str, Callable[[], object], Callable[[], object], int]] = [
        ("witgen (runtime-built)", lambda: encode(gen_value), lambda: decode(wire), len(wire)),
        (
            "typed msgpack",
            lambda: msgpack.packb(typed_value.to_dict()),
            lambda: ChatRequest.from_dict(msgpack.unpackb(packed)),
            len(packed),
        ),
        (
            "typed orjson",
            lambda: orjson.dumps(typed_value.to_dict()),
            lambda: ChatRequest.from_dict(orjson.loads(dumped)),
            len(dumped),
        ),
        (
            "raw msgpack (dicts)",
            lambda: msgpack.packb(raw_value),
            lambda: msgpack.unpackb(packed),
            len(packed),
        ),
    ]
    chars = sum(len(c) for c in CONTENTS)
    print(f"chat-request: 5 messages, {chars} characters of content")
    print(f"building the chat-request codec once: {build_ms:.2f} ms")
    print(f"{'codec':<22}{'encode ops/s':>14}{'decode ops/s':>14}{'bytes':>8}")
    funcs = [f for _, enc, dec, _ in contenders for f in (enc, dec)]
    measured = best_rates(funcs, args.number, args.repeats)
    rates: dict[str, tuple[float, float]] = {}
    for i, (name, _, _, size) in enumerate(contenders):
        e, d = measured[2 * i], measured[2 * i + 1]
        rates[name] = (e, d)
        print(f"{name:<22}{e:>14,.0f}{d:>14,.0f}{size:>8}")
    ge, gd = rates["witgen (runtime-built)"]
    te, td = rates["typed msgpack"]
    print(
        f"witgen vs typed msgpack: encode x{ge / te:.2f}, decode x{gd / td:.2f},"
        f" size {len(wire)} vs {len(packed)} bytes"
    )


if __name__ == "__main__":
    main()
