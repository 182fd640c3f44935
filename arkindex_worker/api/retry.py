"""The one retry policy of every HTTP exchange of the SDK.

API calls (`ArkindexClient.request`), each page of a listing, IIIF image
downloads, artifact and export downloads and storage uploads all follow it:

| failure | methods | retried |
| --- | --- | --- |
| HTTP 5xx answer (upstream) | all | yes, exponential waits 3, 4, 8, 16 s |
| HTTP 429 answer | all | yes, waiting `Retry-After` (at most the maximum wait) |
| never reached the server: `ConnectTimeout`, connection refused, DNS failure | all | yes |
| may have reached it, no answer: `ReadTimeout`, connection reset or closed | GET, HEAD, OPTIONS | at most `read_retries` times |
| the same, for a write with a confirmation (`arkindex_worker.api.confirm`) | others | verify, then retry: a read tells whether it was applied; sent again only when it was not (as one never sent: the whole budget) |
| the same, for any other write, or when the read cannot tell | others | never: an `UnconfirmedWriteError` is raised at once |
| anything else (other 4xx, exceptions of test doubles, …) | all | no |

Every retriable failure shares one budget of attempts (5 in total upstream), and
no exchange retries for longer than the total time cap: a wait that would end
after it is not waited, the last failure is raised instead. A storage upload
sends the same bytes to the same URL, so its lost answers are retried like a
read's (see ``idempotent`` in `RetryPolicy.call`).
Before each wait, one INFO line on the `arkindex_worker.api` logger names the
operation, the wait and the reason. Waits go through `time.sleep`, looked up when
called, so test suites can replace it.

Generation 0.6 (spec 15) keeps upstream's own rules for two kinds of
downloads, as `FixedRetry` policies that the callers pass to
`ArkindexClient.http_request` (``retry=``): IIIF image requests
(`IMAGE_RETRY_0_6`: 3 attempts, waits of 5 then 10 s, a WARNING on the
`arkindex_worker` logger before each) and the file of a corpus export
(`EXPORT_RETRY_0_6`: 3 attempts, 10 s waits). Both retry any
`requests.RequestException`, 4xx answers included, and re-raise the last one.

Settings (constructor keyword, else environment variable, else default):

| keyword | variable | default |
| --- | --- | --- |
| `retries` (total attempts) | `ARKINDEX_API_RETRIES` | 5 |
| `retry_wait_min` (seconds) | `ARKINDEX_API_RETRY_WAIT_MIN` | 3 |
| `retry_wait_max` (seconds) | `ARKINDEX_API_RETRY_WAIT_MAX` | 60 |
| `read_retries` (re-sends) | `ARKINDEX_API_READ_RETRIES` | 2 |
| `retry_time_max` (seconds, total) | `ARKINDEX_API_RETRY_TIME_MAX` | 300 |
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, NamedTuple

import requests
from urllib3.exceptions import NewConnectionError

from arkindex_worker.api.errors import (
    ErrorResponse,
    UnconfirmedWriteError,
    unconfirmed_write,
)
from arkindex_worker.api.options import env_setting

__all__ = [
    "EXPORT_RETRY_0_6",
    "IDEMPOTENT_METHODS",
    "IMAGE_RETRY_0_6",
    "NOT_APPLIED",
    "Failure",
    "FixedRetry",
    "RetryPolicy",
    "classify",
    "http_status",
]

logger = logging.getLogger("arkindex_worker.api")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

SERVER_ERROR = "server error"
THROTTLED = "throttled"
NOT_SENT = "not sent"
UNANSWERED = "unanswered"


class _NotApplied:
    def __repr__(self) -> str:
        return "NOT_APPLIED"


NOT_APPLIED: Any = _NotApplied()
"""What a confirmation returns when the write whose answer was lost was not applied."""


class Failure(NamedTuple):
    """A retriable failure: its kind and a loggable reason."""

    kind: str
    reason: str


def _never_connected(error: BaseException) -> bool:
    """Whether urllib3 reports that no connection could be opened."""
    pending: list[Any] = [error]
    seen: set[int] = set()
    while pending:
        item = pending.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, NewConnectionError):
            return True
        pending.extend(item.args)
        pending.extend(
            (item.__cause__, item.__context__, getattr(item, "reason", None))
        )
    return False


def http_status(error: BaseException | None) -> int | None:
    """The HTTP status of an error answer: an `ErrorResponse` or a `requests.HTTPError`."""
    if isinstance(error, ErrorResponse):
        return error.status_code
    if isinstance(error, requests.HTTPError) and error.response is not None:
        return error.response.status_code
    return None


def _title(error: BaseException, status: int) -> str:
    if isinstance(error, ErrorResponse):
        return error.title
    return f"{status} {error.response.reason}"


def classify(error: BaseException | None) -> Failure | None:
    """The retriable failure `error` stands for, or `None`."""
    if error is None or isinstance(error, UnconfirmedWriteError):
        return None
    status = http_status(error)
    if status is not None:
        if 500 <= status <= 599:
            return Failure(SERVER_ERROR, f"HTTP {_title(error, status)}")
        if status == 429:
            return Failure(THROTTLED, f"HTTP {_title(error, status)}")
        return None
    name = type(error).__name__
    if isinstance(error, requests.ConnectTimeout) or (
        isinstance(error, requests.ConnectionError) and _never_connected(error)
    ):
        return Failure(NOT_SENT, f"{name}, the request did not reach the server")
    if isinstance(
        error,
        requests.Timeout
        | requests.ConnectionError
        | requests.exceptions.ChunkedEncodingError,
    ):
        return Failure(UNANSWERED, f"{name}, no answer from the server")
    return None


def retry_after(error: BaseException) -> float | None:
    """Seconds asked by the `Retry-After` header of an error answer, if any."""
    response = getattr(error, "response", None)
    value = response.headers.get("Retry-After") if response is not None else None
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            date = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if date.tzinfo is None:
            date = date.replace(tzinfo=timezone.utc)
        seconds = (date - datetime.now(timezone.utc)).total_seconds()
    if math.isnan(seconds):
        return None
    return max(0.0, seconds)


def _sleep(seconds: float) -> None:
    time.sleep(seconds)


class RetryPolicy:
    """Attempts and waits of `ArkindexClient.request`.

    Attributes:
        attempts: Total attempts for any retriable failure.
        wait_min: Shortest wait in seconds (exponential waits: 2 × 2ⁿ⁻¹, at least this).
        wait_max: Longest wait in seconds, `Retry-After` included.
        read_retries: Re-sends of a GET/HEAD/OPTIONS request whose answer was lost.
        time_max: Longest time in seconds an exchange keeps retrying, from its
            first attempt.
    """

    attempts = 5
    wait_min = 3.0
    wait_max = 60.0
    read_retries = 2
    time_max = 300.0

    def __init__(
        self,
        attempts: int = attempts,
        wait_min: float = wait_min,
        wait_max: float = wait_max,
        read_retries: int = read_retries,
        time_max: float = time_max,
    ) -> None:
        if not isinstance(attempts, int) or attempts < 1:
            raise ValueError("retries must be a positive integer")
        if not isinstance(read_retries, int) or read_retries < 0:
            raise ValueError("read_retries must be a non-negative integer")
        if wait_min < 0 or wait_max < 0:
            raise ValueError("retry waits must not be negative")
        if not time_max >= 0:
            raise ValueError("retry_time_max must not be negative")
        self.attempts = attempts
        self.wait_min = wait_min
        self.wait_max = wait_max
        self.read_retries = read_retries
        self.time_max = time_max

    def __repr__(self) -> str:
        return (
            f"RetryPolicy(attempts={self.attempts}, wait_min={self.wait_min:g}, "
            f"wait_max={self.wait_max:g}, read_retries={self.read_retries}, "
            f"time_max={self.time_max:g})"
        )

    @classmethod
    def configure(
        cls,
        retries: int | None = None,
        retry_wait_min: float | None = None,
        retry_wait_max: float | None = None,
        read_retries: int | None = None,
        retry_time_max: float | None = None,
    ) -> RetryPolicy:
        """Build a policy from keywords, falling back on environment variables."""
        return cls(
            attempts=env_setting(retries, "ARKINDEX_API_RETRIES", cls.attempts, int),
            wait_min=env_setting(
                retry_wait_min, "ARKINDEX_API_RETRY_WAIT_MIN", cls.wait_min, float
            ),
            wait_max=env_setting(
                retry_wait_max, "ARKINDEX_API_RETRY_WAIT_MAX", cls.wait_max, float
            ),
            read_retries=env_setting(
                read_retries, "ARKINDEX_API_READ_RETRIES", cls.read_retries, int
            ),
            time_max=env_setting(
                retry_time_max, "ARKINDEX_API_RETRY_TIME_MAX", cls.time_max, float
            ),
        )

    def wait(self, attempt_number: int, error: BaseException | None) -> float:
        """Seconds to wait after failed attempt number `attempt_number` (from 1)."""
        if http_status(error) == 429:
            asked = retry_after(error)
            if asked is not None:
                return min(asked, self.wait_max)
        exponential = 2 * 2 ** (attempt_number - 1)
        return min(self.wait_max, max(self.wait_min, exponential))

    def call(
        self,
        send: Callable[[], Any],
        method: str,
        operation_id: str,
        *,
        attempts: int | None = None,
        idempotent: bool | None = None,
        confirm: Callable[[UnconfirmedWriteError], Any] | None = None,
    ) -> Any:
        """Run `send` until it succeeds or the policy gives up, then re-raise.

        Args:
            send: One attempt; raises on failure (`ErrorResponse` or
                `requests.HTTPError` for an error answer).
            method: HTTP method of the exchange.
            operation_id: What is sent, for logs and errors.
            attempts: Total attempts instead of the policy's (a listing's
                ``retries``).
            idempotent: Whether a lost answer may be re-sent; default: only
                for GET, HEAD and OPTIONS.
            confirm: For a write: called with the `UnconfirmedWriteError` of a
                lost answer, returns the write's answer (it was applied) or
                `NOT_APPLIED` (it is sent again), or raises. Its ``answered``
                method, if any, is then given the answer of the exchange.
        """
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        started = time.monotonic()
        try:
            answer = send()
        except Exception as error:
            answer = self._retry(
                send,
                method,
                operation_id,
                error,
                attempts or self.attempts,
                idempotent,
                started,
                confirm,
            )
        answered = getattr(confirm, "answered", None)
        if answered is not None:
            answered(answer)
        return answer

    def _retry(
        self,
        send: Callable[[], Any],
        method: str,
        operation_id: str,
        first_failure: Exception,
        attempts: int,
        idempotent: bool,
        started: float,
        confirm: Callable[[UnconfirmedWriteError], Any] | None = None,
    ) -> Any:
        """Go on after a failed first attempt: ``first_failure`` is replayed first.

        The first attempt runs outside tenacity, whose bookkeeping costs a
        tenth of a request's own work: only a failure pays for it.
        """
        import tenacity

        unanswered = 0
        replayed: list[Exception] = [first_failure]

        def attempt() -> Any:
            nonlocal unanswered
            try:
                if replayed:
                    raise replayed.pop()
                return send()
            except requests.RequestException as error:
                failure = classify(error)
                if failure is not None and failure.kind == UNANSWERED:
                    if not idempotent:
                        # http_request names its exchanges "METHOD URL" already
                        subject = operation_id.removeprefix(f"{method} ")
                        unconfirmed = unconfirmed_write(error, method, subject)
                        if confirm is None:
                            raise unconfirmed from error
                        try:
                            answer = confirm(unconfirmed)
                        except UnconfirmedWriteError as settled:
                            raise settled from error
                        if answer is not NOT_APPLIED:
                            return answer
                        # Known not applied: as if never sent (the whole budget)
                        raise
                    unanswered += 1
                raise

        def should_retry(state: tenacity.RetryCallState) -> bool:
            error = state.outcome.exception()
            failure = classify(error)
            if failure is None:
                return False
            if failure.kind == UNANSWERED and unanswered > self.read_retries:
                return False
            # Within the total time cap, the wait included
            ends = time.monotonic() + self.wait(state.attempt_number, error)
            return ends - started <= self.time_max

        def log(state: tenacity.RetryCallState) -> None:
            failure = classify(state.outcome.exception())
            logger.info(
                "Retrying %s in %g seconds after %s (attempt %d of %d failed)",
                operation_id,
                state.next_action.sleep,
                failure.reason,
                state.attempt_number,
                attempts,
            )

        retrying = tenacity.Retrying(
            retry=should_retry,
            stop=tenacity.stop_after_attempt(attempts),
            wait=lambda state: self.wait(
                state.attempt_number, state.outcome.exception()
            ),
            sleep=_sleep,
            before_sleep=log,
            reraise=True,
        )
        return retrying(attempt)


# Pre-signed URLs hold secrets in their query: never shown in a log line
_URL_QUERY = re.compile(r"(https?://[^\s?#'\"]*)[?#][^\s'\"]*")


class FixedRetry:
    """Fixed waits, any `requests.RequestException` retried: upstream's download rules.

    Used by generation 0.6 only (spec 15 §10, §15), through the ``retry``
    keyword of `ArkindexClient.http_request`; same `call` as `RetryPolicy`.

    Attributes:
        attempts: Total attempts.
        waits: Seconds to wait after each failed attempt; the last one repeats.
        warn: Log upstream's WARNING before each wait, on the `arkindex_worker`
            logger: ``Request to {url} failed ({error!r}), retrying in
            {idle_for} seconds``, ``idle_for`` being the total of the waits so far.
    """

    def __init__(
        self, attempts: int, waits: Sequence[float], *, warn: bool = False
    ) -> None:
        if not isinstance(attempts, int) or attempts < 1:
            raise ValueError("attempts must be a positive integer")
        if not waits or any(wait < 0 for wait in waits):
            raise ValueError("waits must be given and not be negative")
        self.attempts = attempts
        self.waits = tuple(float(wait) for wait in waits)
        self.warn = warn

    def __repr__(self) -> str:
        waits = ", ".join(f"{wait:g}" for wait in self.waits)
        return (
            f"FixedRetry(attempts={self.attempts}, waits=({waits},), warn={self.warn})"
        )

    def wait(self, attempt_number: int) -> float:
        """Seconds to wait after failed attempt number `attempt_number` (from 1)."""
        return self.waits[min(attempt_number, len(self.waits)) - 1]

    def call(
        self,
        send: Callable[[], Any],
        method: str,
        operation_id: str,
        *,
        attempts: int | None = None,
        idempotent: bool | None = None,
        confirm: Callable[[UnconfirmedWriteError], Any] | None = None,
    ) -> Any:
        """Run `send` until it succeeds or the attempts are spent, then re-raise.

        Arguments as `RetryPolicy.call`; ``idempotent`` and ``confirm`` are
        ignored: every `requests.RequestException` is retried, as upstream does.
        ``operation_id`` names the URL (``"METHOD URL"`` from `http_request`).
        """
        import tenacity

        url = operation_id.removeprefix(f"{method} ")

        def log(state: tenacity.RetryCallState) -> None:
            idle_for = state.idle_for
            unit = "second" if idle_for == 1 else "seconds"
            error = _URL_QUERY.sub(r"\1", repr(state.outcome.exception()))
            logging.getLogger("arkindex_worker").warning(
                f"Request to {url} failed ({error}), retrying in {idle_for} {unit}"
            )

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(requests.RequestException),
            stop=tenacity.stop_after_attempt(attempts or self.attempts),
            wait=lambda state: self.wait(state.attempt_number),
            sleep=_sleep,
            before_sleep=log if self.warn else None,
            reraise=True,
        )
        return retrying(send)


IMAGE_RETRY_0_6 = FixedRetry(3, (5, 10), warn=True)
"""Generation 0.6 IIIF image requests (spec 15 §15): waits of 5 then 10 s, warned."""

EXPORT_RETRY_0_6 = FixedRetry(3, (10,))
"""Generation 0.6 download of an export's file (spec 15 §10 step 6): 10 s waits."""
