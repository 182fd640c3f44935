"""The lean transport of JSON requests, against a scripted loopback HTTP server.

`LeanTransport` is tested alone (exact bytes sent, answers it reads, failures it
raises), then through `ArkindexClient` (what it sends, and when the client
falls back to `requests` instead).
"""

from __future__ import annotations

import gzip
import json
import os
import select
import socket
import ssl
import threading
import time
import uuid
import warnings
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import requests
import responses
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NewConnectionError

from arkindex_worker.api import ArkindexClient
from arkindex_worker.api.client import USER_AGENT
from arkindex_worker.api.retry import classify
from arkindex_worker.api.transport import LeanTransport, encode_json, prepared

TIMEOUT = 2.0
"""Seconds any test waits for the server or for an answer, at most."""
SHORT = 0.2
"""Read time-out of the time-out tests."""
ELEMENT_ID = "12341234-1234-1234-1234-123412341234"
PROXY_VARIABLES = (
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
)


# ------------------------------------------------------------- scripted server


class Received(NamedTuple):
    """One request the server read."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    connection: int
    """Number of the connection it came on, from 1."""
    raw: bytes
    """Request line, headers and body, as received."""


@dataclass
class Hangup:
    """Send ``data`` (maybe nothing), then close the connection."""

    data: bytes = b""


@dataclass
class Silence:
    """Send ``data`` (maybe nothing), then nothing more: the connection stays
    open until the client closes it."""

    data: bytes = b""


Script = bytes | Hangup | Silence | Callable[[Received], "bytes | Hangup | Silence"]


def answer(
    status: int = 200,
    body: bytes = b"",
    headers: dict[str, str] | list[tuple[str, str]] | None = None,
    reason: str | None = None,
    version: str = "HTTP/1.1",
    length: bool = True,
) -> bytes:
    """Raw bytes of an answer (``Content-Length`` added unless ``length`` is off)."""
    if reason is None:
        reason = HTTPStatus(status).phrase
    pairs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
    if length and not any(name.lower() == "content-length" for name, _ in pairs):
        pairs.append(("Content-Length", str(len(body))))
    head = f"{version} {status} {reason}\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in pairs
    )
    return head.encode("latin-1") + b"\r\n" + body


def json_answer(payload: Any, status: int = 200, **options: Any) -> bytes:
    headers = {"Content-Type": "application/json", **options.pop("headers", {})}
    return answer(status, json.dumps(payload).encode(), headers, **options)


@dataclass
class ScriptedServer:
    """A loopback HTTP/1.1 server answering requests with scripted raw bytes.

    Each accepted connection is served by its own thread: it reads requests
    (head, then ``Content-Length`` bytes of body), records them, and writes the
    next scripted answer of `script` (shared by all connections, in arrival order;
    a request nothing was scripted for is answered by closing the connection).
    """

    script: list[Script] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    tls: ssl.SSLContext | None = None
    """Serve HTTPS with this server-side context."""
    accepted: int = 0
    closed: int = 0
    """Connections the server closed or saw closed."""

    def __post_init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        # Written once by `close`: readable from then on, it wakes every thread
        self.waker, self.wake = socket.socketpair()
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    @property
    def url(self) -> str:
        scheme = "http" if self.tls is None else "https"
        return f"{scheme}://127.0.0.1:{self.port}/"

    @property
    def netloc(self) -> str:
        return f"127.0.0.1:{self.port}"

    def then(self, *answers: Script) -> ScriptedServer:
        """Append answers to the script."""
        with self.lock:
            self.script.extend(answers)
        return self

    def wait(self, predicate: Callable[[], bool]) -> None:
        """Wait until ``predicate()`` (checked under the lock) holds."""
        with self.changed:
            assert self.changed.wait_for(predicate, TIMEOUT), "server never got there"

    def close(self) -> None:
        self.wake.send(b"x")
        self.threads[0].join(TIMEOUT)  # accepts no more: no thread is added
        for thread in self.threads:
            thread.join(TIMEOUT)
            assert not thread.is_alive()
        for sock in (self.listener, self.waker, self.wake):
            sock.close()

    # -------------------------------------------------------------- threads

    def _ready(self, sock: socket.socket) -> bool:
        """Wait until ``sock`` is readable; `False` when the server stops."""
        if isinstance(sock, ssl.SSLSocket) and sock.pending():
            return True  # decrypted bytes already waiting
        readable, _, _ = select.select([sock, self.waker], [], [])
        return self.waker not in readable

    def _accept(self) -> None:
        while self._ready(self.listener):
            sock, _ = self.listener.accept()
            with self.changed:
                self.accepted += 1
                thread = threading.Thread(
                    target=self._serve, args=(sock, self.accepted), daemon=True
                )
                self.threads.append(thread)
                self.changed.notify_all()
            thread.start()

    def _serve(self, sock: socket.socket, number: int) -> None:
        try:
            if self.tls is not None:
                try:
                    sock = self.tls.wrap_socket(sock, server_side=True)
                except (OSError, ssl.SSLError):  # the client refused our certificate
                    return
            self._exchange(sock, number)
        finally:
            sock.close()
            with self.changed:
                self.closed += 1
                self.changed.notify_all()

    def _recv(self, sock: socket.socket) -> bytes:
        """Some bytes; ``b""`` at the end of the stream or when the server stops."""
        if not self._ready(sock):
            return b""
        try:
            return sock.recv(65536)
        except OSError:
            return b""

    def _exchange(self, sock: socket.socket, number: int) -> None:
        data = b""
        while True:
            while b"\r\n\r\n" not in data:
                chunk = self._recv(sock)
                if not chunk:
                    return
                data += chunk
            head, _, data = data.partition(b"\r\n\r\n")
            request_line, *lines = head.decode("latin-1").split("\r\n")
            headers = {
                name: value.strip()
                for name, _, value in (line.partition(":") for line in lines)
            }
            size = int(
                next(
                    (v for n, v in headers.items() if n.lower() == "content-length"), 0
                )
            )
            while len(data) < size:
                chunk = self._recv(sock)
                if not chunk:
                    return
                data += chunk
            body, data = data[:size], data[size:]
            method, target, _ = request_line.split(" ")
            request = Received(
                method, target, headers, body, number, head + b"\r\n\r\n" + body
            )
            with self.changed:
                self.received.append(request)
                reply = self.script.pop(0) if self.script else Hangup()
                self.changed.notify_all()
            if callable(reply):
                reply = reply(request)
            try:
                sock.sendall(reply if isinstance(reply, bytes) else reply.data)
            except OSError:
                return
            if isinstance(reply, Silence):
                while self._recv(sock):
                    pass
            if not isinstance(reply, bytes):
                return


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    scripted = ScriptedServer()
    yield scripted
    scripted.close()


@pytest.fixture
def transport() -> Iterator[LeanTransport]:
    lean = LeanTransport((TIMEOUT, TIMEOUT), verify=True)
    yield lean
    lean.close()


def send(
    transport: LeanTransport,
    url: str,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    jar: requests.cookies.RequestsCookieJar | None = None,
) -> requests.Response:
    if jar is None:
        jar = requests.cookies.RequestsCookieJar()
    return transport.send(prepared(method, url, headers or {}, body), jar)


def chunked(*parts: bytes, trailers: bytes = b"") -> bytes:
    """Raw chunked answer holding ``parts`` (each with a chunk extension)."""
    body = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(part), part) for part in parts)
    headers = {"Transfer-Encoding": "chunked"}
    return answer(200, body + b"0\r\n" + trailers + b"\r\n", headers, length=False)


# ------------------------------------------------------------ transport: requests


def test_get_sends_exact_bytes_and_reads_answer(server, transport):
    payload = '{"name": "é", "values": [1, 2]}'.encode()
    server.then(
        answer(
            200,
            payload,
            [
                ("Content-Type", "application/json"),
                ("X-Twice", "a"),
                ("X-Twice", "b"),
            ],
        )
    )
    url = server.url + "path?x=1"
    response = send(
        transport, url, headers={"Accept": "application/json", "X-Test": "yes"}
    )

    assert [request.raw for request in server.received] == [
        b"GET /path?x=1 HTTP/1.1\r\n"
        + f"Host: {server.netloc}\r\n".encode()
        + b"Accept: application/json\r\nX-Test: yes\r\n\r\n"
    ]
    assert response.status_code == 200
    assert response.reason == "OK"
    assert dict(response.headers) == {
        "Content-Type": "application/json",
        "X-Twice": "a, b",
        "Content-Length": str(len(payload)),
    }
    assert response.headers["content-type"] == "application/json"
    assert response.content == payload
    assert response.url == url
    assert response.request.url == url
    assert response.encoding == "utf-8"
    assert response.json() == {"name": "é", "values": [1, 2]}
    assert response.ok and not response.is_redirect


def test_request_to_the_root_has_target_slash(server, transport):
    server.then(answer(200, b"root"))
    assert send(transport, f"http://{server.netloc}").content == b"root"
    assert server.received[0].target == "/"


@pytest.mark.parametrize(
    ("method", "body", "length", "sent"),
    [
        pytest.param(
            "POST",
            encode_json({"id": uuid.UUID(ELEMENT_ID), "n": [1.5, None], "t": "é"}),
            "79",
            f'{{"id": "{ELEMENT_ID}", "n": [1.5, null], "t": "\\u00e9"}}'.encode(),
            id="post-json",
        ),
        pytest.param("POST", None, "0", b"", id="post-none"),
        pytest.param("PATCH", None, "0", b"", id="patch-none"),
        pytest.param("PUT", b"", "0", b"", id="put-empty"),
        pytest.param("GET", None, None, b"", id="get-none"),
    ],
)
def test_content_length_of_request(server, transport, method, body, length, sent):
    server.then(answer(204))
    response = send(transport, server.url + "x", method=method, body=body)

    assert response.status_code == 204
    [request] = server.received
    assert request.method == method
    assert request.headers.get("Content-Length") == length
    assert request.body == sent


@pytest.mark.parametrize(
    "body", [{"x": float("nan")}, {"x": object()}, {"x": float("inf")}]
)
def test_encode_json_refuses_what_requests_refuses(body):
    with pytest.raises(requests.exceptions.InvalidJSONError):
        encode_json(body)


# ----------------------------------------------------------- transport: keep-alive


def test_requests_reuse_one_connection(server, transport):
    server.then(answer(200, b"one"), answer(200, b"two"), answer(200, b"three"))
    contents = [send(transport, server.url + "x").content for _ in range(3)]

    assert contents == [b"one", b"two", b"three"]
    assert server.accepted == 1
    assert [request.connection for request in server.received] == [1, 1, 1]


@pytest.mark.parametrize(
    ("first", "connections"),
    [
        pytest.param(
            answer(200, b"first", {"Connection": "close"}), [1, 2], id="close"
        ),
        pytest.param(
            answer(200, b"first", {"Connection": "Keep-Alive, Close"}),
            [1, 2],
            id="close-token",
        ),
        pytest.param(answer(200, b"first", version="HTTP/1.0"), [1, 2], id="1.0"),
        pytest.param(
            answer(200, b"first", {"Connection": "keep-alive"}, version="HTTP/1.0"),
            [1, 1],
            id="1.0-keep-alive",
        ),
        pytest.param(answer(200, b"first"), [1, 1], id="1.1"),
    ],
)
def test_connection_closed_when_the_answer_says_so(
    server, transport, first, connections
):
    server.then(first, answer(200, b"second"))
    assert send(transport, server.url + "a").content == b"first"
    assert send(transport, server.url + "b").content == b"second"

    assert [request.connection for request in server.received] == connections
    assert server.accepted == connections[-1]


def test_idle_connection_closed_by_server_is_replaced(server, transport):
    # Keep-alive answer, then the server closes the connection while idle
    server.then(Hangup(answer(200, b"first")), answer(200, b"second"))
    assert send(transport, server.url + "a").content == b"first"
    server.wait(lambda: server.closed == 1)

    assert send(transport, server.url + "b").content == b"second"
    assert [request.connection for request in server.received] == [1, 2]


# ------------------------------------------------------------- transport: bodies


def test_chunked_answer_is_decoded(server, transport):
    server.then(
        chunked(b"hello", b", ", b"chunked " * 300, trailers=b"X-Sum: 1\r\nX-B: 2\r\n"),
        answer(200, b"next"),
    )
    response = send(transport, server.url + "x")

    assert response.content == b"hello, " + b"chunked " * 300
    assert response.headers["Transfer-Encoding"] == "chunked"
    # Trailers were consumed: the connection serves the next answer
    assert send(transport, server.url + "y").content == b"next"
    assert [request.connection for request in server.received] == [1, 1]


def test_chunked_answer_with_uppercase_hex_size(server, transport):
    data = b"x" * 0xAB
    raw = answer(
        200,
        b"AB\r\n" + data + b"\r\n0\r\n\r\n",
        {"Transfer-Encoding": "chunked"},
        length=False,
    )
    server.then(raw)
    assert send(transport, server.url).content == data


@pytest.mark.parametrize("version", ["HTTP/1.1", "HTTP/1.0"])
def test_answer_without_length_is_read_until_close(server, transport, version):
    body = b"until the end " * 1000
    server.then(
        Hangup(answer(200, body, version=version, length=False)),
        answer(200, b"next"),
    )
    assert send(transport, server.url + "a").content == body
    assert send(transport, server.url + "b").content == b"next"
    assert [request.connection for request in server.received] == [1, 2]


def raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        pytest.param("gzip", gzip.compress, id="gzip"),
        pytest.param("deflate", zlib.compress, id="deflate-zlib"),
        pytest.param("deflate", raw_deflate, id="deflate-raw"),
    ],
)
def test_compressed_answer_is_decoded(server, transport, encoding, compress):
    payload = json.dumps({"results": list(range(200))}).encode()
    server.then(
        answer(
            200,
            compress(payload),
            {"Content-Encoding": encoding, "Content-Type": "application/json"},
        )
    )
    response = send(transport, server.url)

    assert response.content == payload
    assert response.json() == {"results": list(range(200))}
    assert response.headers["Content-Encoding"] == encoding


def test_chunked_and_gzip_answer_is_decoded(server, transport):
    compressed = gzip.compress(b"compressed and chunked")
    raw = chunked(compressed[:10], compressed[10:])
    server.then(raw.replace(b"\r\n\r\n", b"\r\nContent-Encoding: gzip\r\n\r\n", 1))
    assert send(transport, server.url).content == b"compressed and chunked"


@pytest.mark.parametrize(
    "interim",
    [
        pytest.param(b"HTTP/1.1 100 Continue\r\n\r\n", id="100"),
        pytest.param(
            b"HTTP/1.1 100 Continue\r\n\r\n"
            b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n",
            id="100-103",
        ),
    ],
)
def test_interim_answers_are_skipped(server, transport, interim):
    server.then(interim + answer(201, b"final", {"X-Final": "yes"}))
    response = send(transport, server.url, method="POST", body=b"{}")

    assert response.status_code == 201
    assert response.reason == "Created"
    assert response.content == b"final"
    assert dict(response.headers) == {"X-Final": "yes", "Content-Length": "5"}


@pytest.mark.parametrize(
    ("method", "first"),
    [
        pytest.param("GET", answer(204, length=False), id="204"),
        pytest.param(
            "GET", answer(204, headers={"Content-Length": "0"}), id="204-length"
        ),
        pytest.param(
            "GET",
            answer(304, headers={"Content-Length": "12", "ETag": '"v1"'}),
            id="304-length",
        ),
        pytest.param(
            "HEAD",
            answer(200, headers={"Content-Length": "12"}),
            id="head-length",
        ),
        pytest.param(
            "HEAD",
            answer(200, headers={"Transfer-Encoding": "chunked"}, length=False),
            id="head-chunked",
        ),
    ],
)
def test_answers_without_body_keep_connection_usable(server, transport, method, first):
    server.then(first, answer(200, b"next"))
    response = send(transport, server.url + "a", method=method)

    assert response.content == b""
    assert response.text == ""
    assert send(transport, server.url + "b").content == b"next"
    assert [request.method for request in server.received] == [method, "GET"]
    assert [request.connection for request in server.received] == [1, 1]


# ------------------------------------------------------------- transport: cookies


def test_cookies_set_by_answer_land_in_response_and_jar(server, transport):
    server.then(
        answer(
            200,
            b"{}",
            [
                ("Set-Cookie", "arkindex.csrf=abc; Path=/; SameSite=Lax"),
                ("Set-Cookie", "session=s1; Path=/; HttpOnly"),
            ],
        )
    )
    jar = requests.cookies.RequestsCookieJar()
    jar.set("previous", "kept")
    response = send(transport, server.url + "api/", jar=jar)

    assert response.cookies.get_dict() == {"arkindex.csrf": "abc", "session": "s1"}
    assert jar.get_dict() == {
        "previous": "kept",
        "arkindex.csrf": "abc",
        "session": "s1",
    }
    assert {cookie.domain for cookie in response.cookies} == {"127.0.0.1"}
    # The transport never sends the jar's cookies itself: the client only uses
    # it while the session has no cookie
    assert "Cookie" not in server.received[0].headers


# -------------------------------------------------------------- transport: errors


@pytest.fixture
def closed_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_connection_refused_is_not_sent(server, transport, closed_port):
    with pytest.raises(requests.ConnectionError) as e:
        send(transport, f"http://127.0.0.1:{closed_port}/x", method="POST", body=b"1")

    assert type(e.value) is requests.ConnectionError
    [reason] = e.value.args
    assert isinstance(reason, NewConnectionError)
    assert "Failed to establish a new connection" in str(reason)
    assert e.value.request.url == f"http://127.0.0.1:{closed_port}/x"
    assert classify(e.value).kind == "not sent"
    # The same transport still works with a healthy server
    server.then(answer(200, b"healthy"))
    assert send(transport, server.url).content == b"healthy"


@pytest.fixture
def short_transport() -> Iterator[LeanTransport]:
    """A transport whose read time-out is `SHORT`."""
    lean = LeanTransport((TIMEOUT, SHORT), verify=True)
    yield lean
    lean.close()


@pytest.mark.parametrize(
    ("failure", "error_class", "message", "kind"),
    [
        pytest.param(
            Hangup(),
            requests.ConnectionError,
            "RemoteDisconnected('Remote end closed connection without response')",
            "unanswered",
            id="closed-without-answer",
        ),
        pytest.param(
            Hangup(answer(200, b"0123456789")[:-4]),
            requests.exceptions.ChunkedEncodingError,
            "IncompleteRead(6 bytes read, 4 more expected)",
            "unanswered",
            id="cut-length-body",
        ),
        pytest.param(
            Hangup(chunked(b"hello", b"world")[:-20]),
            requests.exceptions.ChunkedEncodingError,
            "IncompleteRead(",
            "unanswered",
            id="cut-chunked-body",
        ),
        pytest.param(
            Hangup(
                answer(200, b"zz\r\n", {"Transfer-Encoding": "chunked"}, length=False)
            ),
            requests.exceptions.ChunkedEncodingError,
            "IncompleteRead(",
            "unanswered",
            id="bad-chunk-size",
        ),
        pytest.param(
            Silence(),
            requests.ReadTimeout,
            "{netloc}: Read timed out (read time-out: 0.2 s)",
            "unanswered",
            id="no-answer",
        ),
        pytest.param(
            Silence(answer(200, b"0123456789")[:-4]),
            requests.ReadTimeout,
            "{netloc}: Read timed out (read time-out: 0.2 s)",
            "unanswered",
            id="body-stops",
        ),
        pytest.param(
            b"garbage\r\n\r\n",
            requests.ConnectionError,
            "BadStatusLine('garbage')",
            "unanswered",
            id="garbage-status-line",
        ),
        pytest.param(
            b"HTTP/1.1 OK 200\r\n\r\n",
            requests.ConnectionError,
            "BadStatusLine('HTTP/1.1 OK 200')",
            "unanswered",
            id="status-not-a-number",
        ),
        pytest.param(
            Hangup(b"HTTP/1.1 200 OK\r\nContent-"),
            requests.ConnectionError,
            "BadStatusLine('HTTP/1.1 200 OK\\r\\nContent-')",
            "unanswered",
            id="cut-head",
        ),
    ],
)
def test_failures_raise_requests_errors(
    server, short_transport, failure, error_class, message, kind
):
    server.then(failure, answer(200, b"healthy"))
    with pytest.raises(requests.RequestException) as e:
        send(short_transport, server.url + "broken")

    assert type(e.value) is error_class
    assert message.format(netloc=server.netloc) in str(e.value)
    assert e.value.request.url == server.url + "broken"
    assert classify(e.value).kind == kind
    # The broken connection is dropped; the next request works on a new one
    assert send(short_transport, server.url + "next").content == b"healthy"
    assert [request.connection for request in server.received] == [1, 2]


def test_read_timeout_message(server, short_transport):
    server.then(Silence())
    started = time.monotonic()
    with pytest.raises(requests.ReadTimeout) as e:
        send(short_transport, server.url)

    assert SHORT <= time.monotonic() - started < TIMEOUT
    assert str(e.value) == (
        f"127.0.0.1:{server.port}: Read timed out (read time-out: {SHORT:g} s)"
    )


def test_header_with_line_break_is_refused(server, transport):
    with pytest.raises(requests.exceptions.InvalidHeader) as e:
        send(transport, server.url, headers={"X-Bad": "a\r\nX-Injected: 1"})
    assert "X-Bad" in str(e.value)

    server.then(answer(200, b"healthy"))
    assert send(transport, server.url, headers={"X-Good": "b"}).content == b"healthy"
    assert [request.headers for request in server.received] == [
        {"Host": server.netloc, "X-Good": "b"}
    ]


def test_header_name_with_line_break_is_refused(server, transport):
    server.then(answer(200, b"sent"))
    with pytest.raises(requests.exceptions.InvalidHeader):
        send(transport, server.url, headers={"X-Bad\r\nX-Injected": "a"})
    assert server.received == []


# ------------------------------------------------------------ transport: threads


def test_threads_use_their_own_connections(server, transport):
    server.then(*[lambda request: answer(200, request.target.encode())] * 4)
    barrier = threading.Barrier(2)
    contents: dict[str, list[bytes]] = {}
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            barrier.wait(TIMEOUT)
            contents[name] = [
                send(transport, f"{server.url}{name}/{index}").content
                for index in range(2)
            ]
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(name,)) for name in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)

    transport.close()  # the connections of both threads

    assert errors == []
    assert contents == {"a": [b"/a/0", b"/a/1"], "b": [b"/b/0", b"/b/1"]}
    assert server.accepted == 2
    connection_of = {request.target: request.connection for request in server.received}
    assert connection_of["/a/0"] == connection_of["/a/1"]
    assert connection_of["/b/0"] == connection_of["/b/1"]
    assert connection_of["/a/0"] != connection_of["/b/0"]


# ----------------------------------------- transport: differences with requests


@pytest.mark.parametrize(
    ("method", "raw"),
    [
        pytest.param(
            "HEAD",
            answer(200, headers={"Content-Encoding": "gzip", "Content-Length": "20"}),
            id="head",
        ),
        pytest.param(
            "GET", answer(204, headers={"Content-Encoding": "gzip"}), id="204"
        ),
        pytest.param(
            "GET", answer(200, headers={"Content-Encoding": "deflate"}), id="empty"
        ),
    ],
)
def test_empty_compressed_answer(server, transport, method, raw):
    server.then(raw)
    assert send(transport, server.url, method=method).content == b""


def test_undecodable_answer_raises_content_decoding_error(server, transport):
    server.then(answer(200, b"not gzip", {"Content-Encoding": "gzip"}))
    with pytest.raises(requests.exceptions.ContentDecodingError):
        send(transport, server.url)


@pytest.mark.parametrize("encoding", ["GZIP", "x-gzip"])
def test_content_coding_names_as_urllib3_reads_them(server, transport, encoding):
    server.then(answer(200, gzip.compress(b"plain"), {"Content-Encoding": encoding}))
    assert send(transport, server.url).content == b"plain"


def test_multi_member_gzip_answer(server, transport):
    body = gzip.compress(b"first ") + gzip.compress(b"second")
    server.then(answer(200, body, {"Content-Encoding": "gzip"}))
    assert send(transport, server.url).content == b"first second"


def test_response_can_be_iterated(server, transport):
    server.then(answer(200, b"abcdef"))
    response = send(transport, server.url)
    assert list(response.iter_content(4)) == [b"abcd", b"ef"]


# ------------------------------------------------------------------ client


@pytest.fixture
def client(server, monkeypatch) -> Iterator[ArkindexClient]:
    """A client on the scripted server, without proxy, one attempt per request."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    api = ArkindexClient(token="secret", base_url=server.url + "api/v1/", retries=1)
    yield api
    api.transport.close()
    api.session.close()


def spy_lean(client: ArkindexClient, monkeypatch) -> list[requests.PreparedRequest]:
    """Record the requests the client sends through its lean transport."""
    calls = []
    exchange = client.transport.exchange

    def spy(method, url, headers, body=None):
        calls.append(prepared(method, url, headers, body))
        return exchange(method, url, headers, body)

    monkeypatch.setattr(client.transport, "exchange", spy)
    return calls


@pytest.fixture
def lean_calls(client, monkeypatch) -> list[requests.PreparedRequest]:
    """Requests the client sends through its lean transport."""
    return spy_lean(client, monkeypatch)


def element_path(element_id: str = ELEMENT_ID) -> str:
    return f"/api/v1/element/{element_id}/"


def test_client_sends_get_through_lean_transport(server, client, lean_calls):
    server.then(json_answer({"id": ELEMENT_ID, "name": "é"}))
    assert client.request("RetrieveElement", id=ELEMENT_ID) == {
        "id": ELEMENT_ID,
        "name": "é",
    }

    [request] = server.received
    assert request.raw.split(b"\r\n", 1)[0] == (
        f"GET {element_path()} HTTP/1.1".encode()
    )
    assert request.headers == {
        "Host": server.netloc,
        "User-Agent": USER_AGENT,
        "Accept-Encoding": "gzip, deflate",
        "Accept": "application/json, text/*, */*",
        "Connection": "keep-alive",
        "Referer": server.url + "api/v1/",
        "Authorization": "Token secret",
    }
    assert request.body == b""
    assert len(lean_calls) == 1


def test_client_sends_write_with_json_body(server, client, lean_calls):
    server.then(json_answer({"id": "new"}, status=201))
    class_id, run_id = uuid.uuid4(), uuid.uuid4()
    body = {
        "element": uuid.UUID(ELEMENT_ID),
        "ml_class": class_id,
        "worker_run_id": run_id,
        "confidence": 0.5,
        "high_confidence": True,
        "extra": [class_id, {"nested": run_id}, None, "é"],
    }
    assert client.request("CreateClassification", body=body) == {"id": "new"}

    as_text = {
        "element": ELEMENT_ID,
        "ml_class": str(class_id),
        "worker_run_id": str(run_id),
        "confidence": 0.5,
        "high_confidence": True,
        "extra": [str(class_id), {"nested": str(run_id)}, None, "é"],
    }
    [request] = server.received
    assert (request.method, request.target) == ("POST", "/api/v1/classifications/")
    assert request.body == json.dumps(as_text).encode()
    # The very body requests would send
    url = server.url + "api/v1/classifications/"
    assert request.body == requests.Request("POST", url, json=as_text).prepare().body
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Content-Length"] == str(len(request.body))
    assert request.headers["Authorization"] == "Token secret"
    assert "X-CSRFToken" not in request.headers
    assert len(lean_calls) == 1


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"page": 2, "recursive": True, "with_zone": False}, id="scalars"),
        pytest.param(
            {"name": "a b&c=d/é?#+%", "type": "page"},
            id="reserved-characters",
        ),
        pytest.param(
            {"folder": None, "name": "ünïcødé ☃", "type": ["page", "line"]},
            id="list-and-none",
        ),
        pytest.param({"worker_version": None}, id="only-none"),
        pytest.param(
            {"worker_run": uuid.UUID(ELEMENT_ID), "page": 1.5}, id="uuid-float"
        ),
    ],
)
def test_query_encoded_as_requests_encodes_it(server, client, lean_calls, params):
    server.then(json_answer({"results": []}))
    client.request("ListElementChildren", id=ELEMENT_ID, **params)

    url = f"{server.url}api/v1/elements/{ELEMENT_ID}/children/"
    ordered = dict(sorted(params.items()))  # the client sorts its parameters
    expected = requests.Request("GET", url, params=ordered).prepare().url
    [request] = server.received
    assert f"http://{server.netloc}{request.target}" == expected
    assert len(lean_calls) == 1


def test_query_parameters_sorted_and_none_dropped(server, client):
    server.then(json_answer({"results": []}))
    client.request(
        "ListElementChildren",
        id=ELEMENT_ID,
        type="page",
        folder=None,
        name="x y",
        page=3,
    )
    assert server.received[0].target == (
        f"/api/v1/elements/{ELEMENT_ID}/children/?name=x+y&page=3&type=page"
    )


def test_redirect_is_followed_by_requests(server, client, lean_calls):
    other = element_path("other")
    server.then(answer(302, headers={"Location": other}), json_answer({"id": "other"}))

    assert client.request("RetrieveElement", id=ELEMENT_ID) == {"id": "other"}
    # The lean answer is a redirection: requests follows it (on its own
    # connection), without sending the first request again
    assert [
        (request.method, request.target, request.connection)
        for request in server.received
    ] == [
        ("GET", element_path(), 1),
        ("GET", other, 2),
    ]
    assert len(lean_calls) == 1
    assert server.received[1].headers["Authorization"] == "Token secret"


def test_write_answered_with_see_other_is_sent_once(server, client):
    created = "/api/v1/classification/new/"

    def route(request: Received) -> bytes:
        if request.method == "POST":
            return answer(303, headers={"Location": created})
        return json_answer({"id": "new"})

    server.then(route, route, route)
    assert client.request("CreateClassification", body={"element": ELEMENT_ID}) == {
        "id": "new"
    }
    assert [(request.method, request.target) for request in server.received] == [
        ("POST", "/api/v1/classifications/"),
        ("GET", created),
    ]


def test_csrf_cookie_remembered_then_writes_go_through_requests(
    server, client, lean_calls
):
    server.then(
        json_answer(
            {"id": ELEMENT_ID}, headers={"Set-Cookie": "arkindex.csrf=abc; Path=/"}
        ),
        json_answer({"id": "new"}, status=201),
    )
    client.request("RetrieveElement", id=ELEMENT_ID)

    assert client.auth.csrf_token == "abc"
    assert client.session.cookies.get_dict() == {"arkindex.csrf": "abc"}
    operation = client.lookup_operation("CreateClassification")
    assert client._lean_transport_allowed(operation) is False

    client.request("CreateClassification", body={"element": ELEMENT_ID})
    assert len(lean_calls) == 1
    first, write = server.received
    assert first.connection == 1
    assert write.connection == 2  # requests' own connection
    assert write.headers["X-CSRFToken"] == "abc"
    assert write.headers["Cookie"] == "arkindex.csrf=abc"
    assert write.headers["Authorization"] == "Token secret"
    assert write.body == json.dumps({"element": ELEMENT_ID}).encode()
    assert "X-CSRFToken" not in first.headers


class RecordingAdapter(HTTPAdapter):
    """A custom adapter, as a user could mount one."""

    sent: list[str]

    def send(self, request, *args, **kwargs):
        self.sent.append(request.url)
        return super().send(request, *args, **kwargs)


# Each customisation returns what shows that requests sent the request
Check = Callable[[Received], bool]


def element_url(server: ScriptedServer) -> str:
    return f"{server.url}api/v1/element/{ELEMENT_ID}/"


def mount_adapter(client: ArkindexClient, server: ScriptedServer) -> Check:
    adapter = RecordingAdapter()
    adapter.sent = []
    client.session.mount(server.url, adapter)
    return lambda request: adapter.sent == [element_url(server)]


def add_hook(client: ArkindexClient, server: ScriptedServer) -> Check:
    seen = []
    client.session.hooks["response"].append(
        lambda response, **kwargs: seen.append(response.status_code)
    )
    return lambda request: seen == [200]


def set_proxy(client: ArkindexClient, server: ScriptedServer) -> Check:
    # The scripted server plays the proxy: requests sends it absolute URLs
    client.session.proxies = {"http": server.url}
    return lambda request: request.target == element_url(server)


def set_cookie(client: ArkindexClient, server: ScriptedServer) -> Check:
    client.session.cookies.set("other", "1")
    return lambda request: request.headers["Cookie"] == "other=1"


def set_auth(client: ArkindexClient, server: ScriptedServer) -> Check:
    client.session.auth = requests.auth.HTTPBasicAuth("user", "password")
    return lambda request: (
        request.headers["Authorization"] == ("Basic dXNlcjpwYXNzd29yZA==")
    )


def set_cert(client: ArkindexClient, server: ScriptedServer) -> Check:
    client.session.cert = __file__  # must exist, but is unused on plain HTTP
    return lambda request: request.connection == 1


def set_verify(client: ArkindexClient, server: ScriptedServer) -> Check:
    client.session.verify = False
    return lambda request: request.connection == 1


def set_timeout(client: ArkindexClient, server: ScriptedServer) -> Check:
    client.timeout = (TIMEOUT, TIMEOUT + 1)
    return lambda request: request.connection == 1


@pytest.mark.parametrize(
    "customise",
    [
        pytest.param(set_verify, id="verify"),
        pytest.param(set_timeout, id="timeout"),
        pytest.param(mount_adapter, id="adapter"),
        pytest.param(add_hook, id="hook"),
        pytest.param(set_proxy, id="proxy"),
        pytest.param(set_cookie, id="cookie"),
        pytest.param(set_auth, id="auth"),
        pytest.param(set_cert, id="cert"),
    ],
)
def test_customised_session_sends_through_requests(
    server, client, lean_calls, customise
):
    operation = client.lookup_operation("RetrieveElement")
    assert client._lean_transport_allowed(operation) is True

    sent_by_requests = customise(client, server)
    assert client._lean_transport_allowed(operation) is False
    server.then(json_answer({"id": ELEMENT_ID}))
    assert client.request("RetrieveElement", id=ELEMENT_ID) == {"id": ELEMENT_ID}

    assert lean_calls == []
    [request] = server.received
    assert sent_by_requests(request)


def test_download_operation_is_not_lean(client):
    operation = client.lookup_operation("DownloadExport")
    assert operation.download
    assert client._lean_transport_allowed(operation) is False


def test_requests_mocked_by_responses_never_reach_server(server, client, lean_calls):
    operation = client.lookup_operation("RetrieveElement")
    url = client.build_url("RetrieveElement", id=ELEMENT_ID)
    with responses.RequestsMock() as mock:
        mock.get(url, json={"from": "responses"})
        assert client._lean_transport_allowed(operation) is False
        assert client.request("RetrieveElement", id=ELEMENT_ID) == {"from": "responses"}
        assert len(mock.calls) == 1
    assert lean_calls == []
    assert server.received == []
    assert server.accepted == 0
    # Once the mock stopped, the lean transport is used again
    assert client._lean_transport_allowed(operation) is True


def test_binary_answer_to_json_operation_is_a_file(server, client, lean_calls):
    # Saved through iter_content: works because .content was read before
    server.then(answer(200, b"\x00binary", {"Content-Type": "application/pdf"}))
    with client.request("RetrieveElement", id=ELEMENT_ID) as downloaded:
        assert downloaded.read() == b"\x00binary"
    assert len(lean_calls) == 1


@pytest.mark.parametrize(
    ("operation_id", "parameters"),
    [
        pytest.param("RetrieveElement", {"id": ELEMENT_ID}, id="get"),
        pytest.param(
            "ListElementChildren",
            {"id": ELEMENT_ID, "name": "a b", "with_zone": True, "type": ["x", "y"]},
            id="get-query",
        ),
        pytest.param(
            "CreateClassification",
            {"body": {"element": uuid.UUID(ELEMENT_ID), "confidence": 1.0}},
            id="post",
        ),
        pytest.param(
            "PartialUpdateElement",
            {"id": ELEMENT_ID, "body": {"name": "ünïcødé"}},
            id="patch",
        ),
        pytest.param("StartWorkerActivity", {}, id="put-without-body"),
        pytest.param("DestroyModelVersion", {"id": ELEMENT_ID}, id="delete"),
    ],
)
def test_lean_transport_sends_what_requests_sends(
    server, client, lean_calls, operation_id, parameters
):
    server.then(json_answer({}), json_answer({}))
    client.request(operation_id, **parameters)
    add_hook(client, server)  # from now on, through requests
    client.request(operation_id, **parameters)

    assert len(lean_calls) == 1
    lean, sent_by_requests = server.received
    assert (lean.connection, sent_by_requests.connection) == (1, 2)
    assert (lean.method, lean.target, lean.body) == (
        sent_by_requests.method,
        sent_by_requests.target,
        sent_by_requests.body,
    )
    assert sent_by_requests.headers == lean.headers


def test_proxy_variable_read_at_construction(server, monkeypatch):
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", server.url)
    # The proxy is not the API: its host is where the URL says
    client = ArkindexClient(token="secret", base_url="http://arkindex.invalid/")
    try:
        assert client.session.proxies == {"http": server.url}
        server.then(json_answer({"via": "proxy"}))
        assert client.request("RetrieveElement", id=ELEMENT_ID) == {"via": "proxy"}
    finally:
        client.transport.close()
        client.session.close()
    [request] = server.received
    assert request.target == f"http://arkindex.invalid/api/v1/element/{ELEMENT_ID}/"


@pytest.mark.parametrize(
    ("keyword", "variable", "lean"),
    [
        pytest.param(None, None, True, id="default"),
        pytest.param(False, None, False, id="keyword-off"),
        pytest.param(None, "0", False, id="variable-off"),
        pytest.param(None, "1", True, id="variable-on"),
        pytest.param(True, "0", True, id="keyword-wins"),
    ],
)
def test_lean_transport_setting(server, monkeypatch, keyword, variable, lean):
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    if variable is not None:
        monkeypatch.setenv("ARKINDEX_API_LEAN_TRANSPORT", variable)
    client = ArkindexClient(
        token="secret", base_url=server.url, lean_transport=keyword, retries=1
    )
    try:
        calls = spy_lean(client, monkeypatch)
        operation = client.lookup_operation("RetrieveElement")
        assert bool(client._lean_transport_allowed(operation)) is lean
        server.then(json_answer({"id": ELEMENT_ID}))
        assert client.request("RetrieveElement", id=ELEMENT_ID) == {"id": ELEMENT_ID}
        assert len(calls) == int(lean)
        assert len(server.received) == 1
    finally:
        client.transport.close()
        client.session.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_process_opens_its_own_connection(server, client):
    server.then(*[json_answer({"id": ELEMENT_ID})] * 3)
    client.request("RetrieveElement", id=ELEMENT_ID)  # the parent's connection

    with warnings.catch_warnings():
        # Python 3.12+ warns about forking a process with threads (the server's)
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: exit status 0 when its request succeeded
        try:
            ok = client.request("RetrieveElement", id=ELEMENT_ID) == {"id": ELEMENT_ID}
        except BaseException:
            ok = False
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert client.request("RetrieveElement", id=ELEMENT_ID) == {"id": ELEMENT_ID}

    # The child did not write on the parent's socket: a connection of its own
    assert server.accepted == 2
    assert [request.connection for request in server.received] == [1, 2, 1]


# ------------------------------------------------------------------ TLS

TLS_DIRECTORY = Path(__file__).parent / "tls"
"""A self-signed certificate for 127.0.0.1 and localhost (tests only)."""


@pytest.fixture
def tls_server() -> Iterator[ScriptedServer]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(TLS_DIRECTORY / "cert.pem", TLS_DIRECTORY / "key.pem")
    scripted = ScriptedServer(tls=context)
    yield scripted
    scripted.close()


def test_https_with_a_ca_bundle_keeps_its_connection(tls_server):
    tls_server.then(json_answer({"n": 1}), json_answer({"n": 2}))
    lean = LeanTransport((TIMEOUT, TIMEOUT), verify=str(TLS_DIRECTORY / "cert.pem"))
    try:
        answers = [send(lean, f"{tls_server.url}{n}").json() for n in (1, 2)]
    finally:
        lean.close()
    assert answers == [{"n": 1}, {"n": 2}]
    assert [r.target for r in tls_server.received] == ["/1", "/2"]
    assert tls_server.accepted == 1


def test_https_without_verification(tls_server):
    tls_server.then(json_answer({"n": 1}))
    lean = LeanTransport((TIMEOUT, TIMEOUT), verify=False)
    try:
        assert send(lean, tls_server.url).json() == {"n": 1}
    finally:
        lean.close()


def test_https_with_an_unknown_certificate_is_refused(tls_server):
    lean = LeanTransport((TIMEOUT, TIMEOUT), verify=True)
    try:
        with pytest.raises(requests.exceptions.SSLError, match="CERTIFICATE_VERIFY"):
            send(lean, tls_server.url)
    finally:
        lean.close()
    assert tls_server.received == []
