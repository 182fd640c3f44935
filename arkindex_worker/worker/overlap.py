"""Overlap of the network waits of consecutive elements (our addition).

Used by [ElementsWorker.run][arkindex_worker.worker.ElementsWorker.run]: see
[Overlap][arkindex_worker.worker.overlap.Overlap].

The background thread only ever sends requests that the main thread prepared
completely (operation, parameters and body), at the point where upstream sends
them: it runs no user code and reads no worker attribute. Everything done
with an answer (building an `Element`, logging, marking a failed element)
happens on the main thread.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from typing import Any, Protocol

__all__ = [
    "INTERRUPT_GRACE",
    "READ_AHEAD",
    "START_DELAY",
    "Deferred",
    "Overlap",
    "Retrieval",
]

START_DELAY = 0.010
"""Seconds a background request waits after being submitted before it starts.

Requests are submitted when an element ends, just as the main thread starts the
next one and sends its ``started`` update: without this delay both threads
would need the interpreter lock at the same time, and the main thread, whose
requests are the ones the run waits for, would wait for it (up to the 5 ms
switch interval). After 10 ms the main thread is waiting for the network; a
read ahead or a final update is not needed before a whole element later.
Measured at 40 ms per request: 2 ms gave 217.5 ms per element, 10 ms 214.3.
"""

READ_AHEAD = 2
"""How many elements are retrieved in advance of the one being processed."""

INTERRUPT_GRACE = 0.5
"""Seconds an interrupted run waits for the background requests in flight."""


class Retrieval(Protocol):
    """Something whose `result()` gives a value: a `Future` or a `Deferred`."""

    def result(self) -> Any:
        """The value (raises what computing it raised)."""

    def done(self) -> bool:
        """Whether `result()` would not wait for the network nor run worker code."""


class Deferred:
    """A computation run on the calling thread when its result is first asked.

    Args:
        compute: Gives the value.
        ready: Whether ``compute`` may run now without waiting (e.g. the
            answer it decodes has arrived); without it, only once computed.
    """

    def __init__(
        self, compute: Callable[[], Any], ready: Callable[[], bool] | None = None
    ) -> None:
        self._compute: Callable[[], Any] | None = compute
        self._ready = ready
        self._value: Any = None

    def done(self) -> bool:
        """Whether the value is computed, or can be without waiting."""
        return self._compute is None or (self._ready is not None and self._ready())

    def result(self) -> Any:
        """Compute the value once, now, on this thread."""
        if self._compute is not None:
            compute, self._compute = self._compute, None
            self._value = compute()
        return self._value


class Overlap:
    """Sends prepared requests in background threads while the worker goes on.

    Requests go to a lane: ``read`` (elements read ahead) or ``write`` (final
    activity updates), one daemon thread each, in order within a lane, so that
    a slow read ahead never holds back the previous element's final update.
    Disabled, every request is sent at once on the calling thread, in
    upstream's order. Callbacks registered with `after` always run on the main
    thread, in `collect`. Leaving the ``with`` block waits for every background
    request, also when an error leaves it; after an interrupt (Ctrl-C,
    SIGTERM) it waits `INTERRUPT_GRACE` seconds at most for the final updates,
    and the threads are abandoned.
    """

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._lanes: dict[str, queue.SimpleQueue] = {}
        self.pending: list[tuple[Future, Callable[[Future], None]]] = []

    def __enter__(self) -> Overlap:
        return self

    def __exit__(self, exc_type: Any, *exc_info: Any) -> None:
        interrupted = exc_type is not None and not issubclass(exc_type, Exception)
        if interrupted:
            deadline = time.monotonic() + INTERRUPT_GRACE
            for future, _callback in self.pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                _wait(future, remaining)
        else:
            # Also when an error stops the loop: no final update is lost
            self.collect(wait=True)
        for jobs in self._lanes.values():
            jobs.put(None)

    def send(self, request: Callable[[], Any], lane: str = "read") -> Future:
        """Send a prepared request in the background (now, when disabled).

        ``request`` must be fully prepared: typically
        ``functools.partial(client.request, operation_id, **parameters)``.
        """
        future: Future = Future()
        if not self.enabled:
            try:
                future.set_result(request())
            except Exception as error:
                future.set_exception(error)
            return future
        jobs = self._lanes.get(lane)
        if jobs is None:
            jobs = self._lanes[lane] = queue.SimpleQueue()
            threading.Thread(
                target=_serve, args=(jobs,), name=f"overlap-{lane}", daemon=True
            ).start()
        jobs.put((time.monotonic() + START_DELAY, future, request))
        return future

    def after(self, future: Future, callback: Callable[[Future], None]) -> None:
        """Call ``callback(future)`` on the main thread once ``future`` is done."""
        self.pending.append((future, callback))
        if not self.enabled:
            self.collect(wait=True)

    def collect(self, wait: bool) -> None:
        """Run the callbacks of the finished requests (of all of them when ``wait``)."""
        still_pending = []
        for future, callback in self.pending:
            if wait or future.done():
                future.exception()  # waits for it
                callback(future)
            else:
                still_pending.append((future, callback))
        self.pending = still_pending

    def read_ahead(
        self, items: Iterable[Any], prepare: Callable[[Any], Retrieval]
    ) -> Iterator[tuple[Any, Retrieval, Retrieval | None]]:
        """Yield each item with its retrieval and the next item's retrieval.

        ``prepare`` runs on the calling thread; when enabled, it is called
        `READ_AHEAD` items in advance, so that a request it sends in the
        background overlaps the processing of the items before. Two ahead:
        while item N is processed, item N+1 is already known, so that its
        image can be read ahead too (see `arkindex_worker.prefetch`).
        Disabled, the next retrieval is always `None`.
        """
        if not self.enabled:
            for item in items:
                yield item, prepare(item), None
            return
        window: deque[tuple[Any, Retrieval | None]] = deque()
        iterator = iter(items)
        failure: Exception | None = None
        while True:
            while failure is None and len(window) <= READ_AHEAD:
                try:
                    item = next(iterator, _END)
                except Exception as error:
                    # Raised when the run reaches it, as without reading ahead
                    failure = error
                    break
                if item is _END:
                    break
                window.append((item, prepare(item)))
            if not window:
                if failure is not None:
                    raise failure
                return
            item, retrieval = window.popleft()
            upcoming = window[0][1] if window else None
            yield item, retrieval, upcoming
            self.collect(wait=False)


_END = object()


def _wait(future: Future, timeout: float) -> None:
    try:
        future.exception(timeout)
    except TimeoutError:
        pass


def _serve(jobs: queue.SimpleQueue) -> None:
    """The background thread: send each prepared request, in order."""
    # Not time.sleep, which test suites replace to skip retry waits
    pause = threading.Event()
    while (job := jobs.get()) is not None:
        start, future, request = job
        # Held by the caller only: a dropped answer is freed once done
        del job
        delay = start - time.monotonic()
        if delay > 0:
            pause.wait(delay)
        try:
            future.set_result(request())
        except BaseException as error:
            future.set_exception(error)
        del future, request
