"""Overlap of the network waits of consecutive elements (our addition).

Used by [ElementsWorker.run][arkindex_worker.worker.ElementsWorker.run]: see
[Overlap][arkindex_worker.worker.overlap.Overlap].
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

__all__ = ["START_DELAY", "Overlap"]

START_DELAY = 0.002
"""Seconds a background job waits after being submitted before it starts.

Jobs are submitted when an element ends, just as the main thread starts the
next one: without this delay both threads would run Python code at the same
time and the main thread, whose requests are the ones the run waits for,
would lose time waiting for the interpreter lock. A millisecond lets it send
its next request and wait for the network first; read-ahead and final
updates are not needed before a whole element later.
"""


class Overlap:
    """Overlaps the network waits of consecutive elements, with one thread.

    The background thread retrieves the next element while the current one is
    processed, then sends the current element's final activity update while
    the next one starts. Disabled, everything runs in the calling thread, in
    upstream's order. Leaving the ``with`` block waits for every background
    request; the elements whose final update failed are counted in ``failed``.
    """

    def __init__(self, enabled: bool) -> None:
        self.executor = ThreadPoolExecutor(1, "overlap") if enabled else None
        self.pending: list[tuple[Future, Callable[[], None]]] = []
        self.failed = 0

    def __enter__(self) -> Overlap:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.collect(wait=True)
        if self.executor is not None:
            self.executor.shutdown(wait=True)

    def submit(self, function: Callable[..., Any], *args: Any) -> Future:
        """Run ``function`` in the background (or now, when disabled).

        A background job starts at least `START_DELAY` after it was submitted.
        """
        if self.executor is not None:
            return self.executor.submit(
                _started_late, time.monotonic() + START_DELAY, function, *args
            )
        future: Future = Future()
        try:
            future.set_result(function(*args))
        except Exception as e:
            future.set_exception(e)
        return future

    def read_ahead(
        self, items: Iterable[Any], retrieve: Callable[[Any], Any]
    ) -> Iterator[tuple[Any, Future]]:
        """Yield each item with its retrieval, the next one started in advance."""
        if self.executor is None:
            for item in items:
                yield item, self.submit(retrieve, item)
            return
        iterator = iter(items)
        current = next(iterator, _END)
        retrieval = self.submit(retrieve, current) if current is not _END else None
        while current is not _END:
            upcoming = next(iterator, _END)
            next_retrieval = (
                self.submit(retrieve, upcoming) if upcoming is not _END else None
            )
            yield current, retrieval
            self.collect(wait=False)
            current, retrieval = upcoming, next_retrieval

    def finish(
        self,
        element: Any,
        update: Callable[[], Any],
        on_failure: Callable[[Any, Exception], None],
    ) -> None:
        """Send an element's final update; a failure counts the element failed."""
        future = self.submit(update)

        def account() -> None:
            error = future.exception()
            if error is not None:
                on_failure(element, error)
                self.failed += 1

        self.pending.append((future, account))
        if self.executor is None:
            self.collect(wait=True)

    def collect(self, wait: bool) -> None:
        """Account for the finished final updates (all of them when ``wait``)."""
        still_pending = []
        for future, account in self.pending:
            if wait or future.done():
                account()
            else:
                still_pending.append((future, account))
        self.pending = still_pending


_END = object()


def _started_late(start: float, function: Callable[..., Any], *args: Any) -> Any:
    delay = start - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    return function(*args)
