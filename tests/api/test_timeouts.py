"""Time-outs of API requests: settings, and real time-outs on loopback sockets."""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Iterator

import pytest
import requests

from arkindex_worker.api import ArkindexClient
from arkindex_worker.api.errors import UnconfirmedWriteError
from tests.conftest import BASE_URL, api_url

ELEMENT_URL = api_url("element/1/")
SHORT = 0.2
"""Seconds of the time-outs of the loopback tests."""


@pytest.mark.parametrize(
    ("options", "environment", "expected"),
    [
        pytest.param({}, {}, (30, 60), id="default"),
        pytest.param({}, {"ARKINDEX_API_TIMEOUT": "0.5"}, (30, 0.5), id="read-env"),
        pytest.param(
            {}, {"ARKINDEX_API_CONNECT_TIMEOUT": "2"}, (2, 60), id="connect-env"
        ),
        pytest.param(
            {"read_timeout": 5, "connect_timeout": 1},
            {"ARKINDEX_API_TIMEOUT": "0.5", "ARKINDEX_API_CONNECT_TIMEOUT": "2"},
            (1, 5),
            id="keywords-win",
        ),
        pytest.param({}, {"ARKINDEX_API_TIMEOUT": ""}, (30, 60), id="empty-env"),
    ],
)
def test_timeout_sent_with_every_request(
    mock_api, monkeypatch, options, environment, expected
):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    client = ArkindexClient(base_url=BASE_URL, **options)
    mock_api.get(ELEMENT_URL, json={})
    client.request("RetrieveElement", id=1)
    assert client.timeout == expected
    assert mock_api.calls[0].request.req_kwargs["timeout"] == expected


@pytest.mark.parametrize(
    ("options", "environment", "message"),
    [
        pytest.param(
            {},
            {"ARKINDEX_API_TIMEOUT": "soon"},
            "ARKINDEX_API_TIMEOUT must be a number, got 'soon'",
            id="not-a-number",
        ),
        pytest.param(
            {},
            {"ARKINDEX_API_TIMEOUT": "0"},
            "ARKINDEX_API_TIMEOUT must be a positive number, got 0.0",
            id="zero",
        ),
        pytest.param(
            {},
            {"ARKINDEX_API_CONNECT_TIMEOUT": "-1"},
            "ARKINDEX_API_CONNECT_TIMEOUT must be a positive number, got -1.0",
            id="negative",
        ),
        pytest.param(
            {"read_timeout": "60"},
            {},
            "ARKINDEX_API_TIMEOUT must be a positive number, got '60'",
            id="keyword-not-a-number",
        ),
    ],
)
def test_invalid_timeouts(monkeypatch, options, environment, message):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError) as e:
        ArkindexClient(base_url=BASE_URL, **options)
    assert str(e.value) == message


# ---------------------------------------------------------------- real sockets


class SilentServer:
    """Accepts connections and reads requests, but never answers."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.received = threading.Semaphore(0)
        self.count = 0
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}/"

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections.append(connection)
            threading.Thread(target=self._read, args=(connection,), daemon=True).start()

    def _read(self, connection: socket.socket) -> None:
        data = b""
        while True:
            try:
                chunk = connection.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            data += chunk
            # One request line per request: bodies hold no "HTTP/1.1\r\n"
            while b" HTTP/1.1\r\n" in data:
                data = data.split(b" HTTP/1.1\r\n", 1)[1]
                self.count += 1
                self.received.release()

    def wait_for(self, requests_count: int) -> int:
        """Wait until `requests_count` requests arrived; return how many did."""
        for _ in range(requests_count):
            assert self.received.acquire(timeout=10)
        return self.count

    def close(self) -> None:
        self.listener.close()
        for connection in self.connections:
            connection.close()


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


def test_read_timeout_of_a_read_is_retried(silent_server, sleeps):
    client = ArkindexClient(base_url=silent_server.url, read_timeout=SHORT)
    with pytest.raises(requests.ReadTimeout) as e:
        client.request("RetrieveElement", id=1)
    assert not isinstance(e.value, UnconfirmedWriteError)
    assert silent_server.wait_for(3) == 3
    assert sleeps == [3, 4]


def test_read_timeout_of_a_write_is_not_resent(silent_server, sleeps):
    client = ArkindexClient(base_url=silent_server.url, read_timeout=SHORT)
    with pytest.raises(requests.ReadTimeout) as e:
        client.request("CreateClassification", body={"element": "e"})
    assert isinstance(e.value, UnconfirmedWriteError)
    port = silent_server.listener.getsockname()[1]
    assert str(e.value) == (
        "POST CreateClassification: the request may or may not have been applied "
        "by the server (no answer received: HTTPConnectionPool(host='127.0.0.1', "
        f"port={port}): Read timed out. (read timeout={SHORT:g})); it was not sent "
        "again"
    )
    assert silent_server.wait_for(1) == 1
    assert sleeps == []


@pytest.fixture
def full_backlog() -> Iterator[str]:
    """URL of a loopback port whose accept queue is full: connecting times out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        try:
            filler.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(filler)
    yield f"http://127.0.0.1:{port}/"
    for filler in fillers:
        filler.close()
    listener.close()


@pytest.mark.skipif(
    sys.platform != "linux", reason="Linux drops connections to a full accept queue"
)
def test_connect_timeout_of_a_write_is_retried(full_backlog, sleeps):
    client = ArkindexClient(base_url=full_backlog, connect_timeout=SHORT, retries=2)
    with pytest.raises(requests.ConnectTimeout) as e:
        client.request("CreateClassification", body={"element": "e"})
    assert not isinstance(e.value, UnconfirmedWriteError)
    assert sleeps == [3]
