"""Exceptions of the API client.

```
Exception
├── ErrorResponse                 an HTTP 4xx/5xx answer (title, status_code, content)
│   └── ArkindexError             a standardised Arkindex error payload
│       ├── ArkindexServerError       5xx, type "server_error"
│       ├── ArkindexClientError       type "client_error"
│       │   └── ArkindexValidationError   type "validation_error"
│       └── ArkindexConflictError     409 "client_error" with an existing_id
├── ClientError                   the call cannot be made (nothing was sent)
└── SchemaError                   no usable OpenAPI document

ValueError
└── UnexpectedContentError        a success answer that is not the JSON expected

requests.RequestException subclass (ReadTimeout, ConnectionError, …)
└── UnconfirmedWriteError (mixin)  a write was sent, its answer was lost: never re-sent

requests.RequestException
└── RedirectedWriteError          a write answered by a redirect it must not follow
```
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import requests

__all__ = [
    "ArkindexClientError",
    "ArkindexConflictError",
    "ArkindexError",
    "ArkindexServerError",
    "ArkindexValidationError",
    "ClientError",
    "ErrorMessage",
    "ErrorResponse",
    "RedirectedWriteError",
    "SchemaError",
    "UnconfirmedWriteError",
    "UnexpectedContentError",
    "error_from_response",
    "unconfirmed_write",
]


class ErrorResponse(Exception):
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


def _is_standard_error(error: Any) -> bool:
    if not isinstance(error, dict):
        return False
    attr = error.get("attr")
    attr_ok = attr is None or (
        isinstance(attr, list)
        and all(
            isinstance(item, str | int) and not isinstance(item, bool) for item in attr
        )
    )
    return (
        attr_ok
        and isinstance(error.get("code"), str)
        and isinstance(error.get("detail"), str)
    )


def _error_class(status_code: int, content: Any) -> type[ErrorResponse]:
    if not (
        isinstance(content, dict)
        and isinstance(content.get("type"), str)
        and isinstance(content.get("errors"), list)
        and all(_is_standard_error(error) for error in content["errors"])
    ):
        return ErrorResponse
    kind = content["type"]
    if kind == "server_error" and status_code >= 500:
        return ArkindexServerError
    if kind == "client_error":
        if status_code == 409 and "existing_id" in content:
            return ArkindexConflictError
        return ArkindexClientError
    if kind == "validation_error":
        return ArkindexValidationError
    return ErrorResponse


def error_from_response(
    title: str,
    status_code: int,
    content: Any,
    response: requests.Response | None = None,
) -> ErrorResponse:
    """The most specific `ErrorResponse` for an error answer."""
    return _error_class(status_code, content)(title, status_code, content, response)


class ErrorMessage(NamedTuple):
    """One problem found before sending a request."""

    text: str
    code: str
    index: list | None = None
    position: Any = None


class ClientError(Exception):
    """The call cannot be made: unknown operation, bad parameters or bad URL.

    Attributes:
        messages: The `ErrorMessage`s describing each problem.
    """

    def __init__(self, messages: list[ErrorMessage]) -> None:
        super().__init__(messages)
        self.messages = list(messages)

    def __str__(self) -> str:
        if len(self.messages) == 1 and self.messages[0].index is None:
            return self.messages[0].text
        return str(self.messages)


class SchemaError(Exception):
    """Acquiring or reading an OpenAPI document failed."""


class UnexpectedContentError(ValueError):
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


class UnconfirmedWriteError(requests.RequestException):
    """Mixin of the errors raised when a write was sent but its answer was lost.

    The concrete class derives from the original `requests` exception class too
    (e.g. `requests.ReadTimeout`), so existing `except` clauses keep working.
    """


@functools.cache
def _unconfirmed_class(cls: type[requests.RequestException]) -> type:
    return type(f"Unconfirmed{cls.__name__}", (UnconfirmedWriteError, cls), {})


def unconfirmed_write(
    error: requests.RequestException, method: str, operation_id: str
) -> requests.RequestException:
    """Wrap a failure that happened after a write may have reached the server."""
    message = (
        f"{method} {operation_id}: the request may or may not have been applied by "
        f"the server (no answer received: {error}); it was not sent again"
    )
    return _unconfirmed_class(type(error))(
        message, request=error.request, response=error.response
    )


class RedirectedWriteError(requests.RequestException):
    """A write answered by a redirect that is not followed.

    A POST, PUT, PATCH or DELETE answered 301, 302 or 303 (which `requests`
    would turn into a GET), or 307/308 towards another origin than the API's.
    The redirect target was not contacted. Never retried.
    """
