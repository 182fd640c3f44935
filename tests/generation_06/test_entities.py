"""Generation 0.6: entity types and transcription entities (spec 15 §7, §17)."""

from __future__ import annotations

import inspect
import logging

import pytest

from arkindex_worker import generation
from arkindex_worker.errors import MissingEntityType
from arkindex_worker.models import Transcription
from arkindex_worker.worker import EntityMixin
from tests.conftest import CORPUS_ID, WORKER_RUN_ID, api_url
from tests.generation_06.helpers import page_of, sent, worker_logs

TRANSCRIPTION_ID = "11111111-1111-1111-1111-111111111111"
TRANSCRIPTION = Transcription({"id": TRANSCRIPTION_ID, "text": "Teklia Team Rocket"})
TYPE_ID = "22222222-2222-2222-2222-222222222222"
LINK_06_URL = api_url(f"transcription/{TRANSCRIPTION_ID}/entities/")
LINK_04_URL = api_url(f"transcription/{TRANSCRIPTION_ID}/entity/")
BULK_URL = api_url(f"transcription/{TRANSCRIPTION_ID}/entities/bulk/")
TYPES_URL = api_url(f"corpus/{CORPUS_ID}/entity-types/")


# ---------------------------------------------------------------- check_required_entity_types


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"entity_types": None},
            "entity_types shouldn't be null and should be of type list",
        ),
        (
            {"entity_types": "person"},
            "entity_types shouldn't be null and should be of type list",
        ),
        (
            {"entity_types": ["a", 1]},
            "Entity type at index 1 in entity_types: Should be of type str",
        ),
        (
            {"entity_types": ["a"], "create_missing": None},
            "create_missing shouldn't be null and should be of type bool",
        ),
    ],
)
def test_check_required_entity_types_checks(worker06, mock_api, kwargs, message):
    with pytest.raises(AssertionError, match=f"^{message}$"):
        worker06.check_required_entity_types(**kwargs)
    assert sent(mock_api) == []


def test_check_required_entity_types_creates(worker06, mock_api, caplog):
    worker06.entity_types = {"lastname": "t1"}
    mock_api.post(api_url("entity/types/"), json={"id": "t2", "name": "firstname"})

    worker06.check_required_entity_types(["lastname", "firstname"])

    assert sent(mock_api) == [
        (
            "POST",
            api_url("entity/types/"),
            {"name": "firstname", "corpus": CORPUS_ID},
        )
    ]
    assert worker06.entity_types == {"lastname": "t1", "firstname": "t2"}
    assert worker_logs(caplog) == [
        (logging.INFO, "Created a new entity type with name `firstname`.")
    ]


def test_check_required_entity_types_refreshes_after_400(worker06, mock_api):
    worker06.entity_types = {"lastname": "t1"}
    mock_api.post(api_url("entity/types/"), status=400, json={"name": ["exists"]})
    mock_api.get(
        TYPES_URL,
        json=page_of(
            [{"id": "t1", "name": "lastname"}, {"id": "t2", "name": "firstname"}]
        ),
    )

    worker06.check_required_entity_types(["firstname"])

    assert worker06.entity_types == {"lastname": "t1", "firstname": "t2"}


def test_check_required_entity_types_missing(worker06, mock_api):
    mock_api.get(TYPES_URL, json=page_of([{"id": "t1", "name": "lastname"}]))
    with pytest.raises(
        MissingEntityType, match="^Entity type `firstname` was not in the corpus.$"
    ):
        worker06.check_required_entity_types(["firstname"], create_missing=False)


# ---------------------------------------------------------------- create_transcription_entity


def test_signature_is_kept():
    parameters = inspect.signature(EntityMixin.create_transcription_entity).parameters
    assert list(parameters) == [
        "self",
        "transcription",
        "entity",
        "offset",
        "length",
        "confidence",
        "type_id",
    ]
    assert parameters["type_id"].kind is inspect.Parameter.KEYWORD_ONLY


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        pytest.param((TRANSCRIPTION, TYPE_ID, 5, 10), {}, id="positional"),
        pytest.param(
            (TRANSCRIPTION,),
            {"type_id": TYPE_ID, "offset": 5, "length": 10},
            id="type_id",
        ),
        pytest.param(
            (),
            {
                "transcription": TRANSCRIPTION,
                "type_id": TYPE_ID,
                "offset": 5,
                "length": 10,
            },
            id="all-keywords",
        ),
    ],
)
def test_create_transcription_entity_06_form(worker06, mock_api, args, kwargs):
    mock_api.post(LINK_06_URL, json={"id": "link"})

    assert worker06.create_transcription_entity(*args, **kwargs) == {"id": "link"}

    assert sent(mock_api) == [
        (
            "POST",
            LINK_06_URL,
            {
                "type_id": TYPE_ID,
                "length": 10,
                "offset": 5,
                "worker_run_id": WORKER_RUN_ID,
            },
        )
    ]


def test_create_transcription_entity_confidence(worker06, mock_api):
    mock_api.post(LINK_06_URL, json={"id": "link"})
    worker06.create_transcription_entity(TRANSCRIPTION, TYPE_ID, 5, 10, 0.5)
    assert sent(mock_api)[0][2]["confidence"] == 0.5


def test_create_transcription_entity_refuses_entity_keyword(worker06):
    with pytest.raises(
        TypeError,
        match="^create_transcription_entity\\(\\) got an unexpected keyword argument 'entity'$",
    ):
        worker06.create_transcription_entity(
            TRANSCRIPTION, entity=TYPE_ID, offset=5, length=10
        )


def test_create_transcription_entity_both_forms(worker06):
    with pytest.raises(TypeError, match="entity.*type_id"):
        worker06.create_transcription_entity(
            TRANSCRIPTION, TYPE_ID, 5, 10, type_id=TYPE_ID
        )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("not", TYPE_ID, 5, 10),
            "transcription shouldn't be null and should be a Transcription",
        ),
        (
            (TRANSCRIPTION, None, 5, 10),
            "type_id shouldn't be null and should be of type str",
        ),
        (
            (TRANSCRIPTION, TYPE_ID, -1, 10),
            "offset shouldn't be null and should be a positive integer",
        ),
        (
            (TRANSCRIPTION, TYPE_ID, 5, 0),
            "length shouldn't be null and should be a strictly positive integer",
        ),
        (
            (TRANSCRIPTION, TYPE_ID, 5, 10, 2.0),
            "confidence should be null or a float in \\[0..1\\] range",
        ),
    ],
)
def test_create_transcription_entity_checks(worker06, mock_api, args, message):
    with pytest.raises(AssertionError, match=f"^{message}$"):
        worker06.create_transcription_entity(*args)


def test_create_transcription_entity_read_only(worker06_read_only, mock_api, caplog):
    assert (
        worker06_read_only.create_transcription_entity(TRANSCRIPTION, TYPE_ID, 5, 10)
        is None
    )
    assert sent(mock_api) == []
    assert worker_logs(caplog) == [
        (
            logging.WARNING,
            "Cannot create transcription entity as this worker is in read-only mode",
        )
    ]


def test_type_id_keyword_under_04(mock_elements_worker, mock_api, gen06):
    """R3: the 0.6 form under generation 0.4 reaches the 0.6 path."""
    generation.use(generation.GENERATION_0_4)
    assert generation.of(mock_elements_worker) is generation.GENERATION_0_4
    mock_api.post(LINK_06_URL, json={"id": "link"})
    mock_api.post(LINK_04_URL, json={"id": "old"})

    mock_elements_worker.create_transcription_entity(
        TRANSCRIPTION, type_id=TYPE_ID, offset=5, length=10
    )
    mock_elements_worker.create_transcription_entity(TRANSCRIPTION, "entity-id", 5, 10)

    assert sent(mock_api) == [
        (
            "POST",
            LINK_06_URL,
            {
                "type_id": TYPE_ID,
                "length": 10,
                "offset": 5,
                "worker_run_id": WORKER_RUN_ID,
            },
        ),
        (
            "POST",
            LINK_04_URL,
            {
                "entity": "entity-id",
                "length": 10,
                "offset": 5,
                "worker_run_id": WORKER_RUN_ID,
            },
        ),
    ]


# ---------------------------------------------------------------- create_transcription_entities


def test_create_transcription_entities(worker06, mock_api):
    items = [
        {"type_id": "t1", "offset": 0, "length": 6, "confidence": 0.5},
        {"type_id": "t2", "offset": 7, "length": 4, "confidence": 0.9},
    ]
    mock_api.post(BULK_URL, json={"transcription_entities": ["l1", "l2"]})

    assert worker06.create_transcription_entities(TRANSCRIPTION, items) == ["l1", "l2"]

    assert sent(mock_api) == [
        (
            "POST",
            BULK_URL,
            {"worker_run_id": WORKER_RUN_ID, "transcription_entities": items},
        )
    ]


def test_create_transcription_entities_unique_without_name(worker06, mock_api):
    items = [
        {"type_id": "t1", "offset": 0, "length": 6, "name": "a"},
        {"type_id": "t1", "offset": 0, "length": 6, "name": "b"},
    ]
    with pytest.raises(AssertionError, match="^entities should be unique$"):
        worker06.create_transcription_entities(TRANSCRIPTION, items)
    assert sent(mock_api) == []
