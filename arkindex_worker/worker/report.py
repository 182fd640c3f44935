"""Run reports of the worker loops: failed items, progress and the summary."""

from __future__ import annotations

from arkindex_worker import logger
from arkindex_worker.api import ErrorResponse
from arkindex_worker.errors import EveryItemFailed
from arkindex_worker.utils import pluralize

__all__ = ["Progress", "failure_message", "report"]


def failure_message(subject: str, error: Exception) -> str:
    """Log message of a failed item: API errors show their title and content."""
    if isinstance(error, ErrorResponse):
        return (
            f"An API error occurred while processing {subject}: "
            f"{error.title} - {error.content}"
        )
    return f"Failed running worker on {subject}: {error!r}"


def report(count: int, failed: int, singular: str) -> None:
    """Log the run summary.

    Raises:
        EveryItemFailed: every item failed (a `SystemExit` with status 1).
    """
    message = (
        f"Ran on {count} {pluralize(singular, count)}: "
        f"{count - failed} completed, {failed} failed"
    )
    if failed:
        logger.error(message)
        if failed >= count:
            raise EveryItemFailed()
    else:
        logger.info(message)


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
