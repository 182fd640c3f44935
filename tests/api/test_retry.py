"""Retry policy of ArkindexClient.request."""

from __future__ import annotations

import logging

import pytest
import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError

from arkindex_worker.api import ArkindexClient, ErrorResponse
from arkindex_worker.api.errors import UnconfirmedWriteError
from tests.api.conftest import capture_api_logs
from tests.conftest import API_TOKEN, BASE_URL, api_url

ELEMENT_URL = api_url("element/1/")
UPSTREAM_WAITS = [3, 4, 8, 16]


def refused() -> requests.ConnectionError:
    """What requests raises when the connection is refused or DNS fails."""
    reason = NewConnectionError(None, "Failed to establish a new connection: refused")
    return requests.ConnectionError(MaxRetryError(None, "/api/v1/element/1/", reason))


def retry_lines(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "arkindex_worker.api" and r.levelno == logging.INFO
    ]


def test_5xx_retried_five_times_then_raised(client, mock_api, sleeps, caplog):
    api_logs = capture_api_logs(caplog)
    mock_api.get(ELEMENT_URL, status=502, json={"detail": "down"})
    with pytest.raises(ErrorResponse) as e:
        client.request("RetrieveElement", id=1)
    assert e.value.status_code == 502
    assert len(mock_api.calls) == 5
    assert sleeps == UPSTREAM_WAITS
    assert retry_lines(api_logs) == [
        f"Retrying RetrieveElement in {wait} seconds after HTTP 502 Bad Gateway "
        f"(attempt {attempt} of 5 failed)"
        for attempt, wait in enumerate(UPSTREAM_WAITS, start=1)
    ]


def test_5xx_write_retried(client, mock_api, sleeps):
    mock_api.post(api_url("elements/create/"), status=503)
    mock_api.post(api_url("elements/create/"), status=201, json={"id": "e"})
    assert client.request("CreateElement", body={"name": "x"}) == {"id": "e"}
    assert len(mock_api.calls) == 2
    assert sleeps == [3]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 418])
def test_4xx_not_retried(client, mock_api, sleeps, status):
    mock_api.get(ELEMENT_URL, status=status, json={})
    with pytest.raises(ErrorResponse):
        client.request("RetrieveElement", id=1)
    assert len(mock_api.calls) == 1
    assert sleeps == []


@pytest.mark.parametrize(
    ("retry_after", "wait"),
    [
        pytest.param("7", 7, id="seconds"),
        pytest.param("1.5", 1.5, id="fraction"),
        pytest.param("1000", 60, id="bounded"),
        pytest.param("Wed, 21 Oct 2015 07:28:00 GMT", 0, id="date-in-the-past"),
        pytest.param("soon", 3, id="invalid"),
        pytest.param(None, 3, id="absent"),
    ],
)
def test_429_honours_retry_after(client, mock_api, sleeps, retry_after, wait):
    headers = {"Retry-After": retry_after} if retry_after else {}
    mock_api.put(api_url("workers/versions/w/activity/"), status=429, headers=headers)
    mock_api.put(api_url("workers/versions/w/activity/"), json={})
    assert client.request("UpdateWorkerActivity", id="w", body={}) == {}
    assert sleeps == [wait]


@pytest.mark.parametrize(
    ("method", "operation", "url", "parameters"),
    [
        pytest.param("GET", "RetrieveElement", ELEMENT_URL, {"id": 1}, id="get"),
        pytest.param(
            "POST",
            "CreateElement",
            api_url("elements/create/"),
            {"body": {}},
            id="post",
        ),
    ],
)
@pytest.mark.parametrize(
    "error",
    [
        pytest.param(refused, id="refused"),
        pytest.param(
            lambda: requests.ConnectTimeout("connect timed out"), id="connect-timeout"
        ),
    ],
)
def test_never_sent_retried_for_every_method(
    client, mock_api, sleeps, method, operation, url, parameters, error
):
    mock_api.add(method, url, body=error())
    with pytest.raises(requests.ConnectionError) as e:
        client.request(operation, **parameters)
    assert not isinstance(e.value, UnconfirmedWriteError)
    assert len(mock_api.calls) == 5
    assert sleeps == UPSTREAM_WAITS


def test_never_sent_found_in_exception_chain(client, mock_api, sleeps):
    try:
        try:
            raise NewConnectionError(None, "DNS failure")
        except NewConnectionError as cause:
            raise requests.ConnectionError("wrapped") from cause
    except requests.ConnectionError as error:
        chained = error
    mock_api.post(api_url("elements/create/"), body=chained)
    mock_api.post(api_url("elements/create/"), json={"id": "e"})
    assert client.request("CreateElement", body={}) == {"id": "e"}
    assert sleeps == [3]


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(requests.ReadTimeout("read timed out"), id="read-timeout"),
        pytest.param(requests.ConnectionError("Connection reset by peer"), id="reset"),
        pytest.param(requests.exceptions.ChunkedEncodingError("closed"), id="chunked"),
    ],
)
@pytest.mark.parametrize(
    ("method", "operation", "url", "parameters"),
    [
        pytest.param(
            "POST",
            "StartWorkerActivity",
            api_url("process/start-activity/"),
            {},
            id="post",
        ),
        pytest.param(
            "PUT",
            "UpdateModelVersion",
            api_url("modelversion/m/"),
            {"id": "m", "body": {}},
            id="put",
        ),
        pytest.param(
            "PATCH",
            "PartialUpdateElement",
            ELEMENT_URL,
            {"id": 1, "body": {}},
            id="patch",
        ),
        pytest.param(
            "DELETE",
            "DestroyModelVersion",
            api_url("modelversion/m/"),
            {"id": "m"},
            id="delete",
        ),
    ],
)
def test_unanswered_write_not_resent(
    client, mock_api, sleeps, error, method, operation, url, parameters
):
    mock_api.add(method, url, body=error)
    with pytest.raises(type(error)) as e:
        client.request(operation, **parameters)
    assert isinstance(e.value, UnconfirmedWriteError)
    assert type(e.value).__name__ == f"Unconfirmed{type(error).__name__}"
    assert str(e.value) == (
        f"{method} {operation}: the request may or may not have been applied by the "
        f"server (no answer received: {error}); it was not sent again"
    )
    assert e.value.__cause__ is error
    assert len(mock_api.calls) == 1
    assert sleeps == []


def test_unmocked_write_sent_once(client, mock_api):
    with pytest.raises(requests.ConnectionError):
        client.request("StartWorkerActivity")
    assert len(mock_api.calls) == 1


def test_unanswered_read_retried_a_few_times(client, mock_api, sleeps):
    mock_api.get(ELEMENT_URL, body=requests.ReadTimeout("read timed out"))
    with pytest.raises(requests.ReadTimeout) as e:
        client.request("RetrieveElement", id=1)
    assert not isinstance(e.value, UnconfirmedWriteError)
    assert len(mock_api.calls) == 3
    assert sleeps == [3, 4]


def test_unmocked_read_calls_with_read_retries_zero(mock_api, sleeps):
    client = ArkindexClient(base_url=BASE_URL, read_retries=0)
    with pytest.raises(requests.ConnectionError):
        client.request("RetrieveElement", id=1)
    assert len(mock_api.calls) == 1
    assert sleeps == []


def test_mixed_failures_share_the_attempts(client, mock_api, sleeps):
    mock_api.get(ELEMENT_URL, body=requests.ReadTimeout("slow"))
    mock_api.get(ELEMENT_URL, status=500)
    mock_api.get(ELEMENT_URL, body=refused())
    mock_api.get(ELEMENT_URL, json={"id": "1"})
    assert client.request("RetrieveElement", id=1) == {"id": "1"}
    assert len(mock_api.calls) == 4
    assert sleeps == [3, 4, 8]


def test_other_exceptions_not_retried(client, mock_api, sleeps):
    mock_api.get(ELEMENT_URL, body=ValueError("bad"))
    with pytest.raises(ValueError, match="bad"):
        client.request("RetrieveElement", id=1)
    assert len(mock_api.calls) == 1


@pytest.mark.parametrize(
    ("options", "environment", "calls", "waits"),
    [
        pytest.param({"retries": 2}, {}, 2, [3], id="retries-keyword"),
        pytest.param({}, {"ARKINDEX_API_RETRIES": "3"}, 3, [3, 4], id="retries-env"),
        pytest.param(
            {"retries": 1}, {"ARKINDEX_API_RETRIES": "3"}, 1, [], id="keyword-wins"
        ),
        pytest.param(
            {}, {"ARKINDEX_API_RETRY_WAIT_MAX": "5"}, 5, [3, 4, 5, 5], id="wait-max-env"
        ),
        pytest.param(
            {"retry_wait_min": 0}, {}, 5, [2, 4, 8, 16], id="wait-min-keyword"
        ),
        pytest.param(
            {},
            {"ARKINDEX_API_RETRY_WAIT_MIN": "10"},
            5,
            [10, 10, 10, 16],
            id="wait-min-env",
        ),
        pytest.param({"retry_wait_max": 4}, {}, 5, [3, 4, 4, 4], id="wait-max-keyword"),
    ],
)
def test_retry_settings(
    mock_api, monkeypatch, sleeps, options, environment, calls, waits
):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    client = ArkindexClient(base_url=BASE_URL, **options)
    mock_api.get(ELEMENT_URL, status=500)
    with pytest.raises(ErrorResponse):
        client.request("RetrieveElement", id=1)
    assert len(mock_api.calls) == calls
    assert sleeps == waits


def test_read_retries_env(mock_api, monkeypatch, sleeps):
    monkeypatch.setenv("ARKINDEX_API_READ_RETRIES", "1")
    client = ArkindexClient(base_url=BASE_URL)
    mock_api.get(ELEMENT_URL, body=requests.ReadTimeout("slow"))
    with pytest.raises(requests.ReadTimeout):
        client.request("RetrieveElement", id=1)
    assert len(mock_api.calls) == 2


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        pytest.param(
            {"ARKINDEX_API_RETRIES": "many"},
            "ARKINDEX_API_RETRIES must be a number, got 'many'",
            id="not-a-number",
        ),
        pytest.param(
            {"ARKINDEX_API_RETRIES": "0"},
            "retries must be a positive integer",
            id="zero",
        ),
        pytest.param(
            {"ARKINDEX_API_READ_RETRIES": "-1"},
            "read_retries must be a non-negative integer",
            id="negative",
        ),
    ],
)
def test_invalid_retry_settings(monkeypatch, environment, message):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError) as e:
        ArkindexClient(base_url=BASE_URL)
    assert str(e.value) == message


def test_success_logs_debug_only(client, mock_api, caplog):
    api_logs = capture_api_logs(caplog)
    mock_api.get(ELEMENT_URL, json={})
    client.request("RetrieveElement", id=1)
    assert api_logs.records
    assert {r.levelno for r in api_logs.records} == {logging.DEBUG}


def test_token_and_body_never_logged_or_raised(client, mock_api, caplog):
    api_logs = capture_api_logs(caplog)
    secret_body = {"password": "hunter2"}
    mock_api.post(api_url("user/login/"), status=500)
    mock_api.post(api_url("user/login/"), body=requests.ReadTimeout("slow"))
    with pytest.raises(requests.ReadTimeout) as e:
        client.request("Login", body=secret_body)
    texts = [r.getMessage() for r in api_logs.records] + [str(e.value), repr(e.value)]
    assert len(texts) > 2
    for text in texts:
        assert API_TOKEN not in text
        assert "hunter2" not in text
