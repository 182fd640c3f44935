"""Exceptions of the API client (defined in `arkindex_worker.errors`, which draws the whole tree).

```
ArkindexWorkerError (Exception)
├── ErrorResponse                 an HTTP 4xx/5xx answer (title, status_code, content)
│   └── ArkindexError             a standardised Arkindex error payload
│       ├── ArkindexServerError       5xx, type "server_error"
│       ├── ArkindexClientError       type "client_error"
│       │   └── ArkindexValidationError   type "validation_error"
│       └── ArkindexConflictError     409 "client_error" with an existing_id
├── ClientError                   the call cannot be made (nothing was sent)
├── SchemaError                   no usable OpenAPI document
├── UnexpectedContentError (ValueError)   a success answer that is not the JSON expected
├── UnconfirmedWriteError (mixin, requests.RequestException)   a write was sent, its answer was lost: never re-sent
│   └── Unconfirmed<Name> (+ the requests class: ReadTimeout, ConnectionError, …)
└── RedirectedWriteError (requests.RequestException)   a write answered by a redirect it must not follow
```

This module builds them: `error_from_response` picks the class of an error
answer, `unconfirmed_write` wraps a lost answer; `ErrorMessage` is one problem
of a `ClientError`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import requests

from arkindex_worker.errors import (
    ArkindexClientError,
    ArkindexConflictError,
    ArkindexError,
    ArkindexServerError,
    ArkindexValidationError,
    ClientError,
    ErrorResponse,
    RedirectedWriteError,
    SchemaError,
    UnconfirmedWriteError,
    UnexpectedContentError,
    _unconfirmed_class,
)

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
