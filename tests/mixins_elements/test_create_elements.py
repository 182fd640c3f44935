"""ElementMixin: create_sub_element and create_elements (07)."""

from __future__ import annotations

import logging

import pytest

from arkindex_worker.api import ErrorResponse
from arkindex_worker.cache import CachedElement, CachedImage
from tests.conftest import CORPUS_ID, WORKER_RUN_ID, api_url
from tests.mixins_elements.conftest import (
    BATCH_BOUNDARIES,
    ELEMENT_ID,
    IMAGE_ID,
    calls,
    element,
    records,
)

POLYGON = [[1, 1], [2, 2], [2, 1], [1, 2]]
CREATE_URL = api_url("elements/create/")
BULK_URL = api_url(f"element/{ELEMENT_ID}/children/bulk/")
NEW_ID = "497f6eca-6276-4993-bfeb-53cbbbba6f08"
OTHER_NEW_ID = "5468c358-b9c4-499d-8b92-d6349c58e88d"
IMAGE_UUID = "22222222-2222-2222-2222-222222222222"


def sub_element_body(**overrides) -> dict:
    body = {
        "type": "something",
        "name": "0",
        "image": None,
        "corpus": CORPUS_ID,
        "polygon": POLYGON,
        "parent": ELEMENT_ID,
        "worker_run_id": WORKER_RUN_ID,
        "confidence": None,
    }
    body.update(overrides)
    return body


def new_element(index: int = 0, **overrides) -> dict:
    item = {"name": str(index), "type": "something", "polygon": POLYGON}
    item.update(overrides)
    return item


def new_id(index: int) -> str:
    return f"{index:08d}-0000-0000-0000-000000000000"


# --- create_sub_element ----------------------------------------------------------


def valid_sub_element(**overrides) -> dict:
    kwargs = {"element": element(), "type": "something", "name": "0"}
    kwargs.update(overrides)
    return kwargs


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param(
            {"element": None},
            "element shouldn't be null and should be of type Element",
            id="element-none",
        ),
        pytest.param(
            {"element": "not an element"},
            "element shouldn't be null and should be of type Element",
            id="element-str",
        ),
        pytest.param(
            {"element": CachedElement(id=ELEMENT_ID, type="page")},
            "element shouldn't be null and should be of type Element",
            id="element-cached",
        ),
        pytest.param(
            {"type": None},
            "type shouldn't be null and should be of type str",
            id="type",
        ),
        pytest.param(
            {"type": 1234},
            "type shouldn't be null and should be of type str",
            id="type-int",
        ),
        pytest.param(
            {"name": None},
            "name shouldn't be null and should be of type str",
            id="name",
        ),
        pytest.param(
            {"polygon": "not a list"}, "polygon should be None or a list", id="polygon"
        ),
        pytest.param(
            {"polygon": [[1, 1], [2, 2]]},
            "polygon should have at least three points",
            id="polygon-two-points",
        ),
        pytest.param(
            {"polygon": [[1, 1, 1], [2, 2, 1], [2, 1, 1], [1, 2, 1]]},
            "polygon points should be lists of two items",
            id="polygon-three-items",
        ),
        pytest.param(
            {"polygon": [(1, 1), (2, 2), (2, 1)]},
            "polygon points should be lists of two items",
            id="polygon-tuples",
        ),
        pytest.param(
            {"polygon": [["not a coord", 1], [2, 2], [2, 1], [1, 2]]},
            "polygon points should be lists of two numbers",
            id="polygon-not-numbers",
        ),
        pytest.param(
            {"confidence": "lol"},
            "confidence should be None or a float in [0..1] range",
            id="confidence-str",
        ),
        pytest.param(
            {"confidence": 1},
            "confidence should be None or a float in [0..1] range",
            id="confidence-int",
        ),
        pytest.param(
            {"confidence": 1.42},
            "confidence should be None or a float in [0..1] range",
            id="confidence-above",
        ),
        pytest.param({"image": 1234}, "image should be None or string", id="image-int"),
        pytest.param(
            {"polygon": POLYGON, "element": element(zone=False)},
            "An image or a parent with an image is required to create an element with a polygon.",
            id="no-image",
        ),
        pytest.param(
            {"slim_output": "no"},
            "slim_output should be of type bool",
            id="slim-output",
        ),
    ],
)
def test_create_sub_element_invalid(mock_elements_worker, overrides, message):
    with pytest.raises(AssertionError) as e:
        mock_elements_worker.create_sub_element(**valid_sub_element(**overrides))
    assert str(e.value) == message


def test_create_sub_element_invalid_uuid(mock_elements_worker):
    with pytest.raises(ValueError, match=r"^image is not a valid uuid\.$"):
        mock_elements_worker.create_sub_element(**valid_sub_element(image="not-a-uuid"))


def test_create_sub_element_parent_without_zone_key(mock_elements_worker):
    parent = element()
    del parent["zone"]
    with pytest.raises(AttributeError):
        mock_elements_worker.create_sub_element(
            **valid_sub_element(element=parent, polygon=POLYGON)
        )


def test_create_sub_element_read_only(mock_elements_worker_read_only, caplog):
    result = mock_elements_worker_read_only.create_sub_element(
        **valid_sub_element(polygon=POLYGON)
    )

    assert result is None
    assert records(caplog) == [
        (logging.WARNING, "Cannot create element as this worker is in read-only mode")
    ]


def test_create_sub_element_api_error(mock_elements_worker, mock_api):
    mock_api.post(CREATE_URL, status=418)

    with pytest.raises(ErrorResponse) as e:
        mock_elements_worker.create_sub_element(**valid_sub_element(polygon=POLYGON))

    assert e.value.status_code == 418
    assert calls(mock_api) == [("POST", CREATE_URL, sub_element_body())]


@pytest.mark.parametrize(
    ("slim_output", "expected"),
    [
        pytest.param(True, NEW_ID, id="slim"),
        pytest.param(False, {"id": NEW_ID, "name": "0"}, id="full"),
    ],
)
def test_create_sub_element(mock_elements_worker, mock_api, slim_output, expected):
    mock_api.post(CREATE_URL, json={"id": NEW_ID, "name": "0"})

    result = mock_elements_worker.create_sub_element(
        **valid_sub_element(polygon=POLYGON, slim_output=slim_output)
    )

    assert result == expected
    assert calls(mock_api) == [("POST", CREATE_URL, sub_element_body())]


def test_create_sub_element_image_confidence(mock_elements_worker, mock_api):
    mock_api.post(CREATE_URL, json={"id": NEW_ID})

    result = mock_elements_worker.create_sub_element(
        **valid_sub_element(
            element=element(zone=False),
            image=IMAGE_UUID,
            polygon=POLYGON,
            confidence=0.42,
        )
    )

    assert result == NEW_ID
    assert calls(mock_api) == [
        ("POST", CREATE_URL, sub_element_body(image=IMAGE_UUID, confidence=0.42))
    ]


def test_create_sub_element_cache_warning(
    mock_cached_elements_worker, mock_api, caplog
):
    mock_api.post(CREATE_URL, json={"id": NEW_ID})

    mock_cached_elements_worker.create_sub_element(**valid_sub_element(polygon=None))

    assert calls(mock_api) == [("POST", CREATE_URL, sub_element_body(polygon=None))]
    assert records(caplog) == [
        (
            logging.WARNING,
            "This API helper `create_sub_element` did not update the cache database",
        )
    ]
    assert CachedElement.select().count() == 0


# --- create_elements ---------------------------------------------------------------


@pytest.mark.parametrize(
    "batch_size",
    [
        pytest.param(None, id="none"),
        pytest.param("not an int", id="str"),
        pytest.param(0, id="zero"),
    ],
)
def test_create_elements_invalid_batch_size(mock_elements_worker, batch_size):
    # Checked before anything else, so the invalid parent is not reported.
    with pytest.raises(AssertionError) as e:
        mock_elements_worker.create_elements(None, [], batch_size=batch_size)
    assert (
        str(e.value)
        == "batch_size shouldn't be null and should be a strictly positive integer"
    )


def test_create_elements_parent_type(mock_elements_worker):
    with pytest.raises(TypeError) as e:
        mock_elements_worker.create_elements(parent=None, elements=[])
    assert (
        str(e.value) == "Parent element should be an Element or CachedElement instance"
    )


@pytest.mark.parametrize(
    ("parent", "message"),
    [
        pytest.param(
            element(zone=False),
            "create_elements cannot be used on parents without zones",
            id="element-without-zone",
        ),
        pytest.param(
            CachedElement(id=ELEMENT_ID, type="page"),
            "create_elements cannot be used on parents without images",
            id="cached-without-image",
        ),
    ],
)
def test_create_elements_parent_without_image(mock_elements_worker, parent, message):
    with pytest.raises(AssertionError) as e:
        mock_elements_worker.create_elements(parent=parent, elements=[new_element()])
    assert str(e.value) == message


@pytest.mark.parametrize(
    ("elements", "message"),
    [
        pytest.param(
            None, "elements shouldn't be null and should be of type list", id="none"
        ),
        pytest.param(
            [], "elements shouldn't be null and should be of type list", id="empty"
        ),
        pytest.param(
            "not a list",
            "elements shouldn't be null and should be of type list",
            id="str",
        ),
        pytest.param(
            [new_element(), "not a dict"],
            "Element at index 1 in elements: Should be of type dict",
            id="item-not-dict",
        ),
        pytest.param(
            [{"type": "something", "polygon": POLYGON}],
            "Element at index 0 in elements: name shouldn't be null and should be of type str",
            id="name-missing",
        ),
        pytest.param(
            [new_element(name=1234)],
            "Element at index 0 in elements: name shouldn't be null and should be of type str",
            id="name-int",
        ),
        pytest.param(
            [new_element(type=None)],
            "Element at index 0 in elements: type shouldn't be null and should be of type str",
            id="type-none",
        ),
        pytest.param(
            [new_element(polygon=None)],
            "Element at index 0 in elements: polygon shouldn't be null and should be of type list",
            id="polygon-none",
        ),
        pytest.param(
            [new_element(polygon=[])],
            "Element at index 0 in elements: polygon shouldn't be null and should be of type list",
            id="polygon-empty",
        ),
        pytest.param(
            [new_element(polygon=[[1, 1], [2, 2]])],
            "Element at index 0 in elements: polygon should have at least three points",
            id="polygon-two-points",
        ),
        pytest.param(
            [new_element(polygon=[[1, 1, 1], [2, 2, 1], [2, 1, 1]])],
            "Element at index 0 in elements: polygon points should be lists of two items",
            id="polygon-three-items",
        ),
        pytest.param(
            [new_element(polygon=[["a", 1], [2, 2], [2, 1]])],
            "Element at index 0 in elements: polygon points should be lists of two numbers",
            id="polygon-not-numbers",
        ),
        pytest.param(
            [new_element(confidence="lol")],
            "Element at index 0 in elements: confidence should be None or a float in [0..1] range",
            id="confidence-str",
        ),
        pytest.param(
            [new_element(confidence=-1.0)],
            "Element at index 0 in elements: confidence should be None or a float in [0..1] range",
            id="confidence-negative",
        ),
    ],
)
def test_create_elements_invalid(mock_elements_worker, elements, message):
    with pytest.raises(AssertionError) as e:
        mock_elements_worker.create_elements(parent=element(), elements=elements)
    assert str(e.value) == message


def test_create_elements_read_only(mock_elements_worker_read_only, caplog):
    result = mock_elements_worker_read_only.create_elements(
        parent=element(), elements=[new_element()]
    )

    assert result is None
    assert records(caplog) == [
        (logging.WARNING, "Cannot create elements as this worker is in read-only mode")
    ]


def test_create_elements_api_error(mock_elements_worker, mock_api):
    mock_api.post(BULK_URL, status=418)

    with pytest.raises(ErrorResponse):
        mock_elements_worker.create_elements(parent=element(), elements=[new_element()])

    assert len(mock_api.calls) == 1


@pytest.mark.parametrize(("count", "batch_size", "sizes"), BATCH_BOUNDARIES)
def test_create_elements_batches(
    mock_elements_worker, mock_api, count, batch_size, sizes
):
    elements = [new_element(index) for index in range(count)]
    start = 0
    for size in sizes:
        mock_api.post(
            BULK_URL, json=[{"id": new_id(i)} for i in range(start, start + size)]
        )
        start += size

    result = mock_elements_worker.create_elements(
        parent=element(), elements=elements, batch_size=batch_size
    )

    assert result == [{"id": new_id(index)} for index in range(count)]
    bodies, start = [], 0
    for size in sizes:
        bodies.append(
            (
                "POST",
                BULK_URL,
                {
                    "worker_run_id": WORKER_RUN_ID,
                    "elements": elements[start : start + size],
                },
            )
        )
        start += size
    assert calls(mock_api) == bodies


def test_create_elements_failing_batch(mock_cached_elements_worker, mock_api):
    mock_api.post(BULK_URL, json=[{"id": NEW_ID}])
    mock_api.post(BULK_URL, status=500)

    with pytest.raises(ErrorResponse):
        mock_cached_elements_worker.create_elements(
            parent=element(), elements=[new_element(0), new_element(1)], batch_size=1
        )

    # The first batch stays created on the server; nothing is cached.
    assert len(mock_api.calls) == 1 + 5
    assert CachedElement.select().count() == 0


def test_create_elements_cache(mock_cached_elements_worker, mock_api):
    mock_api.post(BULK_URL, json=[{"id": NEW_ID}])
    mock_api.post(BULK_URL, json=[{"id": OTHER_NEW_ID}])
    elements = [new_element(0), new_element(1, confidence=0.42)]

    result = mock_cached_elements_worker.create_elements(
        parent=element(), elements=elements, batch_size=1
    )

    assert result == [{"id": NEW_ID}, {"id": OTHER_NEW_ID}]
    assert calls(mock_api) == [
        ("POST", BULK_URL, {"elements": [elements[0]], "worker_run_id": WORKER_RUN_ID}),
        ("POST", BULK_URL, {"elements": [elements[1]], "worker_run_id": WORKER_RUN_ID}),
    ]
    assert [
        (str(image.id), image.width, image.height, image.url)
        for image in CachedImage.select()
    ] == [(IMAGE_ID, 42, 24, "http://www.fake.com/iiif/image")]
    assert [
        (
            str(row.id),
            str(row.parent_id),
            row.type,
            str(row.image_id),
            row.polygon,
            str(row.worker_run_id),
            row.confidence,
            row.worker_version_id,
            row.initial,
        )
        for row in CachedElement.select()
    ] == [
        (
            NEW_ID,
            ELEMENT_ID,
            "something",
            IMAGE_ID,
            POLYGON,
            WORKER_RUN_ID,
            None,
            None,
            False,
        ),
        (
            OTHER_NEW_ID,
            ELEMENT_ID,
            "something",
            IMAGE_ID,
            POLYGON,
            WORKER_RUN_ID,
            0.42,
            None,
            False,
        ),
    ]


def test_create_elements_cached_parent(mock_cached_elements_worker, mock_api):
    CachedImage.create(
        id=IMAGE_ID, width=42, height=24, url="http://www.fake.com/iiif/image"
    )
    parent = CachedElement.create(id=ELEMENT_ID, type="page", image=IMAGE_ID)
    mock_api.post(BULK_URL, json=[{"id": NEW_ID}])

    mock_cached_elements_worker.create_elements(parent=parent, elements=[new_element()])

    child = CachedElement.get_by_id(NEW_ID)
    assert (str(child.parent_id), str(child.image_id)) == (ELEMENT_ID, IMAGE_ID)
    assert CachedImage.select().count() == 1


def test_create_elements_cache_integrity_error(
    mock_cached_elements_worker, mock_api, caplog
):
    caplog.set_level(logging.INFO)
    mock_api.post(BULK_URL, json=[{"id": NEW_ID}, {"id": NEW_ID}])

    result = mock_cached_elements_worker.create_elements(
        parent=element(), elements=[new_element(0), new_element(1)]
    )

    assert result == [{"id": NEW_ID}, {"id": NEW_ID}]
    assert [(r.name, r.levelno) for r in caplog.records] == [
        ("arkindex_worker.utils", logging.INFO),
        ("arkindex_worker.utils", logging.INFO),
        ("arkindex_worker", logging.WARNING),
    ]
    assert (
        caplog.records[-1]
        .getMessage()
        .startswith(
            "Couldn't save created elements in local cache: UNIQUE constraint failed"
        )
    )
    assert CachedElement.select().count() == 0
