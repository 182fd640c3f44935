"""Every exception of the package, in one tree, with the exit status of each.

```
BaseException
└── ArkindexWorkerBaseException       root of the tree                              exit_code
    ├── ArkindexWorkerError (Exception)  our errors: `except Exception` catches them    1
    │   ├── ErrorResponse                 an HTTP 4xx/5xx answer (title, status_code, content)
    │   │   ├── ArkindexError             a standardised Arkindex error payload
    │   │   │   ├── ArkindexServerError       5xx, type "server_error"
    │   │   │   ├── ArkindexClientError       type "client_error"
    │   │   │   │   └── ArkindexValidationError   type "validation_error"
    │   │   │   └── ArkindexConflictError     409 "client_error" with an existing_id
    │   │   └── OfflineWriteRejected      offline: the database rejected a write (as a 400)
    │   ├── ClientError                   the call cannot be made (nothing was sent)
    │   ├── SchemaError                   no usable OpenAPI document
    │   ├── UnexpectedContentError (ValueError)   a success answer that is not the JSON expected
    │   │   ├── InvalidStatusError        an HTTP status below 100 or from 600 up
    │   │   └── AnswerLimitError          an answer too large or JSON nested too deep
    │   ├── InvalidHeaderValueError (requests.InvalidHeader)   a header value HTTP cannot carry
    │   ├── UnconfirmedWriteError (requests.RequestException)   a write was sent, its answer was lost
    │   │   └── Unconfirmed<Name> (+ requests.<Name>, e.g. ReadTimeout)   made on demand, never re-sent
    │   ├── ConfirmationUndecided         a read cannot tell whether a lost write was applied (internal)
    │   ├── RedirectedWriteError (requests.RequestException)   a write answered by a redirect
    │   ├── UnknownCountError (TypeError)         a paginated operation without a total count
    │   ├── IncompletePaginationError     a page could not be loaded: the listing would be incomplete
    │   │   ├── InvalidPaginationError    pages that contradict each other (count, next, cursor)
    │   │   └── PaginationLimitError      a listing of more pages than the client's cap
    │   ├── CacheDatabaseError (AssertionError)   a cache file that cannot be used
    │   ├── OfflineUnavailableError (NotImplementedError)   the operation needs a server
    │   ├── ArchiveError                  an archive could not be read or written
    │   │   └── UnsafeArchiveError        a tar member would land outside the extraction directory
    │   ├── UnsafePathError (ValueError)  a name from data that is not a plain file name
    │   ├── MissingCorpusError            no ARKINDEX_CORPUS_ID
    │   ├── SecretUnavailableError        a secret neither on the API nor in a local file
    │   ├── ExtrasDirNotFoundError        no directory of extra files
    │   ├── MissingDatasetArchive         a dataset's archive is not among its task's artifacts
    │   ├── MissingTypeError              element types missing from the corpus
    │   │   └── MissingElementType        one element type missing (0.6 form)
    │   ├── MissingEntityType             an entity type missing from the corpus
    │   ├── ExportNotFinishedError (AssertionError)   the corpus export is still being built
    │   ├── FailedExportError (AssertionError)        the corpus export failed
    │   └── NoExportURLError (AssertionError)         no storage URL for the corpus export
    ├── WorkerExit (SystemExit)           the run stops quietly with status `code`        1
    │   ├── RunFailed                     the run did nothing useful                       1
    │   │   ├── NothingToProcess          no element or set to process                    1
    │   │   ├── EveryItemFailed           every element or set failed                     1
    │   │   ├── TooManyFailures           --max-failures elements or sets failed          1
    │   │   ├── AuthenticationFailed      the API refused the token (401, or a first 403) 1
    │   │   ├── ServerUnreachable         the API could not be reached on the first item  1
    │   │   ├── ConfigurationFailed       generation 0.6: the worker could not be configured 1
    │   │   └── DatabaseFull              offline: the database's disk is full            1
    │   └── Interrupted (+KeyboardInterrupt)   an interrupted run                         130 or 143
    └── Terminated (KeyboardInterrupt)    SIGTERM was received (becomes Interrupted)      143
```

Statuses of a worker process ([exit_status][arkindex_worker.errors.exit_status]
maps an exception to one; only `arkindex_worker.cli.run_worker` exits with it):

| status | when |
| --- | --- |
| 0 | the run finished (some items may have failed) |
| 1 | a failed run (`RunFailed`) or a fatal error (any other exception) |
| 2 | an invalid command-line value (argparse's own exit) |
| 130 | interrupted by Ctrl-C (SIGINT) |
| 143 | stopped by SIGTERM |

The classes in parentheses are compatibility bases: code written for upstream
catches those. `WorkerExit` and `Terminated` are not `Exception`s, as
`SystemExit` and `KeyboardInterrupt`, so that ``except Exception`` (a worker's
own, or the run loop's around each item) never swallows the end of a run or an
interrupt. Each class is importable from the module that defined it before
(e.g. `arkindex_worker.api.ErrorResponse`, `arkindex_worker.cache.CacheDatabaseError`).

This module imports nothing from the package, so that any module can import it.
"""

from __future__ import annotations

import functools
import signal
from typing import Any

import requests

__all__ = [
    "SIGINT_STATUS",
    "SIGTERM_STATUS",
    "AnswerLimitError",
    "ArchiveError",
    "ArkindexClientError",
    "ArkindexConflictError",
    "ArkindexError",
    "ArkindexServerError",
    "ArkindexValidationError",
    "ArkindexWorkerBaseException",
    "ArkindexWorkerError",
    "AuthenticationFailed",
    "CacheDatabaseError",
    "ClientError",
    "ConfigurationFailed",
    "ConfirmationUndecided",
    "DatabaseFull",
    "ErrorResponse",
    "EveryItemFailed",
    "ExportNotFinishedError",
    "ExtrasDirNotFoundError",
    "FailedExportError",
    "IncompletePaginationError",
    "Interrupted",
    "InvalidHeaderValueError",
    "InvalidPaginationError",
    "InvalidStatusError",
    "MissingCorpusError",
    "MissingDatasetArchive",
    "MissingElementType",
    "MissingEntityType",
    "MissingTypeError",
    "NoExportURLError",
    "NothingToProcess",
    "OfflineUnavailableError",
    "OfflineWriteRejected",
    "PaginationLimitError",
    "RedirectedWriteError",
    "RunFailed",
    "SchemaError",
    "SecretUnavailableError",
    "ServerUnreachable",
    "Terminated",
    "TooManyFailures",
    "UnconfirmedWriteError",
    "UnexpectedContentError",
    "UnknownCountError",
    "UnsafeArchiveError",
    "UnsafePathError",
    "WorkerExit",
    "exit_status",
]

SIGINT_STATUS = 128 + signal.SIGINT
"""Status of a run interrupted by Ctrl-C (130), as a shell reports it."""

SIGTERM_STATUS = 128 + signal.SIGTERM
"""Status of a run stopped by SIGTERM (143), as a shell reports it."""


# ---------------------------------------------------------------- the roots


class ArkindexWorkerBaseException(BaseException):
    """Root of the package's exceptions; `exit_code` is the process status it gives."""

    exit_code: int = 1


class ArkindexWorkerError(ArkindexWorkerBaseException, Exception):
    """An error of the package: a fatal error when it stops the run (status 1)."""


# ---------------------------------------------------------------- API client


class ErrorResponse(ArkindexWorkerError):
    """An HTTP error answer (status 400 to 599) from the API.

    Args:
        title: Status code and reason phrase, e.g. `"404 Not Found"`.
        status_code: HTTP status code.
        content: Decoded body (dict, list, str) or `None` for an empty body.
        response: The `requests.Response`, when the error comes from the network.
    """

    def __init__(
        self,
        title: str,
        status_code: int,
        content: Any,
        response: requests.Response | None = None,
    ) -> None:
        super().__init__(title, status_code, content)
        self.title = title
        self.status_code = status_code
        self.content = content
        self.response = response

    def __str__(self) -> str:
        return repr(self.content)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.title!r}, "
            f"status_code={self.status_code!r}, content={self.content!r})"
        )


class ArkindexError(ErrorResponse):
    """An error answer whose body follows Arkindex's standardised error format."""


class ArkindexServerError(ArkindexError):
    """A 5xx answer of type `server_error`."""


class ArkindexClientError(ArkindexError):
    """An answer of type `client_error`."""


class ArkindexValidationError(ArkindexClientError):
    """An answer of type `validation_error`."""


class ArkindexConflictError(ArkindexError):
    """A 409 `client_error` answer naming the conflicting object (`existing_id`)."""


class ClientError(ArkindexWorkerError):
    """The call cannot be made: unknown operation, bad parameters or bad URL.

    Attributes:
        messages: The `arkindex_worker.api.ErrorMessage`s describing each problem.
    """

    def __init__(self, messages: list[Any]) -> None:
        super().__init__(messages)
        self.messages = list(messages)

    def __str__(self) -> str:
        if len(self.messages) == 1 and self.messages[0].index is None:
            return self.messages[0].text
        return str(self.messages)


class SchemaError(ArkindexWorkerError):
    """Acquiring or reading an OpenAPI document failed."""


class UnexpectedContentError(ArkindexWorkerError, ValueError):
    """A success answer whose body is not the JSON the operation returns.

    Typically an HTML page: the API URL points at a web front-end, or a proxy
    answered with its own page and a 2xx status. Not an `ErrorResponse`, whose
    contract is an HTTP 4xx/5xx answer: code that catches `ErrorResponse` reads
    `status_code` to handle conflicts or missing objects, and the paginator
    retries any `ErrorResponse`; neither applies to a page that will not change.
    Not a `ClientError` either, which means nothing was sent. A `ValueError`,
    like the `json.JSONDecodeError` callers used to get from such answers.

    Attributes:
        operation_id: The operation that expected JSON.
        status_code: HTTP status of the answer.
        content_type: Media type of the answer (`None` without the header).
        url: URL that answered.
    """

    def __init__(
        self,
        operation_id: str,
        status_code: int,
        content_type: str | None,
        url: str,
        problem: str,
        detail: str,
    ) -> None:
        self.operation_id = operation_id
        self.status_code = status_code
        self.content_type = content_type
        self.url = url
        media = content_type or "no Content-Type"
        super().__init__(
            f"Operation {operation_id} expected JSON, got {problem} "
            f"({media}, HTTP {status_code} from {url}): {detail}"
        )


class InvalidStatusError(UnexpectedContentError):
    """An answer whose HTTP status is below 100 or from 600 up: it means nothing."""


class AnswerLimitError(UnexpectedContentError):
    """An answer over a limit of the client: its size or its JSON depth.

    See `arkindex_worker.api.answers` for the limits and their variables.
    """


class InvalidHeaderValueError(ArkindexWorkerError, requests.exceptions.InvalidHeader):
    """A header value HTTP cannot carry (line break, NUL, non-latin-1 character).

    The message names the header, never its value (a token, a credential).
    Nothing was sent.
    """


class UnconfirmedWriteError(ArkindexWorkerError, requests.RequestException):
    """Mixin of the errors raised when a write was sent but its answer was lost.

    The concrete class derives from the original `requests` exception class too
    (e.g. `requests.ReadTimeout`), so existing `except` clauses keep working.
    """


@functools.cache
def _unconfirmed_class(cls: type[requests.RequestException]) -> type:
    """``Unconfirmed<Name>``: `UnconfirmedWriteError` and the `requests` class ``cls``."""
    return type(f"Unconfirmed{cls.__name__}", (UnconfirmedWriteError, cls), {})


class ConfirmationUndecided(ArkindexWorkerError):
    """A read cannot tell whether a write whose answer was lost was applied.

    Raised by the reads of `arkindex_worker.api.readback` (its message is the
    reason); the client turns it into the write's `UnconfirmedWriteError`.
    """


class RedirectedWriteError(ArkindexWorkerError, requests.RequestException):
    """A write answered by a redirect that is not followed.

    A POST, PUT, PATCH or DELETE answered 301, 302 or 303 (which `requests`
    would turn into a GET), or 307/308 towards another origin than the API's.
    The redirect target was not contacted. Never retried.
    """


class UnknownCountError(ArkindexWorkerError, TypeError):
    """The total count of a paginated operation is unknown.

    Derives from `TypeError` so that `list(paginator)`, which asks `len()` for a
    size hint, falls back to plain iteration instead of failing.
    """


class IncompletePaginationError(ArkindexWorkerError):
    """A page could not be loaded: stopping, as the data would be incomplete."""


class InvalidPaginationError(IncompletePaginationError):
    """The server's pages contradict themselves: the listing cannot be trusted.

    An invalid `count`, a `next` page already given, a cursor that does not
    change, more pages than the count explains, or a page that is not a page.
    """


class PaginationLimitError(IncompletePaginationError):
    """A listing would take more pages than the client's cap (`ARKINDEX_API_MAX_PAGES`)."""


# ---------------------------------------------------------------- cache, offline, archives


class CacheDatabaseError(ArkindexWorkerError, AssertionError):
    """A cache database file that cannot be used (our addition).

    Derives from `AssertionError` because upstream reports a cache of another
    version with an `AssertionError`; callers catching that also catch the
    other unusable-file cases (missing file, not SQLite, missing columns).
    """


class OfflineUnavailableError(ArkindexWorkerError, NotImplementedError):
    """The operation needs an Arkindex server: it cannot run offline."""


class OfflineWriteRejected(ErrorResponse):
    """Offline: the database rejected a write (a foreign key, a trigger, a constraint).

    The element fails as it would with a ``400 Bad Request`` answer online; the
    ``detail`` of ``content`` holds the database's message.
    """

    def __init__(self, detail: str) -> None:
        super().__init__("400 Bad Request", 400, {"detail": detail})


class ArchiveError(ArkindexWorkerError):
    """An archive could not be compressed, decompressed, read or created."""


class UnsafeArchiveError(ArchiveError):
    """A tar member would be written outside the extraction directory."""


class UnsafePathError(ArkindexWorkerError, ValueError):
    """A name from the server or a database is not a plain file name.

    Raised before the name becomes a path component: it holds a separator,
    is ``.`` or ``..``, or is absolute. Derives from `ValueError` (a bad value).
    """


# ---------------------------------------------------------------- worker set-up and mixins


class MissingCorpusError(ArkindexWorkerError):
    """The corpus of the run is unknown (no ``ARKINDEX_CORPUS_ID``)."""


class SecretUnavailableError(ArkindexWorkerError):
    """A secret is available neither on the API nor as a local file."""


class ExtrasDirNotFoundError(ArkindexWorkerError):
    """The directory of extra files was not given or does not exist."""


class MissingDatasetArchive(ArkindexWorkerError):
    """A dataset's compressed archive is not among its task's artifacts."""


class MissingTypeError(ArkindexWorkerError):
    """Some element types are missing from the corpus and were not created."""


class MissingElementType(MissingTypeError):
    """An element type is missing from the corpus (0.6 form of the check).

    Derives from [MissingTypeError][arkindex_worker.errors.MissingTypeError]
    so that 0.4 code catching it also catches 0.6-form failures.
    """


class MissingEntityType(ArkindexWorkerError):
    """An entity type is missing from the corpus and may not be created."""


class ExportNotFinishedError(ArkindexWorkerError, AssertionError):
    """The export is still ``created`` or ``running``.

    Derives from ``AssertionError`` as upstream, whose callers catch that.
    """


class FailedExportError(ArkindexWorkerError, AssertionError):
    """The export is in the ``failed`` state."""


class NoExportURLError(ArkindexWorkerError, AssertionError):
    """The server did not give the storage URL of an export."""


# ---------------------------------------------------------------- end of a run


class WorkerExit(ArkindexWorkerBaseException, SystemExit):
    """The run stops: the interpreter exits quietly with status ``code``.

    A `SystemExit`, so that ``worker.run()`` called directly (as upstream's
    workers do) exits with that status and no traceback, and that ``except
    Exception`` does not catch it. ``code`` defaults to the class's `exit_code`.
    """

    def __init__(self, code: int | None = None) -> None:
        super().__init__(self.exit_code if code is None else code)


class RunFailed(WorkerExit):
    """The run did nothing useful (status 1); the log says why."""


class NothingToProcess(RunFailed):
    """There is no element or set to process (status 1)."""


class EveryItemFailed(RunFailed):
    """Every element or set of the run failed (status 1)."""


class TooManyFailures(RunFailed):
    """``--max-failures`` elements or sets failed: the run stopped early (status 1)."""


class AuthenticationFailed(RunFailed):
    """The API refused the run's token (status 1): missing, invalid or expired.

    A 401 answer to any request of the run, or a 403 to its first request.
    """


class ServerUnreachable(RunFailed):
    """The API could not be reached for the run's first item (status 1)."""


class ConfigurationFailed(RunFailed):
    """Generation 0.6: ``configure()`` failed in ``run()`` (status 1).

    Logged as ``Failed to configure this worker: {error!r}``; the error is the
    ``__cause__``. Under generation 0.4 the error itself propagates.
    """


class DatabaseFull(RunFailed):
    """Offline: the database or its disk is full; the run stopped (status 1).

    The line logged names ``database or disk is full`` and the database's path.
    """


class Interrupted(WorkerExit, KeyboardInterrupt):
    """An interrupted run: exits quietly with its status (``code``), 130 or 143.

    Both a `SystemExit`, so that the interpreter exits with that status and no
    traceback, and a `KeyboardInterrupt`, so that code catching the interrupt
    (as upstream's callers may) still does.
    """

    exit_code = SIGINT_STATUS


class Terminated(ArkindexWorkerBaseException, KeyboardInterrupt):
    """The process received SIGTERM (a `KeyboardInterrupt`, like Ctrl-C)."""

    exit_code = SIGTERM_STATUS


# ---------------------------------------------------------------- exit status


def exit_status(error: BaseException | None) -> int:
    """The process status for an exception that ended a run (`None`: success, 0).

    A `SystemExit` gives its ``code`` as the interpreter does (`None` is 0, a
    message is 1), an exception of the tree its `exit_code`, another
    `KeyboardInterrupt` 130 (SIGINT), any other exception 1.
    """
    if error is None:
        return 0
    if isinstance(error, SystemExit):
        code = error.code
        if code is None:
            return 0
        return code if isinstance(code, int) else 1
    if isinstance(error, ArkindexWorkerBaseException):
        return error.exit_code
    if isinstance(error, KeyboardInterrupt):
        return SIGINT_STATUS
    return 1
