"""The nats-py client witgen's connections use: hardened, with a direct path in and out.

Headers: nats-py's parser raises on a malformed header block (an empty block, or
`XXXX\\r\\n\\r\\n`), and the exception ends the connection's read loop. Here a
malformed block is dropped and the message delivered without headers (one
throttled log line).

In: `MSG` and `HMSG` lines are read without regular expressions (other protocol
lines go to nats-py's parser). nats-py delivers each message by building a `Msg`, putting it on its
subscription's queue and awaiting the callback in the subscription's task. A
subscription made with `subscribe` (below) on this client is delivered from the
read loop straight to a plain function `deliver(subject, reply, data, headers)`:
no message object, queue, task or await. It must not block; what it cannot finish
at once it hands to a task or to the `Outbox`. While the outbox holds more than
`BACKLOG_LIMIT` bytes it could not send, the read loop waits for it (the server
sees a slow consumer, not this process's memory). Other subscriptions are
delivered as nats-py does.

Out: nats-py's `publish` is a coroutine. `Outbox.send` appends the message to the
client's pending buffer at once when `publish` would not wait (connected, the
buffer below its bound, the flusher running) and kicks the flusher as `publish`
does; otherwise the message, and every one sent after it, goes through `publish`
in order from one task. Clients that are not this class (a connection the user
opened) get the ordinary paths with the same interface.
"""

from __future__ import annotations

import asyncio
import logging
import re
import weakref
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from nats import errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.protocol.parser import AWAITING_CONTROL_LINE, AWAITING_MSG_PAYLOAD, Parser

from witgen.runtime.wrpc.logs import Throttled

__all__ = [
    "BACKLOG_LIMIT",
    "Deliver",
    "Outbox",
    "WitgenClient",
    "check_subject",
    "header_block",
    "outbox",
    "parse_headers",
    "subscribe",
]

log = logging.getLogger("witgen.runtime.nats")

Message = tuple[str, bytes, str, "bytes | None"]
"""(subject, payload, reply, header block or None)."""

Deliver = Callable[[str, str, bytes, "dict[str, str] | None"], None]
"""`deliver(subject, reply, data, headers)`: one message of a direct subscription."""

BACKLOG_LIMIT = 8 * 1024 * 1024
_MALFORMED = Throttled(log, "malformed header blocks")
_FAILED = Throttled(log, "failed deliveries")
_HEADER_LINE = b"NATS/1.0"
_CRLF = b"\r\n"
_VALUE_NEWLINES = str.maketrans({"\r": " ", "\n": " "})
# Header blocks parsed lately: at most this many, of at most this many bytes each.
_SEEN: dict[bytes, dict[str, str]] = {}
_SEEN_COUNT = 256
_SEEN_SIZE = 512
_SPACE = re.compile(r"\s")
_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def parse_headers(raw: bytes) -> dict[str, str] | None:
    """A header block as nats-py reads it (status line included); None when malformed.

    Callers send the same few blocks again and again: small ones are remembered
    (a copy is returned)."""
    found = _SEEN.get(raw)
    if found is not None:
        return dict(found)
    try:
        parsed = _parse(raw)
    except Exception as exc:
        _MALFORMED.warning(
            "nats: a message with a malformed header block (%d bytes: %s) was delivered without headers",
            len(raw),
            type(exc).__name__,
        )
        return None
    if parsed is not None and len(raw) <= _SEEN_SIZE:
        if len(_SEEN) >= _SEEN_COUNT:
            _SEEN.clear()
        _SEEN[raw] = parsed
        return dict(parsed)
    return parsed


def _parse(raw: bytes) -> dict[str, str] | None:
    hdr: dict[str, str] | None = None
    rest = raw[len(_HEADER_LINE) :]
    if rest[0] == 32:  # `NATS/1.0 503\r\n...`: an inline status (and maybe a description)
        line = raw[len(_HEADER_LINE) + 1 :]
        status = line[:3].strip().decode()
        desc = line[4 : len(line) - 4]
        hdr = {}
        if status.isdigit():
            hdr["Status"] = status
        rest = rest[rest.find(_CRLF) + 2 :]
        if desc:
            i = desc.find(_CRLF)
            if i > 0:
                hdr["Description"] = desc[:i].decode()
                hdr.update(_lines(desc[i + 2 :]))
            else:
                hdr["Description"] = desc.decode()
    if not len(rest) > 2:
        return hdr
    parsed = _lines(raw[len(_HEADER_LINE) + 2 :])
    if hdr:
        hdr.update(parsed)
    else:
        hdr = parsed
    return hdr or None


def _lines(raw: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in raw.split(_CRLF):
        name, sep, value = line.partition(b":")
        if not sep:
            continue
        try:
            key = name.strip().decode("ascii")
        except UnicodeDecodeError:
            continue
        if _SPACE.search(key):
            continue
        out[key] = value.strip().decode("utf-8", "replace")
    return out


def header_block(headers: Mapping[str, str]) -> bytes:
    """The header block nats-py's `publish` writes for `headers` (`BadHeaderError` on a bad name)."""
    parts = [_HEADER_LINE, _CRLF]
    for name, value in headers.items():
        key = name.strip()
        if not key:
            continue
        if not set(key) <= _TOKEN:
            raise errors.BadHeaderError(key)
        parts += (key.encode(), b": ", value.strip().translate(_VALUE_NEWLINES).encode(), _CRLF)
    parts.append(_CRLF)
    return b"".join(parts)


class WitgenClient(Client):
    """nats-py's client with defensive headers and direct subscriptions (module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self._ps = _Parser(self)
        self._direct: dict[int, Deliver] = {}
        self.outbox = Outbox(self)

    async def _process_headers(self, headers: Any) -> dict[str, str] | None:
        return parse_headers(headers) if headers else None

    async def subscribe_direct(self, subject: str, deliver: Deliver, queue: str = "") -> Subscription:
        """Subscribe `deliver`, called from the read loop for every message."""
        sid = self._sid + 1  # the id `subscribe` gives it: delivered here from its first message
        self._direct[sid] = deliver
        try:
            sub = await self.subscribe(subject, queue=queue)  # no callback: no task; its queue stays empty
        except BaseException:
            self._direct.pop(sid, None)
            raise
        if sub._id != sid:  # pragma: no cover - nats-py numbers subscriptions in order
            self._direct[sub._id] = self._direct.pop(sid)
        return sub

    def _remove_sub(self, sid: int, max_msgs: int = 0) -> None:
        self._direct.pop(sid, None)
        super()._remove_sub(sid, max_msgs)

    async def _process_msg(self, sid: int, subject: bytes, reply: bytes, data: bytes, headers: Any) -> None:
        deliver = self._direct.get(sid)
        if deliver is None:
            await super()._process_msg(sid, subject, reply, data, headers)
            return
        self.deliver(deliver, sid, subject, reply, data, headers)
        box = self.outbox
        if box.backlog > BACKLOG_LIMIT:
            await box.drained()

    def deliver(self, deliver: Deliver, sid: int, subject: bytes, reply: bytes, data: bytes, headers: Any) -> None:
        """One message of a direct subscription, to its function."""
        stats = self.stats
        stats["in_msgs"] += 1
        stats["in_bytes"] += len(data)
        sub = self._subs.get(sid)
        if sub is None:
            return
        sub._received += 1
        try:
            deliver(subject.decode(), reply.decode(), data, parse_headers(headers) if headers else None)
        except Exception as exc:
            _FAILED.warning("nats: a message to %s was not handled: %s", subject[:200], exc)

    def publish_now(self, subject: str, payload: bytes, reply: str = "", block: bytes | None = None) -> bool:
        """Append a message to the pending buffer if `publish` would not wait; False if it would.

        Raises what `publish` raises at once (a closed or draining connection, a
        payload over max payload). `subject` and `reply` are not checked: they come
        from the wire or were checked once (`check_subject`); `block` is a header
        block (`header_block`).
        """
        if not self._writable():
            return False
        size = len(payload)
        if size > self._max_payload:
            raise errors.MaxPayloadError
        if block:
            line = f"HPUB {subject} {reply} {len(block)} {len(block) + size}\r\n".encode()
            pieces: tuple[bytes, ...] = (line, block, payload, _CRLF)
            total = len(line) + len(block) + size + 2
        else:
            line = f"PUB {subject} {reply} {size}\r\n".encode()
            pieces = (line, payload, _CRLF)
            total = len(line) + size + 2
        pending_size = self._pending_data_size + total
        if 0 < self._max_pending_size < pending_size:
            return False
        self._pending += pieces
        self._pending_data_size = pending_size
        stats = self.stats
        stats["out_msgs"] += 1
        stats["out_bytes"] += size
        queue = self._flush_queue
        if queue is not None and queue.empty():
            queue.put_nowait(asyncio.get_running_loop().create_future())
        return True

    def _writable(self) -> bool:
        """Whether a message can be appended now (raises when `publish` would at once)."""
        status = self._status
        if status != Client.CONNECTED and status != Client.DRAINING_SUBS:
            if status == Client.CLOSED:
                raise errors.ConnectionClosedError
            if status == Client.DRAINING_PUBS:
                raise errors.ConnectionDrainingError
            return False
        flusher = self._flusher_task
        return flusher is not None and not flusher.done()

    def publish_answer_now(
        self, reply: str, handshake_reply: str, block: bytes, results: str, result: bytes
    ) -> bool:
        """`publish_all_now` of the usual answer to a call: the handshake (empty, replying
        to `handshake_reply`, with the header block `block` unless it is empty) on `reply`,
        then `result` and the end of results (empty) on `results`, as three messages in one
        append."""
        if not self._writable():
            return False
        size = len(result)
        if size > self._max_payload:
            raise errors.MaxPayloadError
        if block:
            head = (
                f"HPUB {reply} {handshake_reply} {len(block)} {len(block)}\r\n".encode()
                + block
                + f"\r\nPUB {results}  {size}\r\n".encode()
            )
        else:
            head = f"PUB {reply} {handshake_reply} 0\r\n\r\nPUB {results}  {size}\r\n".encode()
        tail = f"\r\nPUB {results}  0\r\n\r\n".encode()
        pending_size = self._pending_data_size + len(head) + size + len(tail)
        if 0 < self._max_pending_size < pending_size:
            return False
        self._pending += (head, result, tail)
        self._pending_data_size = pending_size
        stats = self.stats
        stats["out_msgs"] += 3
        stats["out_bytes"] += size
        queue = self._flush_queue
        if queue is not None and queue.empty():
            queue.put_nowait(asyncio.get_running_loop().create_future())
        return True

    def publish_all_now(self, messages: Sequence[Message]) -> bool:
        """`publish_now` for several messages, in order: all of them, or none (False)."""
        if not self._writable():
            return False
        pieces: list[bytes] = []
        total = sent = 0
        limit = self._max_payload
        for subject, payload, reply, block in messages:
            size = len(payload)
            if size > limit:
                raise errors.MaxPayloadError
            if block:
                line = f"HPUB {subject} {reply} {len(block)} {len(block) + size}\r\n".encode()
                pieces += (line, block, payload, _CRLF)
                total += len(line) + len(block) + size + 2
            else:
                line = f"PUB {subject} {reply} {size}\r\n".encode()
                pieces += (line, payload, _CRLF)
                total += len(line) + size + 2
            sent += size
        pending_size = self._pending_data_size + total
        if 0 < self._max_pending_size < pending_size:
            return False
        self._pending += pieces
        self._pending_data_size = pending_size
        stats = self.stats
        stats["out_msgs"] += len(messages)
        stats["out_bytes"] += sent
        queue = self._flush_queue
        if queue is not None and queue.empty():
            queue.put_nowait(asyncio.get_running_loop().create_future())
        return True


class _Parser(Parser):
    """nats-py's protocol parser, reading `MSG` and `HMSG` lines itself and handing the
    messages of direct subscriptions over without a coroutine."""

    def __init__(self, nc: WitgenClient) -> None:
        super().__init__(nc)
        self.wanted: tuple[int, bytes, bytes] = (0, b"", b"")  # sid, subject, reply of the payload awaited

    async def parse(self, data: bytes = b"") -> None:
        buf = self.buf
        buf.extend(data)
        nc: WitgenClient = self.nc
        direct = nc._direct
        at = 0
        size = len(buf)  # the buffer grows only between calls
        try:
            while at < size:
                if self.state == AWAITING_MSG_PAYLOAD:
                    needed = self.needed
                    if size - at < needed + 2:
                        break
                    sid, subject, reply = self.wanted
                    split = self.header_needed
                    self.state = AWAITING_CONTROL_LINE
                else:
                    end = buf.find(_CRLF, at)
                    if end < 0:
                        break
                    if buf[at] != 77 and buf[at] != 72:  # not M(SG) or H(MSG)
                        # PING, PONG, INFO, +OK, -ERR: nats-py's parser reads them.
                        line = bytearray(buf[at : end + 2])
                        at = end + 2
                        self.buf = line
                        try:
                            await super().parse()
                        finally:
                            reset = self.buf is not line
                            if not reset:
                                self.buf = buf
                        if reset:
                            return
                        continue
                    sid, subject, reply, split, needed = _control(buf[at:end])
                    at = end + 2
                    if size - at < needed + 2:  # the payload is not all here yet
                        self.wanted = (sid, subject, reply)
                        self.needed, self.header_needed = needed, split
                        self.state = AWAITING_MSG_PAYLOAD
                        break
                if split > 0:
                    headers: bytes | None = bytes(buf[at : at + split])
                    payload = bytes(buf[at + split : at + needed])
                else:
                    headers = None
                    payload = bytes(buf[at : at + needed])
                at += needed + 2
                deliver = direct.get(sid)
                if deliver is not None:
                    nc.deliver(deliver, sid, subject, reply, payload, headers)
                    if nc.outbox.backlog <= BACKLOG_LIMIT:
                        continue
                    await nc.outbox.drained()
                else:
                    await nc._process_msg(sid, subject, reply, payload, headers)
                if self.buf is not buf:  # the connection was reset meanwhile
                    return
        finally:
            if self.buf is buf and at:
                del buf[:at]


def _control(line: bytearray) -> tuple[int, bytes, bytes, int, int]:
    """`MSG <subject> <sid> [reply] <size>` or `HMSG <subject> <sid> [reply] <header size> <size>`:
    (sid, subject, reply, header size, size)."""
    parts = bytes(line).split()
    count = len(parts)
    try:
        if parts[0] == b"MSG":
            header_size = 0
            if count == 4:
                reply = b""
            elif count == 5:
                reply = parts[3]
            else:
                raise ValueError
        elif parts[0] == b"HMSG":
            header_size = int(parts[-2])
            if count == 5:
                reply = b""
            elif count == 6:
                reply = parts[3]
            else:
                raise ValueError
        else:
            raise ValueError
        sid = int(parts[2])
        size = int(parts[-1])
        if size < 0 or header_size < 0 or sid < 0:
            raise ValueError
    except (ValueError, IndexError):
        from nats.errors import ProtocolError

        raise ProtocolError("nats: malformed MSG") from None
    return sid, parts[1], reply, header_size, size


def check_subject(subject: str) -> str:
    """`subject` when it can be published (not empty, no spaces or line ends); else `BadSubjectError`."""
    if not subject or any(c in subject for c in " \t\r\n"):
        raise errors.BadSubjectError
    return subject


async def subscribe(nc: Client, subject: str, deliver: Deliver, queue: str = "") -> Subscription:
    """Subscribe `deliver` to `subject`: directly on a `WitgenClient`, else through nats-py's queue."""
    if isinstance(nc, WitgenClient):
        return await nc.subscribe_direct(subject, deliver, queue)

    async def callback(msg: Msg) -> None:
        deliver(msg.subject, msg.reply, msg.data, msg.headers)

    return await nc.subscribe(subject, queue=queue, cb=callback, pending_msgs_limit=-1, pending_bytes_limit=-1)


_OTHERS: weakref.WeakKeyDictionary[Client, Outbox] = weakref.WeakKeyDictionary()


def outbox(nc: Client) -> Outbox:
    """The outbox of `nc` (one per client)."""
    if isinstance(nc, WitgenClient):
        return nc.outbox
    found = _OTHERS.get(nc)
    if found is None:
        found = _OTHERS[nc] = Outbox(nc)
    return found


Failed = Callable[[BaseException], None]


class Outbox:
    """Messages out, in order, without a coroutine when none is needed (module docstring)."""

    __slots__ = ("nc", "direct", "waiting", "backlog", "_task", "_drained", "__weakref__")

    def __init__(self, nc: Client) -> None:
        self.nc = nc
        self.direct = isinstance(nc, WitgenClient)
        self.waiting: deque[tuple[str, bytes, str, Mapping[str, str] | None, Failed | None]] = deque()
        self.backlog = 0  # bytes waiting for `publish`
        self._task: asyncio.Task[None] | None = None
        self._drained: asyncio.Future[None] | None = None

    def send(
        self,
        subject: str,
        payload: bytes,
        reply: str = "",
        headers: Mapping[str, str] | None = None,
        block: bytes | None = None,
        failed: Failed | None = None,
    ) -> None:
        """Publish, now or in order after what waits; `failed(exc)` if a later publish fails.

        Raises at once what `publish` would raise at once.
        """
        nc = self.nc
        if not self.waiting:
            if self.direct:
                if block is None and headers:
                    block = header_block(headers)
                if nc.publish_now(subject, payload, reply, block):  # type: ignore[attr-defined]
                    return
            _check_now(nc, len(payload))
        self.waiting.append((subject, payload, reply, headers, failed))
        self.backlog += len(payload) + 64
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._publish())

    def send_all(self, messages: Sequence[tuple[str, bytes, str, Mapping[str, str] | None]]) -> None:
        """`send` each of (subject, payload, reply, headers), in order; at once together if they can."""
        if not self.waiting and self.direct:
            blocks = [(s, p, r, header_block(h) if h else None) for s, p, r, h in messages]
            if self.nc.publish_all_now(blocks):  # type: ignore[attr-defined]
                return
        for subject, payload, reply, headers in messages:
            self.send(subject, payload, reply, headers)

    async def drained(self) -> None:
        """Until what waits was handed to nats-py."""
        if not self.waiting:
            return
        if self._drained is None:
            self._drained = asyncio.get_running_loop().create_future()
        await asyncio.shield(self._drained)

    async def _publish(self) -> None:
        waiting = self.waiting
        try:
            while waiting:
                subject, payload, reply, headers, failed = waiting[0]
                try:
                    await self.nc.publish(subject, payload, reply=reply, headers=dict(headers) if headers else None)
                except Exception as exc:
                    log.debug("nats: cannot publish to %s: %s", subject, exc)
                    if failed is not None:
                        failed(exc)
                waiting.popleft()
                self.backlog -= len(payload) + 64
        finally:
            self._task = None
            self.backlog = sum(len(w[1]) + 64 for w in waiting)
            if waiting:  # cancelled (the loop is closing): what is left goes nowhere
                for subject, _, _, _, failed in waiting:
                    if failed is not None:
                        failed(errors.ConnectionClosedError())
                waiting.clear()
                self.backlog = 0
            done, self._drained = self._drained, None
            if done is not None and not done.done():
                done.set_result(None)


def _check_now(nc: Client, size: int) -> None:
    """What `publish` raises before it would wait."""
    if nc.is_closed:
        raise errors.ConnectionClosedError
    if nc.is_draining_pubs:
        raise errors.ConnectionDrainingError
    if size > nc.max_payload:
        raise errors.MaxPayloadError
    if not nc.is_connected:
        limit = nc._max_pending_size
        if limit <= 0 or size + nc.pending_data_size > limit:
            raise errors.OutboundBufferLimitError
