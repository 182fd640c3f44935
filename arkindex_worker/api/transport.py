"""Lean transport of the API client's JSON requests (our addition).

`requests` spends about 0.4 ms of CPU on each request (session merging, hooks,
cookie extraction, urllib3's pool and retry machinery): more than the rest of a
worker's work per request. `LeanTransport` sends the same request over a
kept-alive connection of its own (a plain HTTP/1.1 exchange on a socket, TLS
by the `ssl` module), one per thread and host, and returns a
`requests.Response`, so everything above it (error classes, retries, decoding)
is unchanged. Its failures are the `requests` exceptions `requests` would raise:
`ConnectTimeout` and `ConnectionError` (`NewConnectionError` inside) when no
connection could be opened, `ReadTimeout`, `ConnectionError` when the
connection was lost before the answer, `ChunkedEncodingError` when it was lost
during the answer.

The client only uses it where it cannot differ from `requests` (see
`ArkindexClient`): no proxy, no cookie or hook of the session, no adapter
mounted or replaced by a test library (`responses`, `requests-mock`), no
streamed download; a redirection is followed by `requests`.
"""

from __future__ import annotations

import gzip
import http.client
import json
import os
import re
import select
import socket
import ssl
import threading
import uuid
import weakref
import zlib
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any, NamedTuple
from urllib.parse import SplitResult, urlsplit

import requests
from requests.cookies import extract_cookies_to_jar
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers
from urllib3.exceptions import NewConnectionError, ProtocolError

from arkindex_worker.api.download import HTML_DOCUMENT

__all__ = [
    "ACCEPT_ENCODING",
    "NOT_PLAIN_JSON",
    "Connection",
    "LeanTransport",
    "ResponseHead",
    "build_response",
    "decompressed",
    "encode_json",
    "plain_json",
    "prepared",
]

ACCEPT_ENCODING = "gzip, deflate"
METHODS_WITHOUT_BODY = frozenset({"GET", "HEAD"})
"""Methods sent without ``Content-Length: 0`` when they have no body (as `requests`)."""
_FORBIDDEN = re.compile(r"[\r\n]")
MAX_HEAD = 64 * 1024
"""Longest status line and headers accepted."""
RECEIVE_SIZE = 64 * 1024


def ssl_context(verify: bool | str) -> ssl.SSLContext:
    """TLS settings of `requests` for ``verify``: a CA bundle path or a boolean."""
    if verify is False:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if verify is True:
        verify = requests.certs.where()
    if os.path.isdir(verify):
        return ssl.create_default_context(capath=verify)
    return ssl.create_default_context(cafile=verify)


class ResponseHead(NamedTuple):
    """Status line and headers of an answer."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    will_close: bool


class Connection:
    """One kept-alive HTTP/1.1 connection to a host.

    Only what the API's answers need: ``Content-Length``, chunked and
    read-until-close bodies, interim ``1xx`` answers, ``Connection: close``.
    Its errors are those of `http.client` (`RemoteDisconnected`,
    `IncompleteRead`, `BadStatusLine`) and of sockets (`OSError`, `TimeoutError`).
    """

    def __init__(
        self,
        host: str,
        port: int,
        timeout: tuple[float, float],
        context: ssl.SSLContext | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.connect_timeout, self.read_timeout = timeout
        self.context = context
        self.sock: socket.socket | None = None
        self._poller: Any = None
        self._buffer = bytearray()
        self._chunk = bytearray(RECEIVE_SIZE)
        self._chunk_view = memoryview(self._chunk)

    def open(self) -> None:
        """Open the connection (and its TLS session)."""
        sock = socket.create_connection((self.host, self.port), self.connect_timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.context is not None:
                sock = self.context.wrap_socket(sock, server_hostname=self.host)
            sock.settimeout(self.read_timeout)
        except BaseException:
            sock.close()
            raise
        self.sock = sock
        self._buffer.clear()
        if hasattr(select, "poll"):
            self._poller = select.poll()
            self._poller.register(sock, select.POLLIN)

    def __del__(self) -> None:
        # A connection dropped with its thread closes its socket quietly
        if getattr(self, "sock", None) is not None:
            self.close()

    def close(self) -> None:
        """Close the connection; the next request opens a new one."""
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def lost_while_idle(self) -> bool:
        """Whether the server closed the connection since its last answer."""
        # Idle, a healthy connection has nothing to read: readable means closed.
        # poll, unlike select, accepts descriptors beyond 1024.
        if self._poller is not None:
            return bool(self._poller.poll(0))
        return bool(select.select([self.sock], [], [], 0)[0])

    def send(self, data: bytes) -> None:
        """Send a whole request."""
        self.sock.sendall(data)

    def read_head(self) -> ResponseHead:
        """Read the status line and headers of the final answer (``1xx`` skipped)."""
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            while end < 0:
                if len(self._buffer) > MAX_HEAD:
                    raise http.client.LineTooLong("header")
                if not self._receive():
                    if self._buffer:
                        raise http.client.BadStatusLine(self._buffer.decode("latin-1"))
                    raise http.client.RemoteDisconnected(
                        "Remote end closed connection without response"
                    )
                end = self._buffer.find(b"\r\n\r\n")
            lines = self._buffer[:end].decode("latin-1").split("\r\n")
            del self._buffer[: end + 4]
            version, _, rest = lines[0].partition(" ")
            code, _, reason = rest.partition(" ")
            if not version.startswith("HTTP/") or not code.isdigit():
                raise http.client.BadStatusLine(lines[0])
            status = int(code)
            if not 100 <= status < 200:
                break
        headers = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
        tokens = ",".join(v for n, v in headers if n.lower() == "connection").lower()
        will_close = "close" in tokens or (
            version == "HTTP/1.0" and "keep-alive" not in tokens
        )
        return ResponseHead(status, reason, headers, will_close)

    def read_body(self, method: str, head: ResponseHead) -> bytes:
        """Read the body an answer announces."""
        if method == "HEAD" or head.status in (204, 304):
            return b""
        fields = {name.lower(): value for name, value in head.headers}
        if "chunked" in fields.get("transfer-encoding", "").lower():
            return self._read_chunks()
        length = fields.get("content-length")
        if length is not None:
            if not length.isdigit():
                raise http.client.HTTPException(f"Invalid Content-Length {length!r}")
            return self._read_exactly(int(length))
        while self._receive():
            pass
        return self._take(len(self._buffer))

    def _receive(self) -> int:
        # Into a reused buffer: a fresh large ``recv`` buffer per call costs an
        # allocation as large as the request's own work
        size = self.sock.recv_into(self._chunk)
        self._buffer += self._chunk_view[:size]
        return size

    def _take(self, size: int) -> bytes:
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def _read_exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            if not self._receive():
                raise http.client.IncompleteRead(
                    bytes(self._buffer), size - len(self._buffer)
                )
        return self._take(size)

    def _read_line(self) -> bytes:
        end = self._buffer.find(b"\r\n")
        while end < 0:
            if not self._receive():
                raise http.client.IncompleteRead(bytes(self._buffer))
            end = self._buffer.find(b"\r\n")
        line = self._take(end)
        del self._buffer[:2]
        return line

    def _read_chunks(self) -> bytes:
        parts = []
        while True:
            line = self._read_line()
            try:
                size = int(line.split(b";", 1)[0], 16)
            except ValueError:
                raise http.client.IncompleteRead(b"".join(parts)) from None
            if size == 0:
                break
            parts.append(self._read_exactly(size))
            self._read_exactly(2)
        while self._read_line():  # trailers
            pass
        return b"".join(parts)


def decompressed(data: bytes, encoding: str | None) -> bytes:
    """A body decoded from its ``Content-Encoding`` (gzip or deflate).

    Raises:
        requests.exceptions.ContentDecodingError: The body does not decompress.
    """
    encoding = (encoding or "").strip().lower()
    if not data or encoding in ("", "identity"):
        return data
    try:
        if encoding in ("gzip", "x-gzip"):
            return gzip.decompress(data)
        if encoding == "deflate":
            try:
                return zlib.decompress(data)
            except zlib.error:  # raw deflate, without the zlib header
                return zlib.decompress(data, -zlib.MAX_WBITS)
    except (OSError, EOFError, zlib.error) as error:
        raise requests.exceptions.ContentDecodingError(
            f"Received response with content-encoding: {encoding}, but failed to "
            f"decode it: {error!r}"
        ) from error
    return data


class _CookieSource:
    """What `requests.cookies.extract_cookies_to_jar` reads from an answer."""

    def __init__(self, headers: list[tuple[str, str]]) -> None:
        message = http.client.HTTPMessage()
        for name, value in headers:
            message[name] = value
        self._original_response = SimpleNamespace(msg=message)


def _request_bytes(
    method: str, target: str, host: str, headers: Mapping[str, str], body: bytes | None
) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    for name, value in headers.items():
        if _FORBIDDEN.search(name) or _FORBIDDEN.search(value):
            raise requests.exceptions.InvalidHeader(
                f"Invalid return character in header: {name!r}"
            )
        lines.append(f"{name}: {value}")
    if body is not None or method not in METHODS_WITHOUT_BODY:
        lines.append(f"Content-Length: {len(body or b'')}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + body if body else head


_TRANSPORTS: weakref.WeakSet[LeanTransport] = weakref.WeakSet()


def _forget_connections() -> None:
    """In a forked child: never share the parent's sockets (each reconnects)."""
    for transport in list(_TRANSPORTS):
        transport._local = threading.local()
        transport._connections = weakref.WeakSet()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_connections)


class LeanTransport:
    """Send requests over kept-alive connections, one per thread and host.

    A process forked from one that used the transport (`multiprocessing`)
    opens its own connections.

    Args:
        timeout: ``(connect, read)`` time-outs in seconds.
        verify: Verify TLS certificates (`True`, `False` or a CA bundle path).
    """

    def __init__(self, timeout: tuple[float, float], verify: bool | str) -> None:
        self.timeout = timeout
        self.verify = verify
        self._context: ssl.SSLContext | None = None
        self._local = threading.local()
        self._connections: weakref.WeakSet[Connection] = weakref.WeakSet()
        _TRANSPORTS.add(self)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    def close(self) -> None:
        """Close the connections of every thread (they reopen when needed)."""
        for connection in list(self._connections):
            connection.close()

    def _connection(self, url: SplitResult) -> Connection:
        connections = getattr(self._local, "connections", None)
        if connections is None:
            connections = self._local.connections = {}
        key = (url.scheme, url.netloc)
        connection = connections.get(key)
        if connection is None:
            context = None
            if url.scheme == "https":
                if self._context is None:
                    self._context = ssl_context(self.verify)
                context = self._context
            port = url.port or (443 if url.scheme == "https" else 80)
            connection = Connection(url.hostname, port, self.timeout, context)
            connections[key] = connection
            self._connections.add(connection)
        elif connection.sock is not None and connection.lost_while_idle():
            connection.close()
        return connection

    def exchange(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | None = None,
    ) -> tuple[ResponseHead, bytes]:
        """Send one request; return the answer's head and its body as received.

        Raises:
            requests.ConnectTimeout: No connection within the connect time-out.
            requests.ConnectionError: No connection (`NewConnectionError`
                inside), or it was lost before the answer.
            requests.ReadTimeout: No answer within the read time-out.
            requests.exceptions.ChunkedEncodingError: The answer was cut.
            requests.exceptions.InvalidHeader: A header holds a line break.
        """
        parts = urlsplit(url)
        target = f"{parts.path}?{parts.query}" if parts.query else parts.path or "/"
        data = _request_bytes(
            method, target, parts.netloc.rpartition("@")[2], headers, body
        )
        connection = self._connection(parts)
        if connection.sock is None:
            self._open(connection, method, url, headers, body)
        answered = False
        try:
            connection.send(data)
            head = connection.read_head()
            answered = True
            received = connection.read_body(method, head)
        except (OSError, http.client.HTTPException) as error:
            connection.close()
            request = prepared(method, url, headers, body)
            raise self._failure(error, answered, connection, request) from error
        except BaseException:
            connection.close()
            raise
        if head.will_close:
            connection.close()
        return head, received

    def _failure(
        self,
        error: BaseException,
        answered: bool,
        connection: Connection,
        request: requests.PreparedRequest,
    ) -> requests.RequestException:
        """The `requests` exception for a connection lost during an exchange."""
        if isinstance(error, TimeoutError):
            return requests.ReadTimeout(
                f"{connection.host}:{connection.port}: Read timed out "
                f"(read time-out: {self.timeout[1]:g} s)",
                request=request,
            )
        if answered:  # lost in the middle of the answer's body
            return requests.exceptions.ChunkedEncodingError(
                ProtocolError(f"Connection broken: {error!r}", error), request=request
            )
        return requests.ConnectionError(
            ProtocolError("Connection aborted.", error), request=request
        )

    def send(
        self,
        request: requests.PreparedRequest,
        cookies: requests.cookies.RequestsCookieJar,
    ) -> requests.Response:
        """Send an encoded request (see `prepared`); read the whole answer.

        Cookies the answer sets are stored in ``cookies`` too, as a session does.

        Raises:
            requests.RequestException: As `exchange`, and
                `requests.exceptions.ContentDecodingError` for a compressed
                body that does not decompress.
        """
        head, body = self.exchange(
            request.method, request.url, request.headers, request.body
        )
        return build_response(request, head, body, cookies)

    def _open(
        self,
        connection: Connection,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | None,
    ) -> None:
        try:
            connection.open()
        except OSError as error:
            request = prepared(method, url, headers, body)
            if isinstance(error, TimeoutError):
                raise requests.ConnectTimeout(
                    f"Could not connect to {connection.host}:{connection.port} "
                    f"within {self.timeout[0]:g} s (connect time-out)",
                    request=request,
                ) from error
            if isinstance(error, ssl.SSLError):
                raise requests.exceptions.SSLError(error, request=request) from error
            raise requests.ConnectionError(
                NewConnectionError(
                    connection, f"Failed to establish a new connection: {error}"
                ),
                request=request,
            ) from error


def build_response(
    request: requests.PreparedRequest,
    head: ResponseHead,
    body: bytes,
    cookies: requests.cookies.RequestsCookieJar,
) -> requests.Response:
    """The `requests.Response` of an answer (cookies stored as a session does).

    Raises:
        requests.exceptions.ContentDecodingError: The body does not decompress.
    """
    headers = CaseInsensitiveDict(head.headers)
    if len(headers) < len(head.headers):  # repeated fields: joined, as urllib3 does
        headers = CaseInsensitiveDict()
        for name, value in head.headers:
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
    response = requests.Response()
    response.status_code = head.status
    response.reason = head.reason
    response.headers = headers
    response.url = request.url
    response.request = request
    response.encoding = get_encoding_from_headers(headers)
    response._content = decompressed(body, headers.get("Content-Encoding"))
    response._content_consumed = True
    if "Set-Cookie" in headers:
        source = _CookieSource(head.headers)
        extract_cookies_to_jar(response.cookies, request, source)
        extract_cookies_to_jar(cookies, request, source)
    return response


NOT_PLAIN_JSON = object()
"""What `plain_json` returns for an answer that needs a `requests.Response`."""


def plain_json(head: ResponseHead, body: bytes) -> Any:
    """The decoded body of a plain JSON success answer, else `NOT_PLAIN_JSON`.

    Plain: a 2xx status, a JSON (or no) content type, no cookie, a body that
    decompresses, decodes as UTF-8 JSON and is not an HTML page. The client
    returns it at once; anything else is handled through a `requests.Response`.
    """
    if not 200 <= head.status < 300:
        return NOT_PLAIN_JSON
    media = encoding = None
    for name, value in head.headers:
        name = name.lower()
        if name == "content-type":
            media = value.split(";", 1)[0].strip().lower()
        elif name == "content-encoding":
            encoding = value
        elif name == "set-cookie":
            return NOT_PLAIN_JSON
    if media not in (None, "application/json"):
        return NOT_PLAIN_JSON
    try:
        body = decompressed(body, encoding)
        if not body:
            return None
        if HTML_DOCUMENT.match(body[:1024]):
            return NOT_PLAIN_JSON
        return json.loads(body.decode("utf-8"))
    except (ValueError, requests.exceptions.ContentDecodingError):
        return NOT_PLAIN_JSON


def prepared(
    method: str, url: str, headers: Mapping[str, str], body: bytes | None
) -> requests.PreparedRequest:
    """A `requests.PreparedRequest` holding an already encoded request."""
    request = requests.PreparedRequest()
    request.method = method
    request.url = url
    request.headers = CaseInsensitiveDict(headers)
    request.body = body
    return request


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
