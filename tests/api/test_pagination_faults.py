"""The paginator under network faults: cut answers, and waits bounded by the client."""

from __future__ import annotations

import logging

import pytest
import requests

from arkindex_worker.api import ArkindexClient
from tests.api.conftest import page
from tests.conftest import BASE_URL, PROCESS_ID, api_url

SETS_URL = api_url(f"process/{PROCESS_ID}/sets/")
CUT = requests.exceptions.ChunkedEncodingError("Connection broken: IncompleteRead")


def test_cut_page_is_read_again(client, mock_api, caplog, sleeps):
    mock_api.get(SETS_URL, body=CUT)
    mock_api.get(SETS_URL, json=page([1], count=1))
    assert list(client.paginate("ListProcessSets", id=PROCESS_ID)) == [1]
    assert len(mock_api.calls) == 2
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (
            logging.ERROR,
            f"Server connection error, will retry in a few seconds: {CUT}",
        )
    ]


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param({"status": 502}, id="api-error"),
        pytest.param({"body": requests.ConnectionError("reset")}, id="connection"),
    ],
)
def test_page_waits_bounded_by_the_longest_retry_wait(mock_api, sleeps, failure):
    client = ArkindexClient(base_url=BASE_URL, retry_wait_max=0.01)
    mock_api.get(SETS_URL, **failure)
    mock_api.get(SETS_URL, json=page([1], count=1))
    assert list(client.paginate("ListProcessSets", id=PROCESS_ID)) == [1]
    (wait,) = sleeps
    assert 0 <= wait <= 0.01


def test_connection_wait_is_the_bound_when_shorter(mock_api, sleeps):
    client = ArkindexClient(base_url=BASE_URL, retry_wait_max=0.5)
    mock_api.get(SETS_URL, body=requests.ConnectionError("reset"))
    mock_api.get(SETS_URL, json=page([1], count=1))
    list(client.paginate("ListProcessSets", id=PROCESS_ID))
    assert sleeps == [0.5]
