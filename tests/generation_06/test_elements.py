"""Generation 0.6: element helpers and type checks (spec 15 §4)."""

from __future__ import annotations

import pytest

from arkindex_worker.cache import CachedElement
from arkindex_worker.errors import MissingElementType
from arkindex_worker.models import Element
from tests.conftest import CORPUS_ID, WORKER_RUN_ID, api_url
from tests.generation_06.helpers import page_of, sent, worker_logs

ELEMENT_ID = "12341234-1234-1234-1234-123412341234"
ELEMENT = Element(
    id=ELEMENT_ID,
    corpus={"id": CORPUS_ID},
    zone={"image": {"id": "img", "width": 42, "height": 24, "url": "http://i/iiif"}},
)
CACHED = CachedElement(id=ELEMENT_ID, type="page")
ELEMENT_ONLY = "element shouldn't be null and should be an Element"


# ---------------------------------------------------------------- check_required_types


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        pytest.param(("page",), {}, id="0.4-varargs"),
        pytest.param(("page", "line"), {}, id="0.4-varargs-two"),
        pytest.param((), {}, id="nothing"),
        pytest.param((), {"type_names": "page"}, id="str"),
        pytest.param((), {"type_names": 1234}, id="int"),
        pytest.param(("page",), {"create_missing": True}, id="0.4-create"),
    ],
)
def test_check_required_types_refuses_the_04_forms(worker06, args, kwargs):
    with pytest.raises(
        AssertionError,
        match="^type_names shouldn't be null and should be of type list$",
    ):
        worker06.check_required_types(*args, **kwargs)


def test_check_required_types_creates_the_missing_slug(worker06, mock_api):
    worker06.corpus_types = {"folder": {"slug": "folder"}}
    created = {"id": "page-type", "slug": "page", "display_name": "Page"}
    mock_api.post(api_url("elements/type/"), json=created)

    mapping = worker06.check_required_types(
        type_names=["Folder", "Page"], create_missing=True
    )

    assert mapping == {"Folder": "folder", "Page": "page"}
    assert sent(mock_api) == [
        (
            "POST",
            api_url("elements/type/"),
            {
                "slug": "page",
                "display_name": "Page",
                "folder": False,
                "corpus": CORPUS_ID,
            },
        )
    ]
    assert worker06.corpus_types["page"] == created


def test_check_required_types_positional_list(worker06, mock_api):
    worker06.corpus_types = {"page": {"slug": "page"}}
    assert worker06.check_required_types(["Page"]) == {"Page": "page"}
    assert sent(mock_api) == []


def test_check_required_types_missing_without_create(worker06, mock_api):
    worker06.corpus_types = {"folder": {"slug": "folder"}}
    with pytest.raises(
        MissingElementType, match="^Element type `page` was not in the corpus.$"
    ):
        worker06.check_required_types(type_names=["Folder", "Page"])
    assert sent(mock_api) == []


# ---------------------------------------------------------------- element arguments


@pytest.mark.parametrize("value", [None, CACHED, "id", {"id": ELEMENT_ID}])
@pytest.mark.parametrize(
    "helper",
    ["partial_update_element", "list_element_children", "list_element_parents"],
)
def test_element_only(worker06, helper, value):
    with pytest.raises(AssertionError, match=f"^{ELEMENT_ONLY}$"):
        getattr(worker06, helper)(value)


def test_create_elements_parent_type_error_first(worker06):
    with pytest.raises(
        TypeError, match="^Parent element should be an Element instance$"
    ):
        worker06.create_elements(parent=CACHED, elements=None)


def test_create_elements_parent_without_zone(worker06):
    with pytest.raises(
        AssertionError,
        match="^create_elements cannot be used on parents without zones$",
    ):
        worker06.create_elements(parent=Element(id=ELEMENT_ID, zone=None), elements=[])


def test_create_elements_no_cache_write(worker06, mock_api, cache_path):
    worker06.use_cache = True  # set by user code: ignored under 0.6
    mock_api.post(api_url(f"element/{ELEMENT_ID}/children/bulk/"), json=[{"id": "c1"}])
    items = [{"name": "1", "type": "line", "polygon": [[0, 0], [0, 1], [1, 1]]}]

    assert worker06.create_elements(parent=ELEMENT, elements=items) == [{"id": "c1"}]

    assert sent(mock_api) == [
        (
            "POST",
            api_url(f"element/{ELEMENT_ID}/children/bulk/"),
            {"worker_run_id": WORKER_RUN_ID, "elements": items},
        )
    ]
    assert CachedElement.select().count() == 0


def test_partial_update_element_sends_the_keywords(worker06, mock_api, cache_path):
    import uuid

    worker06.use_cache = True
    image = uuid.UUID("99999999-9999-9999-9999-999999999999")
    mock_api.patch(api_url(f"element/{ELEMENT_ID}/"), json={"id": ELEMENT_ID})

    answer = worker06.partial_update_element(ELEMENT, name="new", image=image)

    assert answer == {"id": ELEMENT_ID}
    assert sent(mock_api) == [
        (
            "PATCH",
            api_url(f"element/{ELEMENT_ID}/"),
            {"name": "new", "image": str(image)},
        )
    ]


def test_listings_ignore_the_cache(worker06, mock_api, cache_path, caplog):
    worker06.use_cache = True  # no cache branch: no "When using the local cache" check
    mock_api.get(
        api_url(f"elements/{ELEMENT_ID}/children/"), json=page_of([{"id": "c"}])
    )
    mock_api.get(
        api_url(f"elements/{ELEMENT_ID}/parents/"), json=page_of([{"id": "p"}])
    )
    mock_api.get(api_url(f"corpus/{CORPUS_ID}/elements/"), json=page_of([{"id": "e"}]))

    assert list(worker06.list_element_children(ELEMENT, name="x")) == [{"id": "c"}]
    assert list(worker06.list_element_parents(ELEMENT, with_zone=True)) == [{"id": "p"}]
    assert list(worker06.list_elements(folder=True)) == [{"id": "e"}]

    assert [url for _, url, _ in sent(mock_api)] == [
        api_url(f"elements/{ELEMENT_ID}/children/?name=x"),
        api_url(f"elements/{ELEMENT_ID}/parents/?with_zone=True"),
        api_url(f"corpus/{CORPUS_ID}/elements/?folder=True"),
    ]
    assert worker_logs(caplog) == []  # no unsupported_cache WARNING
