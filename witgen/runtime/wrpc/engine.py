"""The wRPC exchange, written once: `call` for callers, `Server` for providers.

Client: `call(outgoing, payload, timeout, ...)` writes the parameter tuple on the
root path, reads the result until the path ends, and maps what went wrong to one
`BusError` (a timeout, an exchange that ended without a value, a lost transport).
An `Outgoing` that can send at once (`send_now`) is awaited on one future, which the
transport fails with `BusTimeout` when the time is up.

Server: a transport hands every invocation to `Server.accept`. The server finds the
operation, reads the parameters (at most `max_params` bytes, continued parameters
included), runs the provider method under the thread policy below, writes the
result, or closes the exchange with a failure. A transport that can answer without
waiting offers the call to `Server.serve_now` first: an inline method then runs to
its end at once, and a worker thread's result is answered from one callback, with
no task or coroutine for the call. The policy:
- `async def` methods run on the event loop, cancelled when their caller's deadline
  passes; at most `max_tasks` at once, beyond that `ProviderBusy`;
- methods marked `witgen.runtime.dispatch.nonblocking` run inline on the loop;
- other methods run in `Workers` threads (limit, queue, deadlines: see workers.py).
Whatever a provider method raises, `SystemExit` and `KeyboardInterrupt` included,
fails that call alone: the caller gets a generic failure with an error id, the
provider's log gets the details under the same id, and the server keeps serving.

Functions whose parameters or result hold futures or streams (`call_values`, and the
server's `exchange_values`): the root is decoded as soon as its bytes are complete
(the path may stay open), pending values travel on their own paths while the call
runs (`deferred.py`), and the one timeout covers the root result, not the streams.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from witgen.runtime import codec, context
from witgen.runtime.asyncvalues import CURRENT, Exchange
from witgen.runtime.dispatch import BoundOperation, DispatchTable, is_nonblocking
from witgen.runtime.errors import (
    BusError,
    BusTimeout,
    InvalidPayload,
    ProviderBusy,
    ProviderFailure,
    TransportError,
    UnknownOperation,
)
from witgen.runtime.wrpc.deferred import Lifetime, decode_with, read_root
from witgen.runtime.wrpc.logs import Throttled, printable
from witgen.runtime.wrpc.routes import Route, Routes
from witgen.runtime.wrpc.transport import ROOT, Incoming, Outgoing
from witgen.runtime.wrpc.workers import Job, Workers

__all__ = ["DEFAULT_MAX_PARAMS", "DEFAULT_MAX_TASKS", "Answer", "Server", "call", "call_values", "has_values"]

log = logging.getLogger("witgen.runtime.wrpc")

DEFAULT_MAX_PARAMS = 64 * 1024 * 1024
DEFAULT_MAX_TASKS = 4096


async def call(
    outgoing: Outgoing,
    instance: str,
    function: str,
    payload: bytes,
    timeout: float | None,
) -> bytes:
    """One exchange on `outgoing`: the encoded result, or a `BusError`."""
    send_now = getattr(outgoing, "send_now", None)
    if send_now is not None:  # one future, failed by the transport when the time is up
        try:
            return await send_now(payload, timeout)  # type: ignore[no-any-return]
        except BusError as exc:
            if not (exc.instance or exc.function):
                exc.instance, exc.function = instance, function
            raise
        finally:
            outgoing.release()  # type: ignore[attr-defined]
    try:
        async with asyncio.timeout(timeout):
            sink = outgoing.sink(ROOT)
            await sink.write(payload)
            await sink.close()
            source = outgoing.source(ROOT)
            first = await source.read()
            if not first:
                return first
            rest = await source.read()
            if not rest:
                return first
            chunks = [first, rest]
            while chunk := await source.read():
                chunks.append(chunk)
            return b"".join(chunks)
    except TimeoutError:
        raise BusTimeout(f"no result within {timeout:g} s", instance, function) from None
    except BusError as exc:
        if not (exc.instance or exc.function):
            exc.instance, exc.function = instance, function
        raise
    finally:
        await outgoing.aclose()


def has_values(bound: BoundOperation) -> codec.FunctionCodec | None:
    """The function codec of `bound` when its parameters or result hold async values."""
    found = bound.async_codec
    if found is False:
        func = bound.func
        fc = codec.function(func) if func is not None else None
        found = bound.async_codec = fc if fc is not None and fc.has_async else None
    return found if found else None


async def call_values(
    outgoing: Outgoing,
    instance: str,
    function: str,
    fc: codec.FunctionCodec,
    args: tuple[Any, ...],
    timeout: float | None,
) -> Any:
    """One exchange of a function with async values: the decoded result, whose readers
    keep `outgoing` open until they end (or a `BusError`)."""
    loop = asyncio.get_running_loop()
    where = f"{instance}.{function}" if instance else function
    sent = Exchange(loop, where=where)
    try:
        payload = decode_with(sent, lambda _: fc.encode_params(*args), b"")
    except codec.CodecError as exc:
        await outgoing.aclose()
        raise InvalidPayload(f"parameters do not encode: {exc}", instance, function) from None

    async def release(abandoned: bool) -> None:
        await outgoing.aclose(TransportError("the caller stopped reading") if abandoned else None)

    life = Lifetime(release, where)
    received: Exchange | None = None
    try:
        async with asyncio.timeout(timeout):
            sinks = [(p, outgoing.sink(p.path)) for p in sent.producers]
            root = outgoing.sink(ROOT)
            await root.write(payload)
            await root.close()
            for producer, sink in sinks:
                life.start(producer, sink)
            source = outgoing.source(ROOT)

            def attempt(data: bytes) -> tuple[Any, Exchange]:
                readers = Exchange(loop, outgoing.source, where)
                return decode_with(readers, fc.decode_result, data), readers

            (value, received), ended = await read_root(source, attempt, "the result")
            if not ended:
                source.close()
    except TimeoutError:
        life.abandon()
        raise BusTimeout(f"no result within {timeout:g} s", instance, function) from None
    except BusError as exc:
        life.abandon()
        if not (exc.instance or exc.function):
            exc.instance, exc.function = instance, function
        raise
    except BaseException:
        life.abandon()
        raise
    life.watch(received)
    return value


class Server:
    """Serves the tables in `routes` to the invocations transports accept."""

    def __init__(
        self,
        routes: Routes,
        workers: Workers,
        *,
        max_params: int = DEFAULT_MAX_PARAMS,
        max_tasks: int = DEFAULT_MAX_TASKS,
        continuation_timeout: float = 10.0,
        assumed_timeout: float = 60.0,
    ) -> None:
        self.routes = routes
        self.workers = workers
        self.max_params = max_params
        self.max_tasks = max_tasks
        self.continuation_timeout = continuation_timeout
        # How long a caller that states no deadline is taken to wait.
        self.assumed_timeout = assumed_timeout
        self._tasks: set[asyncio.Task[None]] = set()
        self._started: set[_Started] = set()  # calls in worker threads, answered by callback
        self._idle: asyncio.Future[None] | None = None  # set when `_started` empties
        self._takes_params: dict[BoundOperation, bool] = {}
        self._plans: dict[str, tuple[DispatchTable | None, BoundOperation | None, bool]] = {}
        self._plans_made = -1  # the routes' generation the plans were made for

    @property
    def in_flight(self) -> int:
        return len(self._tasks) + len(self._started)

    def accept(self, incoming: Incoming) -> Coroutine[Any, Any, None] | None:
        """Start serving `incoming`: a coroutine to await at once when it never waits
        (an inline method with complete parameters), else None (a task serves it)."""
        route = self.routes.find(incoming.target)
        if (
            route is not None
            and is_nonblocking(route[1])
            and has_values(route[1]) is None
            and incoming.source(ROOT).complete
        ):
            return self.exchange(incoming, route)
        if self.in_flight >= self.max_tasks:
            return self._refuse(incoming, route)
        self.spawn(self.exchange(incoming, route))
        return None

    def spawn(self, exchange: Coroutine[Any, Any, None]) -> None:
        """Serve an exchange (what `accept` returned, say) in a task of its own."""
        task = asyncio.get_running_loop().create_task(exchange)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def serve_now(
        self,
        target: str,
        payload: bytes,
        caller: str,
        headers: Mapping[str, str] | None,
        deadline: Callable[[Mapping[str, str] | None], float | None],
        answer: Answer,
    ) -> bool:
        """Serve a call whose parameters are all in `payload` without a task, when its
        method is sync and has no async values: `answer(result, None)` or `answer(None,
        error)` is called once, at once for an inline method, from the loop when a worker
        thread is done; `deadline(headers)` tells when its caller stops waiting, if it said. False
        (nothing done) when the call needs `accept`."""
        routes = self.routes
        if self._plans_made != routes.generation:
            self._plans.clear()
            self._plans_made = routes.generation
        plan = self._plans.get(target)
        if plan is None:
            plan = self._plan(target)
            if len(self._plans) < 4096:
                self._plans[target] = plan
        table, bound, inline = plan
        if table is None or bound is None or (not payload and self._has_params(bound)):
            return False
        if inline:
            token = context.enter(headers)
            try:
                result = table.run(bound, payload, caller)
            except BusError as exc:
                _log_failure(exc)
                answer(None, exc)
            else:
                answer(result, None)
            finally:
                context.leave(token)
            return True
        if self.in_flight >= self.max_tasks:
            busy = ProviderBusy(
                f"the provider is busy ({self.in_flight} calls in flight): try again later", bound.instance, bound.name
            )
            _log_failure(busy)
            answer(None, busy)
            return True
        when = deadline(headers)
        if when is None:
            when = asyncio.get_running_loop().time() + self.assumed_timeout
        started = _Started(self, table, bound, payload, caller, headers, answer)
        try:
            self.workers.start(started, when)
        except BusError as exc:
            exc.instance, exc.function = bound.instance, bound.name
            _log_failure(exc)
            answer(None, exc)
            return True
        if not started.answered:
            self._started.add(started)
        return True

    def _plan(self, target: str) -> tuple[DispatchTable | None, BoundOperation | None, bool]:
        """How `serve_now` serves `target`: (table, operation, inline), or Nones when it does not."""
        route = self.routes.find(target)
        if route is None:
            return None, None, False
        table, bound = route
        if bound.is_async or has_values(bound) is not None:
            return None, None, False
        return table, bound, is_nonblocking(bound)

    def _finish(self, started: _Started, result: Any, exc: BaseException | None) -> None:
        """A worker thread's call ended (or its deadline passed while it waited)."""
        self._started.discard(started)
        if not self._started and self._idle is not None and not self._idle.done():
            self._idle.set_result(None)
        if started.answered:
            return
        started.answered = True
        bound = started.bound
        if exc is None:
            started.answer(result, None)
        elif isinstance(exc, BusError):
            if not (exc.instance or exc.function):
                exc.instance, exc.function = bound.instance, bound.name
            _log_failure(exc)
            started.answer(None, exc)
        else:
            log.warning("%s.%s: exchange abandoned: %s", bound.instance, bound.name, exc)
            started.answer(None, TransportError("the provider could not read the call"))

    async def stop(self, grace: float, *, cancel: bool = False) -> None:
        """Let the exchanges in flight finish (at most `grace` s); with `cancel`, end the rest."""
        if self._tasks or self._started:
            waits: set[asyncio.Future[Any]] = set(self._tasks)
            if self._started:
                if self._idle is None or self._idle.done():
                    self._idle = asyncio.get_running_loop().create_future()
                waits.add(self._idle)
            await asyncio.wait(waits, timeout=grace)
        if cancel and self._started:
            for started in list(self._started):
                self._started.discard(started)
                self.workers.drop(started)
                if not started.answered:
                    started.answered = True
                    bound = started.bound
                    stopped = TransportError("the provider stopped before answering", bound.instance, bound.name)
                    _log_failure(stopped)
                    started.answer(None, stopped)
        if cancel and self._tasks:
            left = set(self._tasks)
            for task in left:
                task.cancel()
            await asyncio.wait(left, timeout=1.0)

    async def exchange(self, incoming: Incoming, route: Route | None) -> None:
        """Serve one invocation to its end; never raises but for cancellation."""
        try:
            if route is None:
                instance, function = self.routes.split(incoming.target)
                raise UnknownOperation("no such operation in this provider", instance, function)
            table, bound = route
            context.enter(incoming.headers)
            fc = has_values(bound)
            if fc is not None:
                await self.exchange_values(incoming, table, bound, fc)
                return
            payload = await self.parameters(incoming, bound)
            result = await self.run(table, bound, payload, incoming.caller, incoming.deadline)
        except BusError as exc:
            await self._fail(incoming, exc)
            return
        except asyncio.CancelledError:  # the provider is stopping: close the exchange
            instance, function = self.routes.split(incoming.target)
            await self._fail(
                incoming, TransportError("the provider stopped before answering", instance, function)
            )
            raise
        except Exception as exc:  # the transport failed under us
            log.warning("%s: exchange abandoned: %s", incoming.target, exc)
            await self._fail(incoming, TransportError("the provider could not read the call"))
            return
        try:
            sink = incoming.sink(ROOT)
            if result:
                await sink.write(result)
            await sink.close()
        except Exception as exc:
            log.warning("%s: cannot send the results: %s", incoming.target, exc)

    async def exchange_values(
        self, incoming: Incoming, table: DispatchTable, bound: BoundOperation, fc: codec.FunctionCodec
    ) -> None:
        """Serve a function with async values (module docstring); raises `BusError` before
        the result is written, which `exchange` turns into the exchange's failure."""
        loop = asyncio.get_running_loop()
        where = f"{bound.instance}.{bound.name}" if bound.instance else bound.name
        source = incoming.source(ROOT)

        def attempt(data: bytes) -> bytes:
            decode_with(Exchange(loop, None, where), fc.decode_params, data)  # readers are not kept
            return data

        try:
            async with asyncio.timeout(self.continuation_timeout):
                payload, _ = await read_root(source, attempt, "the parameters")
        except TimeoutError:
            raise BusTimeout(
                f"the parameters did not arrive within {self.continuation_timeout:g} s", bound.instance, bound.name
            ) from None
        except BusError as exc:
            exc.instance, exc.function = bound.instance, bound.name
            raise
        exchange = Exchange(loop, incoming.source, where)
        token = CURRENT.set(exchange)
        try:
            result = await self.run(table, bound, payload, incoming.caller, incoming.deadline)
        finally:
            CURRENT.reset(token)

        async def release(abandoned: bool) -> None:
            end = getattr(incoming, "abandon" if abandoned else "release", None)
            if end is not None:
                result = end()
                if asyncio.iscoroutine(result):
                    await result

        life = Lifetime(release, where)
        try:
            sinks = [(p, incoming.sink(p.path)) for p in exchange.producers]
            root = incoming.sink(ROOT)
            if result:
                await root.write(result)
            await root.close()
        except Exception as exc:
            log.warning("%s: cannot send the results: %s", incoming.target, exc)
            life.abandon()
            return
        for producer, sink in sinks:
            life.start(producer, sink)
        life.watch(exchange)
        lost: asyncio.Event | None = getattr(incoming, "lost", None)
        pumps = asyncio.ensure_future(life.wait_pumps())
        if lost is None:
            await pumps
            return
        gone = asyncio.ensure_future(lost.wait())
        try:
            await asyncio.wait({pumps, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not pumps.done():
                life.abandon()
                pumps.cancel()
            gone.cancel()

    async def parameters(self, incoming: Incoming, bound: BoundOperation) -> bytes:
        """The parameter bytes: the first chunk, and what continues it when it may."""
        source = incoming.source(ROOT)
        first = await source.read()
        if source.complete or (not first and not self._has_params(bound)):
            source.close()
            return first
        parts = [first]
        size = len(first)
        try:
            async with asyncio.timeout(self.continuation_timeout):
                while chunk := await source.read():
                    size += len(chunk)
                    if size > self.max_params:
                        raise InvalidPayload(
                            f"the parameters exceed the limit of {self.max_params} bytes",
                            bound.instance,
                            bound.name,
                        )
                    parts.append(chunk)
        except TimeoutError:
            raise BusTimeout(
                f"the rest of the parameters did not arrive within {self.continuation_timeout:g} s",
                bound.instance,
                bound.name,
            ) from None
        finally:
            source.close()
        return b"".join(parts)

    async def run(
        self,
        table: DispatchTable,
        bound: BoundOperation,
        payload: bytes,
        caller: str,
        deadline: float | None,
    ) -> bytes:
        """Run one call under the thread policy (module docstring)."""
        if bound.is_async:
            loop = asyncio.get_running_loop()
            when = deadline if deadline is not None else loop.time() + self.assumed_timeout
            try:
                async with asyncio.timeout_at(when):
                    return await table.run_async(bound, payload, caller)
            except TimeoutError:
                raise BusTimeout(
                    "the caller's deadline passed: the call was cancelled", bound.instance, bound.name
                ) from None
        if is_nonblocking(bound):
            return table.run(bound, payload, caller)
        if deadline is None:
            deadline = asyncio.get_running_loop().time() + self.assumed_timeout
        try:
            result: bytes = await self.workers.run(lambda: table.run(bound, payload, caller), deadline)
        except BusError as exc:
            if not (exc.instance or exc.function):
                exc.instance, exc.function = bound.instance, bound.name
            raise
        return result

    async def request(self, target: str, payload: bytes, caller: str, headers: Mapping[str, str] | None) -> bytes:
        """A plain request/reply call: the encoded result, or a `BusError`."""
        route = self.routes.find(target)
        if route is None:
            instance, function = self.routes.split(target)
            raise UnknownOperation("no such operation in this provider", instance, function)
        context.enter(headers)
        return await self.run(route[0], route[1], payload, caller, None)

    # ------------------------------------------------------------------ internals

    def _has_params(self, bound: BoundOperation) -> bool:
        found = self._takes_params.get(bound)
        if found is None:
            # Decoding nothing succeeds only for a function without parameters (and fails
            # before any handle is touched otherwise).
            try:
                table_free = bound.decode(_NO_CALL, b"")
            except Exception:
                found = True
            else:
                found = len(table_free) > 0
            if len(self._takes_params) < 65536:
                self._takes_params[bound] = found
        return found

    def _refuse(self, incoming: Incoming, route: Route | None) -> Coroutine[Any, Any, None]:
        instance, function = (route[1].instance, route[1].name) if route else self.routes.split(incoming.target)
        busy = ProviderBusy(f"the provider is busy ({self.in_flight} calls in flight): try again later", instance, function)
        return self._fail(incoming, busy)

    async def _fail(self, incoming: Incoming, exc: BusError) -> None:
        _log_failure(exc)
        try:
            await incoming.fail(exc)
        except Exception as err:
            log.warning("%s: cannot close the exchange: %s", incoming.target, err)


_FAILED = Throttled(log, "failed calls")

Answer = Callable[[bytes | None, BusError | None], None]
"""How a transport answers a call `Server.serve_now` ran: (result, None) or (None, error)."""


def _log_failure(exc: BusError) -> None:
    if not isinstance(exc, ProviderFailure):  # the dispatch table logged that one
        _FAILED.warning("%s", printable(str(exc), 500))


class _Started(Job):
    """A call `serve_now` handed to a worker thread, until it is answered: the one object
    the call keeps while it waits and runs."""

    __slots__ = ("server", "table", "bound", "payload", "caller", "headers", "answer", "answered")

    def __init__(
        self,
        server: Server,
        table: DispatchTable,
        bound: BoundOperation,
        payload: bytes,
        caller: str,
        headers: Mapping[str, str] | None,
        answer: Answer,
    ) -> None:
        super().__init__()
        self.server = server
        self.table = table
        self.bound = bound
        self.payload = payload
        self.caller = caller
        self.headers = headers
        self.answer = answer
        self.answered = False

    def run(self) -> bytes:
        token = context.enter(self.headers)
        try:
            return self.table.run(self.bound, self.payload, self.caller)
        finally:
            context.leave(token)

    def finish(self, result: Any, exc: BaseException | None) -> None:
        self.server._finish(self, result, exc)


class _NoCall:
    """Stands for a call when probing a decoder with no bytes (no handle is ever touched)."""

    handles = None
    source = ""
    instance = ""
    function = ""


_NO_CALL: Any = _NoCall()
