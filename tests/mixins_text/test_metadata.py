"""MetaType and MetaDataMixin (spec 11, 14 §3.7)."""

from __future__ import annotations

import logging

import pytest
import responses

from arkindex_worker.api import ErrorResponse
from arkindex_worker.models import Element
from arkindex_worker.worker import MetaType
from arkindex_worker.worker.metadata import MetaType as ModuleMetaType
from tests.mixins_text.helpers import (
    BATCH_SIZE_MESSAGE,
    ELEMENT_ID,
    WORKER_RUN_ID,
    api_url,
    cached_page,
    sent,
    worker_logs,
)

METADATA_ID = "12345678-1234-1234-1234-123456789123"
URL = api_url(f"element/{ELEMENT_ID}/metadata/")
BULK_URL = api_url(f"element/{ELEMENT_ID}/metadata/bulk/")
READ_ONLY = "Cannot create metadata as this worker is in read-only mode"
ELEMENT_MESSAGE = (
    "element shouldn't be null and should be of type Element or CachedElement"
)
TYPE_MESSAGE = "type shouldn't be null and should be of type MetaType"
NAME_MESSAGE = "name shouldn't be null and should be of type str"
ELEMENT = Element({"id": ELEMENT_ID, "type": "page"})


def test_meta_type_members():
    assert [(member.name, member.value) for member in MetaType] == [
        ("Text", "text"),
        ("HTML", "html"),
        ("Date", "date"),
        ("Location", "location"),
        ("Reference", "reference"),
        ("Numeric", "numeric"),
        ("URL", "url"),
        ("Markdown", "markdown"),
    ]
    assert MetaType is ModuleMetaType
    assert MetaType.Text != "text"


# ---------------------------------------------------------------- create_metadata

SINGLE_INVALID = [
    pytest.param({"element": None}, ELEMENT_MESSAGE, id="element-none"),
    pytest.param({"element": "not element"}, ELEMENT_MESSAGE, id="element-str"),
    pytest.param({"type": None}, TYPE_MESSAGE, id="type-none"),
    pytest.param({"type": "location"}, TYPE_MESSAGE, id="type-str"),
    pytest.param({"name": None}, NAME_MESSAGE, id="name-none"),
    pytest.param({"name": 1234}, NAME_MESSAGE, id="name-int"),
    pytest.param(
        {"value": ""},
        "value shouldn't be null and should be of type str",
        id="value-empty",
    ),
    pytest.param(
        {"value": 12.5},
        "value shouldn't be null and should be of type str",
        id="value-float",
    ),
    pytest.param({"entity": 1234}, "entity should be of type str", id="entity-int"),
    pytest.param({"type": None, "name": None}, TYPE_MESSAGE, id="type-before-name"),
]


@pytest.mark.parametrize(("arguments", "message"), SINGLE_INVALID)
def test_create_metadata_invalid(mock_elements_worker, mock_api, arguments, message):
    kwargs = {
        "element": ELEMENT,
        "type": MetaType.Location,
        "name": "Teklia",
        "value": "La Turbine, Grenoble 38000",
        **arguments,
    }
    with pytest.raises(AssertionError) as error:
        mock_elements_worker.create_metadata(**kwargs)
    assert str(error.value) == message


def test_create_metadata_read_only(mock_elements_worker_read_only, mock_api, caplog):
    caplog.set_level(logging.DEBUG, logger="arkindex_worker")
    result = mock_elements_worker_read_only.create_metadata(
        ELEMENT, MetaType.Text, "name", "value"
    )
    assert result is None
    assert caplog.record_tuples == [("arkindex_worker", logging.WARNING, READ_ONLY)]
    assert len(mock_api.calls) == 0


@pytest.mark.parametrize(
    ("entity", "entity_id"),
    [
        pytest.param({}, None, id="no-entity"),
        pytest.param({"entity": "entity-id"}, "entity-id", id="entity"),
        pytest.param({"entity": ""}, "", id="empty-entity"),
    ],
)
def test_create_metadata(mock_elements_worker, mock_api, entity, entity_id):
    mock_api.add(responses.POST, URL, json={"id": METADATA_ID})

    result = mock_elements_worker.create_metadata(
        ELEMENT, MetaType.Location, "Teklia", "La Turbine, Grenoble 38000", **entity
    )

    assert result == METADATA_ID
    assert sent(mock_api) == [
        (
            "POST",
            URL,
            {
                "type": "location",
                "name": "Teklia",
                "value": "La Turbine, Grenoble 38000",
                "entity_id": entity_id,
                "worker_run_id": WORKER_RUN_ID,
            },
        )
    ]


def test_create_metadata_cached_element(mock_cached_elements_worker, mock_api, caplog):
    mock_api.add(responses.POST, URL, json={"id": METADATA_ID})

    result = mock_cached_elements_worker.create_metadata(
        cached_page(), MetaType.Markdown, "notes", "**bold**"
    )

    assert result == METADATA_ID
    assert sent(mock_api)[0][2]["type"] == "markdown"
    assert worker_logs(caplog) == [
        (
            logging.WARNING,
            "This API helper `create_metadata` did not update the cache database",
        )
    ]


def test_create_metadata_api_error(mock_elements_worker, mock_api):
    mock_api.add(responses.POST, URL, status=418)
    with pytest.raises(ErrorResponse) as error:
        mock_elements_worker.create_metadata(ELEMENT, MetaType.Text, "name", "value")
    assert error.value.status_code == 418
    assert len(mock_api.calls) == 1


# ---------------------------------------------------------------- create_metadata_bulk


def meta(name="fake_name", value="fake_value", **extra):
    return {"type": MetaType.Text, "name": name, "value": value, **extra}


def sent_meta(name="fake_name", value="fake_value", entity_id=None):
    return {"type": "text", "name": name, "value": value, "entity_id": entity_id}


def created_meta(name="fake_name"):
    return {"id": f"id-{name}", "type": "text", "name": name, "value": "v", "dates": []}


BULK_INVALID = [
    pytest.param({"element": None}, ELEMENT_MESSAGE, id="element-none"),
    pytest.param(
        {"metadata_list": None},
        "metadata_list shouldn't be null and should be of type list of dict",
        id="list-none",
    ),
    pytest.param(
        {"metadata_list": []},
        "metadata_list shouldn't be null and should be of type list of dict",
        id="zero-items",
    ),
    pytest.param(
        {"metadata_list": [meta(), "not a dict"]},
        "Element at index 1 in metadata_list: Should be of type dict",
        id="item-str",
    ),
    pytest.param(
        {"metadata_list": [meta(), meta(type="text")]}, TYPE_MESSAGE, id="type-str"
    ),
    pytest.param(
        {"metadata_list": [meta(), meta(name="")]}, NAME_MESSAGE, id="name-empty"
    ),
    pytest.param(
        {"metadata_list": [meta(), meta(value=None)]},
        "value shouldn't be null and should be of type (str or float or int)",
        id="value-none",
    ),
    pytest.param(
        {"metadata_list": [meta(), meta(value=[1])]},
        "value shouldn't be null and should be of type (str or float or int)",
        id="value-list",
    ),
    pytest.param(
        {"metadata_list": [meta(), meta(entity_id=1234)]},
        "entity_id should be None or a str",
        id="entity-id-int",
    ),
    pytest.param(
        {"element": None, "metadata_list": None},
        ELEMENT_MESSAGE,
        id="element-checked-first",
    ),
]


@pytest.mark.parametrize(("arguments", "message"), BULK_INVALID)
def test_create_metadata_bulk_invalid(
    mock_elements_worker, mock_api, arguments, message
):
    kwargs = {"element": ELEMENT, "metadata_list": [meta()], **arguments}
    with pytest.raises(AssertionError) as error:
        mock_elements_worker.create_metadata_bulk(**kwargs)
    assert str(error.value) == message


def test_create_metadata_bulk_invalid_batch_size(mock_elements_worker):
    with pytest.raises(AssertionError) as error:
        mock_elements_worker.create_metadata_bulk(None, None, batch_size="not an int")
    assert str(error.value) == BATCH_SIZE_MESSAGE


def test_create_metadata_bulk_read_only(
    mock_elements_worker_read_only, mock_api, caplog
):
    caplog.set_level(logging.DEBUG, logger="arkindex_worker")
    assert (
        mock_elements_worker_read_only.create_metadata_bulk(ELEMENT, [meta()]) is None
    )
    assert caplog.record_tuples == [("arkindex_worker", logging.WARNING, READ_ONLY)]
    assert len(mock_api.calls) == 0


def test_create_metadata_bulk(mock_elements_worker, mock_api):
    answer = [created_meta(), created_meta("Year")]
    mock_api.add(responses.POST, BULK_URL, json={"metadata_list": answer})
    metadata_list = [
        meta(extra_key="dropped"),
        meta("Year", "2024", entity_id="entity_id"),
    ]

    result = mock_elements_worker.create_metadata_bulk(ELEMENT, metadata_list)

    assert result == answer
    assert sent(mock_api) == [
        (
            "POST",
            BULK_URL,
            {
                "worker_run_id": WORKER_RUN_ID,
                "metadata_list": [
                    sent_meta(),
                    sent_meta("Year", "2024", "entity_id"),
                ],
            },
        )
    ]
    assert metadata_list[0] == meta(extra_key="dropped")


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(0, id="zero"),
        pytest.param("", id="empty-str"),
        pytest.param(12.5, id="float"),
    ],
)
def test_create_metadata_bulk_values(mock_elements_worker, mock_api, value):
    mock_api.add(responses.POST, BULK_URL, json={"metadata_list": []})
    mock_elements_worker.create_metadata_bulk(ELEMENT, [meta(value=value)])
    assert sent(mock_api)[0][2]["metadata_list"] == [sent_meta(value=value)]


@pytest.mark.parametrize(
    ("count", "batch_sizes"),
    [
        pytest.param(1, [1], id="one-item"),
        pytest.param(2, [2], id="batch-size-items"),
        pytest.param(3, [2, 1], id="batch-size-plus-one-items"),
    ],
)
def test_create_metadata_bulk_batches(
    mock_elements_worker, mock_api, count, batch_sizes
):
    names = [f"name {index}" for index in range(count)]
    start = 0
    for size in batch_sizes:
        mock_api.add(
            responses.POST,
            BULK_URL,
            json={
                "metadata_list": [created_meta(n) for n in names[start : start + size]]
            },
        )
        start += size

    result = mock_elements_worker.create_metadata_bulk(
        ELEMENT, [meta(name) for name in names], batch_size=2
    )

    assert result == [created_meta(name) for name in names]
    bodies = [body["metadata_list"] for _, _, body in sent(mock_api)]
    start = 0
    expected = []
    for size in batch_sizes:
        expected.append([sent_meta(n) for n in names[start : start + size]])
        start += size
    assert bodies == expected


def test_create_metadata_bulk_logs_batches(mock_elements_worker, mock_api, caplog):
    caplog.set_level(logging.INFO, logger="arkindex_worker")
    mock_api.add(responses.POST, BULK_URL, json={"metadata_list": []})
    mock_elements_worker.create_metadata_bulk(ELEMENT, [meta()])
    assert caplog.record_tuples == [
        (
            "arkindex_worker.utils",
            logging.INFO,
            "Creating batches of size 50 to process 1 metadata",
        ),
        (
            "arkindex_worker.utils",
            logging.INFO,
            "Processing batch 1 containing 1 metadata...",
        ),
    ]


def test_create_metadata_bulk_unsupported_cache(
    mock_cached_elements_worker, mock_api, caplog
):
    mock_api.add(responses.POST, BULK_URL, json={"metadata_list": []})
    mock_cached_elements_worker.create_metadata_bulk(cached_page(), [meta()])
    assert worker_logs(caplog) == [
        (
            logging.WARNING,
            "This API helper `create_metadata_bulk` did not update the cache database",
        )
    ]


# ---------------------------------------------------------------- list_element_metadata


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param({"element": None}, ELEMENT_MESSAGE, id="element-none"),
        pytest.param(
            {"load_parents": "yes"}, "load_parents should be of type bool", id="parents"
        ),
    ],
)
def test_list_element_metadata_invalid(mock_elements_worker, arguments, message):
    with pytest.raises(AssertionError) as error:
        mock_elements_worker.list_element_metadata(**{"element": ELEMENT, **arguments})
    assert str(error.value) == message


@pytest.mark.parametrize(
    ("arguments", "query"),
    [
        pytest.param({}, "", id="default"),
        pytest.param({"load_parents": True}, "?load_parents=True", id="load-parents"),
        pytest.param({"load_parents": False}, "?load_parents=False", id="no-parents"),
    ],
)
def test_list_element_metadata(mock_elements_worker, mock_api, arguments, query):
    metadata = [{"id": "a", "type": "text"}, {"id": "b", "type": "date"}]
    mock_api.add(responses.GET, URL, json=metadata)

    result = mock_elements_worker.list_element_metadata(ELEMENT, **arguments)

    assert list(result) == metadata
    assert [call.request.url for call in mock_api.calls] == [URL + query]


def test_list_element_metadata_cached_element(mock_cached_elements_worker, mock_api):
    mock_api.add(responses.GET, URL, json=[])
    assert list(mock_cached_elements_worker.list_element_metadata(cached_page())) == []
    assert len(mock_api.calls) == 1
