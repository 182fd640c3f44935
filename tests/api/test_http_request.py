"""ArkindexClient.http_request: one exchange with any URL, under the retry policy."""

from __future__ import annotations

import logging
import os
import socket
import time

import pytest
import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError

from arkindex_worker.api import ArkindexClient
from arkindex_worker.api.errors import UnconfirmedWriteError
from tests.api.conftest import capture_api_logs
from tests.conftest import API_TOKEN, BASE_URL, api_url

STORAGE = "http://storage.example/bucket/key"
SIGNED = f"{STORAGE}?X-Amz-Signature=s3cr3t&X-Amz-Expires=60"
"""A pre-signed URL: its query is a secret that no message may show."""
SECRET = "s3cr3t"
WRITE_METHODS = ["POST", "PUT", "PATCH", "DELETE"]


def refused() -> requests.ConnectionError:
    """What requests raises when the connection is refused or DNS fails."""
    reason = NewConnectionError(None, "Failed to establish a new connection: refused")
    return requests.ConnectionError(MaxRetryError(None, "/bucket/key", reason))


def dropped() -> requests.ConnectionError:
    """What requests raises when the server closes the connection without answer."""
    return requests.ConnectionError("('Connection aborted.', RemoteDisconnected())")


def bodies(mock_api) -> list[bytes | None]:
    return [call.request.body for call in mock_api.calls]


def retry_lines(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "arkindex_worker.api" and r.levelno == logging.INFO
    ]


@pytest.fixture
def clock(monkeypatch, sleeps) -> list[float]:
    """A monotonic clock that only the (recorded) sleeps move forward."""
    now = [1000.0]

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    monkeypatch.setattr(time, "sleep", sleep)
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    return now


@pytest.fixture
def closed_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------- exchanges


@pytest.fixture
def no_ca_bundle_environment(monkeypatch):
    """No CA bundle variable: `requests` would pass its path as ``verify``."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


def test_returns_the_response(client, mock_api, no_ca_bundle_environment):
    mock_api.get(SIGNED, body=b"content")
    response = client.http_request("GET", SIGNED, headers={"Range": "bytes=0-"})
    assert response.status_code == 200
    assert response.content == b"content"
    request = mock_api.calls[0].request
    assert request.url == SIGNED
    assert request.headers["Range"] == "bytes=0-"
    assert request.req_kwargs["timeout"] == client.timeout
    assert request.req_kwargs["stream"] is False
    assert request.req_kwargs["verify"] is True


@pytest.mark.parametrize(
    ("url", "verify"),
    [
        pytest.param("https://storage.example/f", True, id="verified"),
        pytest.param("https://minio.ark.localhost/f", False, id="ark-localhost"),
    ],
)
def test_certificates_verified_as_for_the_api(
    client, mock_api, no_ca_bundle_environment, url, verify
):
    mock_api.get(url, body=b"")
    client.http_request("GET", url)
    assert mock_api.calls[0].request.req_kwargs["verify"] is verify


def test_read_result_returned_and_response_closed(client, mock_api):
    mock_api.get(STORAGE, body=b"content")
    seen = []

    def read(response: requests.Response) -> int:
        seen.append(response)
        return len(response.raw.read())

    assert client.http_request("GET", STORAGE, stream=True, read=read) == 7
    assert mock_api.calls[0].request.req_kwargs["stream"] is True
    assert seen[0].raw.closed


def test_server_errors_retried_then_answered(client, mock_api, sleeps, caplog):
    api_logs = capture_api_logs(caplog)
    mock_api.get(SIGNED, status=502)
    mock_api.get(SIGNED, status=503)
    mock_api.get(SIGNED, body=b"ok")
    assert client.http_request("GET", SIGNED).content == b"ok"
    assert len(mock_api.calls) == 3
    assert sleeps == [3, 4]
    # The operation is named without the pre-signed query
    assert retry_lines(api_logs) == [
        f"Retrying GET {STORAGE} in 3 seconds after HTTP 502 Bad Gateway "
        "(attempt 1 of 5 failed)",
        f"Retrying GET {STORAGE} in 4 seconds after HTTP 503 Service Unavailable "
        "(attempt 2 of 5 failed)",
    ]
    assert SECRET not in api_logs.text


def test_server_error_of_a_write_retried(client, mock_api, sleeps):
    mock_api.put(STORAGE, status=500)
    mock_api.put(STORAGE, status=200)
    assert client.http_request("PUT", STORAGE, data=b"bytes").status_code == 200
    assert bodies(mock_api) == [b"bytes", b"bytes"]
    assert sleeps == [3]


def test_throttled_retried_after_retry_after(client, mock_api, sleeps):
    mock_api.get(STORAGE, status=429, headers={"Retry-After": "7"})
    mock_api.get(STORAGE, body=b"ok")
    assert client.http_request("GET", STORAGE).content == b"ok"
    assert sleeps == [7]


@pytest.mark.parametrize(
    ("status", "reason"),
    [(400, "Bad Request"), (403, "Forbidden"), (404, "Not Found"), (409, "Conflict")],
)
@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_client_errors_not_retried(client, mock_api, sleeps, status, reason, method):
    mock_api.add(method, SIGNED, status=status, body=b"<Error>AccessDenied</Error>")
    read_calls = []
    with pytest.raises(requests.HTTPError) as e:
        client.http_request(method, SIGNED, read=read_calls.append)
    assert len(mock_api.calls) == 1
    assert sleeps == []
    assert read_calls == []
    assert e.value.response.status_code == status
    assert e.value.response.content == b"<Error>AccessDenied</Error>"
    assert e.value.request.method == method
    assert str(e.value) == f"{status} {reason} for {method} {STORAGE}"


def test_http_error_after_retries_carries_the_last_answer(mock_api, sleeps):
    client = ArkindexClient(token=API_TOKEN, base_url=BASE_URL, retries=3)
    mock_api.get(SIGNED, status=500)
    mock_api.get(SIGNED, status=502)
    mock_api.get(SIGNED, status=503, body=b"down")
    with pytest.raises(requests.HTTPError) as e:
        client.http_request("GET", SIGNED)
    assert len(mock_api.calls) == 3
    assert sleeps == [3, 4]
    assert e.value.response.status_code == 503
    assert e.value.response.content == b"down"
    assert str(e.value) == f"503 Service Unavailable for GET {STORAGE}"


# ---------------------------------------------------------------- lost answers


@pytest.mark.parametrize("method", ["GET", *WRITE_METHODS])
def test_connection_never_opened_is_retried(client, mock_api, sleeps, method):
    mock_api.add(method, STORAGE, body=refused())
    mock_api.add(method, STORAGE, status=200)
    assert client.http_request(method, STORAGE, data=b"x").status_code == 200
    assert bodies(mock_api) == [b"x", b"x"]
    assert sleeps == [3]


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(dropped(), id="connection-dropped"),
        pytest.param(requests.ReadTimeout("Read timed out."), id="read-timeout"),
    ],
)
@pytest.mark.parametrize("method", WRITE_METHODS)
def test_lost_answer_of_a_write_is_not_resent(client, mock_api, sleeps, method, error):
    mock_api.add(method, SIGNED, body=error)
    with pytest.raises(UnconfirmedWriteError) as e:
        client.http_request(method, SIGNED, data=b"x")
    assert isinstance(e.value, type(error))
    assert bodies(mock_api) == [b"x"]
    assert sleeps == []
    assert str(e.value) == (
        f"{method} {STORAGE}: the request may or may not have been applied by the "
        f"server (no answer received: {error}); it was not sent again"
    )


@pytest.mark.parametrize("method", WRITE_METHODS)
def test_lost_answer_of_an_idempotent_write_is_resent(client, mock_api, sleeps, method):
    mock_api.add(method, STORAGE, body=dropped())
    mock_api.add(method, STORAGE, status=200)
    response = client.http_request(method, STORAGE, data=b"x", idempotent=True)
    assert response.status_code == 200
    assert bodies(mock_api) == [b"x", b"x"]
    assert sleeps == [3]


@pytest.mark.parametrize(
    ("read_retries", "sent"), [(None, 3), (0, 1), (1, 2)], ids=["default", "0", "1"]
)
def test_lost_answer_of_a_read_is_resent_read_retries_times(
    mock_api, sleeps, read_retries, sent
):
    client = ArkindexClient(base_url=BASE_URL, read_retries=read_retries)
    for _ in range(sent):
        mock_api.get(STORAGE, body=dropped())
    with pytest.raises(requests.ConnectionError) as e:
        client.http_request("GET", STORAGE)
    assert not isinstance(e.value, UnconfirmedWriteError)
    assert len(mock_api.calls) == sent
    assert sleeps == [3, 4][: sent - 1]


def test_read_declared_not_idempotent_is_not_resent(client, mock_api, sleeps):
    mock_api.get(STORAGE, body=dropped())
    with pytest.raises(UnconfirmedWriteError):
        client.http_request("GET", STORAGE, idempotent=False)
    assert len(mock_api.calls) == 1
    assert sleeps == []


# ---------------------------------------------------------------- file bodies


@pytest.fixture
def upload(tmp_path):
    path = tmp_path / "upload.bin"
    path.write_bytes(os.urandom(300_000))
    return path


def test_file_body_sent_whole_at_each_attempt(client, mock_api, sleeps, upload):
    mock_api.put(STORAGE, status=503)
    mock_api.put(STORAGE, body=dropped())
    mock_api.put(STORAGE, status=200)
    response = client.http_request("PUT", STORAGE, data=upload, idempotent=True)
    assert response.status_code == 200
    content = upload.read_bytes()
    assert bodies(mock_api) == [content] * 3
    assert [c.request.headers["Content-Length"] for c in mock_api.calls] == [
        str(len(content))
    ] * 3
    assert sleeps == [3, 4]


def test_file_body_of_an_unconfirmed_write_sent_once(client, mock_api, upload):
    mock_api.put(STORAGE, body=dropped())
    with pytest.raises(UnconfirmedWriteError):
        client.http_request("PUT", STORAGE, data=upload)
    assert bodies(mock_api) == [upload.read_bytes()]


def test_file_body_closed_after_each_attempt(client, mock_api, monkeypatch, upload):
    opened = []
    original = type(upload).open

    def tracking_open(path, *args, **kwargs):
        opened.append(original(path, *args, **kwargs))
        return opened[-1]

    monkeypatch.setattr(type(upload), "open", tracking_open)
    mock_api.put(STORAGE, status=502)
    mock_api.put(STORAGE, status=200)
    client.http_request("PUT", STORAGE, data=upload)
    assert len(opened) == 2
    assert all(file.closed for file in opened)


# ---------------------------------------------------------------- read callbacks


def test_read_retried_whole_after_a_cut_body(client, mock_api, sleeps):
    # Content-Length announces 10 bytes, the connection ends after 5
    mock_api.get(STORAGE, body=b"01234", headers={"Content-Length": "10"})
    mock_api.get(STORAGE, body=b"0123456789")
    attempts: list[list[bytes]] = []

    def read(response: requests.Response) -> bytes:
        attempts.append([])
        for chunk in response.iter_content(2):
            attempts[-1].append(chunk)
        return b"".join(attempts[-1])

    assert client.http_request("GET", STORAGE, stream=True, read=read) == b"0123456789"
    # The first attempt broke off; the second read the body from its start
    assert len(attempts) == 2
    assert b"0123".startswith(b"".join(attempts[0]))
    assert attempts[1] == [b"01", b"23", b"45", b"67", b"89"]
    assert len(mock_api.calls) == 2
    assert sleeps == [3]


def test_cut_body_raised_after_the_read_retries(client, mock_api, sleeps):
    for _ in range(3):
        mock_api.get(STORAGE, body=b"01234", headers={"Content-Length": "10"})
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        client.http_request("GET", STORAGE, stream=True, read=lambda r: r.content)
    assert len(mock_api.calls) == 3
    assert sleeps == [3, 4]


def test_cut_answer_of_a_write_is_not_resent(client, mock_api, sleeps):
    mock_api.put(STORAGE, body=b"{}", headers={"Content-Length": "10"})
    with pytest.raises(UnconfirmedWriteError) as e:
        client.http_request("PUT", STORAGE, data=b"x", read=lambda r: r.content)
    assert isinstance(e.value, requests.exceptions.ChunkedEncodingError)
    assert len(mock_api.calls) == 1
    assert sleeps == []


def test_failure_of_the_read_callback_is_not_retried(client, mock_api, sleeps):
    mock_api.get(STORAGE, body=b"not an image")

    def read(response: requests.Response):
        raise ValueError("cannot identify image file")

    with pytest.raises(ValueError, match="cannot identify image file"):
        client.http_request("GET", STORAGE, read=read)
    assert len(mock_api.calls) == 1
    assert sleeps == []


# ---------------------------------------------------------------- time cap


def test_time_cap_default_and_settings(monkeypatch):
    assert ArkindexClient(base_url=BASE_URL).retry_policy.time_max == 300
    assert ArkindexClient(retry_time_max=5).retry_policy.time_max == 5
    monkeypatch.setenv("ARKINDEX_API_RETRY_TIME_MAX", "12.5")
    assert ArkindexClient().retry_policy.time_max == 12.5
    assert ArkindexClient(retry_time_max=5).retry_policy.time_max == 5
    with pytest.raises(ValueError, match="retry_time_max must not be negative"):
        ArkindexClient(retry_time_max=-1)


@pytest.mark.parametrize("setting", ["keyword", "environment"])
def test_retry_whose_wait_ends_after_the_cap_is_not_done(
    mock_api, monkeypatch, clock, sleeps, setting
):
    if setting == "keyword":
        client = ArkindexClient(base_url=BASE_URL, retry_time_max=5)
    else:
        monkeypatch.setenv("ARKINDEX_API_RETRY_TIME_MAX", "5")
        client = ArkindexClient(base_url=BASE_URL)
    mock_api.get(STORAGE, status=502)
    mock_api.get(STORAGE, status=503)
    # Waits 3 then 4: the second would end at 7 s, after the 5 s cap
    with pytest.raises(requests.HTTPError) as e:
        client.http_request("GET", STORAGE)
    assert e.value.response.status_code == 503
    assert len(mock_api.calls) == 2
    assert sleeps == [3]


def test_wait_ending_exactly_at_the_cap_is_done(mock_api, clock, sleeps):
    client = ArkindexClient(base_url=BASE_URL, retry_time_max=7)
    mock_api.get(STORAGE, status=502)
    mock_api.get(STORAGE, status=502)
    mock_api.get(STORAGE, body=b"ok")
    assert client.http_request("GET", STORAGE).content == b"ok"
    assert sleeps == [3, 4]


def test_time_cap_counts_the_attempts_too(mock_api, clock, sleeps):
    client = ArkindexClient(base_url=BASE_URL, retry_time_max=10)

    def slow_failure(request):
        clock[0] += 4  # each attempt takes 4 s
        return 504, {}, b""

    mock_api.add_callback("GET", STORAGE, callback=slow_failure)
    # First attempt ends at 4 s, +3 s wait: 7 s. Second ends at 11 s: stop
    with pytest.raises(requests.HTTPError):
        client.http_request("GET", STORAGE)
    assert len(mock_api.calls) == 2
    assert sleeps == [3]


def test_time_cap_zero_never_retries(mock_api, clock, sleeps):
    client = ArkindexClient(base_url=BASE_URL, retry_time_max=0)
    mock_api.put(STORAGE, body=refused())
    with pytest.raises(requests.ConnectionError):
        client.http_request("PUT", STORAGE, data=b"x")
    assert len(mock_api.calls) == 1
    assert sleeps == []


def test_retry_after_beyond_the_cap_is_not_waited(mock_api, clock, sleeps):
    client = ArkindexClient(base_url=BASE_URL, retry_time_max=30)
    mock_api.get(STORAGE, status=429, headers={"Retry-After": "45"})
    with pytest.raises(requests.HTTPError) as e:
        client.http_request("GET", STORAGE)
    assert e.value.response.status_code == 429
    assert sleeps == []


def test_time_cap_applies_to_api_requests(mock_api, clock, sleeps):
    client = ArkindexClient(base_url=BASE_URL, retry_time_max=5)
    mock_api.get(api_url("element/1/"), status=502, json={})
    with pytest.raises(Exception) as e:
        client.request("RetrieveElement", id=1)
    assert e.value.status_code == 502
    assert len(mock_api.calls) == 2
    assert sleeps == [3]


# ---------------------------------------------------------------- messages


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_real_connection_failure_message_hides_the_query(
    closed_port, sleeps, caplog, method
):
    client = ArkindexClient(base_url=BASE_URL, retries=2)
    path = "/bucket/key?X-Amz-Signature=s3cr3t&X-Amz-Expires=60"
    url = f"http://127.0.0.1:{closed_port}{path}"
    with pytest.raises(requests.ConnectionError) as e:
        client.http_request(method, url, data=b"x" if method == "PUT" else None)
    assert not isinstance(e.value, UnconfirmedWriteError)
    assert sleeps == [3]
    message = str(e.value)
    assert SECRET not in message
    assert "Max retries exceeded with url: /bucket/key (Caused by" in message
    assert "Connection refused" in message
    # Neither in the traceback a log handler would print
    assert e.value.__suppress_context__
    assert e.value.request.url == url
    assert SECRET not in caplog.text
