"""What the client accepts of an API answer: status, size and JSON depth.

A server is not trusted blindly. An API answer (not a download) is refused
with an [UnexpectedContentError][arkindex_worker.errors.UnexpectedContentError]
subclass, naming the operation, when:

- its HTTP status is below 100 or from 600 up (`InvalidStatusError`);
- its body, once decompressed, is larger than `max_bytes` (`AnswerLimitError`):
  reading stops there, so a small compressed answer cannot fill the memory;
- its JSON is nested deeper than `max_depth` (`AnswerLimitError`), checked
  before decoding, which would otherwise end in a `RecursionError`.

The paginator stops a listing after `max_pages` pages (`PaginationLimitError`).

| limit | variable | `AnswerLimits` field | default |
| --- | --- | --- | --- |
| decompressed size of an API answer | `ARKINDEX_API_MAX_ANSWER_SIZE` (bytes) | `max_bytes` | 100 MiB |
| nesting depth of a JSON answer | `ARKINDEX_API_MAX_JSON_DEPTH` | `max_depth` | 256 |
| pages of one listing | `ARKINDEX_API_MAX_PAGES` | `max_pages` | 100,000 |

The client reads them when it is built (keyword `limits` of
[ArkindexClient][arkindex_worker.api.ArkindexClient]). Operations answering
with a file, and `http_request` (images, storage), stream to disk: the size
limit does not apply to them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import requests

from arkindex_worker.api.download import content_type, decode_response, looks_like_html
from arkindex_worker.api.errors import error_from_response
from arkindex_worker.api.options import env_setting
from arkindex_worker.errors import (
    AnswerLimitError,
    InvalidStatusError,
    UnexpectedContentError,
)

if TYPE_CHECKING:
    from arkindex_worker.api.schema import Operation

__all__ = [
    "MAX_ANSWER_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_PAGES",
    "AnswerLimits",
    "check_json_depth",
    "handle_answer",
    "read_body",
    "valid_status",
]

logger = logging.getLogger("arkindex_worker.api")

MAX_ANSWER_BYTES = 100 << 20
"""Default largest decompressed size of an API answer, in bytes (100 MiB)."""
MAX_JSON_DEPTH = 256
"""Default deepest nesting of arrays and objects in a JSON answer."""
MAX_PAGES = 100_000
"""Default largest number of pages of one listing."""

_VARIABLES = {
    "max_bytes": ("ARKINDEX_API_MAX_ANSWER_SIZE", MAX_ANSWER_BYTES),
    "max_depth": ("ARKINDEX_API_MAX_JSON_DEPTH", MAX_JSON_DEPTH),
    "max_pages": ("ARKINDEX_API_MAX_PAGES", MAX_PAGES),
}
_CHUNK = 64 * 1024
_NOT_STRUCTURE = bytes(set(range(256)) - set(b'"[]{}'))
_CURLY_AS_SQUARE = bytes.maketrans(b"{}", b"[]")


@dataclass(frozen=True)
class AnswerLimits:
    """The limits a client puts on the server's answers (see the module's table).

    Attributes:
        max_bytes: Largest decompressed size of an API answer, in bytes.
        max_depth: Deepest nesting of arrays and objects in a JSON answer.
        max_pages: Largest number of pages of one listing.
    """

    max_bytes: int = MAX_ANSWER_BYTES
    max_depth: int = MAX_JSON_DEPTH
    max_pages: int = MAX_PAGES

    def __post_init__(self) -> None:
        for name in _VARIABLES:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")

    @classmethod
    def from_env(cls, **values: int | None) -> AnswerLimits:
        """Limits from keywords, else the environment variables, else the defaults.

        Raises:
            ValueError: A value is not a positive integer.
        """
        return cls(
            **{
                name: env_setting(values.get(name), variable, default, int)
                for name, (variable, default) in _VARIABLES.items()
            }
        )


def valid_status(status: Any) -> bool:
    """Whether an HTTP status is one HTTP defines a meaning for (100 to 599)."""
    return isinstance(status, int) and 100 <= status <= 599


def read_body(response: requests.Response, operation_id: str, max_bytes: int) -> bytes:
    """Read a streamed answer's body, decompressed, up to `max_bytes` bytes.

    The body is then also `response.content`. Over the limit, the connection
    is closed (the rest of the body is never read).

    Raises:
        AnswerLimitError: The decompressed body is larger than `max_bytes`.
    """
    if response._content_consumed:
        content = response.content or b""
        chunks = [content]
        size = len(content)
    else:
        chunks, size = [], 0
        for chunk in response.iter_content(_CHUNK):
            size += len(chunk)
            if size > max_bytes:
                break
            chunks.append(chunk)
    if size > max_bytes:
        response.close()
        raise _refused(
            operation_id,
            response,
            "an answer too large",
            f"more than {max_bytes} bytes once decompressed, the limit "
            f"(ARKINDEX_API_MAX_ANSWER_SIZE)",
        )
    body = b"".join(chunks)
    response._content = body
    response._content_consumed = True
    return body


def check_json_depth(data: bytes, max_depth: int) -> bool:
    """Whether the arrays and objects of a JSON text nest at most `max_depth` deep.

    Without recursion, at the speed of `bytes` methods: escapes and strings are
    removed, then the brackets alone, innermost pairs first, at most
    `max_depth` times. Text that is not JSON is not judged here (`True`): the
    decoder reports it.
    """
    if data.count(b"[") + data.count(b"{") <= max_depth:
        return True
    # Escaped backslashes first, so that `\\"` still ends a string
    reduced = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    reduced = reduced.translate(_CURLY_AS_SQUARE, _NOT_STRUCTURE)
    if b'"' in reduced:
        reduced = b"".join(reduced.split(b'"')[::2])
    for _ in range(max_depth):
        shorter = reduced.replace(b"[]", b"")
        if len(shorter) == len(reduced):
            return True  # nothing left, or not JSON
        reduced = shorter
    return not reduced


def _refused(
    operation_id: str,
    response: requests.Response,
    problem: str,
    detail: str,
    cls: type[UnexpectedContentError] = AnswerLimitError,
) -> UnexpectedContentError:
    return cls(
        operation_id,
        response.status_code,
        content_type(response),
        response.url,
        problem,
        detail,
    )


def _too_deep(
    operation: Operation, response: requests.Response, limits: AnswerLimits
) -> UnexpectedContentError:
    return _refused(
        operation.id,
        response,
        "JSON nested too deep",
        f"more than {limits.max_depth} levels of arrays and objects, "
        "the limit (ARKINDEX_API_MAX_JSON_DEPTH)",
    )


def handle_answer(
    operation: Operation, response: requests.Response, limits: AnswerLimits
) -> Any:
    """The decoded answer of an operation, or the exception it stands for.

    Raises:
        ErrorResponse: A 4xx or 5xx answer.
        UnexpectedContentError: A success answer that is not the JSON expected,
            an invalid status, or an answer over the limits.
    """
    status = response.status_code
    if not valid_status(status):
        response.close()
        raise _refused(
            operation.id,
            response,
            "an invalid HTTP status",
            "HTTP statuses go from 100 to 599",
            InvalidStatusError,
        )
    failed = 400 <= status <= 599
    expects_json = not failed and not operation.download
    if not operation.download or failed:
        body = read_body(response, operation.id, limits.max_bytes)
        media = content_type(response)
        if (media is None or media == "application/json") and not check_json_depth(
            body, limits.max_depth
        ):
            if failed:
                # Still the error answer it is, its body left undecoded
                raise error_from_response(
                    f"{status} {response.reason}", status, response.text, response
                )
            raise _too_deep(operation, response, limits)
    if expects_json and looks_like_html(response):
        raise _refused(
            operation.id,
            response,
            "an HTML page",
            "the API URL may point at a web page, or a proxy answered",
            UnexpectedContentError,
        )
    try:
        content = decode_response(response, as_file=operation.download and not failed)
    except Exception as error:
        # A 5xx page is kept as text; a success answer that is not JSON
        # (or not UTF-8) must not reach worker code as a confusing value
        if 500 <= status <= 599:
            content = response.text
        elif expects_json and isinstance(error, RecursionError):
            # Text that is not JSON can still make the decoder recurse
            raise _too_deep(operation, response, limits) from None
        elif expects_json and isinstance(error, ValueError):
            raise _refused(
                operation.id,
                response,
                "an invalid JSON body",
                str(error),
                UnexpectedContentError,
            ) from error
        else:
            raise
    if failed:
        raise error_from_response(
            f"{status} {response.reason}", status, content, response
        )
    logger.debug("%s %s: %s", operation.method, operation.id, status)
    return content
