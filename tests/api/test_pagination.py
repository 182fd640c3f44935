"""ArkindexClient.paginate and ResponsePaginator."""

from __future__ import annotations

import logging

import pytest
import requests

from arkindex_worker.api import PaginationMode, ResponsePaginator
from arkindex_worker.errors import IncompletePaginationError
from tests.api.conftest import page
from tests.conftest import PROCESS_ID, api_url

SETS_URL = api_url(f"process/{PROCESS_ID}/sets/")
DATASET_URL = api_url("datasets/d/elements/")


def urls(mock_api) -> list[str]:
    return [call.request.url for call in mock_api.calls]


def test_modes():
    assert PaginationMode.PageNumber.value == "page"
    assert PaginationMode.Cursor.value == "cursor"


@pytest.mark.parametrize(
    ("operation", "url"),
    [
        pytest.param(
            "ListElementMetaData", api_url("element/e/metadata/"), id="metadata"
        ),
        pytest.param("ListArtifacts", api_url("task/e/artifacts/"), id="artifacts"),
    ],
)
def test_not_paginated_is_a_request(client, mock_api, operation, url):
    mock_api.get(url, json=[{"a": 1}])
    assert client.paginate(operation, id="e") == [{"a": 1}]
    assert urls(mock_api) == [url]


def test_lazy_until_iterated(client, mock_api):
    paginator = client.paginate("ListProcessSets", id=PROCESS_ID)
    assert isinstance(paginator, ResponsePaginator)
    assert paginator.mode == PaginationMode.PageNumber
    assert len(mock_api.calls) == 0


def test_page_mode_all_pages(client, mock_api):
    mock_api.get(SETS_URL, json=page([1, 2], count=5, next_url=SETS_URL + "?page=2"))
    mock_api.get(
        SETS_URL + "?page=2", json=page([3, 4], count=5, next_url=SETS_URL + "?page=3")
    )
    mock_api.get(SETS_URL + "?page=3", json=page([5], count=5))
    paginator = client.paginate("ListProcessSets", id=PROCESS_ID)
    assert list(paginator) == [1, 2, 3, 4, 5]
    assert urls(mock_api) == [SETS_URL, SETS_URL + "?page=2", SETS_URL + "?page=3"]
    assert (paginator.count, paginator.pages_count, paginator.pages_loaded) == (5, 3, 3)


def test_page_mode_missing_page(client, mock_api, sleeps):
    mock_api.get(SETS_URL, json=page([1, 2, 3], count=9, next_url=SETS_URL + "?page=2"))
    mock_api.get(SETS_URL + "?page=2", status=500)
    mock_api.get(SETS_URL + "?page=3", json=page([7, 8, 9], count=9))
    paginator = client.paginate(
        "ListProcessSets", id=PROCESS_ID, retries=3, allow_missing_data=True
    )
    assert list(paginator) == [1, 2, 3, 7, 8, 9]
    assert paginator.missing == {2}
    assert urls(mock_api) == [
        SETS_URL,
        *[SETS_URL + "?page=2"] * 3,
        SETS_URL + "?page=3",
    ]
    # The policy's exponential waits, between the 3 tries of page 2
    assert sleeps == [3, 4]


def test_failing_operation_stops_after_five_tries(client, mock_api, caplog, sleeps):
    mock_api.get(SETS_URL, status=503, json={"detail": "down"})
    with pytest.raises(Exception) as e:
        list(client.paginate("ListProcessSets", id=PROCESS_ID))
    assert type(e.value) is IncompletePaginationError
    assert str(e.value) == "Stopping pagination as data will be incomplete"
    assert urls(mock_api) == [SETS_URL] * 5
    assert sleeps == [3, 4, 8, 16]
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (
            logging.INFO,
            f"Retrying ListProcessSets in {wait} seconds after HTTP 503 Service "
            f"Unavailable (attempt {attempt} of 5 failed)",
        )
        for attempt, wait in enumerate((3, 4, 8, 16), start=1)
    ] + [
        (logging.WARNING, "API Error 503 on pagination: {'detail': 'down'}"),
        (logging.WARNING, "No more retries left for page 1"),
    ]


def test_client_error_page_is_sent_once(client, mock_api, caplog, sleeps):
    mock_api.get(SETS_URL, status=418, json={"detail": "teapot"})
    with pytest.raises(Exception) as e:
        list(client.paginate("ListProcessSets", id=PROCESS_ID))
    assert type(e.value) is IncompletePaginationError
    assert str(e.value) == "Stopping pagination as data will be incomplete"
    assert urls(mock_api) == [SETS_URL]
    assert sleeps == []
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.WARNING, "API Error 418 on pagination: {'detail': 'teapot'}"),
        (logging.WARNING, "No more retries left for page 1"),
    ]


def test_client_error_page_missing_with_allow_missing_data(client, mock_api, sleeps):
    mock_api.get(SETS_URL, json=page([1, 2], count=4, next_url=SETS_URL + "?page=2"))
    mock_api.get(SETS_URL + "?page=2", status=404, json={"detail": "Not found."})
    paginator = client.paginate(
        "ListProcessSets", id=PROCESS_ID, allow_missing_data=True
    )
    assert list(paginator) == [1, 2]
    assert paginator.missing == {2}
    assert urls(mock_api) == [SETS_URL, SETS_URL + "?page=2"]
    assert sleeps == []


def test_throttled_page_waits_retry_after(client, mock_api, caplog, sleeps):
    mock_api.get(SETS_URL, status=429, headers={"Retry-After": "7"})
    mock_api.get(SETS_URL, json=page([1], count=1))
    assert list(client.paginate("ListProcessSets", id=PROCESS_ID)) == [1]
    assert urls(mock_api) == [SETS_URL] * 2
    assert sleeps == [7]
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (
            logging.INFO,
            "Retrying ListProcessSets in 7 seconds after HTTP 429 Too Many Requests "
            "(attempt 1 of 5 failed)",
        )
    ]


def test_5xx_not_stacked_with_request_retries(client, mock_api, sleeps):
    mock_api.get(SETS_URL, status=502)
    with pytest.raises(Exception, match="Stopping pagination"):
        list(client.paginate("ListProcessSets", id=PROCESS_ID, retries=2))
    assert len(mock_api.calls) == 2


def test_cursor_mode_len_then_iteration(client, mock_api):
    mock_api.get(
        DATASET_URL + "?with_count=true",
        json=page(["a", "b"], count=3, next_url=DATASET_URL + "?cursor=DEF"),
    )
    mock_api.get(DATASET_URL + "?cursor=DEF", json=page(["c"], count=3))
    paginator = client.paginate("ListDatasetElements", id="d")
    assert paginator.mode == PaginationMode.Cursor
    assert len(paginator) == 3
    assert urls(mock_api) == [DATASET_URL + "?with_count=true"]
    assert list(paginator) == ["a", "b", "c"]
    assert urls(mock_api) == [
        DATASET_URL + "?with_count=true",
        DATASET_URL + "?cursor=DEF",
    ]


def test_cursor_mode_forwards_parameters(client, mock_api):
    mock_api.get(DATASET_URL + "?set=train&with_count=true", json=page([1], count=1))
    assert list(client.paginate("ListDatasetElements", id="d", set="train")) == [1]
    assert urls(mock_api) == [DATASET_URL + "?set=train&with_count=true"]


def test_initial_cursor(client, mock_api):
    mock_api.get(DATASET_URL + "?cursor=XYZ&with_count=true", json=page([1], count=1))
    assert list(client.paginate("ListDatasetElements", id="d", cursor="XYZ")) == [1]


def test_initial_page(client, mock_api):
    mock_api.get(SETS_URL + "?page=2", json=page([4, 5, 6], count=9, next_url="x"))
    mock_api.get(SETS_URL + "?page=3", json=page([7, 8, 9], count=9))
    assert list(client.paginate("ListProcessSets", id=PROCESS_ID, page=2)) == [
        4,
        5,
        6,
        7,
        8,
        9,
    ]
    assert len(mock_api.calls) == 2


def test_count_zero(client, mock_api):
    mock_api.get(SETS_URL, json=page([], count=0))
    paginator = client.paginate("ListProcessSets", id=PROCESS_ID)
    assert list(paginator) == []
    assert len(paginator) == 0
    assert len(mock_api.calls) == 1


@pytest.mark.parametrize(
    "first",
    [
        pytest.param(page([1, 2], next_url=SETS_URL + "?page=2"), id="no-count"),
        pytest.param(
            page([1, 2], count=None, next_url=SETS_URL + "?page=2") | {"count": None},
            id="count-none",
        ),
    ],
)
def test_unknown_count_follows_next(client, mock_api, first):
    mock_api.get(SETS_URL, json=first)
    mock_api.get(SETS_URL + "?page=2", json=page([3]))
    paginator = client.paginate("ListProcessSets", id=PROCESS_ID)
    assert list(paginator) == [1, 2, 3]
    with pytest.raises(Exception) as e:
        len(paginator)
    assert str(e.value) == "An error occurred fetching items total count"


def test_empty_page_stops(client, mock_api):
    mock_api.get(SETS_URL, json=page([1], count=3, next_url="x"))
    mock_api.get(SETS_URL + "?page=2", json=page([], count=3, next_url="y"))
    assert list(client.paginate("ListProcessSets", id=PROCESS_ID)) == [1]
    assert len(mock_api.calls) == 2


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(requests.ConnectionError("reset"), id="connection-error"),
        pytest.param(requests.ReadTimeout("slow"), id="timeout"),
    ],
)
def test_connection_errors_retried(client, mock_api, caplog, sleeps, error):
    mock_api.get(SETS_URL, body=error)
    mock_api.get(SETS_URL, json=page([1], count=1))
    assert list(client.paginate("ListProcessSets", id=PROCESS_ID)) == [1]
    assert urls(mock_api) == [SETS_URL] * 2
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (
            logging.INFO,
            f"Retrying ListProcessSets in 3 seconds after {type(error).__name__}, "
            "no answer from the server (attempt 1 of 5 failed)",
        )
    ]
    assert sleeps == [3]


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(requests.ConnectionError("reset"), id="connection-error"),
        pytest.param(requests.ReadTimeout("slow"), id="timeout"),
    ],
)
def test_lost_page_answers_read_again_twice_at_most(
    client, mock_api, caplog, sleeps, error
):
    """A page is a read: its lost answers are sent again `read_retries` (2) times."""
    mock_api.get(SETS_URL, body=error)
    with pytest.raises(Exception) as e:
        list(client.paginate("ListProcessSets", id=PROCESS_ID))
    assert str(e.value) == "Stopping pagination as data will be incomplete"
    assert urls(mock_api) == [SETS_URL] * 3
    assert sleeps == [3, 4]
    assert [(r.levelno, r.getMessage()) for r in caplog.records][-2:] == [
        (logging.ERROR, f"Server connection error on pagination: {error}"),
        (logging.WARNING, "No more retries left for page 1"),
    ]


def test_other_exceptions_propagate(client, mock_api):
    mock_api.get(SETS_URL, body=ValueError("bad"))
    with pytest.raises(ValueError, match="bad"):
        list(client.paginate("ListProcessSets", id=PROCESS_ID))
    assert len(mock_api.calls) == 1


def test_first_page_given_up_with_missing_data(client, mock_api, sleeps):
    mock_api.get(DATASET_URL + "?with_count=true", status=500)
    paginator = client.paginate(
        "ListDatasetElements", id="d", retries=2, allow_missing_data=True
    )
    assert list(paginator) == []
    assert paginator.missing == {None}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param(
            {"retries": 0}, "retries must be a positive integer", id="zero-retries"
        ),
        pytest.param(
            {"retries": "5"}, "retries must be a positive integer", id="str-retries"
        ),
        pytest.param(
            {"allow_missing_data": 1},
            "allow_missing_data must be a boolean",
            id="int-flag",
        ),
    ],
)
def test_paginate_assertions(client, mock_api, kwargs, message):
    with pytest.raises(AssertionError) as e:
        client.paginate("ListProcessSets", id=PROCESS_ID, **kwargs)
    assert str(e.value) == message


def test_unsupported_pagination(client):
    client._use_document({"paths": {"/api/v1/x/": {"get": {"operationId": "ListX"}}}})
    with pytest.raises(NotImplementedError) as e:
        client.paginate("ListX")
    assert str(e.value) == "Pagination only implements page and cursor modes."


def test_process_elements_first_page_url(client, mock_api):
    url = api_url(f"process/{PROCESS_ID}/elements/")
    mock_api.get(
        url + "?page_size=500&with_count=true&with_image=False", json=page([1], count=1)
    )
    paginator = client.paginate(
        "ListProcessElements",
        id=PROCESS_ID,
        with_image=False,
        page_size=500,
        retries=2,
        allow_missing_data=False,
    )
    assert list(paginator) == [1]
    assert urls(mock_api) == [url + "?page_size=500&with_count=true&with_image=False"]
