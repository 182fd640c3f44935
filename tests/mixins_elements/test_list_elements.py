"""ElementMixin: list_elements, list_element_children, list_element_parents (07)."""

from __future__ import annotations

import pytest

from arkindex_worker.cache import CachedElement
from tests.conftest import CORPUS_ID, WORKER_RUN_ID, api_url
from tests.mixins_elements.conftest import (
    CHILD_1,
    CHILD_2,
    CHILD_3,
    ELEMENT_ID,
    PAGE_ID,
    TOP_ID,
    WORKER_VERSION_ID,
    calls,
    element,
)

ELEMENTS_URL = api_url(f"corpus/{CORPUS_ID}/elements/")
CHILDREN_URL = api_url(f"elements/{ELEMENT_ID}/children/")
PARENTS_URL = api_url(f"elements/{ELEMENT_ID}/parents/")
RESULTS = [
    {"id": "0000", "type": "page", "name": "Page 1"},
    {"id": "1111", "type": "page", "name": "Page 2"},
]


def page(results: list[dict] = RESULTS) -> dict:
    return {"count": len(results), "next": None, "results": results}


def list_elements(worker, **kwargs):
    return worker.list_elements(**kwargs)


def list_element_children(worker, **kwargs):
    return worker.list_element_children(element(), **kwargs)


def list_element_parents(worker, **kwargs):
    return worker.list_element_parents(element(), **kwargs)


LISTINGS = [
    pytest.param(list_elements, ELEMENTS_URL, id="list_elements"),
    pytest.param(list_element_children, CHILDREN_URL, id="list_element_children"),
    pytest.param(list_element_parents, PARENTS_URL, id="list_element_parents"),
]
CHECKS = [
    pytest.param({"folder": "not bool"}, "folder should be of type bool", id="folder"),
    pytest.param({"name": 1234}, "name should be of type str", id="name"),
    pytest.param(
        {"transcription_worker_run": 1234},
        "transcription_worker_run should be of type str or bool",
        id="transcription-worker-run",
    ),
    pytest.param(
        {"transcription_worker_run": True},
        "if of type bool, transcription_worker_run can only be set to False",
        id="transcription-worker-run-true",
    ),
    pytest.param({"type": 1234}, "type should be of type str", id="type"),
    *(
        pytest.param({name: "not bool"}, f"{name} should be of type bool", id=name)
        for name in (
            "with_classes",
            "with_corpus",
            "with_has_children",
            "with_metadata",
            "with_zone",
        )
    ),
    pytest.param(
        {"worker_run": 1234},
        "worker_run should be of type str or bool",
        id="worker-run",
    ),
    pytest.param(
        {"worker_run": True},
        "if of type bool, worker_run can only be set to False",
        id="worker-run-true",
    ),
    # The first failing filter in the check order wins.
    pytest.param(
        {"worker_run": 1234, "folder": "x", "type": 1},
        "folder should be of type bool",
        id="order-folder-first",
    ),
    pytest.param(
        {"with_zone": 1, "with_has_children": 1, "with_metadata": 1},
        "with_has_children should be of type bool",
        id="order-has-children-before-metadata",
    ),
]
DEPRECATED_CHECKS = [
    pytest.param(
        {"worker_version": 1234},
        "worker_version should be of type str or bool",
        id="worker-version",
    ),
    pytest.param(
        {"worker_version": True},
        "if of type bool, worker_version can only be set to False",
        id="worker-version-true",
    ),
    pytest.param(
        {"transcription_worker_version": 1234},
        "transcription_worker_version should be of type str or bool",
        id="transcription-worker-version",
    ),
    pytest.param(
        {"transcription_worker_version": True},
        "if of type bool, transcription_worker_version can only be set to False",
        id="transcription-worker-version-true",
    ),
]


# --- checks --------------------------------------------------------------------


@pytest.mark.parametrize(("listing", "url"), LISTINGS)
@pytest.mark.parametrize(("kwargs", "message"), CHECKS)
def test_listing_invalid_filter(mock_elements_worker, listing, url, kwargs, message):
    with pytest.raises(AssertionError) as e:
        listing(mock_elements_worker, **kwargs)
    assert str(e.value) == message


@pytest.mark.parametrize(("listing", "url"), LISTINGS)
@pytest.mark.parametrize(("kwargs", "message"), DEPRECATED_CHECKS)
def test_listing_invalid_deprecated_filter(
    mock_elements_worker, listing, url, kwargs, message
):
    with pytest.deprecated_call(), pytest.raises(AssertionError) as e:
        listing(mock_elements_worker, **kwargs)
    assert str(e.value) == message


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param(
            {"top_level": "x"}, "top_level should be of type bool", id="top-level"
        ),
    ],
)
def test_list_elements_invalid_top_level(mock_elements_worker, kwargs, message):
    with pytest.raises(AssertionError) as e:
        mock_elements_worker.list_elements(**kwargs)
    assert str(e.value) == message


@pytest.mark.parametrize("method", ["list_element_children", "list_element_parents"])
def test_listing_invalid_recursive(mock_elements_worker, method):
    with pytest.raises(AssertionError) as e:
        getattr(mock_elements_worker, method)(element(), recursive="x")
    assert str(e.value) == "recursive should be of type bool"


@pytest.mark.parametrize("method", ["list_element_children", "list_element_parents"])
@pytest.mark.parametrize(
    "value",
    [pytest.param(None, id="none"), pytest.param("not an element", id="str")],
)
def test_listing_invalid_element(mock_elements_worker, method, value):
    # The element is checked before the filters.
    with pytest.raises(AssertionError) as e:
        getattr(mock_elements_worker, method)(value, folder="not bool")
    assert str(e.value) == (
        "element shouldn't be null and should be an Element or CachedElement"
    )


# --- API ---------------------------------------------------------------------------


@pytest.mark.parametrize(("listing", "url"), LISTINGS)
def test_listing_no_filter(mock_elements_worker, mock_api, listing, url):
    mock_api.get(url, json=page())

    assert list(listing(mock_elements_worker)) == RESULTS
    assert calls(mock_api) == [("GET", url, None)]


@pytest.mark.parametrize(("listing", "url"), LISTINGS)
def test_listing_is_lazy(mock_elements_worker, mock_api, listing, url):
    mock_api.get(url, json=page())

    results = listing(mock_elements_worker)
    assert len(mock_api.calls) == 0
    assert next(results) == RESULTS[0]


@pytest.mark.parametrize(("listing", "url"), LISTINGS)
def test_listing_all_filters(mock_elements_worker, mock_api, listing, url):
    mock_api.get(url, json=page())
    kwargs = {
        "folder": True,
        "name": "Page",
        "transcription_worker_run": False,
        "type": "page",
        "with_classes": True,
        "with_corpus": False,
        "with_has_children": True,
        "with_metadata": True,
        "with_zone": False,
        "worker_run": WORKER_RUN_ID,
    }

    assert list(listing(mock_elements_worker, **kwargs)) == RESULTS
    assert calls(mock_api) == [
        (
            "GET",
            f"{url}?folder=True&name=Page&transcription_worker_run=False&type=page"
            "&with_classes=True&with_corpus=False&with_has_children=True"
            f"&with_metadata=True&with_zone=False&worker_run={WORKER_RUN_ID}",
            None,
        )
    ]


@pytest.mark.parametrize(("listing", "url"), LISTINGS)
@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"name": ""}, id="empty-name"),
        pytest.param({"type": ""}, id="empty-type"),
        pytest.param({"folder": None, "worker_run": None}, id="none"),
    ],
)
def test_listing_filters_not_sent(mock_elements_worker, mock_api, listing, url, kwargs):
    mock_api.get(url, json=page())

    list(listing(mock_elements_worker, **kwargs))
    assert calls(mock_api) == [("GET", url, None)]


@pytest.mark.parametrize(("listing", "url"), LISTINGS)
@pytest.mark.parametrize(
    ("kwargs", "query", "deprecated"),
    [
        pytest.param({"worker_run": False}, "worker_run=False", False, id="worker-run"),
        pytest.param(
            {"worker_version": False}, "worker_version=False", True, id="worker-version"
        ),
        pytest.param(
            {"transcription_worker_version": "abcd"},
            "transcription_worker_version=abcd",
            True,
            id="transcription-worker-version",
        ),
    ],
)
def test_listing_source_filters(
    mock_elements_worker, mock_api, listing, url, kwargs, query, deprecated
):
    mock_api.get(url, json=page())

    if deprecated:
        with pytest.deprecated_call():
            results = list(listing(mock_elements_worker, **kwargs))
    else:
        results = list(listing(mock_elements_worker, **kwargs))

    assert results == RESULTS
    assert calls(mock_api) == [("GET", f"{url}?{query}", None)]


def test_list_elements_top_level(mock_elements_worker, mock_api):
    mock_api.get(ELEMENTS_URL, json=page())

    list(mock_elements_worker.list_elements(top_level=True))
    assert calls(mock_api) == [("GET", f"{ELEMENTS_URL}?top_level=True", None)]


@pytest.mark.parametrize(
    ("method", "url"),
    [
        pytest.param("list_element_children", CHILDREN_URL, id="children"),
        pytest.param("list_element_parents", PARENTS_URL, id="parents"),
    ],
)
def test_listing_recursive(mock_elements_worker, mock_api, method, url):
    mock_api.get(url, json=page())

    list(getattr(mock_elements_worker, method)(element(), recursive=True))
    assert calls(mock_api) == [("GET", f"{url}?recursive=True", None)]


@pytest.mark.parametrize(("listing", "url"), LISTINGS)
def test_listing_api_error(mock_elements_worker, mock_api, sleeps, listing, url):
    mock_api.get(url, status=418)

    results = listing(mock_elements_worker)
    with pytest.raises(
        Exception, match="^Stopping pagination as data will be incomplete$"
    ):
        next(results)
    assert calls(mock_api) == [("GET", url, None)]  # a 4xx page is not retried
    assert sleeps == []


@pytest.mark.parametrize(("listing", "url"), LISTINGS)
def test_listing_server_error(mock_elements_worker, mock_api, sleeps, listing, url):
    mock_api.get(url, status=500)

    results = listing(mock_elements_worker)
    with pytest.raises(
        Exception, match="^Stopping pagination as data will be incomplete$"
    ):
        next(results)
    assert calls(mock_api) == [("GET", url, None)] * 5
    assert sleeps == [3, 4, 8, 16]


# --- cache -----------------------------------------------------------------------------


def ids(query) -> list[str]:
    return [str(row.id) for row in query]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        pytest.param({}, [TOP_ID, PAGE_ID, CHILD_1, CHILD_2, CHILD_3], id="all"),
        pytest.param({"type": "page"}, [PAGE_ID], id="type"),
        pytest.param(
            {"name": ""}, [TOP_ID, PAGE_ID, CHILD_1, CHILD_2, CHILD_3], id="empty-name"
        ),
        pytest.param(
            {"worker_run": WORKER_RUN_ID}, [CHILD_1, CHILD_2], id="worker-run"
        ),
        pytest.param(
            {"worker_run": False}, [TOP_ID, PAGE_ID, CHILD_3], id="manual-run"
        ),
        pytest.param(
            {"type": "text_line", "worker_run": False}, [CHILD_3], id="type-and-run"
        ),
    ],
)
def test_list_elements_cache(cached_elements, kwargs, expected):
    result = cached_elements.list_elements(**kwargs)

    assert ids(result) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(WORKER_VERSION_ID, [PAGE_ID, CHILD_1, CHILD_2], id="version"),
        pytest.param(False, [TOP_ID, CHILD_3], id="manual"),
    ],
)
def test_list_elements_cache_worker_version(cached_elements, value, expected):
    with pytest.deprecated_call():
        result = cached_elements.list_elements(worker_version=value)

    assert ids(result) == expected


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        pytest.param({}, [CHILD_1, CHILD_2, CHILD_3], id="all"),
        pytest.param({"type": "page"}, [], id="type"),
        pytest.param(
            {"worker_run": WORKER_RUN_ID}, [CHILD_1, CHILD_2], id="worker-run"
        ),
        pytest.param({"worker_run": False}, [CHILD_3], id="manual-run"),
    ],
)
def test_list_element_children_cache(cached_elements, kwargs, expected):
    result = cached_elements.list_element_children(element(PAGE_ID), **kwargs)

    assert ids(result) == expected


def test_list_element_children_cache_of_cached_element(cached_elements):
    parent = CachedElement.get_by_id(TOP_ID)

    assert ids(cached_elements.list_element_children(parent)) == [PAGE_ID]


@pytest.mark.parametrize(
    ("element_id", "kwargs", "expected"),
    [
        pytest.param(CHILD_1, {}, [PAGE_ID], id="child"),
        pytest.param(PAGE_ID, {"worker_run": False}, [TOP_ID], id="page-manual"),
        pytest.param(PAGE_ID, {"type": "page"}, [], id="page-type"),
        pytest.param(TOP_ID, {}, [], id="top-level"),
    ],
)
def test_list_element_parents_cache(cached_elements, element_id, kwargs, expected):
    result = cached_elements.list_element_parents(element(element_id), **kwargs)

    assert ids(result) == expected


@pytest.mark.parametrize(("listing", "url"), LISTINGS)
@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"with_corpus": True}, id="with-corpus"),
        pytest.param({"folder": False}, id="folder-false"),
        pytest.param({"name": "Page"}, id="name"),
    ],
)
def test_listing_cache_unsupported_filter(cached_elements, listing, url, kwargs):
    with pytest.raises(AssertionError) as e:
        listing(cached_elements, **kwargs)
    assert str(e.value) == (
        "When using the local cache, you can only filter by 'type' and/or "
        "'worker_version' and/or 'worker_run'"
    )


def test_listing_cache_recursive_rejected(cached_elements):
    with pytest.raises(AssertionError, match="^When using the local cache"):
        cached_elements.list_element_children(element(PAGE_ID), recursive=True)


def test_listing_cache_sends_nothing(cached_elements, mock_api):
    assert cached_elements.list_elements().count() == 5
    assert len(mock_api.calls) == 0
