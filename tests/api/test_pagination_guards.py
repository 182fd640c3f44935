"""The paginator does not trust the server: count, next, cursor and a cap on pages."""

from __future__ import annotations

import tracemalloc

import pytest

from arkindex_worker.api import ArkindexClient
from arkindex_worker.api.answers import MAX_PAGES, AnswerLimits
from arkindex_worker.errors import (
    IncompletePaginationError,
    InvalidPaginationError,
    PaginationLimitError,
)
from tests.api.conftest import page
from tests.conftest import API_TOKEN, BASE_URL, PROCESS_ID, api_url

SETS_URL = api_url(f"process/{PROCESS_ID}/sets/")
DATASET_URL = api_url("datasets/d/elements/")
STOP = "Stopping the pagination of "


def urls(mock_api) -> list[str]:
    return [call.request.url for call in mock_api.calls]


def capped(max_pages: int) -> ArkindexClient:
    return ArkindexClient(
        token=API_TOKEN, base_url=BASE_URL, limits=AnswerLimits(max_pages=max_pages)
    )


@pytest.mark.parametrize(
    ("count", "shown"),
    [
        pytest.param(-1, "-1", id="negative"),
        pytest.param("12", "'12'", id="string"),
        pytest.param(True, "True", id="bool"),
        pytest.param(2.5, "2.5", id="float"),
        pytest.param("9" * 100, repr("9" * 100)[:37] + "...", id="long-string"),
    ],
)
def test_invalid_count_is_one_clear_error(client, mock_api, count, shown):
    mock_api.get(
        SETS_URL, json=page([1, 2], count=count, next_url=SETS_URL + "?page=2")
    )
    with pytest.raises(InvalidPaginationError) as e:
        list(client.paginate("ListProcessSets", id=PROCESS_ID))
    assert str(e.value) == (
        f"{STOP}ListProcessSets: the server gave an invalid count, {shown}, "
        "where a non-negative integer is expected"
    )
    # Callers catching the incomplete listing still catch it
    assert isinstance(e.value, IncompletePaginationError)
    assert len(mock_api.calls) == 1


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({"results": "abc", "count": 3}, id="results-not-a-list"),
        pytest.param({"results": [1], "next": 7}, id="next-not-a-string"),
        pytest.param(["a", "list"], id="not-a-mapping"),
    ],
)
def test_page_that_is_not_a_page(client, mock_api, payload):
    mock_api.get(SETS_URL, json=payload)
    with pytest.raises(InvalidPaginationError) as e:
        list(client.paginate("ListProcessSets", id=PROCESS_ID))
    assert str(e.value) == (
        f"{STOP}ListProcessSets: the server answered a page that is not one"
    )


def test_huge_count_allocates_nothing(mock_api):
    """A count of 20,000,000 used to list every page number: 794 MB."""
    client = capped(10**9)
    mock_api.get(
        SETS_URL, json=page([1], count=20_000_000, next_url=SETS_URL + "?page=2")
    )
    mock_api.get(
        SETS_URL + "?page=2",
        json=page([2], count=20_000_000, next_url=SETS_URL + "?page=3"),
    )
    mock_api.get(SETS_URL + "?page=3", json=page([3], count=20_000_000))
    paginator = client.paginate("ListProcessSets", id=PROCESS_ID)
    tracemalloc.start()
    try:
        # Not list(): it would reserve a slot per result `len()` announces
        assert [item for item in paginator] == [1, 2, 3]  # noqa: C416
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(paginator) == 20_000_000
    assert paginator.pages_count == 20_000_000
    assert peak < 2 << 20


def test_count_announcing_more_pages_than_the_cap_stops_at_once(client, mock_api):
    """`list()` asks `len()` first: a count of 10**9 used to give a MemoryError."""
    mock_api.get(SETS_URL, json=page([1], count=10**9, next_url=SETS_URL + "?page=2"))
    tracemalloc.start()
    try:
        with pytest.raises(PaginationLimitError) as e:
            list(client.paginate("ListProcessSets", id=PROCESS_ID))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 << 20
    assert str(e.value) == (
        f"{STOP}ListProcessSets: its count of 1000000000 results makes "
        f"1000000000 pages, more than the limit of {MAX_PAGES} "
        "(ARKINDEX_API_MAX_PAGES)"
    )
    assert isinstance(e.value, IncompletePaginationError)
    assert len(mock_api.calls) == 1


def test_cap_on_pages_without_count(mock_api):
    client = capped(2)
    mock_api.get(SETS_URL, json=page([1], next_url=SETS_URL + "?page=2"))
    mock_api.get(SETS_URL + "?page=2", json=page([2], next_url=SETS_URL + "?page=3"))
    paginator = client.paginate("ListProcessSets", id=PROCESS_ID)
    assert [next(paginator), next(paginator)] == [1, 2]
    with pytest.raises(PaginationLimitError) as e:
        next(paginator)
    assert str(e.value) == (
        f"{STOP}ListProcessSets: more than 2 pages, the limit (ARKINDEX_API_MAX_PAGES)"
    )
    assert urls(mock_api) == [SETS_URL, SETS_URL + "?page=2"]


def test_cap_from_the_environment(monkeypatch, mock_api):
    monkeypatch.setenv("ARKINDEX_API_MAX_PAGES", "1")
    client = ArkindexClient(token=API_TOKEN, base_url=BASE_URL)
    assert client.limits.max_pages == 1
    mock_api.get(SETS_URL, json=page([1], next_url=SETS_URL + "?page=2"))
    with pytest.raises(PaginationLimitError):
        list(client.paginate("ListProcessSets", id=PROCESS_ID))


def test_cap_exactly_reached_is_fine(mock_api):
    client = capped(2)
    mock_api.get(SETS_URL, json=page([1], count=2, next_url=SETS_URL + "?page=2"))
    mock_api.get(SETS_URL + "?page=2", json=page([2], count=2))
    assert list(client.paginate("ListProcessSets", id=PROCESS_ID)) == [1, 2]


def test_next_already_given_is_an_error(client, mock_api):
    mock_api.get(SETS_URL, json=page([1], next_url=SETS_URL + "?page=2"))
    mock_api.get(SETS_URL + "?page=2", json=page([2], next_url=SETS_URL + "?page=2"))
    with pytest.raises(InvalidPaginationError) as e:
        list(client.paginate("ListProcessSets", id=PROCESS_ID))
    assert str(e.value) == (
        f"{STOP}ListProcessSets: the server gave {SETS_URL} as the next page "
        "once already"
    )
    assert len(mock_api.calls) == 2


def test_cursor_that_does_not_change(client, mock_api):
    mock_api.get(
        DATASET_URL + "?with_count=true",
        json=page(["a"], next_url=DATASET_URL + "?cursor=SAME"),
    )
    mock_api.get(
        DATASET_URL + "?cursor=SAME",
        json=page(["b"], next_url=DATASET_URL + "?cursor=SAME&x=1"),
    )
    with pytest.raises(InvalidPaginationError) as e:
        list(client.paginate("ListDatasetElements", id="d"))
    assert str(e.value) == (
        f"{STOP}ListDatasetElements: the server gave the same cursor again after "
        "2 pages"
    )


def test_cursor_cycle_is_a_next_already_given(client, mock_api):
    mock_api.get(
        DATASET_URL + "?with_count=true",
        json=page(["a"], next_url=DATASET_URL + "?cursor=A"),
    )
    mock_api.get(
        DATASET_URL + "?cursor=A", json=page(["b"], next_url=DATASET_URL + "?cursor=B")
    )
    mock_api.get(
        DATASET_URL + "?cursor=B", json=page(["c"], next_url=DATASET_URL + "?cursor=A")
    )
    with pytest.raises(InvalidPaginationError, match="as the next page once already"):
        list(client.paginate("ListDatasetElements", id="d"))
    assert len(mock_api.calls) == 3


@pytest.mark.parametrize(
    ("operation", "first_url", "first", "then"),
    [
        pytest.param(
            "ListProcessSets",
            SETS_URL,
            page([1, 2], count=4, next_url=SETS_URL + "?page=2"),
            [
                (
                    SETS_URL + "?page=2",
                    page([3, 4], count=4, next_url=SETS_URL + "?page=3"),
                )
            ],
            id="page-mode",
        ),
        pytest.param(
            "ListDatasetElements",
            DATASET_URL + "?with_count=true",
            page([1, 2], count=4, next_url=DATASET_URL + "?cursor=B"),
            [
                (
                    DATASET_URL + "?cursor=B",
                    page([3, 4], count=4, next_url=DATASET_URL + "?cursor=C"),
                )
            ],
            id="cursor-mode",
        ),
    ],
)
def test_more_pages_than_count_explains(
    client, mock_api, operation, first_url, first, then
):
    mock_api.get(first_url, json=first)
    for url, payload in then:
        mock_api.get(url, json=payload)
    paginator = client.paginate(
        operation, id=PROCESS_ID if operation == "ListProcessSets" else "d"
    )
    with pytest.raises(InvalidPaginationError) as e:
        list(paginator)
    assert str(e.value) == (
        f"{STOP}{operation}: the server announces more pages than its count of 4 "
        "results explains (2)"
    )
    assert len(mock_api.calls) == 2


@pytest.mark.parametrize(
    ("values", "message"),
    [
        pytest.param(
            {"max_pages": 0}, "max_pages must be a positive integer, got 0", id="zero"
        ),
        pytest.param(
            {"max_bytes": True},
            "max_bytes must be a positive integer, got True",
            id="bool",
        ),
        pytest.param(
            {"max_depth": "9"},
            "max_depth must be a positive integer, got '9'",
            id="str",
        ),
    ],
)
def test_invalid_limits(values, message):
    with pytest.raises(ValueError) as e:
        AnswerLimits(**values)
    assert str(e.value) == message


def test_invalid_limit_variable(monkeypatch):
    monkeypatch.setenv("ARKINDEX_API_MAX_PAGES", "many")
    with pytest.raises(ValueError) as e:
        ArkindexClient(token=API_TOKEN, base_url=BASE_URL)
    assert str(e.value) == "ARKINDEX_API_MAX_PAGES must be a number, got 'many'"
