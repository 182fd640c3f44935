"""The Arkindex API client.

Operations are read from the OpenAPI document bundled with the package, so building
a client sends no request. `schema_url` (or `ARKINDEX_API_SCHEMA_URL`) replaces that
document; otherwise the server's own schema is loaded once, lazily, the first time a
call names an operation or a keyword the bundled document does not know.

Every request is sent with (connect, read) time-outs of (30, 60) seconds;
`ARKINDEX_API_CONNECT_TIMEOUT` and `ARKINDEX_API_TIMEOUT` (the read time-out)
change them, in seconds (keywords `connect_timeout` and `read_timeout`).

JSON requests go through `LeanTransport` (`arkindex_worker.api.transport`)
while nothing of `requests` is customised or mocked, through the `requests`
session otherwise; `ARKINDEX_API_LEAN_TRANSPORT=0` (keyword `lean_transport`)
always uses the session.

A success answer that is not the JSON an operation returns (an HTML page from a
web front-end or a proxy, a body that is not valid JSON) raises
`UnexpectedContentError`, naming the operation and the content type.

!!! note "Differs from upstream"
    The upstream client fetches the server schema at construction, and only retries
    HTTP 5xx answers. See `arkindex_worker.api.retry` for our retry policy and its
    environment variables.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import time
import warnings
from typing import Any
from urllib.parse import quote, urljoin, urlparse, urlsplit

import requests
from requests.adapters import HTTPAdapter

from arkindex_worker.api.auth import DEFAULT_CSRF_COOKIE, TokenAuth
from arkindex_worker.api.download import (
    ACCEPT,
    content_type,
    decode_response,
    looks_like_html,
)
from arkindex_worker.api.errors import (
    ClientError,
    ErrorMessage,
    SchemaError,
    UnexpectedContentError,
    error_from_response,
)
from arkindex_worker.api.options import (
    DEFAULT_BASE_URL,
    SCHEMA_ENDPOINT,
    env_setting,
    request_timeout,
    should_verify_cert,
)
from arkindex_worker.api.pagination import ResponsePaginator
from arkindex_worker.api.retry import RetryPolicy
from arkindex_worker.api.schema import (
    Operation,
    bundled_downloads,
    bundled_operations,
    csrf_cookie_from_document,
    load_document,
    parse_document,
)
from arkindex_worker.api.transport import (
    ACCEPT_ENCODING,
    NOT_PLAIN_JSON,
    LeanTransport,
    build_response,
    encode_json,
    plain_json,
    prepared,
)

__all__ = ["ArkindexClient", "Document"]

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


@functools.lru_cache(maxsize=16)
def _origin(base_url: str) -> str | None:
    """``scheme://host`` of an HTTP(S) base URL, `None` for any other URL."""
    parts = urlsplit(base_url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return None


def _read_environment_once(session: requests.Session, base_url: str) -> str | None:
    """Apply the proxy variables once, instead of at every request.

    With ``trust_env``, requests reads the whole environment at each request
    (about a third of its own time per call). The proxies are those of the
    API's host; ``.netrc`` files are not read (the API authenticates by token).

    Returns:
        The CA bundle the environment names, to verify certificates with.
    """
    session.trust_env = False
    session.proxies.update(requests.utils.get_environ_proxies(base_url))
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")


def _requests_untouched() -> bool:
    """Whether `requests`' transport is its own (no test library replaced it)."""
    return (
        HTTPAdapter.send.__module__ == "requests.adapters"
        and requests.Session.get_adapter.__module__ == "requests.sessions"
        and requests.Session.send.__module__ == "requests.sessions"
    )


def _flag(raw: str) -> bool:
    return bool(int(raw))


def _encode_query(query: dict[str, Any]) -> str:
    """A query string encoded as `requests` encodes ``params``."""
    return requests.models.RequestEncodingMixin._encode_params(query)


def _invalid(text: str, code: str) -> ClientError:
    return ClientError([ErrorMessage(text, code)])


def _unexpected(
    operation: Operation, response: requests.Response, problem: str, detail: str
) -> UnexpectedContentError:
    return UnexpectedContentError(
        operation.id,
        response.status_code,
        content_type(response),
        response.url,
        problem,
        detail,
    )


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
        lean_transport: Send JSON requests through `LeanTransport` when the
            session is not customised (`ARKINDEX_API_LEAN_TRANSPORT`, 1; 0
            sends everything through `requests`).

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
        lean_transport: bool | None = None,
    ) -> None:
        self.timeout = request_timeout(connect_timeout, read_timeout)
        self.retry_policy = RetryPolicy.configure(
            retries=retries,
            retry_wait_min=retry_wait_min,
            retry_wait_max=retry_wait_max,
            read_retries=read_retries,
        )
        self.session = requests.Session()
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
        ca_bundle = _read_environment_once(self.session, base_url)
        self._verify = ca_bundle if ca_bundle and verify else None
        self.lean_transport = env_setting(
            lean_transport, "ARKINDEX_API_LEAN_TRANSPORT", True, _flag
        )
        self.transport = LeanTransport(self.timeout, self._verify or verify)
        self._lean_verify = self.session.verify

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
        """Set the authentication, the base URL and the throttling delay."""
        self.auth = TokenAuth(token, auth_scheme, csrf_cookie or DEFAULT_CSRF_COOKIE)
        self.session.auth = self.auth
        self.sleep_duration = sleep
        if base_url:
            self.document.url = base_url
        self.session.headers.setdefault("Referer", self.document.url)

    # ------------------------------------------------------------------ schema

    def _use_document(self, document: dict) -> dict[str, Operation]:
        operations = parse_document(document, bundled_downloads())
        self._schema_operations = operations
        self.document.links.update(operations)
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
        operation = self.document.links.get(operation_id)
        if operation is None and self.load_server_schema():
            operation = self.document.links.get(operation_id)
        if operation is None:
            raise _invalid(
                f"Operation ID {operation_id!r} not found in schema.",
                "invalid-operation",
            )
        return operation

    def _checked_operation(self, operation_id: str, parameters: dict) -> Operation:
        operation = self.lookup_operation(operation_id)
        unknown = [name for name in parameters if not operation.accepts(name)]
        if unknown and self.load_server_schema():
            operation = self.lookup_operation(operation_id)
            unknown = [name for name in parameters if not operation.accepts(name)]
        problems = [
            ErrorMessage(
                f"Unknown parameter {name!r} for operation {operation_id!r}.",
                "invalid-parameter",
            )
            for name in unknown
        ]
        required = [name for name, p in operation.parameters.items() if p.required]
        if operation.body_name is not None:
            required.append(operation.body_name)
        problems += [
            ErrorMessage(f"Missing required parameter {name!r}.", "required")
            for name in required
            if name not in parameters
            and not (name == operation.body_name and "body" in parameters)
        ]
        problems += [
            ErrorMessage(
                f"Path parameter {name!r} must not be None.", "invalid-parameter"
            )
            for name, param in operation.parameters.items()
            if param.location == "path"
            and name in parameters
            and parameters[name] is None
        ]
        if problems:
            raise ClientError(problems)
        return operation

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
        origin = _origin(self.document.url)
        if origin is not None and path.startswith("/") and not path.startswith("//"):
            return origin + path
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
        if self._lean_transport_allowed(operation):
            return self._request_lean(operation, url, query, body, headers)
        response = self._send_with_session(operation, url, query, body, headers)
        return self._handle(operation, response)

    def _lean_transport_allowed(self, operation: Operation) -> bool:
        """Whether `LeanTransport` sends exactly what the session would.

        Not when anything of the session was customised (proxies, cookies,
        hooks, authentication, adapters), when a test library replaced part of
        `requests` (`responses` patches `HTTPAdapter.send`, `requests-mock`
        patches `Session.get_adapter`), or for streamed downloads.
        """
        session = self.session
        return (
            self.lean_transport
            and not operation.download
            and not session.proxies
            and not session.cookies
            and not any(session.hooks.values())
            and session.auth is self.auth
            and session.cert is None
            # The transport took them at construction
            and session.verify is self._lean_verify
            and self.timeout == self.transport.timeout
            and _requests_untouched()
            and all(
                type(adapter) is HTTPAdapter for adapter in session.adapters.values()
            )
        )

    def _request_lean(
        self,
        operation: Operation,
        url: str,
        query: dict[str, Any],
        body: Any,
        headers: dict[str, str],
    ) -> Any:
        """Send through `LeanTransport`; decode plain JSON answers directly.

        Any other answer (error, text, file, HTML, cookies, redirection) goes
        through a `requests.Response` and `_handle`, as with the session.
        """
        method = operation.method
        if query:
            url = f"{url}?{_encode_query(query)}"
        headers = {
            **self.session.headers,
            "Accept-Encoding": ACCEPT_ENCODING,
            **headers,
        }
        self.auth.authorize(method, headers)
        data = None
        if body is not None:
            data = encode_json(body)
            headers["Content-Type"] = "application/json"
        head, received = self.transport.exchange(method, url, headers, data)
        content = plain_json(head, received)
        if content is not NOT_PLAIN_JSON:
            logger.debug("%s %s: %s", method, operation.id, head.status)
            return content
        request = prepared(method, url, headers, data)
        response = build_response(request, head, received, self.session.cookies)
        if "Set-Cookie" in response.headers:
            self.auth.remember_csrf(response)
        if response.is_redirect:
            response = self._follow_redirects(response)
        return self._handle(operation, response)

    def _follow_redirects(self, response: requests.Response) -> requests.Response:
        """Follow a redirection with `requests`, as `Session.send` would."""
        request = response.request
        # Where resolve_redirects merges the session's cookies (Session.send
        # would have prepared it)
        request._cookies = requests.cookies.RequestsCookieJar()
        history = [response]
        history += self.session.resolve_redirects(
            response,
            request,
            timeout=self.timeout,
            verify=self._verify or self.session.verify,
            proxies=self.session.proxies,
        )
        final = history.pop()
        final.history = history
        return final

    def _send_with_session(
        self,
        operation: Operation,
        url: str,
        query: dict[str, Any],
        body: Any,
        headers: dict[str, str],
    ) -> requests.Response:
        """Prepare and send one request through the session.

        Prepared here rather than by ``Session.request``, whose merging of the
        session's settings into every request costs as much as the rest of the
        request's Python work; the result is the same request.
        """
        headers = {**self.session.headers, **headers}
        data = None
        if body is not None:
            data = encode_json(body)
            headers["Content-Type"] = "application/json"
        prepared_request = requests.PreparedRequest()
        prepared_request.prepare(
            method=operation.method,
            url=url,
            headers=headers,
            params=query or None,
            data=data,
            auth=self.session.auth,
            cookies=self.session.cookies,
            hooks=self.session.hooks,
        )
        return self.session.send(
            prepared_request,
            timeout=self.timeout,
            stream=operation.download,
            verify=self._verify or self.session.verify,
            proxies=self.session.proxies,
            allow_redirects=True,
        )

    def _handle(self, operation: Operation, response: requests.Response) -> Any:
        status = response.status_code
        failed = 400 <= status <= 599
        expects_json = not failed and not operation.download
        if expects_json and looks_like_html(response):
            raise _unexpected(
                operation,
                response,
                "an HTML page",
                "the API URL may point at a web page, or a proxy answered",
            )
        try:
            content = decode_response(
                response, as_file=operation.download and not failed
            )
        except Exception as error:
            # A 5xx page is kept as text; a success answer that is not JSON
            # (or not UTF-8) must not reach worker code as a confusing value
            if 500 <= status <= 599:
                content = response.text
            elif expects_json and isinstance(error, ValueError):
                raise _unexpected(
                    operation, response, "an invalid JSON body", str(error)
                ) from error
            else:
                raise
        if failed:
            title = f"{status} {response.reason}"
            raise error_from_response(title, status, content, response)
        logger.debug("%s %s: %s", operation.method, operation.id, status)
        return content

    def request(self, operation_id: str, **parameters: Any) -> Any:
        """Call an operation, retrying as `arkindex_worker.api.retry` describes.

        Keywords and results are those of `single_request`.

        Raises:
            ClientError: The call cannot be made (nothing was sent).
            ErrorResponse: The server answered with a 4xx or 5xx status.
        """
        method = self.lookup_operation(operation_id).method
        return self.retry_policy.call(
            lambda: self.single_request(operation_id, **parameters),
            method,
            operation_id,
        )

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

    def close(self) -> None:
        """Close the client's connections (they are reopened when needed)."""
        self.transport.close()
        self.session.close()

    def login(self, email: str, password: str) -> Any:
        """Log in with an email and a password, then use the returned token."""
        data = self.request("Login", body={"email": email, "password": password})
        if isinstance(data, dict) and data.get("auth_token"):
            self.auth.scheme = "Token"
            self.auth.token = data["auth_token"]
        return data
