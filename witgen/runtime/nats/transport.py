"""wRPC over NATS below the engine: the calling and the serving end of invocations.

Calling (`NatsCaller`): every call gets an inbox `R_c = <inbox>.<n>` under the
connection's own inbox, whose single subscription `<inbox>.>` receives both the
handshake (on `R_c`) and the results (on `R_c.results`) of every call in flight:

    PUB <invocation subject> R_c  <parameters, cut at the server's max payload>
    MSG R_c  reply R_s            handshake -> PUB R_s.params <rest>...; PUB R_s.params ""
    MSG R_c.results <chunk>...    results, then an empty message: end of results

(A handshake with `witgen-params: none`, which a witgen server sends to a witgen caller
when it reads no more parameters, needs no close. A call without async values offers
`witgen-answer: whole`; a witgen server that serves it at once answers with one message:
`MSG R_c` with that header and the result as payload, or the failure's headers.)

Serving (`NatsResponder`), per connection and prefix three subscriptions whatever
the number of calls: `[<prefix>.]wrpc.0.0.1.>` and `[<prefix>.]rr.0.0.1.>` in the
queue group named after the prefix (replicas share the load), and the server's own
inbox `<inbox>.>` for parameters continued on `R_s.params`. Every invocation is
answered by the handshake (an empty message to `R_c`, reply `R_s`), then handed to
the engine; but a call without async values whose parameters all came with it, from a
caller that offered the whole answer, gets no handshake: its answer goes out in one
message once it ran. A failed exchange ends with the empty end of results carrying the
reason in the `witgen-error` header (wRPC peers that do not know it see a writer
dropped without a value).

Request/reply: the body is the whole parameter tuple; the one reply is `00` + the
encoded result, or `01` + a UTF-8 error message.

Messages arrive through direct subscriptions (a plain callback from the read loop)
and leave through the connection's `Outbox` (appended at once, in order; see
client.py). A call whose parameters all came with the invocation and whose method
is sync is served without a task: once it ran, the whole answer goes out as one message
to a caller that offered it, else the handshake, the result and the end of results
together (`Server.serve_now`).

Futures and streams travel on nested paths (`R_c.results.<i>.<j>`,
`R_s.params.<i>`; see paths.py): a call with them is registered (its result paths
routed) before it is published, and a provider registers the parameter paths of such
a call before its handshake.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from witgen.runtime.errors import BusError, InvalidPayload, ProviderFailure, TransportError, UnknownOperation
from witgen.runtime.nats.client import BACKLOG_LIMIT, Outbox, header_block, outbox, subscribe
from witgen.runtime.nats.paths import STREAMS_HEADER, NestedPaths, PathQueue, PathSink
from witgen.runtime.nats.subjects import (
    ANSWER_HEADER,
    ERROR_HEADER,
    ERROR_KIND_HEADER,
    PARAMS_HEADER,
    RR,
    SOURCE_ID,
    TIMEOUT_HEADER,
    WRPC,
    base_subject,
    header_size,
    queue_group,
)
from witgen.runtime.wrpc.deadlines import Deadlines
from witgen.runtime.wrpc.engine import Server, has_values
from witgen.runtime.wrpc.errors import error_from_kind, error_kind
from witgen.runtime.wrpc.logs import Throttled, printable
from witgen.runtime.wrpc.transport import Path

if TYPE_CHECKING:
    from nats.aio.client import Client as NATS

__all__ = ["DEFAULT_MAX_RESULT", "NatsCaller", "NatsResponder"]

log = logging.getLogger("witgen.runtime.nats")

# An invocation payload this close to max payload may have been cut by the caller.
_CUT_SLACK = 4096
# The largest result a caller collects (what a responder sends beyond it is refused).
DEFAULT_MAX_RESULT = 256 * 1024 * 1024
# The headers of a handshake to a witgen caller when no parameters are read after the
# invocation (it then closes none), and their block as sent.
_NO_PARAMS = {PARAMS_HEADER: "none"}
_NO_PARAMS_BLOCK = header_block(_NO_PARAMS)
# The header of a whole answer in one message, and its block as sent.
_WHOLE = {ANSWER_HEADER: "whole"}
_WHOLE_BLOCK = header_block(_WHOLE)

# How a call served at once is answered (`_answer_form`).
_GO_FORM = 0  # the handshake, the results, their end: what the Go server sends
_QUIET_FORM = 1  # the same, the handshake saying that no parameters are read
_WHOLE_FORM = 2  # one message


def _from_witgen(headers: Mapping[str, str] | None) -> bool:
    """Whether an invocation came from a witgen caller (it offers a whole answer or sends its
    timeout, as earlier versions did): one that reads `witgen-params` on the handshake. Other
    peers get the handshake their own servers send."""
    return headers is not None and (ANSWER_HEADER in headers or TIMEOUT_HEADER in headers)


def _answer_form(headers: Mapping[str, str] | None) -> int:
    """How to answer a call served at once: in one message if its caller offered that,
    else with the handshake a witgen caller or another peer expects."""
    if headers is None:
        return _GO_FORM
    if headers.get(ANSWER_HEADER) == "whole":
        return _WHOLE_FORM
    return _QUIET_FORM if _from_witgen(headers) else _GO_FORM


def _nested(path: Path) -> BusError:
    return BusError(f"this call has no async value at path {'.'.join(map(str, path))}")


# --------------------------------------------------------------------------- calling


class _Exchange:
    """The calling end of one invocation: `Outgoing`, and the `ByteSink` of its parameters."""

    __slots__ = (
        "caller",
        "cid",
        "subject",
        "headers",
        "block",
        "future",
        "rest",
        "payload",
        "chunks",
        "size",
        "nested",
    )

    def __init__(
        self,
        caller: NatsCaller,
        cid: str,
        subject: str,
        headers: dict[str, str] | None,
        nested: bool = False,
        block: bytes | None = None,
    ) -> None:
        self.caller = caller
        self.cid = cid
        self.subject = subject
        self.headers = headers
        self.block = block  # `headers` as sent, when the caller has it already
        loop = asyncio.get_running_loop()
        self.future: asyncio.Future[bytes] = loop.create_future()
        self.rest = b""  # parameter bytes beyond the server's max payload
        self.payload = b""
        self.chunks: list[bytes] = []
        self.size = 0
        # Calls with futures or streams: their paths; `R_s` once the handshake told.
        self.nested = (
            NestedPaths(caller.nc, caller.reply + cid, "results", "params") if nested else None
        )
        if nested:
            self.headers = {**(headers or {}), STREAMS_HEADER: "1"}
            self.block = None

    def sink(self, path: Path) -> _Exchange | PathSink:
        if not path:
            return self
        if self.nested is None:
            raise _nested(path)
        return self.nested.sink(path)

    def source(self, path: Path) -> _ResultSource | PathQueue:
        if not path:
            return _ResultSource(self)
        if self.nested is None:
            raise _nested(path)
        return self.nested.queue(path)

    def release(self) -> None:
        """The call is over (a call without nested paths)."""
        caller = self.caller
        caller.pending.pop(self.cid, None)
        if not self.future.done():
            self.future.cancel()
        caller.deadlines.settle()

    async def aclose(self, error: BusError | None = None) -> None:
        self.release()
        nested = self.nested
        if nested is not None:
            other = nested.other
            if error is not None and other.done() and not other.cancelled() and not nested.gone:
                try:  # tell a witgen provider to stop its producers
                    self.caller.outbox.send(other.result() + ".cancel", b"")
                except Exception as exc:
                    log.debug("cannot cancel the call: %s", exc)
            if not other.done():
                other.cancel()

    async def write(self, data: bytes) -> None:
        self.payload = self.payload + data if self.payload else data

    async def close(self) -> None:
        """Publish the invocation: the parameters up to max payload (the rest follows
        the handshake)."""
        payload, self.payload = self.payload, b""
        self._send(payload)
        outbox = self.caller.outbox
        if outbox.backlog > BACKLOG_LIMIT:
            await outbox.drained()

    def send_now(self, payload: bytes, timeout: float | None = None) -> asyncio.Future[bytes]:
        """Publish the invocation of `payload` at once; the future of the whole result
        (a `BusTimeout` after `timeout` seconds, unless None)."""
        self._send(payload)
        if timeout is not None:
            self.caller.deadlines.add(self.future, timeout)
        return self.future

    def _send(self, payload: bytes) -> None:
        caller = self.caller
        block = self.block
        cut = caller.nc.max_payload - (len(block) if block is not None else header_size(self.headers))
        if len(payload) > cut:
            payload, self.rest = payload[:cut], payload[cut:]
        try:
            caller.outbox.send(self.subject, payload, caller.reply + self.cid, self.headers, block, self._unsent)
        except Exception as exc:
            raise TransportError(f"cannot publish the call: {_describe(exc)}") from None

    def _unsent(self, exc: BaseException) -> None:
        if not self.future.done():
            self.future.set_exception(TransportError(f"cannot publish the call: {_describe(exc)}"))


class _ResultSource:
    """The result of one exchange: one chunk (the whole value), then the end."""

    __slots__ = ("exchange", "done")

    def __init__(self, exchange: _Exchange) -> None:
        self.exchange = exchange
        self.done = False

    @property
    def complete(self) -> bool:
        return self.done

    async def read(self) -> bytes:
        if self.done:
            return b""
        self.done = True
        return await self.exchange.future

    def close(self) -> None:
        if self.exchange.nested is None:  # nested paths keep the call registered
            self.exchange.caller.pending.pop(self.exchange.cid, None)


class NatsCaller:
    """The calling ends of the invocations on one connection (module docstring)."""

    def __init__(self, nc: NATS, max_result: int = DEFAULT_MAX_RESULT) -> None:
        self.nc = nc
        self.outbox: Outbox = outbox(nc)
        self.max_result = max_result
        self.inbox = nc.new_inbox()
        self.reply = self.inbox + "."
        self._skip = len(self.reply)
        self.pending: dict[str, _Exchange] = {}
        self.deadlines = Deadlines()  # of the calls awaited on one future (`send_now`)
        self._ids = itertools.count(1)
        self._sub: Any = None

    async def start(self) -> None:
        self._sub = await subscribe(self.nc, self.inbox + ".>", self._on_message)

    @property
    def in_flight(self) -> int:
        return len(self.pending)

    def open(
        self, subject: str, headers: dict[str, str] | None, *, nested: bool = False, block: bytes | None = None
    ) -> _Exchange:
        """The calling end of a new invocation of `subject` (registered before it is sent;
        `nested`: it carries futures or streams; `block`: `headers` as sent, if known)."""
        cid = str(next(self._ids))
        ex = _Exchange(self, cid, subject, headers, nested, block)
        self.pending[cid] = ex
        return ex

    def fail_all(self, error: str) -> None:
        """End every call in flight with a `TransportError` (the connection is gone)."""
        for ex in list(self.pending.values()):
            if not ex.future.done():
                ex.future.set_exception(TransportError(error))

    def _on_message(self, subject: str, reply: str, data: bytes, headers: dict[str, str] | None) -> None:
        cid, dot, leg = subject[self._skip :].partition(".")
        ex = self.pending.get(cid)
        if leg == "ping":  # a witgen provider asks whether this call is still here
            _answer_ping(self.outbox, reply, ex is not None)
            return
        if ex is None:
            return  # a late message of a call that timed out or was cancelled
        if ex.nested is not None and dot and leg != "results":
            if leg == "cancel":
                ex.nested.abandoned()
            else:
                ex.nested.deliver(leg, data, headers)
            return
        if ex.future.done():
            return
        if leg == "results":
            _collect(ex, data, headers)
            return
        if dot:
            return
        if headers and headers.get("Status") == "503":
            ex.future.set_exception(
                UnknownOperation("no responders: nothing on the lattice serves this operation")
            )
            return
        if headers and ex.nested is None and headers.get(ANSWER_HEADER) == "whole":
            if data:  # the whole answer: the result, or no value and the failure's headers
                _collect(ex, data, None)
            if not ex.future.done():
                _collect(ex, b"", headers)
            return
        if not reply:
            return
        if not ex.rest and ex.nested is None and headers and headers.get(PARAMS_HEADER) == "none":
            return  # a witgen server that reads no more parameters: nothing to close
        # The handshake: send what did not fit, then close the parameter stream.
        params = reply + ".params"
        witgen = bool(headers and headers.get(STREAMS_HEADER) == "1")
        box = self.outbox
        try:
            if ex.rest:
                rest, ex.rest = ex.rest, b""
                size = self.nc.max_payload
                for at in range(0, len(rest), size):
                    box.send(params, rest[at : at + size], failed=ex._unsent)
            box.send(params, b"", failed=ex._unsent)
            if ex.nested is not None:
                ex.nested.known(reply, witgen)
        except Exception as exc:
            if not ex.future.done():
                ex.future.set_exception(TransportError(f"cannot send the parameters: {_describe(exc)}"))


def _answer_ping(box: Outbox, reply: str, known: bool) -> None:
    """Answer a peer's probe: empty while the call is known here, `gone` after."""
    if not reply:
        return
    try:
        box.send(reply, b"" if known else b"gone")
    except Exception as exc:
        log.debug("cannot answer a probe: %s", exc)


def _collect(ex: _Exchange, data: bytes, headers: dict[str, str] | None) -> None:
    if data:
        ex.chunks.append(data)
        ex.size += len(data)
        if ex.size > ex.caller.max_result:
            ex.chunks.clear()
            ex.future.set_exception(
                InvalidPayload(f"the result exceeds the limit of {ex.caller.max_result} bytes")
            )
        return
    if headers and ERROR_HEADER in headers:
        ex.future.set_exception(
            error_from_kind(
                headers.get(ERROR_KIND_HEADER, ""),
                f"results ended without a value ({printable(headers[ERROR_HEADER], 500)})",
                "",
                "",
            )
        )
    elif len(ex.chunks) == 1:
        ex.future.set_result(ex.chunks[0])
    else:
        ex.future.set_result(b"".join(ex.chunks))
    if ex.nested is None:  # over: later messages of this call are dropped
        ex.caller.pending.pop(ex.cid, None)


# --------------------------------------------------------------------------- serving


class _ParamSource:
    """The parameters of one invocation: the invocation's payload, then `R_s.params`."""

    __slots__ = ("incoming", "first", "queue", "complete")

    def __init__(self, incoming: _Incoming, first: bytes, queue: asyncio.Queue[bytes] | None) -> None:
        self.incoming = incoming
        self.first: bytes | None = first
        self.queue = queue
        self.complete = queue is None

    async def read(self) -> bytes:
        first = self.first
        if first is not None:
            self.first = None
            return first
        if self.queue is None:
            return b""
        return await self.queue.get()

    def close(self) -> None:
        if self.queue is not None:
            self.incoming.responder.waiting.pop(self.incoming.sid, None)
            self.queue = None


class _ResultSink:
    """The results of one invocation: chunks of at most max payload, then the empty end."""

    __slots__ = ("box", "subject")

    def __init__(self, box: Outbox, subject: str) -> None:
        self.box = box
        self.subject = subject

    async def write(self, data: bytes) -> None:
        box = self.box
        size = box.nc.max_payload
        if len(data) <= size:
            box.send(self.subject, data)
        else:
            for at in range(0, len(data), size):
                box.send(self.subject, data[at : at + size])
        if box.backlog > BACKLOG_LIMIT:
            await box.drained()

    async def close(self) -> None:
        self.box.send(self.subject, b"")


class _WholeSink:
    """The result of a call whose caller takes the whole answer: kept to the end, then
    answered in one message (`NatsResponder.answer`)."""

    __slots__ = ("incoming", "chunks")

    def __init__(self, incoming: _Incoming) -> None:
        self.incoming = incoming
        self.chunks: list[bytes] = []

    async def write(self, data: bytes) -> None:
        self.chunks.append(data)

    async def close(self) -> None:
        incoming = self.incoming
        responder = incoming.responder
        result = b"".join(self.chunks)
        if responder.holds_whole(result):
            responder.answer(incoming.target, incoming.reply, _WHOLE_FORM, result, None)
            if responder.outbox.backlog > BACKLOG_LIMIT:
                await responder.outbox.drained()
            return
        # More than one message holds: the handshake, then the result in chunks as usual.
        incoming.whole = False
        incoming.handshake()
        sink = _ResultSink(responder.outbox, incoming.results)
        await sink.write(result)
        await sink.close()


class _Incoming:
    """The serving end of one invocation (`Incoming`)."""

    __slots__ = (
        "responder",
        "target",
        "caller",
        "headers",
        "deadline",
        "results",
        "sid",
        "params",
        "nested",
        "lost",
        "reply",
        "whole",
    )

    def __init__(
        self, responder: NatsResponder, target: str, reply: str, payload: bytes, headers: dict[str, str] | None
    ) -> None:
        self.responder = responder
        self.target = target
        self.headers = headers
        self.caller = headers.get(SOURCE_ID, "") if headers else ""
        self.deadline = _deadline(headers)
        self.results = reply + ".results"
        self.reply = reply
        self.sid = ""
        self.nested: NestedPaths | None = None
        self.lost = asyncio.Event()  # the caller abandoned the call, or went away
        route = responder.server.routes.find(target)
        if route is not None and has_values(route[1]) is not None:
            # Parameter paths are routed from now on: before the handshake.
            self.sid = str(next(responder.ids))
            self.nested = NestedPaths(responder.nc, f"{responder.inbox}.{self.sid}", "params", "results")
            self.nested.known(reply, bool(headers and headers.get(STREAMS_HEADER) == "1"))
            self.lost = self.nested.ended
            responder.nested[self.sid] = self
        queue: asyncio.Queue[bytes] | None = None
        if not payload or len(payload) >= responder.nc.max_payload - _CUT_SLACK:
            # The parameters may continue on R_s.params: listen before the handshake.
            self.sid = self.sid or str(next(responder.ids))
            queue = responder.waiting[self.sid] = asyncio.Queue()
        self.params = _ParamSource(self, payload, queue)
        # The caller takes the whole answer in one message, sent at the end (no handshake).
        self.whole = queue is None and self.nested is None and _answer_form(headers) == _WHOLE_FORM

    @property
    def handshake_headers(self) -> dict[str, str] | None:
        """`witgen-streams: 1` back to a caller that offered it; `witgen-params: none` to a
        witgen caller (it sent its timeout) when no parameters are read after the invocation."""
        nested = self.nested
        if nested is not None:
            return {STREAMS_HEADER: "1"} if nested.witgen else None
        if not self.sid and _from_witgen(self.headers):
            return _NO_PARAMS
        return None

    def handshake(self) -> None:
        """Send the handshake: an empty message to `R_c`, reply `R_s` (raises what publishing
        raises at once)."""
        responder = self.responder
        responder.outbox.send(self.reply, b"", f"{responder.inbox}.{self.sid or '0'}", self.handshake_headers)

    def source(self, path: Path) -> _ParamSource | PathQueue:
        if not path:
            return self.params
        if self.nested is None:
            raise _nested(path)
        return self.nested.queue(path)

    def sink(self, path: Path) -> _ResultSink | _WholeSink | PathSink:
        if not path:
            return _WholeSink(self) if self.whole else _ResultSink(self.responder.outbox, self.results)
        if self.nested is None:
            raise _nested(path)
        return self.nested.sink(path)

    def push(self, leg: str, data: bytes, headers: dict[str, str] | None) -> None:
        """A message on `R_s.params.<path>`, `R_s.cancel` or another nested leg."""
        nested = self.nested
        if nested is None:
            return
        if leg == "cancel":
            nested.abandoned()
            return
        nested.deliver(leg, data, headers)

    async def abandon(self) -> None:
        """End the call at once (a parameter's reader stopped): tell the caller."""
        self.release()
        try:
            self.responder.outbox.send(self.reply + ".cancel", b"")
        except Exception as exc:
            log.debug("%s: cannot cancel the call: %s", self.target, exc)

    def release(self) -> None:
        """The call's async values are over: stop routing its paths."""
        if self.nested is not None:
            self.responder.nested.pop(self.sid, None)

    async def fail(self, error: BusError) -> None:
        self.release()
        self.params.close()
        if self.whole:
            self.responder.answer(self.target, self.reply, _WHOLE_FORM, None, error)
        else:
            self.responder.outbox.send(self.results, b"", headers=_error_headers(error))


def _error_headers(error: BusError) -> dict[str, str]:
    return {ERROR_HEADER: error.message, ERROR_KIND_HEADER: error_kind(error)}


def _deadline(headers: Mapping[str, str] | None) -> float | None:
    """The caller's deadline on this loop's clock, from its `witgen-timeout-ms` header."""
    if not headers:
        return None
    text = headers.get(TIMEOUT_HEADER)
    if not text or not text.isdigit() or len(text) > 12:
        return None
    return asyncio.get_running_loop().time() + int(text) / 1000


class NatsResponder:
    """Serves the engine's tables under one prefix on one connection (module docstring)."""

    def __init__(self, nc: NATS, prefix: str, server: Server) -> None:
        self.nc = nc
        self.outbox: Outbox = outbox(nc)
        self.prefix = prefix
        self.server = server
        self.inbox = nc.new_inbox()
        # the handshake's reply when nothing may follow (a caller that is not witgen's closes
        # its parameters on `<inbox>.0.params`, where they are ignored)
        self._quiet_reply = f"{self.inbox}.0"
        self.ids = itertools.count(1)
        self.waiting: dict[str, asyncio.Queue[bytes]] = {}
        self.nested: dict[str, _Incoming] = {}  # calls with futures or streams, by sid
        self._wrpc = base_subject(prefix, WRPC)
        self._rr = base_subject(prefix, RR)
        self._skip = len(self._wrpc) + 1
        self._requests: set[asyncio.Task[None]] = set()
        self._subs: list[Any] = []

    async def start(self) -> None:
        group = queue_group(self.prefix)
        nc = self.nc
        self._subs = [
            await subscribe(nc, self._wrpc + ".>", self._on_invocation, group),
            await subscribe(nc, self._rr + ".>", self._on_request, group),
            await subscribe(nc, self.inbox + ".>", self._on_params),
        ]

    async def stop(self, grace: float = 10.0, *, cancel: bool = False) -> None:
        """Take no new calls; let those in flight finish (at most `grace` seconds).

        With `cancel`, the calls still running after `grace` are cancelled and
        their exchanges closed (their callers see the results end without a value).
        """
        subs, self._subs = self._subs, []
        for sub in subs[:2]:
            await _unsubscribe(sub)
        await self.server.stop(grace, cancel=cancel)
        if self._requests:
            await asyncio.wait(set(self._requests), timeout=grace)
        for sub in subs[2:]:
            await _unsubscribe(sub)

    def _on_invocation(self, subject: str, reply: str, data: bytes, headers: dict[str, str] | None) -> None:
        if not reply:
            _BAD.warning("%s: an invocation without a reply subject, ignored", printable(subject))
            return
        target = subject[self._skip :]
        if len(data) < self.nc.max_payload - _CUT_SLACK:
            caller = headers.get(SOURCE_ID, "") if headers else ""
            answer = partial(self.answer, target, reply, _answer_form(headers))
            if self.server.serve_now(target, data, caller, headers, _deadline, answer):
                return
        incoming = _Incoming(self, target, reply, data, headers)
        if not incoming.whole:
            try:
                incoming.handshake()
            except Exception as exc:
                incoming.params.close()
                log.warning("%s: cannot answer the handshake: %s", printable(subject), exc)
                return
        inline = self.server.accept(incoming)
        if inline is not None:
            self.server.spawn(inline)

    def holds_whole(self, result: bytes) -> bool:
        """Whether `result` fits in one message as a whole answer."""
        return len(result) + len(_WHOLE_BLOCK) <= self.nc.max_payload

    def answer(self, target: str, reply: str, form: int, result: bytes | None, error: BusError | None) -> None:
        """The answer of a call not handshaken yet, in its caller's `form`: the result (or the
        failure) in one message; else the handshake (telling a witgen caller that no
        parameters are read), then the result and the end of results (or the failure)."""
        box = self.outbox
        if form == _WHOLE_FORM:
            block: bytes | None = None
            if error is not None:
                payload, headers = b"", {**_WHOLE, **_error_headers(error)}
            elif result is not None and self.holds_whole(result):
                payload, headers, block = result, _WHOLE, _WHOLE_BLOCK
            else:  # too large for one message: the handshake and chunks
                headers = None
            if headers is not None:
                try:
                    box.send(reply, payload, "", headers, block)
                except Exception as exc:
                    log.warning("%s: cannot send the results: %s", printable(target), exc)
                return
            form = _QUIET_FORM
        witgen = form == _QUIET_FORM
        results = reply + ".results"
        if error is None and result and len(result) <= self.nc.max_payload and box.direct and not box.waiting:
            try:  # the usual answer: handshake, result, end in one append
                if self.nc.publish_answer_now(  # type: ignore[attr-defined]
                    reply, self._quiet_reply, _NO_PARAMS_BLOCK if witgen else b"", results, result
                ):
                    return
            except Exception as exc:
                log.warning("%s: cannot send the results: %s", printable(target), exc)
                return
        messages: list[tuple[str, bytes, str, dict[str, str] | None]] = [
            (reply, b"", self._quiet_reply, _NO_PARAMS if witgen else None)
        ]
        if error is not None:
            messages.append((results, b"", "", _error_headers(error)))
        else:
            if result:
                size = self.nc.max_payload
                if len(result) <= size:
                    messages.append((results, result, "", None))
                else:
                    messages += ((results, result[at : at + size], "", None) for at in range(0, len(result), size))
            messages.append((results, b"", "", None))
        try:
            box.send_all(messages)
        except Exception as exc:
            log.warning("%s: cannot send the results: %s", printable(target), exc)

    def _on_params(self, subject: str, reply: str, data: bytes, headers: dict[str, str] | None) -> None:
        sid, _, leg = subject[len(self.inbox) + 1 :].partition(".")
        if leg != "params":
            incoming = self.nested.get(sid)
            if leg == "ping":  # a witgen caller asks whether this call is still here
                _answer_ping(self.outbox, reply, incoming is not None or sid in self.waiting)
            elif incoming is not None:
                incoming.push(leg, data, headers)
            return
        queue = self.waiting.get(sid)
        if queue is not None:
            queue.put_nowait(data)

    def _on_request(self, subject: str, reply: str, data: bytes, headers: dict[str, str] | None) -> None:
        if not reply:
            _BAD.warning("%s: a request without a reply subject, ignored", printable(subject))
            return
        if len(self._requests) >= self.server.max_tasks:
            busy = f"the provider is busy ({len(self._requests)} requests in flight): try again later"
            try:
                self.outbox.send(reply, b"\x01" + busy.encode())
            except Exception as exc:
                log.warning("%s: cannot reply: %s", printable(subject), exc)
            return
        task = asyncio.get_running_loop().create_task(self._request(subject, reply, data, headers))
        self._requests.add(task)
        task.add_done_callback(self._requests.discard)

    async def _request(self, subject: str, reply: str, data: bytes, headers: dict[str, str] | None) -> None:
        caller = headers.get(SOURCE_ID, "") if headers else ""
        target = subject[len(self._rr) + 1 :]
        try:
            result = await self.server.request(target, data, caller, headers)
            if len(result) + 1 > self.nc.max_payload:
                raise ProviderFailure(f"the result ({len(result)} bytes) exceeds the max payload: use wRPC")
            answer = b"\x00" + result
        except BusError as exc:
            if not isinstance(exc, ProviderFailure) or "max payload" in exc.message:
                _BAD.warning("%s", printable(str(exc), 500))
            answer = b"\x01" + str(exc).encode()
        try:
            self.outbox.send(reply, answer)
        except Exception as exc:
            log.warning("%s: cannot reply: %s", printable(subject), exc)


async def _unsubscribe(sub: Any) -> None:
    try:
        await sub.unsubscribe()
    except Exception as exc:  # the connection is gone already
        log.debug("unsubscribing failed: %s", exc)


_BAD = Throttled(log, "bad messages")


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if text.startswith("nats") else f"{type(exc).__name__}: {text}"
