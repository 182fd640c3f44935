"""Tables, columns, pragmas and value storage of the cache models (06)."""

from __future__ import annotations

import sqlite3
import uuid

import peewee
import pytest

import arkindex_worker.cache as cache
from arkindex_worker.cache import (
    MODELS,
    CachedClassification,
    CachedDataset,
    CachedDatasetElement,
    CachedElement,
    CachedEntity,
    CachedImage,
    CachedTranscription,
    CachedTranscriptionEntity,
    create_tables,
    create_version_table,
    db,
    init_cache_db,
)
from tests.cache.conftest import raw_rows

EXPECTED_DDL = """CREATE TABLE "classifications" ("id" TEXT NOT NULL PRIMARY KEY, "element_id" TEXT NOT NULL, "class_name" TEXT NOT NULL, "confidence" REAL NOT NULL, "state" VARCHAR(10) NOT NULL, "worker_run_id" TEXT, FOREIGN KEY ("element_id") REFERENCES "elements" ("id"))
CREATE TABLE "dataset_elements" ("id" TEXT NOT NULL PRIMARY KEY, "element_id" TEXT NOT NULL, "dataset_id" TEXT NOT NULL, "set_name" VARCHAR(255) NOT NULL, FOREIGN KEY ("element_id") REFERENCES "elements" ("id"), FOREIGN KEY ("dataset_id") REFERENCES "datasets" ("id"))
CREATE TABLE "datasets" ("id" TEXT NOT NULL PRIMARY KEY, "name" VARCHAR(255) NOT NULL, "state" VARCHAR(255) NOT NULL DEFAULT 'open', "sets" TEXT NOT NULL)
CREATE TABLE "elements" ("id" TEXT NOT NULL PRIMARY KEY, "parent_id" TEXT, "type" VARCHAR(50) NOT NULL, "image_id" TEXT, "polygon" text, "rotation_angle" INTEGER NOT NULL, "mirrored" INTEGER NOT NULL, "initial" INTEGER NOT NULL, "worker_version_id" TEXT, "worker_run_id" TEXT, "confidence" REAL, FOREIGN KEY ("image_id") REFERENCES "images" ("id"))
CREATE TABLE "entities" ("id" TEXT NOT NULL PRIMARY KEY, "type" VARCHAR(50) NOT NULL, "name" TEXT NOT NULL, "validated" INTEGER NOT NULL, "metas" text, "worker_run_id" TEXT)
CREATE TABLE "images" ("id" TEXT NOT NULL PRIMARY KEY, "width" INTEGER NOT NULL, "height" INTEGER NOT NULL, "url" TEXT NOT NULL)
CREATE TABLE "transcription_entities" ("transcription_id" TEXT NOT NULL, "entity_id" TEXT NOT NULL, "offset" INTEGER NOT NULL CHECK (offset >= 0), "length" INTEGER NOT NULL CHECK (length > 0), "worker_run_id" TEXT, "confidence" REAL, PRIMARY KEY ("transcription_id", "entity_id"), FOREIGN KEY ("transcription_id") REFERENCES "transcriptions" ("id"), FOREIGN KEY ("entity_id") REFERENCES "entities" ("id"))
CREATE TABLE "transcriptions" ("id" TEXT NOT NULL PRIMARY KEY, "element_id" TEXT NOT NULL, "text" TEXT NOT NULL, "confidence" REAL, "orientation" VARCHAR(50) NOT NULL, "worker_version_id" TEXT, "worker_run_id" TEXT, FOREIGN KEY ("element_id") REFERENCES "elements" ("id"))"""

EXPECTED_INDEXES = [
    "cachedclassification_element_id",
    "cacheddatasetelement_dataset_id",
    "cacheddatasetelement_element_id",
    "cachedelement_image_id",
    "cachedtranscription_element_id",
    "cachedtranscriptionentity_entity_id",
    "cachedtranscriptionentity_transcription_id",
]

ELEMENT_ID = "12341234-1234-1234-1234-123412341234"
IMAGE_ID = "99999999-9999-9999-9999-999999999999"


def sql_of(kind: str) -> list[str]:
    return [
        row[0]
        for row in db.execute_sql(
            "SELECT sql FROM sqlite_master WHERE type=? ORDER BY name", (kind,)
        )
    ]


def names_of(kind: str) -> list[str]:
    return [
        row[0]
        for row in db.execute_sql(
            "SELECT name FROM sqlite_master WHERE type=? ORDER BY name", (kind,)
        )
    ]


def test_models_order():
    expected = [
        CachedImage,
        CachedElement,
        CachedTranscription,
        CachedClassification,
        CachedEntity,
        CachedTranscriptionEntity,
        CachedDataset,
        CachedDatasetElement,
    ]

    assert list(MODELS) == expected


def test_sql_version():
    assert cache.SQL_VERSION == 3


def test_db_is_deferred():
    assert isinstance(db, peewee.SqliteDatabase)
    assert all(model._meta.database is db for model in [cache.Version, *MODELS])


def test_create_tables_ddl(tmp_path):
    init_cache_db(tmp_path / "db.sqlite")
    create_tables()

    assert "\n".join(sql_of("table")) == EXPECTED_DDL


def test_create_tables_indexes(tmp_path):
    init_cache_db(tmp_path / "db.sqlite")
    create_tables()

    assert [name for name in names_of("index") if "autoindex" not in name] == (
        EXPECTED_INDEXES
    )


def test_create_version_table_ddl(tmp_path):
    init_cache_db(tmp_path / "db.sqlite")
    create_version_table()

    assert sql_of("table") == [
        'CREATE TABLE "version" ("version" INTEGER NOT NULL PRIMARY KEY)'
    ]


@pytest.mark.parametrize(
    ("pragma", "value"),
    [
        pytest.param("foreign_keys", 1, id="foreign-keys"),
        pytest.param("ignore_check_constraints", 0, id="check-constraints"),
        pytest.param("journal_mode", "delete", id="journal-mode-unchanged"),
    ],
)
def test_pragmas(cache_path, pragma, value):
    assert db.execute_sql(f"PRAGMA {pragma}").fetchone()[0] == value


def test_foreign_keys_enforced(cache_path):
    with pytest.raises(peewee.IntegrityError, match="FOREIGN KEY constraint failed"):
        CachedTranscription.create(
            id=uuid.uuid4(),
            element=ELEMENT_ID,
            text="Hello",
            orientation="horizontal-lr",
        )


@pytest.mark.parametrize(
    ("offset", "length"),
    [
        pytest.param(-1, 1, id="negative-offset"),
        pytest.param(0, 0, id="zero-length"),
    ],
)
def test_check_constraints_enforced(cache_path, offset, length):
    element = CachedElement.create(id=ELEMENT_ID, type="page")
    transcription = CachedTranscription.create(
        id=uuid.uuid4(), element=element, text="Hello", orientation="horizontal-lr"
    )
    entity = CachedEntity.create(id=uuid.uuid4(), type="person", name="Bob")

    with pytest.raises(peewee.IntegrityError, match="CHECK constraint failed"):
        CachedTranscriptionEntity.create(
            transcription=transcription, entity=entity, offset=offset, length=length
        )


def test_element_defaults(cache_path):
    CachedElement.create(id=ELEMENT_ID, type="page")

    id_hex = "12341234123412341234123412341234"
    assert raw_rows(cache_path, "elements") == [
        (id_hex, None, "page", None, None, 0, 0, 0, None, None, None)
    ]


def test_dataset_state_sql_default(cache_path):
    db.execute_sql(
        "INSERT INTO datasets (id, name, sets) VALUES ('dataset', 'Dataset', 'train')"
    )

    assert raw_rows(cache_path, "datasets") == [("dataset", "Dataset", "open", "train")]


@pytest.mark.parametrize(
    ("polygon", "stored"),
    [
        pytest.param([[1, 2], [3, 4]], "[[1, 2], [3, 4]]", id="list"),
        pytest.param(
            "[[1, 1], [2, 2], [2, 1], [1, 2]]",
            '"[[1, 1], [2, 2], [2, 1], [1, 2]]"',
            id="str",
        ),
        pytest.param(None, None, id="none"),
    ],
)
def test_json_field_storage(cache_path, polygon, stored):
    CachedElement.create(id=ELEMENT_ID, type="page", polygon=polygon)

    assert raw_rows(cache_path, "elements")[0][4] == stored
    assert CachedElement.get().polygon == polygon


def test_json_field_dict(cache_path):
    CachedEntity.create(id=ELEMENT_ID, type="person", name="Bob", metas={"a": [1]})

    assert raw_rows(cache_path, "entities")[0][4] == '{"a": [1]}'
    assert CachedEntity.get().metas == {"a": [1]}


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(ELEMENT_ID, id="str-with-dashes"),
        pytest.param(uuid.UUID(ELEMENT_ID), id="uuid"),
        pytest.param(uuid.UUID(ELEMENT_ID).hex, id="hex"),
    ],
)
def test_uuid_storage(cache_path, value):
    CachedElement.create(id=value, type="page")

    assert raw_rows(cache_path, "elements")[0][0] == "12341234123412341234123412341234"
    assert CachedElement.get().id == uuid.UUID(ELEMENT_ID)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(ELEMENT_ID, id="str-with-dashes"),
        pytest.param(uuid.UUID(ELEMENT_ID), id="uuid"),
    ],
)
def test_uuid_query_comparison(cache_path, value):
    CachedElement.create(id=ELEMENT_ID, type="page")

    assert CachedElement.select().where(CachedElement.id == value).count() == 1


def test_uuid_field_keeps_other_values(cache_path):
    CachedElement.create(id="element_id", type="page")

    assert raw_rows(cache_path, "elements")[0][0] == "element_id"


def test_backrefs(cache_path):
    image = CachedImage.create(id=IMAGE_ID, width=10, height=20, url="http://image")
    element = CachedElement.create(id=ELEMENT_ID, type="page", image=image)
    transcription = CachedTranscription.create(
        id=uuid.uuid4(), element=element, text="Hi", orientation="horizontal-lr"
    )
    classification = CachedClassification.create(
        id=uuid.uuid4(), element=element, class_name="cat", confidence=1, state="ok"
    )

    assert [e.id for e in image.elements] == [uuid.UUID(ELEMENT_ID)]
    assert [t.id for t in element.transcriptions] == [transcription.id]
    assert [c.id for c in element.classifications] == [classification.id]


def test_rebinding_with_bind_ctx(tmp_path):
    path = tmp_path / "other.sqlite"
    other = peewee.SqliteDatabase(path)
    with other.bind_ctx(MODELS):
        other.create_tables(MODELS)
        CachedElement.create(id=ELEMENT_ID, type="page")
    other.close()

    connection = sqlite3.connect(path)
    assert connection.execute("SELECT type FROM elements").fetchall() == [("page",)]
    connection.close()
