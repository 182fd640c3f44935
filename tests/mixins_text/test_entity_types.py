"""EntityMixin: entity types and corpus entities (spec 10, 14 §3.7)."""

from __future__ import annotations

import logging

import pytest
import responses

from arkindex_worker.api import ErrorResponse
from arkindex_worker.models import Element
from arkindex_worker.worker.entity import MissingEntityType
from tests.conftest import CORPUS_ID
from tests.mixins_text.helpers import ELEMENT_ID, api_url, page_of, sent, worker_logs

TYPES_URL = api_url(f"corpus/{CORPUS_ID}/entity-types/")
CREATE_TYPE_URL = api_url("entity/types/")
ENTITIES_URL = api_url(f"corpus/{CORPUS_ID}/entities/")
PERSON = {"id": "person-entity-type-id", "name": "person", "color": "ff0000"}
PLACE = {"id": "place-entity-type-id", "name": "place", "color": "00ff00"}


# ---------------------------------------------------------------- list_corpus_entity_types


@pytest.mark.parametrize(
    ("types", "message"),
    [
        pytest.param([], "Loaded 0 entity types in corpus ({corpus}).", id="none"),
        pytest.param([PERSON], "Loaded 1 entity type in corpus ({corpus}).", id="one"),
        pytest.param(
            [PERSON, PLACE], "Loaded 2 entity types in corpus ({corpus}).", id="two"
        ),
    ],
)
def test_list_corpus_entity_types(
    mock_elements_worker, mock_api, caplog, types, message
):
    caplog.set_level(logging.DEBUG, logger="arkindex_worker")
    mock_elements_worker.entity_types = {"stale": "stale-id"}
    mock_api.add(responses.GET, TYPES_URL, json=page_of(types))

    assert mock_elements_worker.list_corpus_entity_types() is None

    assert mock_elements_worker.entity_types == {t["name"]: t["id"] for t in types}
    assert [call.request.url for call in mock_api.calls] == [TYPES_URL]
    assert worker_logs(caplog) == [(logging.INFO, message.format(corpus=CORPUS_ID))]


# ---------------------------------------------------------------- check_required_entity_types


def test_check_required_entity_types_creates_missing(
    mock_elements_worker, mock_api, caplog
):
    caplog.set_level(logging.DEBUG, logger="arkindex_worker")
    mock_elements_worker.entity_types = {"person": "person-entity-type-id"}
    mock_api.add(responses.POST, CREATE_TYPE_URL, json={"id": "new-entity-id"})

    assert (
        mock_elements_worker.check_required_entity_types(["person", "new-entity"])
        is None
    )

    assert sent(mock_api) == [
        ("POST", CREATE_TYPE_URL, {"name": "new-entity", "corpus": CORPUS_ID})
    ]
    assert mock_elements_worker.entity_types == {
        "person": "person-entity-type-id",
        "new-entity": "new-entity-id",
    }
    assert worker_logs(caplog) == [
        (
            logging.INFO,
            "Created a new entity type with name `new-entity`.",
        )
    ]


def test_check_required_entity_types_loads_types(mock_elements_worker, mock_api):
    mock_api.add(responses.GET, TYPES_URL, json=page_of([PERSON]))
    mock_elements_worker.check_required_entity_types(["person"])
    assert [call.request.method for call in mock_api.calls] == ["GET"]
    assert mock_elements_worker.entity_types == {"person": "person-entity-type-id"}


def test_check_required_entity_types_missing(mock_elements_worker, mock_api):
    mock_elements_worker.entity_types = {"person": "person-entity-type-id"}
    with pytest.raises(
        MissingEntityType, match="^Entity type `new-entity` was not in the corpus.$"
    ):
        mock_elements_worker.check_required_entity_types(
            ["person", "new-entity"], create_missing=False
        )
    assert len(mock_api.calls) == 0


def test_check_required_entity_types_read_only(
    mock_elements_worker_read_only, mock_api
):
    # No read-only check: types are created in developer mode too.
    mock_elements_worker_read_only.entity_types = {"person": "person-entity-type-id"}
    mock_api.add(responses.POST, CREATE_TYPE_URL, json={"id": "new-entity-id"})
    mock_elements_worker_read_only.check_required_entity_types(["new-entity"])
    assert mock_elements_worker_read_only.entity_types["new-entity"] == "new-entity-id"


def test_check_required_entity_types_unsupported_cache(
    mock_cached_elements_worker, caplog
):
    mock_cached_elements_worker.entity_types = {"person": "person-entity-type-id"}
    mock_cached_elements_worker.check_required_entity_types(["person"])
    assert worker_logs(caplog) == [
        (
            logging.WARNING,
            "This API helper `check_required_entity_types` did not update the cache database",
        )
    ]


# ---------------------------------------------------------------- create_entity_type


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(None, id="none"),
        pytest.param("", id="empty"),
        pytest.param(12, id="int"),
    ],
)
def test_create_entity_type_invalid(mock_elements_worker, name):
    with pytest.raises(AssertionError) as error:
        mock_elements_worker.create_entity_type(name)
    assert str(error.value) == "name shouldn't be null and should be of type str"


def test_create_entity_type(mock_elements_worker, mock_api, caplog):
    caplog.set_level(logging.DEBUG, logger="arkindex_worker")
    mock_api.add(responses.POST, CREATE_TYPE_URL, json={"id": "place-entity-type-id"})

    assert mock_elements_worker.create_entity_type("place") is None

    assert sent(mock_api) == [
        ("POST", CREATE_TYPE_URL, {"name": "place", "corpus": CORPUS_ID})
    ]
    assert mock_elements_worker.entity_types == {"place": "place-entity-type-id"}
    assert worker_logs(caplog) == [
        (logging.INFO, "Created a new entity type with name `place`.")
    ]


def test_create_entity_type_exists(mock_elements_worker, mock_api, caplog):
    mock_api.add(responses.POST, CREATE_TYPE_URL, status=400, json={"name": ["exists"]})
    mock_api.add(responses.GET, TYPES_URL, json=page_of([PERSON, PLACE]))

    mock_elements_worker.create_entity_type("place")

    assert mock_elements_worker.entity_types["place"] == "place-entity-type-id"
    assert worker_logs(caplog) == [
        (
            logging.WARNING,
            "Unable to create the entity type `place`. Refreshing corpus entity types cache.",
        )
    ]


def test_create_entity_type_still_missing(mock_elements_worker, mock_api):
    mock_api.add(responses.POST, CREATE_TYPE_URL, status=400, json={})
    mock_api.add(responses.GET, TYPES_URL, json=page_of([PERSON]))
    with pytest.raises(AssertionError) as error:
        mock_elements_worker.create_entity_type("place")
    assert str(error.value) == "Missing entity type `place` even after refreshing."


def test_create_entity_type_other_error(mock_elements_worker, mock_api):
    mock_api.add(responses.POST, CREATE_TYPE_URL, status=403, json={})
    with pytest.raises(ErrorResponse) as error:
        mock_elements_worker.create_entity_type("place")
    assert error.value.status_code == 403
    assert len(mock_api.calls) == 1


# ---------------------------------------------------------------- list_corpus_entities


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param({"name": ""}, "name should be of type str", id="name-empty"),
        pytest.param({"name": 1234}, "name should be of type str", id="name-int"),
        pytest.param(
            {"parent": {"id": ELEMENT_ID}},
            "parent should be of type Element",
            id="parent-dict",
        ),
    ],
)
def test_list_corpus_entities_invalid(
    mock_elements_worker, mock_api, arguments, message
):
    with pytest.raises(AssertionError) as error:
        mock_elements_worker.list_corpus_entities(**arguments)
    assert str(error.value) == message


@pytest.mark.parametrize(
    ("arguments", "query"),
    [
        pytest.param({}, "", id="no-filter"),
        pytest.param({"name": "Bob"}, "?name=Bob", id="name"),
        pytest.param(
            {"name": "Bob", "parent": Element({"id": ELEMENT_ID})},
            f"?name=Bob&parent={ELEMENT_ID}",
            id="name-parent",
        ),
    ],
)
def test_list_corpus_entities(mock_elements_worker, mock_api, caplog, arguments, query):
    caplog.set_level(logging.DEBUG, logger="arkindex_worker")
    mock_api.add(
        responses.GET,
        ENTITIES_URL,
        json=page_of([{"id": "fake_entity_id", "name": "Bob"}]),
    )

    assert mock_elements_worker.list_corpus_entities(**arguments) is None

    assert mock_elements_worker.entities == {
        "fake_entity_id": {"id": "fake_entity_id", "name": "Bob"}
    }
    assert [call.request.url for call in mock_api.calls] == [ENTITIES_URL + query]
    assert worker_logs(caplog) == [
        (logging.INFO, f"Loaded 1 entity in corpus ({CORPUS_ID})")
    ]


def test_list_corpus_entities_plural(mock_elements_worker, mock_api, caplog):
    caplog.set_level(logging.DEBUG, logger="arkindex_worker")
    mock_api.add(responses.GET, ENTITIES_URL, json=page_of([{"id": "a"}, {"id": "b"}]))
    mock_elements_worker.list_corpus_entities()
    assert worker_logs(caplog) == [
        (logging.INFO, f"Loaded 2 entities in corpus ({CORPUS_ID})")
    ]
