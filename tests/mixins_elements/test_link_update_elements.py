"""ElementMixin: create_element_parent, create_element_children, partial_update_element (07)."""

from __future__ import annotations

import logging
import uuid

import pytest

from arkindex_worker.api import ErrorResponse
from arkindex_worker.cache import CachedElement, CachedImage
from tests.conftest import api_url
from tests.mixins_elements.conftest import (
    BATCH_BOUNDARIES,
    ELEMENT_ID,
    IMAGE_ID,
    calls,
    element,
    records,
)

PARENT_ID = "12341234-1234-1234-1234-123412341234"
CHILD_ID = "11111111-1111-1111-1111-111111111111"
OTHER_CHILD_ID = "22222222-2222-2222-2222-222222222222"
PARENT_URL = api_url(f"element/{CHILD_ID}/parent/{PARENT_ID}/")
CHILDREN_URL = api_url(f"element/parent/{PARENT_ID}/")
UPDATE_URL = api_url(f"element/{ELEMENT_ID}/")
POLYGON = [[10, 10], [20, 20], [20, 10], [10, 20]]


def child_id(index: int) -> str:
    return f"{index:08d}-1111-1111-1111-111111111111"


# --- create_element_parent -----------------------------------------------------


@pytest.mark.parametrize(
    ("parent", "child", "message"),
    [
        pytest.param(
            None,
            element(CHILD_ID),
            "parent shouldn't be null and should be of type Element",
            id="parent-none",
        ),
        pytest.param(
            "not an element",
            element(CHILD_ID),
            "parent shouldn't be null and should be of type Element",
            id="parent-str",
        ),
        pytest.param(
            element(PARENT_ID),
            None,
            "child shouldn't be null and should be of type Element",
            id="child-none",
        ),
        pytest.param(
            element(PARENT_ID),
            CachedElement(id=CHILD_ID, type="page"),
            "child shouldn't be null and should be of type Element",
            id="child-cached",
        ),
    ],
)
def test_create_element_parent_invalid(mock_elements_worker, parent, child, message):
    with pytest.raises(AssertionError) as e:
        mock_elements_worker.create_element_parent(parent=parent, child=child)
    assert str(e.value) == message


def test_create_element_parent_read_only(mock_elements_worker_read_only, caplog):
    result = mock_elements_worker_read_only.create_element_parent(
        parent=element(PARENT_ID), child=element(CHILD_ID)
    )

    assert result is None
    assert records(caplog) == [
        (logging.WARNING, "Cannot link elements as this worker is in read-only mode")
    ]


def test_create_element_parent_api_error(mock_elements_worker, mock_api):
    mock_api.post(PARENT_URL, status=418)

    with pytest.raises(ErrorResponse):
        mock_elements_worker.create_element_parent(
            parent=element(PARENT_ID), child=element(CHILD_ID)
        )
    assert len(mock_api.calls) == 1


def test_create_element_parent(mock_elements_worker, mock_api):
    answer = {"parent": PARENT_ID, "child": CHILD_ID}
    mock_api.post(PARENT_URL, json=answer)

    result = mock_elements_worker.create_element_parent(
        parent=element(PARENT_ID), child=element(CHILD_ID)
    )

    assert result == answer
    assert calls(mock_api) == [("POST", PARENT_URL, None)]


def test_create_element_parent_cache_warning(
    mock_cached_elements_worker, mock_api, caplog
):
    mock_api.post(PARENT_URL, json={"parent": PARENT_ID, "child": CHILD_ID})

    mock_cached_elements_worker.create_element_parent(
        parent=element(PARENT_ID), child=element(CHILD_ID)
    )

    assert records(caplog) == [
        (
            logging.WARNING,
            "This API helper `create_element_parent` did not update the cache database",
        )
    ]


# --- create_element_children ----------------------------------------------------


@pytest.mark.parametrize(
    "batch_size",
    [
        pytest.param(None, id="none"),
        pytest.param("not an int", id="str"),
        pytest.param(0, id="zero"),
    ],
)
def test_create_element_children_invalid_batch_size(mock_elements_worker, batch_size):
    with pytest.raises(AssertionError) as e:
        mock_elements_worker.create_element_children(None, None, batch_size=batch_size)
    assert (
        str(e.value)
        == "batch_size shouldn't be null and should be a strictly positive integer"
    )


@pytest.mark.parametrize(
    ("parent", "children", "message"),
    [
        pytest.param(
            None,
            [element(CHILD_ID)],
            "parent shouldn't be null and should be of type Element",
            id="parent-none",
        ),
        pytest.param(
            element(PARENT_ID),
            None,
            "children shouldn't be null and should be of type list",
            id="children-none",
        ),
        pytest.param(
            element(PARENT_ID),
            [],
            "children shouldn't be null and should be of type list",
            id="children-empty",
        ),
        pytest.param(
            element(PARENT_ID),
            element(CHILD_ID),
            "children shouldn't be null and should be of type list",
            id="children-not-list",
        ),
        pytest.param(
            element(PARENT_ID),
            [element(CHILD_ID), "not an element"],
            "Child at index 1 in children: Should be of type Element",
            id="child-str",
        ),
    ],
)
def test_create_element_children_invalid(
    mock_elements_worker, parent, children, message
):
    with pytest.raises(AssertionError) as e:
        mock_elements_worker.create_element_children(parent=parent, children=children)
    assert str(e.value) == message


def test_create_element_children_read_only(mock_elements_worker_read_only, caplog):
    result = mock_elements_worker_read_only.create_element_children(
        parent=element(PARENT_ID), children=[element(CHILD_ID)]
    )

    assert result is None
    assert records(caplog) == [
        (logging.WARNING, "Cannot link elements as this worker is in read-only mode")
    ]


def test_create_element_children_api_error(mock_elements_worker, mock_api):
    mock_api.post(CHILDREN_URL, status=418)

    with pytest.raises(ErrorResponse):
        mock_elements_worker.create_element_children(
            parent=element(PARENT_ID), children=[element(CHILD_ID)]
        )
    assert len(mock_api.calls) == 1


@pytest.mark.parametrize(("count", "batch_size", "sizes"), BATCH_BOUNDARIES)
def test_create_element_children_batches(
    mock_elements_worker, mock_api, count, batch_size, sizes
):
    ids = [child_id(index) for index in range(count)]
    batches, start = [], 0
    for size in sizes:
        batches.append(ids[start : start + size])
        mock_api.post(CHILDREN_URL, json={"children": batches[-1]})
        start += size

    result = mock_elements_worker.create_element_children(
        parent=element(PARENT_ID),
        children=[element(child) for child in ids],
        batch_size=batch_size,
    )

    assert result == ids
    assert calls(mock_api) == [
        ("POST", CHILDREN_URL, {"children": batch}) for batch in batches
    ]


def test_create_element_children_cache_warning(
    mock_cached_elements_worker, mock_api, caplog
):
    mock_api.post(CHILDREN_URL, json={"children": [CHILD_ID]})

    mock_cached_elements_worker.create_element_children(
        parent=element(PARENT_ID), children=[element(CHILD_ID)]
    )

    assert records(caplog) == [
        (
            logging.WARNING,
            "This API helper `create_element_children` did not update the cache database",
        )
    ]


# --- partial_update_element -------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param(
            {"element": None},
            "element shouldn't be null and should be an Element or CachedElement",
            id="element-none",
        ),
        pytest.param(
            {"element": "not an element"},
            "element shouldn't be null and should be an Element or CachedElement",
            id="element-str",
        ),
        pytest.param({"type": None}, "type should be a str", id="type-none"),
        pytest.param({"type": 1234}, "type should be a str", id="type-int"),
        pytest.param({"name": None}, "name should be a str", id="name-none"),
        pytest.param(
            {"polygon": "not a list"}, "polygon should be a list", id="polygon"
        ),
        pytest.param(
            {"polygon": [[1, 1], [2, 2]]},
            "polygon should have at least three points",
            id="polygon-two-points",
        ),
        pytest.param(
            {"polygon": [[1, 1, 1], [2, 2, 1], [2, 1, 1]]},
            "polygon points should be lists of two items",
            id="polygon-three-items",
        ),
        pytest.param(
            {"polygon": [["a", 1], [2, 2], [2, 1]]},
            "polygon points should be lists of two numbers",
            id="polygon-not-numbers",
        ),
        pytest.param(
            {"confidence": "lol"},
            "confidence should be None or a float in [0..1] range",
            id="confidence-str",
        ),
        pytest.param(
            {"confidence": 0},
            "confidence should be None or a float in [0..1] range",
            id="confidence-int",
        ),
        *(
            pytest.param(
                {"rotation_angle": value},
                "rotation_angle should be a positive integer",
                id=f"rotation-angle-{label}",
            )
            for label, value in (
                ("str", "lol"),
                ("negative", -1),
                ("float", 0.5),
                ("none", None),
            )
        ),
        pytest.param(
            {"mirrored": "lol"}, "mirrored should be a boolean", id="mirrored-str"
        ),
        pytest.param(
            {"mirrored": None}, "mirrored should be a boolean", id="mirrored-none"
        ),
        pytest.param({"image": IMAGE_ID}, "image should be a UUID", id="image-str"),
    ],
)
def test_partial_update_element_invalid(mock_elements_worker, kwargs, message):
    kwargs = {"element": element(), **kwargs}
    with pytest.raises(AssertionError) as e:
        mock_elements_worker.partial_update_element(**kwargs)
    assert str(e.value) == message


def test_partial_update_element_read_only(mock_elements_worker_read_only, caplog):
    result = mock_elements_worker_read_only.partial_update_element(
        element=element(), name="new name"
    )

    assert result is None
    assert records(caplog) == [
        (logging.WARNING, "Cannot update element as this worker is in read-only mode")
    ]


def test_partial_update_element_api_error(mock_elements_worker, mock_api):
    mock_api.patch(UPDATE_URL, status=418)

    with pytest.raises(ErrorResponse):
        mock_elements_worker.partial_update_element(element=element(), name="x")
    assert len(mock_api.calls) == 1


def test_partial_update_element(mock_elements_worker, mock_api):
    answer = {"id": ELEMENT_ID, "name": "new name", "type": "page"}
    mock_api.patch(UPDATE_URL, json=answer)

    result = mock_elements_worker.partial_update_element(
        element=element(),
        name="new name",
        type="page",
        image=uuid.UUID(IMAGE_ID),
        polygon=POLYGON,
        confidence=None,
        rotation_angle=90,
        mirrored=True,
        unknown="passed through",
    )

    assert result == answer
    assert calls(mock_api) == [
        (
            "PATCH",
            UPDATE_URL,
            {
                "name": "new name",
                "type": "page",
                "image": IMAGE_ID,
                "polygon": POLYGON,
                "confidence": None,
                "rotation_angle": 90,
                "mirrored": True,
                "unknown": "passed through",
            },
        )
    ]


@pytest.fixture
def cached_page(mock_cached_elements_worker):
    CachedImage.create(id=IMAGE_ID, width=42, height=24, url="http://image/old")
    return CachedElement.create(
        id=ELEMENT_ID, type="page", image=IMAGE_ID, polygon=[[0, 0], [1, 1], [1, 0]]
    )


def test_partial_update_element_cache(
    mock_cached_elements_worker, cached_page, mock_api
):
    new_image = "88888888-8888-8888-8888-888888888888"
    CachedImage.create(id=new_image, width=1, height=1, url="http://image/new")
    mock_api.patch(UPDATE_URL, json={"id": ELEMENT_ID})

    mock_cached_elements_worker.partial_update_element(
        element=cached_page,
        name="ignored by the cache",
        type="folder",
        image=uuid.UUID(new_image),
        polygon=POLYGON,
        confidence=0.5,
        rotation_angle=180,
        mirrored=True,
        unknown="not a column",
    )

    row = CachedElement.get_by_id(ELEMENT_ID)
    assert (
        row.type,
        str(row.image_id),
        row.polygon,
        row.confidence,
        row.rotation_angle,
        row.mirrored,
    ) == (
        "folder",
        new_image,
        "[[10, 10], [20, 20], [20, 10], [10, 20]]",
        0.5,
        180,
        True,
    )


def test_partial_update_element_cache_name_only(
    mock_cached_elements_worker, cached_page, mock_api
):
    mock_api.patch(UPDATE_URL, json={"id": ELEMENT_ID, "name": "new"})

    result = mock_cached_elements_worker.partial_update_element(
        element=cached_page, name="new"
    )

    assert result == {"id": ELEMENT_ID, "name": "new"}
    row = CachedElement.get_by_id(ELEMENT_ID)
    assert (row.type, row.polygon) == ("page", [[0, 0], [1, 1], [1, 0]])


def test_partial_update_element_cache_unknown_image(
    mock_cached_elements_worker, cached_page, mock_api
):
    mock_api.patch(UPDATE_URL, json={"id": ELEMENT_ID})

    with pytest.raises(CachedImage.DoesNotExist):
        mock_cached_elements_worker.partial_update_element(
            element=cached_page, image=uuid.uuid4()
        )
