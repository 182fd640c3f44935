"""A real client against a loopback server that answers with scripted bytes.

The hand-written HTTP/1.1 transport the SDK used to have could read the stale
bytes of one answer as the answer of the next request, take a 204 body for the
next answer, lose a 413 sent before the body was read, or accept ambiguous
framing. Every exchange now goes through `requests` and urllib3: these tests
show that none of it happens.
"""

from __future__ import annotations

import gc
import gzip
import io
import json
import logging
import socket
import threading
import tracemalloc
from collections.abc import Iterator
from typing import NamedTuple

import pytest
import requests

from arkindex_worker.api import ArkindexClient, ErrorResponse
from arkindex_worker.api.answers import AnswerLimits
from arkindex_worker.api.errors import UnconfirmedWriteError
from arkindex_worker.errors import (
    AnswerLimitError,
    InvalidHeaderValueError,
    InvalidPaginationError,
    InvalidStatusError,
    UnexpectedContentError,
)

TIMEOUT = 2
"""Seconds of the client's read time-out: no test waits for it."""


class Answer(NamedTuple):
    """What the server does with one request.

    Attributes:
        data: Bytes sent back, verbatim (several answers, garbage…).
        read_body: Read the request body before answering.
        close: Close the connection after answering.
    """

    data: bytes
    read_body: bool = True
    close: bool = False


class Received(NamedTuple):
    connection: int
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


def answer(status: str, body: bytes | dict = b"", *headers: str) -> bytes:
    """An HTTP/1.1 answer with a Content-Length; a dict body is sent as JSON."""
    lines = [f"HTTP/1.1 {status}", *headers]
    if isinstance(body, dict):
        body = json.dumps(body).encode()
        lines.append("Content-Type: application/json")
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class ScriptedServer:
    """Answers the n-th request it receives, on any connection, with `answers[n]`.

    Requests beyond the script get their connection closed without answer.
    """

    def __init__(self, answers: list[Answer]) -> None:
        self.answers = list(answers)
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.sockets: list[socket.socket] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}/"

    def _accept(self) -> None:
        number = 0
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.sockets.append(connection)
            threading.Thread(
                target=self._serve, args=(connection, number), daemon=True
            ).start()
            number += 1

    def _serve(self, connection: socket.socket, number: int) -> None:
        reader = connection.makefile("rb")
        try:
            while self._answer(connection, reader, number):
                pass
        except OSError:
            pass
        finally:
            reader.close()
            connection.close()

    def _answer(self, connection: socket.socket, reader, number: int) -> bool:
        """Read one request and answer it; whether to go on with the connection."""
        request_line = reader.readline()
        if not request_line:
            return False
        headers = {}
        while (line := reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        method, path, _ = request_line.decode().split(" ", 2)
        with self.lock:
            index = len(self.received)
            script = self.answers[index] if index < len(self.answers) else None
            body = b""
            if script is not None and script.read_body:
                body = reader.read(int(headers.get("content-length", 0)))
            self.received.append(Received(number, method, path, headers, body))
        if script is None:
            return False
        connection.sendall(script.data)
        return not script.close

    def close(self) -> None:
        self.listener.close()
        for connection in self.sockets:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            connection.close()


@pytest.fixture(autouse=True)
def no_proxy_environment(monkeypatch):
    """Loopback requests go straight to the server, whatever the machine's proxy."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture
def serve() -> Iterator:
    """Start a `ScriptedServer`; a client on it is closed at the end."""
    servers: list[ScriptedServer] = []
    clients: list[ArkindexClient] = []

    def start(
        answers: list[Answer], **options
    ) -> tuple[ScriptedServer, ArkindexClient]:
        server = ScriptedServer(answers)
        servers.append(server)
        options.setdefault("read_timeout", TIMEOUT)
        client = ArkindexClient(base_url=server.url, token="t", **options)
        clients.append(client)
        return server, client

    yield start
    for client in clients:
        client.close()
    for server in servers:
        server.close()


CLASSIFICATION = {"element": "e", "ml_class": "c", "confidence": 0.5}
BIG = 8 << 20
"""Bytes of a body far larger than loopback socket buffers (~128 KB to 4 MB)."""


def create(client: ArkindexClient, body: dict = CLASSIFICATION):
    return client.request("CreateClassification", body=body)


def bodies(server: ScriptedServer) -> list[bytes]:
    return [request.body for request in server.received]


# ---------------------------------------------------------------- framing


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param(answer("201 Created", {"id": "stale"}), id="whole-answer"),
        pytest.param(answer("201 Created", {"id": "stale"})[:20], id="half-answer"),
        pytest.param(b"\x00\xffgarbage\r\n\r\n", id="garbage"),
    ],
)
def test_bytes_after_an_answer_are_not_the_next_answer(serve, sleeps, extra):
    server, client = serve(
        [
            Answer(answer("201 Created", {"id": "real-1"}) + extra),
            Answer(answer("201 Created", {"id": "real-2"})),
            Answer(answer("200 OK", {"id": "real-3"})),
        ]
    )
    assert create(client) == {"id": "real-1"}
    assert create(client, {**CLASSIFICATION, "confidence": 1}) == {"id": "real-2"}
    assert client.request("RetrieveElement", id=1) == {"id": "real-3"}
    # Each request reached the server once and got the server's answer to it
    assert [(r.method, r.path) for r in server.received] == [
        ("POST", "/api/v1/classifications/"),
        ("POST", "/api/v1/classifications/"),
        ("GET", "/api/v1/element/1/"),
    ]
    assert [json.loads(body)["confidence"] for body in bodies(server)[:2]] == [0.5, 1]
    assert sleeps == []


@pytest.mark.parametrize(
    "no_content",
    [
        pytest.param(answer("204 No Content", b'{"id": "stale"}'), id="content-length"),
        pytest.param(
            b"HTTP/1.1 204 No Content\r\n\r\n" + answer("201 Created", {"id": "stale"}),
            id="answer-like-body",
        ),
    ],
)
def test_body_of_a_204_is_not_the_next_answer(serve, sleeps, no_content):
    server, client = serve(
        [Answer(no_content), Answer(answer("201 Created", {"id": "real"}))]
    )
    assert client.request("UpdateWorkerActivity", id="v", body={"state": "x"}) is None
    # Not an UnconfirmedWriteError: the POST gets its own answer
    assert create(client) == {"id": "real"}
    assert [r.method for r in server.received] == ["PUT", "POST"]
    assert sleeps == []


@pytest.mark.filterwarnings("ignore:unclosed <socket:ResourceWarning")
@pytest.mark.parametrize(
    "lengths",
    [
        pytest.param("Content-Length: 2\r\nContent-Length: 13", id="two-headers"),
        pytest.param("Content-Length: 2, 13", id="two-values"),
    ],
)
def test_conflicting_content_lengths_are_rejected(serve, sleeps, lengths):
    server, client = serve(
        [
            Answer(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + lengths.encode()
                + b'\r\n\r\n{}{"id": "x"}'
            )
        ]
    )
    with pytest.raises(requests.exceptions.InvalidHeader) as e:
        client.request("RetrieveElement", id=1)
    message = str(e.value)
    assert message == "Content-Length contained multiple unmatching values (2, 13)"
    assert len(server.received) == 1
    assert sleeps == []
    # urllib3 closes the connection but leaves the socket of the rejected
    # answer to the garbage collector: collect it here, not in another test
    del e
    gc.collect()


def test_huge_chunk_size_line_is_rejected(serve):
    server, client = serve(
        [
            Answer(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n" + b"f" * (16 << 20) + b"\r\n"
            )
        ],
        read_retries=0,
    )
    with pytest.raises(requests.exceptions.ChunkedEncodingError) as e:
        client.request("RetrieveElement", id=1)
    # urllib3 reads at most 64 KiB of a chunk size line
    assert "Response chunk size line exceeded maximum allowed length" in str(e.value)
    assert len(server.received) == 1


# ---------------------------------------------------------------- early answers


def test_413_sent_before_the_body_is_read(serve, sleeps):
    too_large = answer(
        "413 Payload Too Large", {"detail": "too large"}, "Connection: close"
    )
    server, client = serve([Answer(too_large, read_body=False, close=True)])
    # The server closes while the client still sends: urllib3 stops sending on
    # the reset connection and reads the answer already received
    with pytest.raises(ErrorResponse) as e:
        create(client, {"element": "x" * BIG})
    assert not isinstance(e.value, UnconfirmedWriteError)
    assert e.value.status_code == 413
    assert e.value.title == "413 Payload Too Large"
    assert e.value.content == {"detail": "too large"}
    assert len(server.received) == 1
    assert sleeps == []


def test_413_to_a_file_upload_sent_before_the_body_is_read(serve, sleeps, tmp_path):
    upload = tmp_path / "upload.bin"
    upload.write_bytes(b"\x00" * BIG)
    too_large = answer("413 Payload Too Large", b"", "Connection: close")
    server, client = serve([Answer(too_large, read_body=False, close=True)])
    with pytest.raises(requests.HTTPError) as e:
        client.http_request("PUT", server.url + "bucket/key", data=upload)
    assert not isinstance(e.value, UnconfirmedWriteError)
    assert e.value.response.status_code == 413
    assert len(server.received) == 1
    assert sleeps == []


# ---------------------------------------------------------------- lost answers


def test_write_whose_connection_is_closed_is_not_resent(serve, sleeps):
    server, client = serve([Answer(b"", close=True)])
    with pytest.raises(UnconfirmedWriteError) as e:
        create(client)
    assert isinstance(e.value, requests.ConnectionError)
    assert bodies(server) == [json.dumps(CLASSIFICATION).encode()]
    assert sleeps == []


def test_download_cut_mid_body_is_retried_whole(serve, sleeps):
    content = bytes(range(256)) * 4
    cut = answer("200 OK", content)[: -len(content) // 2]
    server, client = serve([Answer(cut, close=True), Answer(answer("200 OK", content))])
    reads = []

    def read(response: requests.Response) -> bytes:
        reads.append(response.status_code)
        return response.content

    url = server.url + "iiif/image/full/full/0/default.jpg"
    assert client.http_request("GET", url, stream=True, read=read) == content
    assert reads == [200, 200]
    assert [r.path for r in server.received] == [
        "/iiif/image/full/full/0/default.jpg"
    ] * 2
    assert sleeps == [3]


# ---------------------------------------------------------------- other origins


def test_token_not_sent_across_a_real_redirect(serve):
    server, client = serve([])
    port = server.listener.getsockname()[1]
    # localhost and 127.0.0.1 are the same server but two origins
    other = f"http://localhost:{port}/storage/file"
    server.answers += [
        Answer(answer("302 Found", b"", f"Location: {other}")),
        Answer(answer("200 OK", b"content")),
    ]
    assert client.http_request("GET", server.url + "api/v1/file").content == b"content"
    assert [r.headers.get("authorization") for r in server.received] == [
        "Token t",
        None,
    ]
    assert [r.headers.get("host") for r in server.received] == [
        f"127.0.0.1:{port}",
        f"localhost:{port}",
    ]
    assert all("referer" not in r.headers for r in server.received)


def test_pre_signed_url_that_cannot_be_reached_is_not_shown(serve, sleeps):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    signed = f"http://127.0.0.1:{closed}/exports/e.sqlite?X-Amz-Signature=s3cr3t"
    server, client = serve(
        [Answer(answer("302 Found", b"", f"Location: {signed}"))], retries=1
    )
    with pytest.raises(requests.ConnectionError) as e:
        client.request("DownloadExport", id="e")
    assert "Max retries exceeded with url: /exports/e.sqlite (Caused by" in str(e.value)
    assert "s3cr3t" not in str(e.value)
    assert e.value.__suppress_context__
    assert len(server.received) == 1


# ---------------------------------------------------------------- limits on answers


def json_answer(status: str, body: bytes, *headers: str) -> bytes:
    return answer(status, body, "Content-Type: application/json", *headers)


def test_status_999_is_not_a_success(serve, sleeps):
    server, client = serve([Answer(json_answer("999 Whatever", b'{"id": "x"}'))])
    with pytest.raises(InvalidStatusError) as e:
        client.request("RetrieveElement", id=1)
    assert str(e.value) == (
        "Operation RetrieveElement expected JSON, got an invalid HTTP status "
        f"(application/json, HTTP 999 from {server.url}api/v1/element/1/): "
        "HTTP statuses go from 100 to 599"
    )
    assert isinstance(e.value, UnexpectedContentError)
    assert len(server.received) == 1
    assert sleeps == []


def test_status_999_of_another_url_is_an_http_error(serve, sleeps):
    server, client = serve([Answer(answer("999 Whatever", b"image"))])
    with pytest.raises(requests.HTTPError) as e:
        client.http_request("GET", server.url + "iiif/image.jpg")
    assert str(e.value) == f"999 Whatever for GET {server.url}iiif/image.jpg"
    assert len(server.received) == 1


def test_deeply_nested_json_is_refused(serve, sleeps):
    deep = b"[" * 100_000 + b"]" * 100_000
    server, client = serve(
        [
            Answer(json_answer("200 OK", deep)),
            Answer(json_answer("200 OK", b"[" * 256 + b"]" * 256)),
        ]
    )
    with pytest.raises(AnswerLimitError) as e:
        client.request("RetrieveElement", id=1)
    assert str(e.value) == (
        "Operation RetrieveElement expected JSON, got JSON nested too deep "
        f"(application/json, HTTP 200 from {server.url}api/v1/element/1/): more "
        "than 256 levels of arrays and objects, the limit "
        "(ARKINDEX_API_MAX_JSON_DEPTH)"
    )
    # The default limit itself is accepted
    nested = client.request("RetrieveElement", id=2)
    for _ in range(255):
        nested = nested[0]
    assert nested == []


def test_deep_error_answer_is_still_the_error(serve, sleeps):
    deep = b'{"a":' * 1000 + b"1" + b"}" * 1000
    _, client = serve([Answer(json_answer("404 Not Found", deep))])
    with pytest.raises(ErrorResponse) as e:
        client.request("RetrieveElement", id=1)
    assert e.value.status_code == 404
    assert e.value.content == deep.decode()


def gzip_bomb(size: int) -> bytes:
    """A gzip body that inflates to `size` zero bytes."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as file:
        chunk = b"\x00" * (1 << 20)
        for _ in range(size >> 20):
            file.write(chunk)
    return out.getvalue()


def test_compressed_answer_inflating_past_the_limit(serve, sleeps):
    bomb = gzip_bomb(32 << 20)
    assert len(bomb) < 64 << 10
    server, client = serve(
        [
            Answer(json_answer("200 OK", bomb, "Content-Encoding: gzip")),
            Answer(json_answer("200 OK", b'{"id": "next"}')),
        ],
        limits=AnswerLimits(max_bytes=1 << 20),
    )
    tracemalloc.start()
    try:
        with pytest.raises(AnswerLimitError) as e:
            client.request("RetrieveElement", id=1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(e.value) == (
        "Operation RetrieveElement expected JSON, got an answer too large "
        f"(application/json, HTTP 200 from {server.url}api/v1/element/1/): more "
        "than 1048576 bytes once decompressed, the limit "
        "(ARKINDEX_API_MAX_ANSWER_SIZE)"
    )
    # Reading stopped near the limit: the 32 MiB were never held
    assert peak < 8 << 20
    # The next exchange gets its own answer
    assert client.request("RetrieveElement", id=2) == {"id": "next"}
    assert len(server.received) == 2
    assert sleeps == []


def test_answer_size_limit_from_the_environment(serve, monkeypatch, sleeps):
    monkeypatch.setenv("ARKINDEX_API_MAX_ANSWER_SIZE", "10")
    _, client = serve([Answer(json_answer("200 OK", b'{"id": "0123456789"}'))])
    with pytest.raises(AnswerLimitError, match="more than 10 bytes once decompressed"):
        client.request("RetrieveElement", id=1)


def test_downloads_are_not_limited(serve, sleeps):
    content = bytes(range(256)) * 4096  # 1 MiB
    server, client = serve(
        [
            Answer(answer("200 OK", content, "Content-Type: application/octet-stream")),
            Answer(answer("200 OK", content)),
        ],
        limits=AnswerLimits(max_bytes=1024),
    )
    with client.request("DownloadExport", id="e") as file:
        assert file.read() == content
    url = server.url + "iiif/image/full/full/0/default.jpg"
    assert client.http_request("GET", url, stream=True, read=lambda r: r.content) == (
        content
    )


# ---------------------------------------------------------------- hostile pages


def test_next_page_pointing_back_forever(serve, sleeps):
    sets = "api/v1/process/p/sets/"
    looping = {"count": None, "results": [1], "next": "http://x/" + sets + "?page=2"}
    server, client = serve([Answer(answer("200 OK", looping))] * 5)
    with pytest.raises(InvalidPaginationError) as e:
        list(client.paginate("ListProcessSets", id="p"))
    assert str(e.value) == (
        "Stopping the pagination of ListProcessSets: the server gave "
        f"http://x/{sets} as the next page once already"
    )
    assert [r.path for r in server.received] == [f"/{sets}", f"/{sets}?page=2"]


def test_cursor_that_never_changes(serve, sleeps):
    elements = "api/v1/datasets/d/elements/"
    same = {"results": [1], "next": "http://x/" + elements + "?cursor=C"}
    again = {"results": [2], "next": "http://x/" + elements + "?cursor=C&n=2"}
    server, client = serve(
        [Answer(answer("200 OK", same)), Answer(answer("200 OK", again))]
    )
    with pytest.raises(InvalidPaginationError, match="the same cursor again"):
        list(client.paginate("ListDatasetElements", id="d"))
    assert len(server.received) == 2


# ---------------------------------------------------------------- tokens in headers


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("secret-token\r\nX-Injected: 1", id="newline"),
        pytest.param("secret-token-\u2603", id="not-latin-1"),
        pytest.param("secret-token\x00", id="nul"),
    ],
)
def test_invalid_token_is_refused_without_showing_it(serve, caplog, sleeps, token):
    caplog.set_level(logging.DEBUG)
    server, client = serve([Answer(answer("200 OK", {"id": "x"}))])
    client.configure(token=token, base_url=server.url)
    with pytest.raises(InvalidHeaderValueError) as e:
        client.request("RetrieveElement", id=1)
    assert str(e.value) == (
        "The value of the Authorization header cannot be sent: it holds a line "
        "break, a control character, leading whitespace or a character outside "
        "latin-1 (check the API token)"
    )
    assert isinstance(e.value, requests.exceptions.InvalidHeader)
    assert server.received == []
    shown = [str(e.value), repr(e.value), caplog.text]
    assert not any("secret-token" in text for text in shown)
    assert sleeps == []


def test_invalid_header_parameter_names_the_header(serve, sleeps):
    server, client = serve([])
    with pytest.raises(InvalidHeaderValueError) as e:
        client.http_request(
            "GET", server.url + "x", headers={"X-Credential": "pass\nword"}
        )
    assert str(e.value).startswith(
        "The value of the X-Credential header cannot be sent"
    )
    assert "pass" not in str(e.value)
    assert server.received == []
