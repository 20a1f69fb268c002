"""The usual answer to a call goes out as three messages in one append, as a peer reads them."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from nats_server import NatsServer, nats  # noqa: E402,F401
from raw_nats import RawNats  # noqa: E402

from witgen.runtime.nats.client import WitgenClient  # noqa: E402


def test_the_usual_answer_reaches_a_raw_peer_as_three_messages(nats: NatsServer) -> None:
    peer = RawNats(nats.url)
    peer.sub("call.>", 1)
    peer.ping()

    async def main() -> tuple[bool, int, int]:
        nc = WitgenClient()
        await nc.connect(servers=[nats.url])
        before = nc.stats["out_msgs"], nc.stats["out_bytes"]
        sent = nc.publish_answer_now("call.7", "_INBOX.x.0", "call.7.results", b"\x00result bytes")
        await nc.flush()
        after = nc.stats["out_msgs"], nc.stats["out_bytes"]
        await nc.close()
        return sent, after[0] - before[0], after[1] - before[1]

    sent, messages, size = asyncio.run(main())
    try:
        got = [peer.read() for _ in range(3)]
    finally:
        peer.close()
    assert sent and messages == 3 and size == len(b"\x00result bytes")
    assert [(f.subject, f.reply, f.payload) for f in got] == [
        ("call.7", "_INBOX.x.0", b""),
        ("call.7.results", "", b"\x00result bytes"),
        ("call.7.results", "", b""),
    ]
