"""Who runs a synchronous provider method: worker threads, within declared limits.

At most `limit` calls run at once and up to `queue` more wait their turn, in order;
a call beyond that is refused at once with `ProviderBusy` (a clear answer beats a
silent timeout). A call knows its caller's deadline: one still waiting when it
passes is dropped without running (`BusTimeout`), and one still running then is
*abandoned*: a Python thread cannot be stopped, but it no longer counts against
`limit`, so it does not hold up the calls behind it. At most `limit` abandoned
threads may exist besides; while that many are stuck, new calls queue.

Started calls wait in one line for a thread. A thread is woken only when no other
is already awake and looking for work; a thread that takes a call and leaves more in
the line wakes the next one (so a call that blocks never holds up the ones behind
it), and a thread that finished a call takes the next one itself, so a burst of short
calls runs on one or two threads instead of waking one each. Results go back in
batches: a thread wakes the event loop only when no result of an earlier wake-up is
still waiting to be collected; a call taken from the waiting queue is reported with
the result that freed its place. Threads are daemons: a stuck provider method does
not hold up the process's exit.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from witgen.runtime.errors import BusTimeout, ProviderBusy

__all__ = ["DEFAULT_QUEUE", "DEFAULT_WORKERS", "Job", "Workers"]

log = logging.getLogger("witgen.runtime.wrpc")

DEFAULT_WORKERS = 16
DEFAULT_QUEUE = 256


Finish = Callable[[Any, "BaseException | None"], None]
_NEW = threading.Lock()  # stands for a thread to start (`Workers._wake`)
_Outcome = tuple["Job", Any, "BaseException | None", "Job | None"]  # job, result, error, the next one taken


class Job:
    """One call for a worker thread: `run()` there, then `finish(result, exc)` once on the
    loop. Subclasses carry what the call needs (one object a call, no closures)."""

    __slots__ = ("deadline", "loop", "timer", "running", "abandoned", "finished")

    def __init__(self) -> None:
        self.deadline: float | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.running = False
        self.abandoned = False
        self.finished = False

    def run(self) -> Any:
        """The call itself, in a worker thread."""
        raise NotImplementedError

    def finish(self, result: Any, exc: BaseException | None) -> None:
        """On the loop, once: (result, None) or (None, exception)."""
        raise NotImplementedError

    def end(self, result: Any, exc: BaseException | None) -> None:
        if not self.finished:
            self.finished = True
            if self.timer is not None:
                self.timer.cancel()
            try:
                self.finish(result, exc)
            except Exception as error:  # the other results still reach their callers
                log.warning("a worker thread's result could not be handed over: %s", error)


class _Job(Job):
    """A job of two callables (`Workers.submit`)."""

    __slots__ = ("work", "done")

    def __init__(self, work: Callable[[], Any], done: Finish) -> None:
        super().__init__()
        self.work = work
        self.done = done

    def run(self) -> Any:
        return self.work()

    def finish(self, result: Any, exc: BaseException | None) -> None:
        self.done(result, exc)


class Workers:
    """Worker threads with a limit, a bounded queue and deadlines (module docstring)."""

    def __init__(self, limit: int = DEFAULT_WORKERS, queue: int = DEFAULT_QUEUE) -> None:
        if limit < 1 or queue < 0:
            raise ValueError(f"workers must be at least 1 and the queue at least 0, not {limit} and {queue}")
        self.limit = limit
        self.queue = queue
        self.max_threads = 2 * limit
        self._live = 0  # running calls that count against `limit`
        self._threads = 0  # threads busy, abandoned ones included
        self._waiting: deque[Job] = deque()
        # Shared with the threads, under `_lock`: started jobs not yet taken, the parked
        # threads (each waits to acquire its own lock), how many threads are awake and
        # about to look at `_ready`, and how many threads exist.
        self._lock = threading.Lock()
        self._ready: deque[Job] = deque()
        self._idle: list[threading.Lock] = []
        self._spinning = 0
        self._spawned = 0
        self._stopped = False
        self._loop: asyncio.AbstractEventLoop | None = None
        # Results from the threads, collected on the loop; `_posted`: a collection is scheduled.
        self._results: deque[_Outcome] = deque()
        self._posted = False
        # Jobs with a deadline, in the order of their deadlines (the usual case: callers
        # wait alike), swept by one timer at the first one's; a job whose deadline is
        # earlier than the last one's gets a timer of its own.
        self._timed: deque[Job] = deque()
        self._sweeper: asyncio.TimerHandle | None = None

    @property
    def running(self) -> int:
        return self._live

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    async def run(self, work: Callable[[], Any], deadline: float | None = None) -> Any:
        """`work()` in a worker thread, in this task's context; its result or exception."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()

        def finish(result: Any, exc: BaseException | None) -> None:
            if future.done():
                return
            if exc is None:
                future.set_result(result)
            else:
                future.set_exception(exc)

        job = self.submit(_in_context(work), finish, deadline)
        try:
            return await future
        except asyncio.CancelledError:
            self.drop(job)
            raise

    def submit(self, work: Callable[[], Any], finish: Finish, deadline: float | None = None) -> Job:
        """Run `work()` in a worker thread (in that thread's context); `finish(result, exc)`
        is called on this loop when it ends or its deadline passes while it waits.
        `ProviderBusy` at once when the queue is full."""
        return self.start(_Job(work, finish), deadline)

    def start(self, job: Job, deadline: float | None = None) -> Job:
        """`submit` for a `Job` object: `job.run()` in a thread, `job.finish` on this loop."""
        loop = asyncio.get_running_loop()
        job.loop = loop
        job.deadline = deadline
        if self._live < self.limit and self._threads < self.max_threads:
            self._start(job, loop)
        elif len(self._waiting) < self.queue:
            self._waiting.append(job)
        else:
            raise ProviderBusy(
                f"the provider is busy ({self._live} calls running, {len(self._waiting)} waiting):"
                " try again later"
            )
        if deadline is not None and not job.finished:
            timed = self._timed
            if not timed or deadline >= timed[-1].deadline:  # type: ignore[operator]
                timed.append(job)
                sweeper = self._sweeper
                if sweeper is None or deadline < sweeper.when():  # the queue was empty: an earlier timer
                    if sweeper is not None:
                        sweeper.cancel()
                    self._sweeper = loop.call_at(deadline, self._sweep, loop)
                elif len(timed) > 64 + 2 * (self._threads + len(self._waiting)):
                    self._timed = deque(j for j in timed if not j.finished)  # drop the finished ones
            else:
                job.timer = loop.call_at(deadline, self._expire, job, loop)
        return job

    def drop(self, job: Job) -> None:
        """Nobody waits for `job` any more: it never starts if it has not (`finish` is not called)."""
        job.finished = True
        if job.timer is not None:
            job.timer.cancel()
        self._discard(job)

    def shutdown(self) -> None:
        """Refuse what waits; let running threads end on their own."""
        self._stopped = True
        while self._waiting:
            self._waiting.popleft().end(None, ProviderBusy("the provider is stopping"))
        with self._lock:
            idle, self._idle = self._idle, []
            self._spinning += len(idle)
        for wake in idle:
            wake.release()

    # ------------------------------------------------------------------ internals

    def _start(self, job: Job, loop: asyncio.AbstractEventLoop) -> None:
        if self._stopped:
            job.end(None, ProviderBusy("the provider is stopping"))
            return
        if self._loop is None:
            self._loop = loop
        job.running = True
        self._live += 1
        self._threads += 1
        with self._lock:
            self._ready.append(job)
            wake = None if self._spinning else self._wake()
        if wake is not None:
            self._rouse(wake, loop)

    def _wake(self) -> threading.Lock:
        """Under `_lock`, when no thread is awake: one more awake, either the parked
        thread whose lock is returned or a new one (`_NEW`); `_rouse` it outside the lock."""
        self._spinning += 1
        if self._idle:
            return self._idle.pop()
        self._spawned += 1
        return _NEW

    def _take_ready(self) -> tuple[Job, threading.Lock | None]:
        """Under `_lock`, with `_ready` not empty: its first job, and the thread to `_rouse`
        when more wait and no thread is awake to take them."""
        job = self._ready.popleft()
        return job, self._wake() if self._ready and not self._spinning else None

    def _rouse(self, wake: threading.Lock, loop: asyncio.AbstractEventLoop) -> None:
        if wake is _NEW:
            name = f"witgen-provider_{self._spawned - 1}"
            threading.Thread(target=self._serve, args=(loop,), name=name, daemon=True).start()
        else:
            wake.release()

    def _serve(self, loop: asyncio.AbstractEventLoop) -> None:
        """A worker thread: take started jobs while there are any, park when there are
        none, end when it finds none after shutdown."""
        lock = self._lock
        ready = self._ready
        waiting = self._waiting
        parked = threading.Lock()
        parked.acquire()
        job: Job | None = None
        while True:
            wake: threading.Lock | None = None
            if job is None:  # awake (counted in `_spinning`): take a job or park
                with lock:
                    self._spinning -= 1
                    if ready:
                        job, wake = self._take_ready()
                    elif self._stopped:
                        self._spawned -= 1
                        return
                    else:
                        self._idle.append(parked)
                if job is None:
                    parked.acquire()
                    continue
                if wake is not None:
                    self._rouse(wake, loop)
                    wake = None
            try:
                result, exc = job.run(), None
            except BaseException as error:  # handed to the loop, never raised here
                result, exc = None, error
            following: Job | None = None  # the next job, a started one first
            taken: Job | None = None  # or a waiting call, in this job's place (the loop learns with the result)
            with lock:
                if ready:
                    following, wake = self._take_ready()
                elif not job.abandoned and job.loop is self._loop and not self._stopped and waiting:
                    try:  # the loop may take it first
                        following = taken = waiting.popleft()
                    except IndexError:
                        self._spinning += 1
                    else:
                        taken.running = True
                else:
                    self._spinning += 1  # before the loop learns this thread is free
            if wake is not None:
                self._rouse(wake, loop)
            self._hand(job, result, exc, taken)
            del result, exc
            job = following

    def _hand(self, job: Job, result: Any, exc: BaseException | None, following: Job | None) -> None:
        """In a worker thread: `job`'s outcome to its loop (dropped when the loop is closed)."""
        try:
            if job.loop is self._loop:
                self._results.append((job, result, exc, following))
                if not self._posted:
                    self._posted = True
                    job.loop.call_soon_threadsafe(self._collect)  # type: ignore[union-attr]
            else:
                job.loop.call_soon_threadsafe(self._done, job, result, exc, None)  # type: ignore[union-attr]
        except RuntimeError:  # the loop is closed: nobody waits any more
            pass

    def _collect(self) -> None:
        """On the loop: what the threads finished since the last collection."""
        self._posted = False
        results = self._results
        while results:
            self._done(*results.popleft())

    def _done(self, job: Job, result: Any, exc: BaseException | None, following: Job | None) -> None:
        if following is not None:  # its thread went on with the next waiting call
            self._live += 1
            self._threads += 1
        self._threads -= 1
        if not job.abandoned:
            self._live -= 1
        job.end(result, exc)
        timed = self._timed
        while timed and timed[0].finished:
            timed.popleft()
        loop = self._loop
        if loop is not None:
            self._pump(loop)

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        """The first deadline of `_timed` came: expire what is due, wait for the next."""
        self._sweeper = None
        timed = self._timed
        now = loop.time()
        while timed:
            job = timed[0]
            if not job.finished and job.deadline > now:  # type: ignore[operator]
                self._sweeper = loop.call_at(job.deadline, self._sweep, loop)  # type: ignore[arg-type]
                return
            timed.popleft()
            self._expire(job, loop)

    def _expire(self, job: Job, loop: asyncio.AbstractEventLoop) -> None:
        if job.finished:
            return
        if self._discard(job):  # still waiting (a thread that takes it first runs it)
            job.end(None, BusTimeout("the caller's deadline passed before a worker was free: the provider is busy"))
        elif not job.abandoned:
            job.abandoned = True
            self._live -= 1
            self._pump(loop)

    def _discard(self, job: Job) -> bool:
        """Take `job` out of the waiting line; False when it was not there (a thread has it)."""
        try:
            self._waiting.remove(job)
        except ValueError:
            return False
        return True

    def _pump(self, loop: asyncio.AbstractEventLoop) -> None:
        while self._waiting and self._live < self.limit and self._threads < self.max_threads:
            try:
                job = self._waiting.popleft()
            except IndexError:  # a thread took the last one
                return
            if not job.finished:
                self._start(job, loop)


def _in_context(work: Callable[[], Any]) -> Callable[[], Any]:
    """`work` to run in a copy of this task's context (`witgen.runtime.context` answers there)."""
    run = contextvars.copy_context().run
    return lambda: run(work)
