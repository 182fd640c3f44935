"""Offline listings yield rows that read like the API's payloads (issue 14, item 6)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping

import pytest

from arkindex_worker.cache import (
    CachedClassification,
    CachedElement,
    CachedTranscription,
)
from arkindex_worker.models import Element, Transcription
from arkindex_worker.offline import OFFLINE_CORPUS_ID, OfflineMetaData
from arkindex_worker.offline_records import (
    OfflineElement,
    OfflineTranscription,
    element_payload,
    offline_rows,
)
from arkindex_worker.worker import ElementsWorker, MetaType
from arkindex_worker.worker.transcription import TextOrientation

SQUARE = [[0, 0], [0, 10], [10, 10], [10, 0]]


@pytest.fixture
def worker(arkindex_offline_database, arkindex_worker_factory):
    return arkindex_worker_factory(
        ElementsWorker, arkindex_offline_database.argv, support_cache=True
    )


@pytest.fixture
def database(arkindex_offline_database):
    return arkindex_offline_database


def first_page(worker, database) -> OfflineElement:
    return next(
        iter(worker.list_elements(type="page")),
    )


# ---------------------------------------------------------------- what the rows are


def test_listings_yield_offline_rows(worker, database):
    page_id = database.page_ids[0]
    page = CachedElement.get_by_id(page_id)
    listings = {
        "list_elements": worker.list_elements(type="text_line"),
        "list_element_children": worker.list_element_children(page),
        "list_element_parents": worker.list_element_parents(
            CachedElement.get_by_id(database.line_ids[page_id][0])
        ),
        "get_elements": worker.get_elements(),
    }

    for name, listing in listings.items():
        items = list(listing)
        assert items, name
        assert all(type(item) is OfflineElement for item in items), name
        assert all(isinstance(item, CachedElement) for item in items), name
        assert all(isinstance(item, Mapping) for item in items), name


def test_dict_access_with_the_api_field_names(worker, database):
    page_id = database.page_ids[0]
    line_id = database.line_ids[page_id][0]
    line = next(
        line
        for line in worker.list_element_children(CachedElement.get_by_id(page_id))
        if str(line.id) == line_id
    )

    assert line["id"] == line_id
    assert line["name"] == line_id
    assert line["type"] == "text_line"
    assert line["corpus"] == {"id": OFFLINE_CORPUS_ID}
    assert line["zone"]["polygon"] == [
        [10, 10],
        [110, 10],
        [110, 31],
        [10, 31],
        [10, 10],
    ]
    assert line["zone"]["image"]["url"] == "page-1.png"
    assert line["zone"]["image"]["width"] == 120
    assert line["zone"]["url"] == "page-1.png/10,10,100,21/full/0/default.jpg"
    assert line["rotation_angle"] == 0
    assert line["mirrored"] is False
    assert line["confidence"] is None
    assert line["worker_run_id"] is None
    assert line.get("name") == line_id
    assert line.get("nothing", "default") == "default"
    assert "zone" in line
    assert "image_id" not in line
    assert set(line) == set(line.keys()) == set(dict(line))
    with pytest.raises(KeyError):
        line["image_id"]


def test_payload_is_the_retrieve_element_answer(worker, database):
    page_id = database.page_ids[0]
    page = first_page(worker, database)

    assert dict(page) == worker.api_client.request("RetrieveElement", id=page_id)
    assert page.to_dict() == element_payload(CachedElement.get_by_id(page_id))
    assert json.loads(json.dumps(page.to_dict())) == page.to_dict()


def test_attribute_access_falls_back_to_the_api_fields(worker, database):
    page = first_page(worker, database)

    assert page.name == str(page.id)
    assert page.zone.image.url == "page-1.png"
    assert page.corpus.id == OFFLINE_CORPUS_ID
    with pytest.raises(
        AttributeError, match="OfflineElement object has no attribute 'nothing'"
    ):
        _ = page.nothing


def test_cached_element_attributes_are_kept(worker, database):
    page = first_page(worker, database)

    assert page.id == uuid.UUID(database.page_ids[0])
    assert page.parent_id == uuid.UUID(database.folder_id)
    assert page.initial is True
    assert page.image_id == uuid.UUID(str(page.image.id))
    assert page.image.width == 120
    assert page.polygon == [[0, 0], [120, 0], [120, 80], [0, 80], [0, 0]]
    assert list(page.transcriptions) == []
    assert page.open_image().size == (120, 80)
    # peewee's class-level queries still work on the row class
    assert OfflineElement.get(OfflineElement.id == page.id) == page
    assert OfflineElement.get_by_id(page.id).type == "page"


def test_transcription_listing_rows(worker, database):
    page_id = database.page_ids[0]
    page = first_page(worker, database)
    worker.create_transcription(page, "Hello", 0.5)

    (transcription,) = worker.list_transcriptions(page)

    assert type(transcription) is OfflineTranscription
    assert isinstance(transcription, CachedTranscription)
    assert transcription["text"] == transcription.text == "Hello"
    assert transcription["orientation"] == "horizontal-lr"
    assert transcription["confidence"] == 0.5
    assert transcription["element"] == {"id": page_id, "type": "page", "name": page_id}
    assert transcription["id"] == str(transcription.id)
    assert Transcription(transcription)["id"] == str(transcription.id)
    recursive = list(
        worker.list_transcriptions(
            CachedElement.get_by_id(database.folder_id), recursive=True
        )
    )
    assert [type(row) for row in recursive] == [OfflineTranscription]


# ---------------------------------------------------------------- accepted by the mixins


def test_sub_element_of_an_offline_row(worker, database):
    page = first_page(worker, database)

    child_id = worker.create_sub_element(page, "text_line", "new", SQUARE)

    child = CachedElement.get_by_id(child_id)
    assert (child.parent_id, child.type, child.image_id) == (
        page.id,
        "text_line",
        page.image_id,
    )


def test_publications_on_offline_rows(worker, database):
    page = first_page(worker, database)
    line = next(iter(worker.list_element_children(page)))

    worker.create_transcription(
        line, "a line", 0.9, orientation=TextOrientation.HorizontalLeftToRight
    )
    worker.create_classification(line, "handwritten", 0.8)
    worker.create_metadata(line, MetaType.Text, "lang", "fr")
    worker.create_elements(page, [{"name": "1", "type": "word", "polygon": SQUARE}])
    worker.partial_update_element(line, rotation_angle=90)
    linked = worker.create_element_children(page, [line])
    worker.create_element_parent(page, line)

    assert [(t.element_id, t.text) for t in CachedTranscription.select()] == [
        (line.id, "a line")
    ]
    assert [(c.element_id, c.class_name) for c in CachedClassification.select()] == [
        (line.id, "handwritten")
    ]
    assert [(m.element_id, m.name) for m in OfflineMetaData.select()] == [
        (line.id, "lang")
    ]
    assert CachedElement.select().where(CachedElement.type == "word").count() == 1
    assert CachedElement.get_by_id(line.id).rotation_angle == 90
    assert linked == [str(line.id)]


def test_listing_from_an_offline_row(worker, database):
    page = first_page(worker, database)

    children = list(worker.list_element_children(page, type="text_line"))

    assert [child["id"] for child in children] == database.line_ids[str(page.id)]


def test_links_check_their_children_as_elements(worker, database):
    page = first_page(worker, database)

    with pytest.raises(
        AssertionError, match="Child at index 0 in children: Should be of type Element"
    ):
        worker.create_element_children(
            page, [CachedElement.get_by_id(database.folder_id)]
        )


# ---------------------------------------------------------------- online: 0.4 rows


def test_online_cache_listings_keep_plain_cached_elements(mock_cached_elements_worker):
    worker = mock_cached_elements_worker
    CachedElement.create(id="11111111-0000-0000-0000-000000000001", type="page")
    CachedElement.create(
        id="11111111-0000-0000-0000-000000000002",
        type="text_line",
        parent_id="11111111-0000-0000-0000-000000000001",
    )
    page = CachedElement.get_by_id("11111111-0000-0000-0000-000000000001")

    assert worker.is_offline is False
    for listing in (
        worker.list_elements(),
        worker.list_element_children(page),
        worker.list_transcriptions(page),
    ):
        assert all(
            type(item) in (CachedElement, CachedTranscription) for item in listing
        )
    assert [type(item) for item in worker.list_elements()] == [CachedElement] * 2


def test_online_row_is_still_refused_where_an_element_is_required(
    mock_cached_elements_worker,
):
    CachedElement.create(id="11111111-0000-0000-0000-000000000001", type="page")
    page = CachedElement.get_by_id("11111111-0000-0000-0000-000000000001")

    with pytest.raises(
        AssertionError, match="element shouldn't be null and should be of type Element"
    ):
        mock_cached_elements_worker.create_sub_element(page, "line", "1")


def test_offline_rows_leaves_other_queries_alone(worker):
    query = CachedClassification.select()

    assert offline_rows(worker, query) is query


def test_api_elements_still_accepted_offline(worker, database):
    page = Element(
        **worker.api_client.request("RetrieveElement", id=database.page_ids[0])
    )

    child_id = worker.create_sub_element(page, "text_line", "from dict", SQUARE)

    assert CachedElement.get_by_id(child_id).parent_id == uuid.UUID(
        database.page_ids[0]
    )


def test_transcription_rows_accepted_by_the_entity_helpers(worker, database):
    from arkindex_worker.cache import CachedTranscriptionEntity

    page = first_page(worker, database)
    worker.create_transcription(page, "Paris", 0.5)
    (transcription,) = worker.list_transcriptions(page)
    worker.check_required_entity_types(["location"])
    entity_id = worker.create_entity("Paris", "location")

    worker.create_transcription_entity(transcription, entity_id, 0, 5)
    worker.create_transcription_entities(
        transcription,
        [
            {
                "name": "Paris",
                "type_id": worker.entity_types["location"],
                "offset": 0,
                "length": 5,
                "confidence": None,
            }
        ],
    )

    assert [
        (link.transcription_id, link.offset, link.length)
        for link in CachedTranscriptionEntity.select()
    ] == [(transcription.id, 0, 5)] * 2
