"""The Arkindex API client.

Operations are read from the OpenAPI document bundled with the package, so building
a client sends no request. `schema_url` (or `ARKINDEX_API_SCHEMA_URL`) replaces that
document; otherwise the server's own schema is loaded once, lazily, the first time a
call names an operation or a keyword the bundled document does not know. Calls
are checked by `arkindex_worker.api.validation` before anything is sent, as the
offline and mock clients check theirs (`arkindex_worker.api.protocol`).

Every request is sent with (connect, read) time-outs of (30, 60) seconds;
`ARKINDEX_API_CONNECT_TIMEOUT` and `ARKINDEX_API_TIMEOUT` (the read time-out)
change them, in seconds (keywords `connect_timeout` and `read_timeout`).

Every exchange goes through the client's one session, an
[ArkindexSession][arkindex_worker.api.session.ArkindexSession] (redirect and
token rules), with the one retry policy of `arkindex_worker.api.retry`:
API operations through `request`, and any other URL (IIIF images, storage
downloads and uploads) through `http_request`.

A success answer that is not the JSON an operation returns (an HTML page from a
web front-end or a proxy, a body that is not valid JSON) raises
`UnexpectedContentError`, naming the operation and the content type; so does
an answer over the client's limits or with an invalid status
(`arkindex_worker.api.answers`, keyword `limits`).

!!! note "Differs from upstream"
    The upstream client fetches the server schema at construction, and only retries
    HTTP 5xx answers. See `arkindex_worker.api.retry` for our retry policy and its
    environment variables.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin, urlparse

import requests

from arkindex_worker.api.answers import AnswerLimits, handle_answer, valid_status
from arkindex_worker.api.auth import DEFAULT_CSRF_COOKIE, TokenAuth
from arkindex_worker.api.confirm import confirmation
from arkindex_worker.api.download import ACCEPT
from arkindex_worker.api.errors import (
    ClientError,
    ErrorMessage,
    SchemaError,
)
from arkindex_worker.api.options import (
    DEFAULT_BASE_URL,
    SCHEMA_ENDPOINT,
    request_timeout,
    should_verify_cert,
)
from arkindex_worker.api.pagination import ResponsePaginator
from arkindex_worker.api.retry import FixedRetry, RetryPolicy
from arkindex_worker.api.schema import (
    Operation,
    bundled_downloads,
    bundled_operations,
    csrf_cookie_from_document,
    load_document,
    parse_document,
)
from arkindex_worker.api.session import ArkindexSession
from arkindex_worker.api.urls import (
    for_messages,
    hide_queries,
    origin,
    without_credentials,
)
from arkindex_worker.api.validation import (
    check_parameters,
    find_operation,
    unknown_parameters,
)

__all__ = ["ArkindexClient", "Document", "encode_json"]

logger = logging.getLogger("arkindex_worker.api")

USER_AGENT = "arkindex-base-worker/0.4.0 (arkindex_worker)"
_TEMPLATE_FIELD = re.compile(r"\{(\+?)([^}]+)\}")


class Document:
    """The operations a client knows and the base URL it calls.

    Attributes:
        url: The base URL.
        links: Operation descriptions by operationId.
    """

    def __init__(self, url: str, links: dict[str, Operation] | None = None) -> None:
        self.url = url
        self.links = {} if links is None else links

    def __repr__(self) -> str:
        return f"<Document {self.url!r}: {len(self.links)} operations>"


def _uuid_as_text(value: Any) -> str:
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def encode_json(body: Any) -> bytes:
    """A JSON body as `requests` encodes it (``allow_nan=False``), UUIDs as text.

    Raises:
        requests.exceptions.InvalidJSONError: The body cannot be encoded.
    """
    try:
        text = json.dumps(body, allow_nan=False, default=_uuid_as_text)
    except (TypeError, ValueError) as error:
        raise requests.exceptions.InvalidJSONError(error) from error
    return text.encode("utf-8")


def _without_credentials(base_url: str) -> str:
    public = without_credentials(base_url)
    if public != base_url:
        logger.warning(
            "The user name and password in the API URL are ignored; "
            "authenticate with a token"
        )
    return public


def _invalid(text: str, code: str) -> ClientError:
    return ClientError([ErrorMessage(text, code)])


class ArkindexClient:
    """Client of the Arkindex REST API.

    Args:
        token: API token (`Token` scheme) or task token (`Ponos` scheme).
        auth_scheme: Scheme of the `Authorization` header.
        base_url: Arkindex instance; only its scheme and host are used.
        schema_url: URL or local file of an OpenAPI document (JSON or YAML) that
            replaces the bundled one.
        csrf_cookie: Name of the CSRF cookie.
        sleep: Seconds to wait before each request.
        verify: Verify TLS certificates (default: except on `ark.localhost`).
        retries: Total attempts of a request (`ARKINDEX_API_RETRIES`, 5).
        retry_wait_min: Shortest retry wait (`ARKINDEX_API_RETRY_WAIT_MIN`, 3 s).
        retry_wait_max: Longest retry wait (`ARKINDEX_API_RETRY_WAIT_MAX`, 60 s).
        read_retries: Re-sends of a read whose answer was lost
            (`ARKINDEX_API_READ_RETRIES`, 2).
        connect_timeout: Seconds to open a connection
            (`ARKINDEX_API_CONNECT_TIMEOUT`, 30).
        read_timeout: Seconds to wait for an answer (`ARKINDEX_API_TIMEOUT`, 60).
        retry_time_max: Longest time an exchange keeps retrying
            (`ARKINDEX_API_RETRY_TIME_MAX`, 300 s).
        limits: Limits on answers (default: `AnswerLimits.from_env()`).

    A user name and password in `base_url` are ignored (with a warning): they
    would otherwise travel in headers and appear in logs.

    Raises:
        SchemaError: The `schema_url` document could not be read.
        ValueError: A retry or time-out setting is invalid.
    """

    def __init__(
        self,
        token: str | None = None,
        auth_scheme: str = "Token",
        base_url: str = DEFAULT_BASE_URL,
        schema_url: str | None = None,
        csrf_cookie: str | None = None,
        sleep: float | None = 0,
        verify: bool | None = None,
        *,
        retries: int | None = None,
        retry_wait_min: float | None = None,
        retry_wait_max: float | None = None,
        read_retries: int | None = None,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        retry_time_max: float | None = None,
        limits: AnswerLimits | None = None,
    ) -> None:
        self.limits = AnswerLimits.from_env() if limits is None else limits
        self.timeout = request_timeout(connect_timeout, read_timeout)
        self.retry_policy = RetryPolicy.configure(
            retries=retries,
            retry_wait_min=retry_wait_min,
            retry_wait_max=retry_wait_max,
            read_retries=read_retries,
            retry_time_max=retry_time_max,
        )
        base_url = _without_credentials(base_url)
        self.session = ArkindexSession(origin(base_url))
        if verify is None:
            verify = should_verify_cert(base_url) and should_verify_cert(schema_url)
        if not verify:
            import urllib3

            logger.warning(
                "SSL certificate verification is disabled for Arkindex instances "
                "on ark.localhost"
            )
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        self.session.verify = verify
        self.session.headers.update({"Accept": ACCEPT, "User-Agent": USER_AGENT})

        self.schema_url = schema_url
        self.document = Document(url=base_url)
        # None: bundled table, server schema not tried yet; dict: the operations of
        # a schema_url or server document; False: the server schema failed to load.
        self._schema_operations: dict[str, Operation] | bool | None = None
        if schema_url:
            document = load_document(schema_url, self.session)
            self._use_document(document)
            csrf_cookie = csrf_cookie or csrf_cookie_from_document(document, base_url)
        else:
            self.document.links = dict(bundled_operations())
        self.auth: TokenAuth
        self.configure(token, auth_scheme, base_url, csrf_cookie, sleep)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} on {self.document.url!r}>"

    def configure(
        self,
        token: str | None = None,
        auth_scheme: str = "Token",
        base_url: str | None = None,
        csrf_cookie: str | None = None,
        sleep: float | None = None,
    ) -> None:
        """Set the authentication, the base URL and the throttling delay.

        No `Referer` header is sent (upstream sends the base URL): the token
        scheme needs none, and the header would carry the URL to other hosts.
        """
        if base_url:
            self.document.url = _without_credentials(base_url)
        self.session.api_origin = origin(self.document.url)
        self.auth = TokenAuth(
            token,
            auth_scheme,
            csrf_cookie or DEFAULT_CSRF_COOKIE,
            origin=self.session.api_origin,
        )
        self.session.auth = self.auth
        self.sleep_duration = sleep

    # ------------------------------------------------------------------ schema

    def _use_document(self, document: dict) -> dict[str, Operation]:
        operations = parse_document(document, bundled_downloads())
        self._schema_operations = operations
        self.document.links.update(operations)
        for name in [name for name in self.document.links if "@" in name]:
            # A bundled "X@0.6" form gives way to the server's own X (spec 15 §17)
            if name not in operations:
                del self.document.links[name]
        return operations

    def load_server_schema(self) -> bool:
        """Load the server's OpenAPI schema once; `False` when it is unavailable.

        Its operations then take precedence over the bundled ones.
        """
        if self._schema_operations is None:
            url = urljoin(self.document.url, SCHEMA_ENDPOINT)
            logger.debug(f"Loading the API schema from {url}")
            try:
                self._use_document(load_document(url, self.session))
            except SchemaError as e:
                logger.warning(f"{e}: {e.__cause__!r}")
                self._schema_operations = False
        return self._schema_operations is not False

    def server_has_operation(self, operation_id: str) -> bool:
        """Whether the server's own schema lists an operation.

        Loads the server schema once when needed; assumes `True` when it cannot.
        """
        if not self.load_server_schema():
            return True
        return operation_id in self._schema_operations

    def lookup_operation(self, operation_id: str) -> Operation:
        """The description of an operation.

        Raises:
            ClientError: Unknown operation, even in the server's schema.
        """
        if operation_id not in self.document.links:
            self.load_server_schema()
        return find_operation(self.document.links, operation_id)

    def _checked_operation(self, operation_id: str, parameters: dict) -> Operation:
        """The operation of a call, checked by `arkindex_worker.api.validation`.

        A keyword the operation does not know loads the server schema once first.
        """
        operation = self.lookup_operation(operation_id)
        if unknown_parameters(operation, parameters) and self.load_server_schema():
            operation = self.lookup_operation(operation_id)
        return check_parameters(operation, parameters)

    # ------------------------------------------------------------------ requests

    def build_url(self, operation_id: str, **path_parameters: Any) -> str:
        """Full URL of an operation, its path parameters filled in.

        Raises:
            ClientError: Unknown operation, or the URL has no/an unsupported scheme.
        """
        operation = self.lookup_operation(operation_id)

        def fill(match: re.Match) -> str:
            plus, name = match.groups()
            if name not in path_parameters:
                raise _invalid(f"Missing required parameter {name!r}.", "required")
            return quote(str(path_parameters[name]), safe="/" if plus else "")

        path = _TEMPLATE_FIELD.sub(fill, operation.url)
        base = origin(self.document.url)
        if base is not None and path.startswith("/") and not path.startswith("//"):
            return base + path
        url = urljoin(self.document.url, path)
        scheme = urlparse(url).scheme
        if not scheme:
            raise _invalid(f"URL missing scheme '{url}'.", "invalid-url")
        if scheme not in ("http", "https"):
            raise _invalid(f"Unsupported URL scheme '{scheme}'.", "invalid-url")
        return url

    def single_request(self, operation_id: str, **parameters: Any) -> Any:
        """Send one attempt of an operation, without any retry.

        Keywords are the path and query parameters and `body`, the JSON body.

        Returns:
            Decoded answer: `dict`/`list` (JSON), `str` (text), a `DownloadedFile`,
            or `None` for an empty body.

        Raises:
            ClientError: The call cannot be made (nothing was sent).
            ErrorResponse: The server answered with a 4xx or 5xx status.
            UnexpectedContentError: A success answer is not the expected JSON.
        """
        operation = self._checked_operation(operation_id, parameters)
        if operation.deprecated:
            warnings.warn(
                f"Endpoint {operation_id!r} is deprecated.", DeprecationWarning, 2
            )
        path, query, headers, body = {}, {}, {}, None
        for name, value in parameters.items():
            param = operation.parameters.get(name)
            if param is None:
                body = value
            elif param.location == "path":
                path[name] = value
            elif param.location == "header":
                headers[name] = str(value)
            elif param.location == "query" and value is not None:
                if param.deprecated:
                    warnings.warn(
                        f"Parameter {name!r} is deprecated.", DeprecationWarning, 2
                    )
                query[name] = value
        url = self.build_url(operation_id, **path)

        if self.sleep_duration:
            logger.debug(f"Waiting {self.sleep_duration} seconds before the request")
            time.sleep(self.sleep_duration)
        query = dict(sorted(query.items()))
        data = None
        if body is not None:
            data = encode_json(body)
            headers["Content-Type"] = "application/json"
        response = self.session.request(
            operation.method,
            url,
            params=query or None,
            data=data,
            headers=headers,
            timeout=self.timeout,
            stream=True,  # read by `handle_answer`, within its limits
        )
        return self._handle(operation, response)

    def _handle(self, operation: Operation, response: requests.Response) -> Any:
        return handle_answer(operation, response, self.limits)

    def request(self, operation_id: str, **parameters: Any) -> Any:
        """Call an operation, retrying as `arkindex_worker.api.retry` describes.

        Keywords and results are those of `single_request`.

        Raises:
            ClientError: The call cannot be made (nothing was sent).
            ErrorResponse: The server answered with a 4xx or 5xx status.
        """
        method = self.lookup_operation(operation_id).method
        try:
            return self.retry_policy.call(
                lambda: self.single_request(operation_id, **parameters),
                method,
                operation_id,
                confirm=confirmation(self, operation_id, parameters),
            )
        except requests.RequestException as error:
            # A download may have been redirected to a pre-signed URL
            hidden = hide_queries(error, getattr(error.request, "url", None))
            if hidden is None:
                raise
            raise hidden from None

    def paginate(self, operation_id: str, *args: Any, **kwargs: Any) -> Any:
        """Iterate lazily over all the results of a paginated operation.

        Operations marked as not paginated are sent as `request()` would.

        Args:
            operation_id: The operation.
            **kwargs: Parameters of every page request, plus `retries` (tries per
                page, default 5) and `allow_missing_data` (default `False`).

        Returns:
            A `ResponsePaginator`, or the answer of a non-paginated operation.

        Raises:
            NotImplementedError: The operation has neither `page` nor `cursor`.
        """
        if self.lookup_operation(operation_id).paginated is False:
            return self.request(operation_id, *args, **kwargs)
        return ResponsePaginator(self, operation_id, *args, **kwargs)

    def http_request(
        self,
        method: str,
        url: str,
        *,
        data: bytes | Path | None = None,
        headers: dict[str, str] | None = None,
        stream: bool = False,
        allow_redirects: bool = True,
        idempotent: bool | None = None,
        read: Callable[[requests.Response], Any] | None = None,
        retry: RetryPolicy | FixedRetry | None = None,
    ) -> Any:
        """One exchange with any URL (IIIF, storage) through the client's session.

        It shares the session's connections, proxies and time-outs, follows
        the retry policy, and gets the API token only when `url` is on the
        API's origin. TLS certificates are verified as for the API, and not on
        ``ark.localhost`` hosts.

        Args:
            method: HTTP method.
            url: Absolute HTTP(S) URL.
            data: Body: bytes, or a file, read again at each attempt.
            headers: Extra headers.
            stream: Do not read the body before returning (or calling `read`).
            allow_redirects: Follow redirects (writes only as `ArkindexSession` allows).
            idempotent: Whether a lost answer may be re-sent (default: reads only).
            read: Called with the answer within each attempt (a download that
                breaks off is retried as a whole); its result is returned.
            retry: Another policy than the client's (generation 0.6 downloads).

        Returns:
            The `requests.Response`, or what `read` returned.

        Raises:
            requests.HTTPError: A 4xx or 5xx answer, after the retries.
            requests.RequestException: No answer, after the retries.
        """
        verify = self.session.verify if should_verify_cert(url) else False
        description = f"{method} {for_messages(url)}"

        def attempt() -> Any:
            if isinstance(data, Path):
                with data.open("rb") as body:
                    response = self._exchange(
                        method, url, body, headers, stream, allow_redirects, verify
                    )
            else:
                response = self._exchange(
                    method, url, data, headers, stream, allow_redirects, verify
                )
            if read is None:
                return response
            try:
                return read(response)
            finally:
                response.close()

        try:
            return (retry or self.retry_policy).call(
                attempt, method, description, idempotent=idempotent
            )
        except requests.RequestException as error:
            hidden = hide_queries(error, url, getattr(error.request, "url", None))
            if hidden is None:
                raise
            raise hidden from None

    def _exchange(
        self,
        method: str,
        url: str,
        data: Any,
        headers: dict[str, str] | None,
        stream: bool,
        allow_redirects: bool,
        verify: bool | str,
    ) -> requests.Response:
        response = self.session.request(
            method,
            url,
            data=data,
            headers=headers,
            timeout=self.timeout,
            stream=stream,
            allow_redirects=allow_redirects,
            verify=verify,
        )
        status = response.status_code
        if not valid_status(status) or 400 <= status <= 599:
            response.close()
            raise requests.HTTPError(
                f"{response.status_code} {response.reason} for {method} "
                f"{for_messages(url)}",
                response=response,
                request=response.request,
            )
        logger.debug("%s %s: %s", method, for_messages(url), response.status_code)
        return response

    def close(self) -> None:
        """Close the client's connections (they are reopened when needed)."""
        self.session.close()

    def login(self, email: str, password: str) -> Any:
        """Log in with an email and a password, then use the returned token."""
        data = self.request("Login", body={"email": email, "password": password})
        if isinstance(data, dict) and data.get("auth_token"):
            self.auth.scheme = "Token"
            self.auth.token = data["auth_token"]
        return data
