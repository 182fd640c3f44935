"""The worker activity queue of current Arkindex servers."""

from __future__ import annotations

from arkindex_worker import logger
from arkindex_worker.api import ErrorResponse

__all__ = ["WorkerActivityIterator"]


class WorkerActivityIterator:
    """Element IDs pulled one at a time from the worker activity queue.

    Each ``next()`` sends one ``StartWorkerActivity`` request, which marks an
    element ``started`` on the server for this task: the queue is never
    listed, counted or prefetched. HTTP 400 and 404 end the queue.
    """

    def __init__(self, api_client) -> None:
        self.api_client = api_client
        self._stopped = False
        logger.info(
            "Using StartWorkerActivity instead of reading init_elements JSON file"
        )

    def __iter__(self) -> WorkerActivityIterator:
        return self

    def __bool__(self) -> bool:
        # Truthy without pulling: an emptiness check must not start an activity
        return True

    def __next__(self) -> str:
        if self._stopped:
            raise StopIteration
        try:
            data = self.api_client.request("StartWorkerActivity")
        except ErrorResponse as e:
            if e.status_code in (400, 404):
                self._stopped = True
                raise StopIteration from None
            logger.warning(
                "Failed to start a new worker activity of element due to an API error: "
                f"{e.content}"
            )
            raise
        return data["id"]
