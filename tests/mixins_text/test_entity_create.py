"""EntityMixin: entities and transcription entities (spec 10)."""

from __future__ import annotations

import logging

import pytest
import responses

from arkindex_worker.cache import (
    CachedEntity,
    CachedTranscription,
    CachedTranscriptionEntity,
)
from arkindex_worker.models import Element, Transcription
from tests.conftest import CORPUS_ID
from tests.mixins_text.helpers import (
    WORKER_RUN_ID,
    api_url,
    cached_page,
    page_of,
    sent,
    worker_logs,
)

ENTITY_ID = "12345678-1234-1234-1234-123456789123"
TRANSCRIPTION_ID = "11111111-1111-1111-1111-111111111111"
ENTITY_URL = api_url("entity/")
TYPES_URL = api_url(f"corpus/{CORPUS_ID}/entity-types/")
LINK_URL = api_url(f"transcription/{TRANSCRIPTION_ID}/entity/")
BULK_URL = api_url(f"transcription/{TRANSCRIPTION_ID}/entities/bulk/")
LIST_URL = api_url(f"transcription/{TRANSCRIPTION_ID}/entities/")
TRANSCRIPTION = Transcription({"id": TRANSCRIPTION_ID, "text": "Teklia Team Rocket"})


@pytest.fixture
def typed_worker(mock_elements_worker):
    mock_elements_worker.entity_types = {"person": "person-entity-type-id"}
    return mock_elements_worker


# ---------------------------------------------------------------- create_entity

ENTITY_INVALID = [
    pytest.param(
        {"name": None},
        "name shouldn't be null and should be of type str",
        id="name-none",
    ),
    pytest.param(
        {"name": 1234},
        "name shouldn't be null and should be of type str",
        id="name-int",
    ),
    pytest.param(
        {"type": None},
        "type shouldn't be null and should be of type str",
        id="type-none",
    ),
    pytest.param(
        {"type": ""},
        "type shouldn't be null and should be of type str",
        id="type-empty",
    ),
    pytest.param(
        {"metas": "wrong metas"}, "metas should be of type dict", id="metas-str"
    ),
    pytest.param(
        {"validated": "yes"}, "validated should be of type bool", id="validated-str"
    ),
    pytest.param(
        {"name": None, "type": None},
        "name shouldn't be null and should be of type str",
        id="name-checked-first",
    ),
]


@pytest.mark.parametrize(("arguments", "message"), ENTITY_INVALID)
def test_create_entity_invalid(typed_worker, mock_api, arguments, message):
    with pytest.raises(AssertionError) as error:
        typed_worker.create_entity(**{"name": "Bob Bob", "type": "person", **arguments})
    assert str(error.value) == message
    assert len(mock_api.calls) == 0


def test_create_entity_read_only(mock_elements_worker_read_only, mock_api, caplog):
    caplog.set_level(logging.DEBUG, logger="arkindex_worker")
    # Returns before the entity types are loaded.
    assert mock_elements_worker_read_only.create_entity("Bob Bob", "person") is None
    assert caplog.record_tuples == [
        (
            "arkindex_worker",
            logging.WARNING,
            "Cannot create entity as this worker is in read-only mode",
        )
    ]
    assert len(mock_api.calls) == 0


def entity_body(**fields):
    return {
        "name": "Bob Bob",
        "type_id": "person-entity-type-id",
        "metas": {},
        "validated": None,
        "corpus": CORPUS_ID,
        "worker_run_id": WORKER_RUN_ID,
        **fields,
    }


@pytest.mark.parametrize(
    ("arguments", "body"),
    [
        pytest.param({}, entity_body(), id="defaults"),
        pytest.param({"metas": []}, entity_body(), id="empty-metas"),
        pytest.param(
            {"metas": {"key": "value"}, "validated": True},
            entity_body(metas={"key": "value"}, validated=True),
            id="metas-validated",
        ),
    ],
)
def test_create_entity(typed_worker, mock_api, arguments, body):
    mock_api.add(responses.POST, ENTITY_URL, json={"id": ENTITY_ID})
    assert typed_worker.create_entity("Bob Bob", "person", **arguments) == ENTITY_ID
    assert sent(mock_api) == [("POST", ENTITY_URL, body)]


def test_create_entity_loads_types(mock_elements_worker, mock_api):
    mock_api.add(
        responses.GET,
        TYPES_URL,
        json=page_of([{"id": "person-entity-type-id", "name": "person"}]),
    )
    mock_api.add(responses.POST, ENTITY_URL, json={"id": ENTITY_ID})
    assert mock_elements_worker.create_entity("Bob Bob", "person") == ENTITY_ID
    assert [call.request.method for call in mock_api.calls] == ["GET", "POST"]


def test_create_entity_unknown_type(mock_elements_worker, mock_api):
    mock_api.add(responses.GET, TYPES_URL, json=page_of([]))
    with pytest.raises(AssertionError) as error:
        mock_elements_worker.create_entity("Bob Bob", "person")
    assert str(error.value) == "Entity type `person` not found in the corpus."
    assert len(mock_api.calls) == 1


def entity_row(entity):
    return (
        str(entity.id),
        entity.type,
        entity.name,
        entity.validated,
        entity.metas,
        str(entity.worker_run_id),
    )


def test_create_entity_writes_cache(mock_cached_elements_worker, mock_api):
    mock_cached_elements_worker.entity_types = {"person": "person-entity-type-id"}
    mock_api.add(responses.POST, ENTITY_URL, json={"id": ENTITY_ID})

    mock_cached_elements_worker.create_entity("Bob Bob", "person")

    assert [entity_row(e) for e in CachedEntity.select()] == [
        (ENTITY_ID, "person", "Bob Bob", False, {}, WORKER_RUN_ID)
    ]


def test_create_entity_cache_integrity_error(
    mock_cached_elements_worker, mock_api, caplog
):
    CachedEntity.create(id=ENTITY_ID, type="person", name="Old")
    mock_cached_elements_worker.entity_types = {"person": "person-entity-type-id"}
    mock_api.add(responses.POST, ENTITY_URL, json={"id": ENTITY_ID})

    assert mock_cached_elements_worker.create_entity("Bob Bob", "person") == ENTITY_ID

    assert caplog.record_tuples == [
        (
            "arkindex_worker",
            logging.WARNING,
            "Couldn't save created entity in local cache: UNIQUE constraint failed: entities.id",
        )
    ]


# ---------------------------------------------------------------- create_transcription_entity

TE_TRANSCRIPTION_MESSAGE = (
    "transcription shouldn't be null and should be a Transcription"
)
OFFSET_MESSAGE = "offset shouldn't be null and should be a positive integer"
LENGTH_MESSAGE = "length shouldn't be null and should be a strictly positive integer"
TE_CONFIDENCE_MESSAGE = "confidence should be null or a float in [0..1] range"

LINK_INVALID = [
    pytest.param(
        {"transcription": None}, TE_TRANSCRIPTION_MESSAGE, id="transcription-none"
    ),
    pytest.param(
        {"transcription": {"id": TRANSCRIPTION_ID}},
        TE_TRANSCRIPTION_MESSAGE,
        id="transcription-dict",
    ),
    pytest.param(
        {"transcription": Element({"id": TRANSCRIPTION_ID})},
        TE_TRANSCRIPTION_MESSAGE,
        id="transcription-element",
    ),
    pytest.param(
        {"entity": None},
        "entity shouldn't be null and should be of type str",
        id="entity",
    ),
    pytest.param({"offset": None}, OFFSET_MESSAGE, id="offset-none"),
    pytest.param({"offset": -1}, OFFSET_MESSAGE, id="offset-negative"),
    pytest.param({"offset": "0"}, OFFSET_MESSAGE, id="offset-str"),
    pytest.param({"length": None}, LENGTH_MESSAGE, id="length-none"),
    pytest.param({"length": 0}, LENGTH_MESSAGE, id="length-zero"),
    pytest.param({"confidence": 1}, TE_CONFIDENCE_MESSAGE, id="confidence-int"),
    pytest.param({"confidence": "0.5"}, TE_CONFIDENCE_MESSAGE, id="confidence-str"),
    pytest.param(
        {"offset": None, "length": None}, OFFSET_MESSAGE, id="offset-before-length"
    ),
]


@pytest.mark.parametrize(("arguments", "message"), LINK_INVALID)
def test_create_transcription_entity_invalid(
    mock_elements_worker, mock_api, arguments, message
):
    kwargs = {
        "transcription": TRANSCRIPTION,
        "entity": ENTITY_ID,
        "offset": 5,
        "length": 10,
        **arguments,
    }
    with pytest.raises(AssertionError) as error:
        mock_elements_worker.create_transcription_entity(**kwargs)
    assert str(error.value) == message


def test_create_transcription_entity_read_only(
    mock_elements_worker_read_only, mock_api, caplog
):
    caplog.set_level(logging.DEBUG, logger="arkindex_worker")
    result = mock_elements_worker_read_only.create_transcription_entity(
        TRANSCRIPTION, ENTITY_ID, 5, 10
    )
    assert result is None
    assert caplog.record_tuples == [
        (
            "arkindex_worker",
            logging.WARNING,
            "Cannot create transcription entity as this worker is in read-only mode",
        )
    ]
    assert len(mock_api.calls) == 0


@pytest.mark.parametrize(
    ("confidence", "extra"),
    [
        pytest.param({}, {}, id="without-confidence"),
        pytest.param({"confidence": 0.33}, {"confidence": 0.33}, id="with-confidence"),
    ],
)
def test_create_transcription_entity(mock_elements_worker, mock_api, confidence, extra):
    answer = {"entity": {"id": ENTITY_ID}, "offset": 5, "length": 10, **extra}
    mock_api.add(responses.POST, LINK_URL, json=answer)

    result = mock_elements_worker.create_transcription_entity(
        TRANSCRIPTION, ENTITY_ID, 5, 10, **confidence
    )

    assert result == answer
    body = {
        "entity": ENTITY_ID,
        "length": 10,
        "offset": 5,
        "worker_run_id": WORKER_RUN_ID,
        **extra,
    }
    assert sent(mock_api) == [("POST", LINK_URL, body)]


def link_row(link):
    return (
        str(link.transcription_id),
        str(link.entity_id),
        link.offset,
        link.length,
        str(link.worker_run_id),
        link.confidence,
    )


@pytest.mark.parametrize("confidence", [pytest.param(None, id="none"), 0.33])
def test_create_transcription_entity_writes_cache(
    mock_cached_elements_worker, mock_api, confidence
):
    CachedTranscription.create(
        id=TRANSCRIPTION_ID,
        element=cached_page(),
        text="Teklia",
        orientation="horizontal-lr",
    )
    CachedEntity.create(id=ENTITY_ID, type="person", name="Bob")
    mock_api.add(responses.POST, LINK_URL, json={})

    mock_cached_elements_worker.create_transcription_entity(
        TRANSCRIPTION, ENTITY_ID, 5, 10, confidence
    )

    assert [link_row(link) for link in CachedTranscriptionEntity.select()] == [
        (TRANSCRIPTION_ID, ENTITY_ID, 5, 10, WORKER_RUN_ID, confidence)
    ]


def test_create_transcription_entity_cache_integrity_error(
    mock_cached_elements_worker, mock_api, caplog
):
    mock_api.add(responses.POST, LINK_URL, json={"id": "link"})

    result = mock_cached_elements_worker.create_transcription_entity(
        TRANSCRIPTION, ENTITY_ID, 5, 10
    )

    assert result == {"id": "link"}
    assert caplog.record_tuples == [
        (
            "arkindex_worker",
            logging.WARNING,
            "Couldn't save created transcription entity in local cache: "
            "FOREIGN KEY constraint failed",
        )
    ]


# ---------------------------------------------------------------- create_transcription_entities


def entity(name="Teklia", offset=0, length=6, **extra):
    return {
        "name": name,
        "type_id": "22222222-2222-2222-2222-222222222222",
        "offset": offset,
        "length": length,
        "confidence": 1.0,
        **extra,
    }


PREFIX = "Entity at index 1 in entities: "
BULK_TRANSCRIPTION_MESSAGE = (
    "transcription shouldn't be null and should be of type Transcription"
)
LIST_MESSAGE = "entities shouldn't be null and should be of type list"


def second(**fields):
    return [entity(), {**entity("Team Rocket", 7, 11), **fields}]


BULK_INVALID = [
    pytest.param(
        {"transcription": None}, BULK_TRANSCRIPTION_MESSAGE, id="transcription-none"
    ),
    pytest.param(
        {"transcription": {"id": TRANSCRIPTION_ID}},
        BULK_TRANSCRIPTION_MESSAGE,
        id="transcription-dict",
    ),
    pytest.param({"entities": None}, LIST_MESSAGE, id="entities-none"),
    pytest.param({"entities": []}, LIST_MESSAGE, id="zero-entities"),
    pytest.param(
        {"entities": [entity(), "not a dict"]},
        PREFIX + "Should be of type dict",
        id="item-str",
    ),
    pytest.param(
        {"entities": second(name=None)},
        PREFIX + "name shouldn't be null and should be of type str",
        id="name-none",
    ),
    pytest.param(
        {"entities": second(type_id="")},
        PREFIX + "type_id shouldn't be null and should be of type str",
        id="type-id-empty",
    ),
    pytest.param(
        {"entities": second(offset=-1)}, PREFIX + OFFSET_MESSAGE, id="offset-negative"
    ),
    pytest.param(
        {"entities": second(offset=None)}, PREFIX + OFFSET_MESSAGE, id="offset-none"
    ),
    pytest.param(
        {"entities": second(length=0)}, PREFIX + LENGTH_MESSAGE, id="length-zero"
    ),
    pytest.param(
        {"entities": second(confidence=1)},
        PREFIX + "confidence should be None or a float in [0..1] range",
        id="confidence-int",
    ),
    pytest.param(
        {"entities": [entity(), entity(confidence=0.5)]},
        "entities should be unique",
        id="duplicate",
    ),
    pytest.param(
        {"entities": [entity(), entity(confidence=0.5), "not a dict"]},
        "Entity at index 2 in entities: Should be of type dict",
        id="items-before-unique",
    ),
]


@pytest.mark.parametrize(("arguments", "message"), BULK_INVALID)
def test_create_transcription_entities_invalid(
    mock_elements_worker, mock_api, arguments, message
):
    kwargs = {"transcription": TRANSCRIPTION, "entities": [entity()], **arguments}
    with pytest.raises(AssertionError) as error:
        mock_elements_worker.create_transcription_entities(**kwargs)
    assert str(error.value) == message


def test_create_transcription_entities_read_only(
    mock_elements_worker_read_only, mock_api, caplog
):
    caplog.set_level(logging.DEBUG, logger="arkindex_worker")
    result = mock_elements_worker_read_only.create_transcription_entities(
        TRANSCRIPTION, [entity()]
    )
    assert result is None
    assert caplog.record_tuples == [
        (
            "arkindex_worker",
            logging.WARNING,
            "Cannot create transcription entities in bulk as this worker is in read-only mode",
        )
    ]


BULK_ANSWER = {
    "entities": [
        {"transcription_entity_id": "te-1", "entity_id": "entity-1"},
        {"transcription_entity_id": "te-2", "entity_id": "entity-2"},
    ]
}


def test_create_transcription_entities(mock_elements_worker, mock_api):
    mock_api.add(responses.POST, BULK_URL, json=BULK_ANSWER)
    entities = [entity(), entity("Team Rocket", 7, 11)]

    result = mock_elements_worker.create_transcription_entities(TRANSCRIPTION, entities)

    assert result == BULK_ANSWER["entities"]
    assert sent(mock_api) == [
        (
            "POST",
            BULK_URL,
            {"worker_run_id": WORKER_RUN_ID, "entities": entities},
        )
    ]


def test_create_transcription_entities_one_request(mock_elements_worker, mock_api):
    # Not batched: 60 entities go in one request.
    mock_api.add(responses.POST, BULK_URL, json={"entities": []})
    entities = [entity(offset=index) for index in range(60)]
    mock_elements_worker.create_transcription_entities(TRANSCRIPTION, entities)
    assert len(sent(mock_api)[0][2]["entities"]) == 60


def test_create_transcription_entities_unsupported_cache(
    mock_cached_elements_worker, mock_api, caplog
):
    mock_api.add(responses.POST, BULK_URL, json=BULK_ANSWER)
    mock_cached_elements_worker.create_transcription_entities(TRANSCRIPTION, [entity()])
    assert worker_logs(caplog) == [
        (
            logging.WARNING,
            "This API helper `create_transcription_entities` did not update the cache database",
        )
    ]
    assert CachedEntity.select().count() == 0


# ---------------------------------------------------------------- list_transcription_entities

DEPRECATED = (
    "`worker_version` usage is deprecated. Consider using `worker_run` instead."
)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param({"transcription": None}, TE_TRANSCRIPTION_MESSAGE, id="none"),
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
    ],
)
def test_list_transcription_entities_invalid(mock_elements_worker, arguments, message):
    with pytest.raises(AssertionError) as error:
        mock_elements_worker.list_transcription_entities(
            **{"transcription": TRANSCRIPTION, **arguments}
        )
    assert str(error.value) == message


def test_list_transcription_entities_invalid_worker_version(mock_elements_worker):
    with (
        pytest.warns(DeprecationWarning, match=DEPRECATED),
        pytest.raises(AssertionError) as error,
    ):
        mock_elements_worker.list_transcription_entities(
            TRANSCRIPTION, worker_version=True
        )
    assert (
        str(error.value) == "if of type bool, worker_version can only be set to False"
    )


@pytest.mark.parametrize(
    ("arguments", "query"),
    [
        pytest.param({}, "", id="no-filter"),
        pytest.param(
            {"worker_run": "worker_run_id"}, "?worker_run=worker_run_id", id="run"
        ),
        pytest.param({"worker_run": False}, "?worker_run=False", id="manual"),
    ],
)
def test_list_transcription_entities(mock_elements_worker, mock_api, arguments, query):
    results = [{"id": "te-1"}]
    mock_api.add(responses.GET, LIST_URL, json=page_of(results))
    assert (
        list(
            mock_elements_worker.list_transcription_entities(TRANSCRIPTION, **arguments)
        )
        == results
    )
    assert [call.request.url for call in mock_api.calls] == [LIST_URL + query]


def test_list_transcription_entities_worker_version(mock_elements_worker, mock_api):
    mock_api.add(responses.GET, LIST_URL, json=page_of([]))
    with pytest.warns(DeprecationWarning, match=DEPRECATED):
        entities = mock_elements_worker.list_transcription_entities(
            TRANSCRIPTION, worker_version=False, worker_run=False
        )
    assert list(entities) == []
    assert (
        mock_api.calls[0].request.url
        == LIST_URL + "?worker_run=False&worker_version=False"
    )


def test_list_transcription_entities_ignores_cache(
    mock_cached_elements_worker, mock_api
):
    mock_api.add(responses.GET, LIST_URL, json=page_of([{"id": "te-1"}]))
    assert list(
        mock_cached_elements_worker.list_transcription_entities(TRANSCRIPTION)
    ) == [{"id": "te-1"}]
