"""Offline mode: a read-only worker with --database runs on the database alone."""

from __future__ import annotations

import logging
import sqlite3
import sys

import peewee
import pytest

from arkindex_worker.api import ErrorResponse
from arkindex_worker.cache import (
    CachedClassification,
    CachedElement,
    CachedEntity,
    CachedImage,
    CachedTranscription,
    CachedTranscriptionEntity,
)
from arkindex_worker.errors import OfflineWriteRejected
from arkindex_worker.models import Element, Transcription
from arkindex_worker.offline import (
    OFFLINE_CORPUS_ID,
    OfflineClient,
    OfflineMetaData,
    OfflineUnavailableError,
    stable_id,
)
from arkindex_worker.worker import ElementsWorker, MetaType

IMAGE_ID = "99999999-9999-9999-9999-999999999999"
PAGE_ID = "11111111-0000-0000-0000-000000000001"
LINE_ID = "11111111-0000-0000-0000-000000000002"
SQUARE = [[0, 0], [0, 10], [10, 10], [10, 0]]


@pytest.fixture
def offline_worker(cache_path, monkeypatch, mock_api):
    """A worker configured offline on a database holding one page and one line.

    ``mock_api`` is active with no registered URL: any HTTP request would fail.
    """
    CachedImage.create(id=IMAGE_ID, width=100, height=100, url="file:///img.png")
    CachedElement.create(
        id=PAGE_ID, type="page", image=IMAGE_ID, polygon=SQUARE, initial=True
    )
    CachedElement.create(
        id=LINE_ID, parent_id=PAGE_ID, type="text_line", image=IMAGE_ID, polygon=SQUARE
    )
    monkeypatch.setattr(sys, "argv", ["worker", "--dev", "--database", str(cache_path)])
    worker = ElementsWorker(support_cache=True)
    worker.configure()
    yield worker
    assert len(mock_api.calls) == 0


def page(worker) -> Element:
    return Element(**worker.api_client.request("RetrieveElement", id=PAGE_ID))


def test_configure_offline(offline_worker, caplog, cache_path):
    setup_records = [
        (r.name, r.levelno, r.getMessage()) for r in caplog.get_records("setup")
    ]
    assert offline_worker.is_offline is True
    assert offline_worker.is_read_only is True
    assert offline_worker.use_cache is True
    assert isinstance(offline_worker.api_client, OfflineClient)
    assert offline_worker.corpus_id == OFFLINE_CORPUS_ID
    assert (
        "arkindex_worker",
        logging.INFO,
        f"Running offline on {cache_path}: no request will be sent to Arkindex",
    ) in setup_records


def test_corpus_id_from_environment(cache_path, monkeypatch):
    monkeypatch.setenv("ARKINDEX_CORPUS_ID", "corpus")
    monkeypatch.setattr(sys, "argv", ["worker", "--dev", "--database", str(cache_path)])
    worker = ElementsWorker(support_cache=True)
    worker.configure()
    assert worker.corpus_id == "corpus"


def test_read_only_without_database_is_not_offline(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["worker", "--dev"])
    worker = ElementsWorker(support_cache=True)
    worker.configure()
    assert worker.is_offline is False
    assert worker.use_cache is False


def test_not_offline_without_cache_support(cache_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["worker", "--dev", "--database", str(cache_path)])
    worker = ElementsWorker(support_cache=False)
    worker.configure()
    assert worker.is_offline is False


@pytest.mark.parametrize(
    ("prepare", "error", "message"),
    [
        pytest.param(lambda p: None, AssertionError, "does not exist", id="missing"),
        pytest.param(
            lambda p: p.write_bytes(b"not a database at all, just text" * 10),
            AssertionError,
            "is not a valid SQLite database",
            id="not-sqlite",
        ),
    ],
)
def test_bad_database_is_refused(tmp_path, monkeypatch, prepare, error, message):
    path = tmp_path / "db.sqlite"
    prepare(path)
    monkeypatch.setattr(sys, "argv", ["worker", "--dev", "--database", str(path)])
    worker = ElementsWorker(support_cache=True)
    with pytest.raises(error, match=message):
        worker.configure()
    assert not isinstance(worker.api_client, OfflineClient)


def test_get_elements_from_cache(offline_worker):
    assert [str(e.id) for e in offline_worker.get_elements()] == [PAGE_ID]


def test_retrieve_element(offline_worker):
    element = page(offline_worker)
    assert element.id == PAGE_ID
    assert element.type == "page"
    assert element.polygon == SQUARE
    assert element.zone.image.url == "file:///img.png"
    assert element.zone.url == "file:///img.png/0,0,10,10/full/0/default.jpg"
    assert element.corpus.id == OFFLINE_CORPUS_ID


def test_retrieve_missing_element_is_a_404(offline_worker):
    with pytest.raises(ErrorResponse) as e:
        offline_worker.api_client.request("RetrieveElement", id=IMAGE_ID)
    assert e.value.status_code == 404


def test_unavailable_operation(offline_worker):
    with pytest.raises(
        OfflineUnavailableError,
        match="^Operation CreateIIIFURL is not available offline$",
    ):
        offline_worker.api_client.request("CreateIIIFURL", body={"url": "http://a"})


def test_run_on_ids_missing_from_the_database_fails_before_processing(
    cache_path, monkeypatch, caplog
):
    monkeypatch.setattr(
        sys,
        "argv",
        ["worker", "--dev", "--database", str(cache_path), "--element", PAGE_ID],
    )
    worker = ElementsWorker(support_cache=True)
    with pytest.raises(
        AssertionError,
        match=f"^These element IDs are not in the database {cache_path}: {PAGE_ID}$",
    ):
        worker.run()
    assert not any(m.startswith("Processing") for m in caplog.messages)


# --- publications ------------------------------------------------------------


def test_create_sub_element(offline_worker):
    new_id = offline_worker.create_sub_element(
        page(offline_worker), type="word", name="w", polygon=SQUARE
    )
    row = CachedElement.get(CachedElement.id == new_id)
    assert (str(row.parent_id), row.type, str(row.image_id), row.polygon) == (
        PAGE_ID,
        "word",
        IMAGE_ID,
        SQUARE,
    )
    assert row.worker_run_id is None


def test_create_elements(offline_worker, caplog):
    parent = CachedElement.get(CachedElement.id == PAGE_ID)
    created = offline_worker.create_elements(
        parent, [{"name": "a", "type": "word", "polygon": SQUARE}]
    )
    (row,) = CachedElement.select().where(CachedElement.type == "word")
    assert created == [{"id": str(row.id)}]
    assert "did not update the cache database" not in caplog.text


def test_create_transcription(offline_worker):
    line = CachedElement.get(CachedElement.id == LINE_ID)
    created = offline_worker.create_transcription(line, "hello", 0.5)
    row = CachedTranscription.get()
    assert created["id"] == str(row.id)
    assert (row.text, row.confidence, row.orientation, str(row.element_id)) == (
        "hello",
        0.5,
        "horizontal-lr",
        LINE_ID,
    )


def test_create_transcriptions(offline_worker):
    created = offline_worker.create_transcriptions(
        [
            {"element_id": LINE_ID, "text": "a", "confidence": 0.1},
            {"element_id": PAGE_ID, "text": "b", "confidence": 0.2},
        ]
    )
    assert [t["text"] for t in created] == ["a", "b"]
    assert [(str(t.element_id), t.text) for t in CachedTranscription.select()] == [
        (LINE_ID, "a"),
        (PAGE_ID, "b"),
    ]


def test_create_element_transcriptions_reuses_same_polygon(offline_worker):
    parent = CachedElement.get(CachedElement.id == PAGE_ID)
    other = [[0, 0], [0, 5], [5, 5], [5, 0]]
    annotations = offline_worker.create_element_transcriptions(
        parent,
        "text_line",
        [
            {"polygon": SQUARE, "text": "same", "confidence": 0.5},
            {"polygon": other, "text": "new", "confidence": 0.5},
        ],
    )
    assert [a["created"] for a in annotations] == [False, True]
    assert annotations[0]["element_id"] == LINE_ID
    new_line = CachedElement.get(CachedElement.id == annotations[1]["element_id"])
    assert (new_line.type, new_line.polygon) == ("text_line", other)
    assert CachedTranscription.select().count() == 2


def test_create_classification(offline_worker):
    line = CachedElement.get(CachedElement.id == LINE_ID)
    created = offline_worker.create_classification(line, "cat", 0.75)
    assert created["ml_class"] == stable_id("class", "cat")
    row = CachedClassification.get()
    assert (row.class_name, row.confidence, row.state) == ("cat", 0.75, "pending")
    # The class is known from now on, with a stable ID
    offline_worker.classes = {}
    offline_worker.load_corpus_classes()
    assert offline_worker.classes == {"cat": stable_id("class", "cat")}


def test_create_classifications(offline_worker):
    line = CachedElement.get(CachedElement.id == LINE_ID)
    created = offline_worker.create_classifications(
        line, [{"ml_class": "dog", "confidence": 0.5}]
    )
    assert created[0]["ml_class"] == stable_id("class", "dog")
    assert [(c.class_name, c.state) for c in CachedClassification.select()] == [
        ("dog", "pending")
    ]


def test_entities(offline_worker):
    offline_worker.check_required_entity_types(["person"], create_missing=True)
    entity_id = offline_worker.create_entity("Ada", "person")
    entity = CachedEntity.get(CachedEntity.id == entity_id)
    assert (entity.name, entity.type) == ("Ada", "person")

    line = CachedElement.get(CachedElement.id == LINE_ID)
    transcription = offline_worker.create_transcription(line, "Ada Lovelace", 0.9)
    offline_worker.create_transcription_entity(
        Transcription(id=transcription["id"]), entity_id, offset=0, length=3
    )
    link = CachedTranscriptionEntity.get()
    assert (str(link.entity_id), link.offset, link.length) == (entity_id, 0, 3)


def test_create_transcription_entities(offline_worker, caplog):
    offline_worker.check_required_entity_types(["place"], create_missing=True)
    line = CachedElement.get(CachedElement.id == LINE_ID)
    transcription = offline_worker.create_transcription(line, "in Paris", 0.9)
    created = offline_worker.create_transcription_entities(
        Transcription(id=transcription["id"]),
        [
            {
                "name": "Paris",
                "type_id": stable_id("entity-type", "place"),
                "offset": 3,
                "length": 5,
            }
        ],
    )
    (entity,) = CachedEntity.select()
    assert (entity.name, entity.type) == ("Paris", "place")
    assert created[0]["entity_id"] == str(entity.id)
    assert CachedTranscriptionEntity.select().count() == 1
    assert "did not update the cache database" not in caplog.text


def test_metadata(offline_worker):
    line = CachedElement.get(CachedElement.id == LINE_ID)
    metadata_id = offline_worker.create_metadata(line, MetaType.Numeric, "width", "42")
    offline_worker.create_metadata_bulk(
        line, [{"type": MetaType.Text, "name": "lang", "value": "en"}]
    )
    stored = OfflineMetaData.get(OfflineMetaData.name == "width")
    assert (str(stored.id), stored.value, str(stored.element_id)) == (
        metadata_id,
        "42",
        LINE_ID,
    )
    listed = offline_worker.list_element_metadata(line)
    assert [(m["name"], m["type"], m["value"]) for m in listed] == [
        ("width", "numeric", "42"),
        ("lang", "text", "en"),
    ]


def test_metadata_table_is_not_part_of_the_schema(offline_worker, cache_path):
    with sqlite3.connect(cache_path) as connection:
        tables = {
            row[0] for row in connection.execute("SELECT name FROM sqlite_master")
        }
    assert "offline_metadata" in tables
    from arkindex_worker.cache import MODELS

    assert OfflineMetaData not in MODELS


def test_element_links_warn_once(offline_worker, caplog):
    parent, child = page(offline_worker), Element(id=LINE_ID)
    assert offline_worker.create_element_parent(parent, child) == {
        "parent": PAGE_ID,
        "child": LINE_ID,
    }
    offline_worker.create_element_parent(parent, child)
    assert (
        caplog.messages.count(
            "Element links are not stored offline: the cache stores one parent per element"
        )
        == 1
    )


def test_element_types(offline_worker):
    assert offline_worker.check_required_types("page", "text_line")
    offline_worker.check_required_types("act", create_missing=True)
    offline_worker.corpus_types = {}
    offline_worker.list_corpus_types()
    assert set(offline_worker.corpus_types) == {"page", "text_line", "act"}


def test_failed_write_leaves_database_unchanged(offline_worker):
    client = offline_worker.api_client
    before = CachedElement.select().count()
    with pytest.raises(
        OfflineWriteRejected,
        match="The database rejected CreateTranscriptionEntities: FOREIGN KEY constraint failed",
    ) as error:
        client.request(
            "CreateTranscriptionEntities",
            id="00000000-0000-0000-0000-000000000000",
            body={
                "entities": [
                    {"name": "x", "type_id": "t", "offset": 0, "length": 1},
                ]
            },
        )
    assert error.value.status_code == 400
    assert isinstance(error.value.__cause__, peewee.IntegrityError)
    assert CachedEntity.select().count() == 0
    assert CachedElement.select().count() == before


def test_listing_reads_the_cache(offline_worker):
    parent = CachedElement.get(CachedElement.id == PAGE_ID)
    assert [str(e.id) for e in offline_worker.list_element_children(parent)] == [
        LINE_ID
    ]
