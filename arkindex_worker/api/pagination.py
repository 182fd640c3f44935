"""Lazy iteration over the pages of a paginated API operation.

Each page is one `ArkindexClient.single_request` (which never retries) under
the client's retry policy (`arkindex_worker.api.retry`), with the paginator's
`retries` as its number of attempts: 5xx, 429 and connection failures are
retried, other 4xx answers are not. Retries are not stacked.

!!! note "Differs from upstream"
    Upstream retries a page on any error answer, 4xx included, with random
    waits (under 1 s after an API error, 1 to 10 s after a connection error).

The server's pages are checked, as a hostile or broken server could make a
listing endless or huge: `count` must be a non-negative integer, a `next` URL
must not repeat, a cursor must change, and no page may be announced beyond
those `count` explains; otherwise `InvalidPaginationError`, naming the
operation. A listing stops with `PaginationLimitError` past the client's cap
on pages (`ARKINDEX_API_MAX_PAGES`, 100,000 by default; see
`arkindex_worker.api.answers`). Nothing is allocated in proportion to `count`:
the pages still to load are a number, not a list. `len()` is the server's
count, which `list(paginator)` reserves room for; a count that needs more
pages than the cap is refused on the first page, so that room stays bounded.

!!! note "Differs from upstream"
    Upstream follows such pages without end, and lists every page number
    `count` announces before loading them.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from enum import Enum
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlparse

import requests

from arkindex_worker.api.answers import MAX_PAGES
from arkindex_worker.api.errors import ErrorResponse
from arkindex_worker.api.pagination_log import log_loading, log_total
from arkindex_worker.api.retry import RetryPolicy
from arkindex_worker.api.urls import for_messages
from arkindex_worker.errors import (
    IncompletePaginationError,
    InvalidPaginationError,
    PaginationLimitError,
    UnknownCountError,
)

if TYPE_CHECKING:
    from arkindex_worker.api.client import ArkindexClient

__all__ = ["PaginationMode", "ResponsePaginator", "UnknownCountError"]

logger = logging.getLogger("arkindex_worker.api")

_DONE = object()


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

    Raises:
        InvalidPaginationError: While iterating, pages that contradict themselves.
        PaginationLimitError: While iterating, more pages than the client's cap.
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
        limits = getattr(client, "limits", None)
        self.max_pages: int = getattr(limits, "max_pages", MAX_PAGES)

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
        # The key of the next page to load, `_DONE` when there is none
        self._key: Any = first_key
        self._next_urls: set[str] = set()

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

    @property
    def _requested(self) -> int:
        """Pages requested so far: loaded or given up."""
        return self.pages_loaded + len(self.missing)

    def _invalid(self, problem: str) -> InvalidPaginationError:
        return InvalidPaginationError(
            f"Stopping the pagination of {self.operation_id}: {problem}"
        )

    def _known_page_after(self, key: Any) -> Any:
        """In page mode with a known number of pages, the page after `key`."""
        paged = self.mode == PaginationMode.PageNumber and self.pages_count is not None
        return key + 1 if paged and key + 1 <= self.pages_count else _DONE

    def _give_up(self, key: Any) -> None:
        logger.warning(f"No more retries left for {self.mode.value} {key}")
        if not self.allow_missing_data:
            raise IncompletePaginationError(
                "Stopping pagination as data will be incomplete"
            )
        self.missing.add(key)
        self._key = self._known_page_after(key)

    def _fetch_page(self) -> bool:
        """Load the next page, retried; `True` when it was loaded."""
        key = self._key
        if self._requested >= self.max_pages:
            raise PaginationLimitError(
                f"Stopping the pagination of {self.operation_id}: more than "
                f"{self.max_pages} pages, the limit (ARKINDEX_API_MAX_PAGES)"
            )
        policy = getattr(self.client, "retry_policy", None) or RetryPolicy()
        tries = iter(range(1, self.retries + 1))

        def attempt() -> Any:
            log_loading(self, key, next(tries, self.retries))
            return self.client.single_request(
                self.operation_id, *self.request_args, **self._page_parameters(key)
            )

        try:
            payload = policy.call(
                attempt,
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
        self._loaded(key, {} if payload is None else payload)
        return True

    def _checked_page(self, payload: Any) -> tuple[list, Any, str | None]:
        """The results, count and next URL of a page, checked."""
        results = payload.get("results", []) if isinstance(payload, dict) else None
        next_url = payload.get("next") if isinstance(payload, dict) else None
        if not isinstance(results, list) or not isinstance(next_url, str | None):
            raise self._invalid("the server answered a page that is not one")
        count = payload.get("count")
        valid = isinstance(count, int) and not isinstance(count, bool) and count >= 0
        if self.count is None and count is not None and not valid:
            raise self._invalid(
                f"the server gave an invalid count, {_shown(count)}, "
                "where a non-negative integer is expected"
            )
        return results, count, next_url

    def _loaded(self, key: Any, payload: Any) -> None:
        results, count, next_url = self._checked_page(payload)
        self.data = payload
        self.results.extend(results)
        self.pages_loaded += 1
        if self.count is None and count is not None:
            self.count = count
            if count and results:
                self.pages_count = math.ceil(count / len(results))
                self._check_cap()
                log_total(self)
        self._key = self._page_after(key, next_url)
        logger.debug(
            f"Loaded {self.mode.value} {key} of {self.operation_id} "
            f"({self.pages_loaded} loaded, {self.pages_count} in total)"
        )

    def _check_cap(self) -> None:
        """Refuse at once a listing whose count announces too many pages."""
        if self._explained_pages() > self.max_pages:
            raise PaginationLimitError(
                f"Stopping the pagination of {self.operation_id}: its count of "
                f"{self.count} results makes {self._explained_pages()} pages, "
                f"more than the limit of {self.max_pages} (ARKINDEX_API_MAX_PAGES)"
            )

    def _explained_pages(self) -> int:
        """Pages of this listing that the count explains, from the first loaded."""
        return self.pages_count - (self.initial_page or 1) + 1

    def _page_after(self, key: Any, next_url: str | None) -> Any:
        """The key of the page after `key`, `_DONE` at the end; checks `next_url`."""
        if self.count == 0:
            return _DONE
        if next_url:
            if next_url in self._next_urls:
                raise self._invalid(
                    f"the server gave {for_messages(next_url)} as the next page "
                    "once already"
                )
            self._next_urls.add(next_url)
            if (
                self.pages_count is not None
                and self._requested >= self._explained_pages()
            ):
                raise self._invalid(
                    f"the server announces more pages than its count of "
                    f"{self.count} results explains ({self._explained_pages()})"
                )
        if self.mode == PaginationMode.Cursor:
            cursor = (
                parse_qs(urlparse(next_url).query).get("cursor") if next_url else None
            )
            if not cursor:
                return _DONE
            if cursor[0] == key:
                raise self._invalid(
                    f"the server gave the same cursor again after {self.pages_loaded} pages"
                )
            return cursor[0]
        if self.pages_count is not None:
            return self._known_page_after(key)
        # Unknown total: follow `next` one page at a time.
        return key + 1 if next_url else _DONE

    def _load_until_success(self) -> bool:
        """Load pages until one succeeds; `False` when none is left."""
        while self._key is not _DONE:
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


def _shown(value: Any) -> str:
    """A short representation of a value from the server, for a message."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
