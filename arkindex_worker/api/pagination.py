"""Lazy iteration over the pages of a paginated API operation.

Each page is one `ArkindexClient.single_request` (which never retries) under
the client's retry policy (`arkindex_worker.api.retry`), with the paginator's
`retries` as its number of attempts: 5xx, 429 and connection failures are
retried, other 4xx answers are not. Retries are not stacked.

!!! note "Differs from upstream"
    Upstream retries a page on any error answer, 4xx included, with random
    waits (under 1 s after an API error, 1 to 10 s after a connection error).
"""

from __future__ import annotations

import logging
import math
from collections import deque
from enum import Enum
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlparse

import requests

from arkindex_worker.api.errors import ErrorResponse
from arkindex_worker.api.retry import RetryPolicy
from arkindex_worker.errors import IncompletePaginationError, UnknownCountError

if TYPE_CHECKING:
    from arkindex_worker.api.client import ArkindexClient

__all__ = ["PaginationMode", "ResponsePaginator", "UnknownCountError"]

logger = logging.getLogger("arkindex_worker.api")

_FIRST = object()


class PaginationMode(Enum):
    """How an operation splits its results into pages."""

    PageNumber = "page"
    Cursor = "cursor"


def pagination_mode(client: ArkindexClient, operation_id: str) -> PaginationMode:
    """The mode of a paginated operation, from its declared parameters.

    Raises:
        NotImplementedError: The operation has neither a `cursor` nor a `page` parameter.
    """
    parameters = client.lookup_operation(operation_id).parameters
    if "cursor" in parameters:
        return PaginationMode.Cursor
    if "page" in parameters:
        return PaginationMode.PageNumber
    raise NotImplementedError("Pagination only implements page and cursor modes.")


class ResponsePaginator:
    """Sized, single-pass iterator over every result of a paginated operation.

    No request is sent until the paginator is iterated or measured with `len()`.

    Args:
        client: The API client.
        operation_id: A paginated operation.
        *request_args: Forwarded to every page request.
        **request_kwargs: Forwarded to every page request, except `retries` (tries
            per page, default 5), `allow_missing_data` (skip pages that keep failing
            instead of raising, default `False`) and an initial `page` or `cursor`.
    """

    def __init__(
        self,
        client: ArkindexClient,
        operation_id: str,
        *request_args: Any,
        **request_kwargs: Any,
    ) -> None:
        self.retries = request_kwargs.pop("retries", 5)
        if not isinstance(self.retries, int) or self.retries <= 0:
            raise AssertionError("retries must be a positive integer")
        self.allow_missing_data = request_kwargs.pop("allow_missing_data", False)
        if not isinstance(self.allow_missing_data, bool):
            raise AssertionError("allow_missing_data must be a boolean")
        self.client = client
        self.operation_id = operation_id
        self.mode = pagination_mode(client, operation_id)
        self.request_args = request_args
        initial = request_kwargs.pop(self.mode.value, None)
        self.request_kwargs = request_kwargs
        self.has_count_parameter = (
            "with_count" in client.lookup_operation(operation_id).parameters
        )

        self.count: int | None = None
        self.pages_count: int | None = None
        self.pages_loaded = 0
        self.missing: set = set()
        self.data: dict | None = None
        self.results: deque = deque()

        if self.mode == PaginationMode.PageNumber:
            self.initial_page = int(initial) if initial is not None else 1
            first_key: Any = self.initial_page
        else:
            self.initial_page = None
            first_key = initial
        self._explicit_first = initial is not None
        self._pending: list = [first_key]
        self._tries: dict = {}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.operation_id!r} {self.mode.value}>"

    def __iter__(self) -> ResponsePaginator:
        return self

    def _page_parameters(self, key: Any) -> dict:
        parameters = dict(self.request_kwargs)
        first = self.pages_loaded == 0
        if first and self.has_count_parameter:
            parameters["with_count"] = "true"
        if key is not None and not (first and not self._explicit_first):
            parameters[self.mode.value] = key
        return parameters

    def _give_up(self, key: Any) -> None:
        logger.warning(f"No more retries left for {self.mode.value} {key}")
        if not self.allow_missing_data:
            raise IncompletePaginationError(
                "Stopping pagination as data will be incomplete"
            )
        self.missing.add(key)
        self._pending.remove(key)

    def _fetch_page(self) -> bool:
        """Load the next pending page, retried; `True` when it was loaded."""
        key = self._pending[0]
        policy = getattr(self.client, "retry_policy", None) or RetryPolicy()
        try:
            payload = policy.call(
                lambda: self.client.single_request(
                    self.operation_id, *self.request_args, **self._page_parameters(key)
                ),
                "GET",
                self.operation_id,
                attempts=self.retries,
            )
        except ErrorResponse as e:
            logger.warning(f"API Error {e.status_code} on pagination: {e.content}")
            self._give_up(key)
            return False
        except (
            requests.ConnectionError,
            requests.Timeout,
            # An answer cut short: the page is read again like a lost one
            requests.exceptions.ChunkedEncodingError,
        ) as e:
            logger.error(f"Server connection error on pagination: {e}")
            self._give_up(key)
            return False
        self._loaded(key, payload or {})
        return True

    def _loaded(self, key: Any, payload: dict) -> None:
        self.data = payload
        results = payload.get("results", [])
        self.results.extend(results)
        self._pending.remove(key)
        count_known = self.count is not None
        if not count_known and payload.get("count") is not None:
            self.count = payload["count"]
            if self.count == 0:
                self._pending.clear()
            elif results:
                self.pages_count = math.ceil(self.count / len(results))
                if self.mode == PaginationMode.PageNumber:
                    self._pending.extend(
                        range(self.initial_page + 1, self.pages_count + 1)
                    )
            count_known = bool(results)
        next_url = payload.get("next")
        if self.mode == PaginationMode.Cursor:
            cursor = (
                parse_qs(urlparse(next_url).query).get("cursor") if next_url else None
            )
            if cursor:
                self._pending = [cursor[0]]
        elif next_url and not count_known and not self._pending:
            # Unknown total: follow `next` one page at a time.
            self._pending.append(key + 1)
        self.pages_loaded += 1
        logger.debug(
            f"Loaded {self.mode.value} {key} of {self.operation_id} "
            f"({self.pages_loaded} loaded, {self.pages_count} in total)"
        )

    def _load_until_success(self) -> bool:
        """Load pending pages until one succeeds; `False` when none is left."""
        while self._pending:
            if self._fetch_page():
                return True
        return False

    def __next__(self) -> Any:
        while not self.results:
            if self.pages_loaded and not (self.data or {}).get("next"):
                raise StopIteration
            if not self._load_until_success() or not self.results:
                raise StopIteration
        return self.results.popleft()

    def __len__(self) -> int:
        if not self.pages_loaded:
            self._load_until_success()
        if self.count is None:
            raise UnknownCountError("An error occurred fetching items total count")
        return self.count
