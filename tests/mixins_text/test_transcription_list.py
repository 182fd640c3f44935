"""TranscriptionMixin.list_transcriptions, from the API and from the cache (spec 08)."""

from __future__ import annotations

import pytest
import responses

from arkindex_worker.cache import CachedElement, CachedTranscription
from arkindex_worker.models import Element
from tests.mixins_text.helpers import ELEMENT_ID, api_url, page_of

URL = api_url(f"element/{ELEMENT_ID}/transcriptions/")
RUN_A = "56785678-5678-5678-5678-567856785678"
RUN_B = "90129012-9012-9012-9012-901290129012"
DEPRECATED = (
    "`worker_version` usage is deprecated. Consider using `worker_run` instead."
)


def uid(digit: str) -> str:
    return f"{digit * 8}-{digit * 4}-{digit * 4}-{digit * 4}-{digit * 12}"


@pytest.fixture
def element():
    return Element({"id": ELEMENT_ID, "type": "page"})


# ---------------------------------------------------------------- validation

ELEMENT_MESSAGE = "element shouldn't be null and should be an Element or CachedElement"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param({"element": None}, ELEMENT_MESSAGE, id="element-none"),
        pytest.param({"element": "not element"}, ELEMENT_MESSAGE, id="element-str"),
        pytest.param(
            {"element_type": 1234}, "element_type should be of type str", id="type-int"
        ),
        pytest.param(
            {"recursive": "not bool"},
            "recursive should be of type bool",
            id="recursive",
        ),
        pytest.param(
            {"worker_run": 1234},
            "worker_run should be of type str or bool",
            id="worker-run-int",
        ),
        pytest.param(
            {"worker_run": True},
            "if of type bool, worker_run can only be set to False",
            id="worker-run-true",
        ),
        pytest.param(
            {"element": None, "recursive": "not bool"},
            ELEMENT_MESSAGE,
            id="element-checked-first",
        ),
    ],
)
def test_invalid(mock_elements_worker, element, arguments, message):
    with pytest.raises(AssertionError) as error:
        mock_elements_worker.list_transcriptions(**{"element": element, **arguments})
    assert str(error.value) == message


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param(1234, "worker_version should be of type str or bool", id="int"),
        pytest.param(
            True, "if of type bool, worker_version can only be set to False", id="true"
        ),
    ],
)
def test_invalid_worker_version(mock_elements_worker, element, value, message):
    with (
        pytest.warns(DeprecationWarning, match=DEPRECATED),
        pytest.raises(AssertionError) as error,
    ):
        mock_elements_worker.list_transcriptions(element, worker_version=value)
    assert str(error.value) == message


def test_empty_element_type_is_ignored(mock_elements_worker, mock_api, element):
    mock_api.add(responses.GET, URL, json=page_of([]))
    assert (
        list(mock_elements_worker.list_transcriptions(element, element_type="")) == []
    )
    assert mock_api.calls[0].request.url == URL


# ---------------------------------------------------------------- API


@pytest.mark.parametrize(
    ("arguments", "query"),
    [
        pytest.param({}, "", id="no-filter"),
        pytest.param(
            {"element_type": "line", "recursive": True},
            "?element_type=line&recursive=True",
            id="type-recursive",
        ),
        pytest.param({"recursive": False}, "?recursive=False", id="not-recursive"),
        pytest.param({"worker_run": False}, "?worker_run=False", id="manual-run"),
        pytest.param({"worker_run": RUN_A}, f"?worker_run={RUN_A}", id="worker-run"),
    ],
)
def test_api(mock_elements_worker, mock_api, element, arguments, query):
    results = [{"id": uid("1"), "text": "a"}, {"id": uid("2"), "text": "b"}]
    mock_api.add(responses.GET, URL, json=page_of(results))

    assert list(mock_elements_worker.list_transcriptions(element, **arguments)) == (
        results
    )
    assert [call.request.url for call in mock_api.calls] == [URL + query]


def test_api_worker_version(mock_elements_worker, mock_api, element):
    mock_api.add(responses.GET, URL, json=page_of([]))
    with pytest.warns(DeprecationWarning, match=DEPRECATED):
        transcriptions = mock_elements_worker.list_transcriptions(
            element, worker_version=False
        )
    assert list(transcriptions) == []
    assert mock_api.calls[0].request.url == URL + "?worker_version=False"


def test_api_is_lazy(mock_elements_worker, mock_api, element):
    mock_api.add(responses.GET, URL, json=page_of([{"id": uid("1")}]))
    transcriptions = mock_elements_worker.list_transcriptions(element)
    assert len(mock_api.calls) == 0
    assert next(transcriptions) == {"id": uid("1")}


def test_api_error(mock_elements_worker, mock_api, element, sleeps):
    mock_api.add(responses.GET, URL, status=418)
    with pytest.raises(
        Exception, match="^Stopping pagination as data will be incomplete$"
    ):
        list(mock_elements_worker.list_transcriptions(element))
    assert len(mock_api.calls) == 1  # a 4xx page is not retried
    assert sleeps == []


def test_server_error_retried(mock_elements_worker, mock_api, element, sleeps):
    mock_api.add(responses.GET, URL, status=503)
    mock_api.add(responses.GET, URL, json={"count": 1, "next": None, "results": []})
    assert list(mock_elements_worker.list_transcriptions(element)) == []
    assert len(mock_api.calls) == 2
    assert sleeps == [3]


# ---------------------------------------------------------------- cache

# Tree: page 1 -> 2 -> 4 -> 5, and page 1 -> 3; one transcription per element,
# plus a manual one (6) on page 1.
TREE = [
    (uid("1"), None, "page"),
    (uid("2"), uid("1"), "something_else"),
    (uid("3"), uid("1"), "line"),
    (uid("4"), uid("2"), "something_else"),
    (uid("5"), uid("4"), "something_else"),
]
TRANSCRIPTIONS = [
    (uid("1"), uid("1"), RUN_A),
    (uid("2"), uid("2"), RUN_B),
    (uid("3"), uid("3"), RUN_B),
    (uid("4"), uid("4"), RUN_B),
    (uid("5"), uid("5"), RUN_B),
    (uid("6"), uid("1"), None),
]


@pytest.fixture
def cached_tree(mock_cached_elements_worker):
    for element_id, parent_id, element_type in TREE:
        CachedElement.create(id=element_id, parent_id=parent_id, type=element_type)
    for transcription_id, element_id, source in TRANSCRIPTIONS:
        CachedTranscription.create(
            id=transcription_id,
            element=element_id,
            text="text",
            confidence=0.42,
            orientation="horizontal-lr",
            worker_version_id=source,
            worker_run_id=source,
        )
    return CachedElement.get_by_id(uid("1"))


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        pytest.param({}, "16", id="element"),
        pytest.param({"element_type": "page"}, "16", id="same-type"),
        pytest.param({"element_type": "line"}, "", id="other-type"),
        pytest.param({"worker_run": RUN_A}, "1", id="worker-run"),
        pytest.param({"worker_run": False}, "6", id="manual"),
        pytest.param({"recursive": True}, "123456", id="recursive"),
        pytest.param(
            {"recursive": True, "element_type": "something_else"},
            "245",
            id="recursive-type",
        ),
        pytest.param(
            {"recursive": True, "worker_run": RUN_B}, "2345", id="recursive-worker-run"
        ),
        pytest.param(
            {"recursive": True, "worker_run": False}, "6", id="recursive-manual"
        ),
        pytest.param({"recursive": False}, "16", id="recursive-false"),
    ],
)
def test_cache(cached_tree, mock_cached_elements_worker, arguments, expected):
    query = mock_cached_elements_worker.list_transcriptions(cached_tree, **arguments)
    assert sorted(str(t.id) for t in query) == [uid(d) for d in expected]


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        pytest.param({"worker_version": RUN_A}, "1", id="worker-version"),
        pytest.param(
            {"recursive": True, "worker_version": RUN_B},
            "2345",
            id="recursive-worker-version",
        ),
        pytest.param({"worker_version": False}, "6", id="manual"),
    ],
)
def test_cache_worker_version(
    cached_tree, mock_cached_elements_worker, arguments, expected
):
    with pytest.warns(DeprecationWarning, match=DEPRECATED):
        query = mock_cached_elements_worker.list_transcriptions(
            cached_tree, **arguments
        )
    assert sorted(str(t.id) for t in query) == [uid(d) for d in expected]


def test_cache_from_api_element(cached_tree, mock_cached_elements_worker):
    element = Element({"id": uid("2"), "type": "something_else"})
    query = mock_cached_elements_worker.list_transcriptions(element, recursive=True)
    assert query.count() == 3
    assert sorted(str(t.element_id) for t in query) == [uid("2"), uid("4"), uid("5")]


def test_cache_subtree_only(cached_tree, mock_cached_elements_worker):
    query = mock_cached_elements_worker.list_transcriptions(
        CachedElement.get_by_id(uid("4")), recursive=True
    )
    assert sorted(str(t.id) for t in query) == [uid("4"), uid("5")]
