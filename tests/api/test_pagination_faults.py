"""The paginator under network faults: cut answers, and the client's retry policy."""

from __future__ import annotations

import logging

import pytest
import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError

from arkindex_worker.api import ArkindexClient
from tests.api.conftest import page
from tests.conftest import BASE_URL, PROCESS_ID, api_url

SETS_URL = api_url(f"process/{PROCESS_ID}/sets/")
CUT = requests.exceptions.ChunkedEncodingError("Connection broken: IncompleteRead")


def refused() -> requests.ConnectionError:
    """What requests raises when the connection is refused: the page was not sent."""
    reason = NewConnectionError(None, "Failed to establish a new connection: refused")
    return requests.ConnectionError(MaxRetryError(None, "/api/v1/", reason))


def test_cut_page_is_read_again(client, mock_api, caplog, sleeps):
    mock_api.get(SETS_URL, body=CUT)
    mock_api.get(SETS_URL, json=page([1], count=1))
    assert list(client.paginate("ListProcessSets", id=PROCESS_ID)) == [1]
    assert len(mock_api.calls) == 2
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (
            logging.INFO,
            "Retrying ListProcessSets in 3 seconds after ChunkedEncodingError, "
            "no answer from the server (attempt 1 of 5 failed)",
        )
    ]
    assert sleeps == [3]


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param({"status": 502}, id="api-error"),
        pytest.param({"body": refused()}, id="connection"),
    ],
)
def test_page_waits_are_the_client_policy_waits(mock_api, sleeps, failure):
    """Exponential waits (2, 4, 8 s…) within the client's shortest and longest waits."""
    client = ArkindexClient(base_url=BASE_URL, retry_wait_min=1, retry_wait_max=6)
    for _ in range(3):
        mock_api.get(SETS_URL, **failure)
    mock_api.get(SETS_URL, json=page([1], count=1))
    assert list(client.paginate("ListProcessSets", id=PROCESS_ID)) == [1]
    assert len(mock_api.calls) == 4
    assert sleeps == [2, 4, 6]


@pytest.mark.parametrize(
    ("wait_max", "expected"),
    [pytest.param(None, 60, id="default"), pytest.param(5, 5, id="configured")],
)
def test_throttled_page_waits_at_most_the_longest_wait(
    mock_api, sleeps, wait_max, expected
):
    client = ArkindexClient(base_url=BASE_URL, retry_wait_max=wait_max)
    mock_api.get(SETS_URL, status=429, headers={"Retry-After": "1000"})
    mock_api.get(SETS_URL, json=page([1], count=1))
    assert list(client.paginate("ListProcessSets", id=PROCESS_ID)) == [1]
    assert len(mock_api.calls) == 2
    assert sleeps == [expected]


def test_page_attempts_are_the_paginator_retries(mock_api, sleeps):
    """A listing's ``retries``, not the client's, count the attempts of a page."""
    client = ArkindexClient(base_url=BASE_URL, retries=1)
    mock_api.get(SETS_URL, status=502)
    mock_api.get(SETS_URL, status=502)
    mock_api.get(SETS_URL, json=page([1], count=1))
    assert list(client.paginate("ListProcessSets", id=PROCESS_ID, retries=3)) == [1]
    assert len(mock_api.calls) == 3
    assert sleeps == [3, 4]
