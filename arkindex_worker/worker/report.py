"""Run reports of the worker loops: failed items, progress and the summary."""

from __future__ import annotations

import requests

from arkindex_worker import logger, run_logger
from arkindex_worker.api import ErrorResponse
from arkindex_worker.errors import EveryItemFailed
from arkindex_worker.utils import pluralize

__all__ = ["Progress", "failure_message", "report"]


def failure_message(subject: str, error: Exception) -> str:
    """Log message of a failed item: API errors show their title and content.

    Network failures are described as the fatal ones (``Could not reach the
    Arkindex API at URL: reason``), other errors by their ``repr``.
    """
    if isinstance(error, ErrorResponse):
        return (
            f"An API error occurred while processing {subject}: "
            f"{error.title} - {error.content}"
        )
    if isinstance(error, requests.ConnectionError | requests.Timeout):
        # The repr would name urllib3's internal objects
        from arkindex_worker.cli import describe_fatal_error

        return f"Failed running worker on {subject}: {describe_fatal_error(error)}"
    return f"Failed running worker on {subject}: {error!r}"


def report(
    count: int,
    failed: int,
    singular: str,
    elapsed: str | None = None,
    cause: BaseException | None = None,
) -> None:
    """Log the run summary: ``elapsed`` (our addition) when given, then upstream's line.

    ``cause`` (a failed item's error) becomes the ``__cause__`` of
    `EveryItemFailed`, so that a test sees the item's own error.

    Raises:
        EveryItemFailed: every item failed (a `SystemExit` with status 1).
    """
    message = (
        f"Ran on {count} {pluralize(singular, count)}: "
        f"{count - failed} completed, {failed} failed"
    )
    if elapsed:
        # Our addition, before upstream's line (which stays the last one), through
        # a child logger: the records of the package's logger stay as they were
        run_logger.info(elapsed)
    if failed:
        logger.error(message)
    else:
        logger.info(message)
    if failed and failed >= count:
        raise EveryItemFailed() from cause


class Progress:
    """How far a run got: items done and failed, out of how many."""

    def __init__(self, singular: str) -> None:
        self.singular = singular
        self.total: int | None = None
        self.done = 0
        self.failed = 0

    def describe(self) -> str:
        """E.g. ``3 of 10 elements done (2 completed, 1 failed)``."""
        counts = f"({self.done - self.failed} completed, {self.failed} failed)"
        if self.total is None:
            pulled = pluralize(self.singular, self.done)
            return f"{self.done} {pulled} done {counts}"
        plural = pluralize(self.singular, self.total)
        return f"{self.done} of {self.total} {plural} done {counts}"
