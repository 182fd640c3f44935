"""merge_parents_cache (06): REPLACE INTO from each attached parent."""

from __future__ import annotations

import logging
import sqlite3

import pytest

from arkindex_worker.cache import (
    MODELS,
    SQL_VERSION,
    CacheDatabaseError,
    CachedDataset,
    CachedDatasetElement,
    CachedElement,
    CachedEntity,
    CachedImage,
    CachedTranscription,
    CachedTranscriptionEntity,
    merge_parents_cache,
)
from tests.cache.conftest import make_cache, raw_rows

IMAGE = "99999999999999999999999999999999"
ELEMENT_A = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
ELEMENT_B = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
TRANSCRIPTION_1 = "11111111111111111111111111111111"
TRANSCRIPTION_2 = "22222222222222222222222222222222"


def element(id: str, type: str = "page") -> dict:
    return {"id": id, "type": type}


def transcription(id: str, element_id: str, text: str = "text") -> dict:
    return {
        "id": id,
        "element": element_id,
        "text": text,
        "orientation": "horizontal-lr",
    }


def element_rows(path) -> list[tuple[str, str]]:
    return [(row[0], row[2]) for row in raw_rows(path, "elements")]


@pytest.fixture
def task_db(tmp_path):
    return make_cache(tmp_path / "task" / "db.sqlite")


def test_merge_one_parent_every_table(tmp_path, task_db):
    rows = {
        CachedImage: [{"id": IMAGE, "width": 1, "height": 2, "url": "http://i"}],
        CachedElement: [{**element(ELEMENT_A), "image": IMAGE, "polygon": [[0, 0]]}],
        CachedTranscription: [transcription(TRANSCRIPTION_1, ELEMENT_A)],
        CachedEntity: [{"id": ELEMENT_B, "type": "person", "name": "Bob"}],
        CachedTranscriptionEntity: [
            {"transcription": TRANSCRIPTION_1, "entity": ELEMENT_B, "offset": 0}
            | {"length": 2}
        ],
        CachedDataset: [{"id": IMAGE, "name": "D", "state": "open", "sets": "train"}],
        CachedDatasetElement: [
            {"id": IMAGE, "element": ELEMENT_A, "dataset": IMAGE, "set_name": "train"}
        ],
    }
    parent = make_cache(tmp_path / "parent" / "db.sqlite", rows=rows)

    merge_parents_cache([parent], task_db)

    for model in MODELS:
        table = model._meta.table_name
        assert raw_rows(task_db, table) == raw_rows(parent, table), table


def test_merge_logs(tmp_path, task_db, caplog):
    parent = make_cache(tmp_path / "parent" / "db.sqlite")

    merge_parents_cache([parent], task_db)

    assert caplog.record_tuples == [
        ("arkindex_worker", logging.INFO, f"Merging parent db {parent} into {task_db}")
    ]


def test_merge_overlap_last_parent_wins(tmp_path, task_db):
    first = make_cache(
        tmp_path / "first" / "db.sqlite",
        rows={
            CachedElement: [element(ELEMENT_A, "page")],
            CachedTranscription: [transcription(TRANSCRIPTION_1, ELEMENT_A, "one")],
        },
    )
    second = make_cache(
        tmp_path / "second" / "db.sqlite",
        rows={
            CachedElement: [element(ELEMENT_A, "folder")],
            CachedTranscription: [transcription(TRANSCRIPTION_2, ELEMENT_A, "two")],
        },
    )

    merge_parents_cache([first, second], task_db)

    assert element_rows(task_db) == [(ELEMENT_A, "folder")]
    assert [(row[0], row[2]) for row in raw_rows(task_db, "transcriptions")] == [
        (TRANSCRIPTION_1, "one"),
        (TRANSCRIPTION_2, "two"),
    ]


def test_merge_keeps_existing_rows(tmp_path):
    task_db = make_cache(
        tmp_path / "task" / "db.sqlite", rows={CachedElement: [element(ELEMENT_A)]}
    )
    parent = make_cache(
        tmp_path / "parent" / "db.sqlite", rows={CachedElement: [element(ELEMENT_B)]}
    )

    merge_parents_cache([parent], task_db)

    assert element_rows(task_db) == [(ELEMENT_A, "page"), (ELEMENT_B, "page")]


def test_merge_chunked_parents(tmp_path, task_db):
    chunks = [
        make_cache(
            tmp_path / "parent" / f"db_{chunk}.sqlite",
            rows={CachedElement: [element(id)]},
        )
        for chunk, id in ((1, ELEMENT_A), (2, ELEMENT_B))
    ]

    merge_parents_cache(chunks, task_db)

    assert element_rows(task_db) == [(ELEMENT_A, "page"), (ELEMENT_B, "page")]


def test_merge_more_parents_than_attach_limit(tmp_path, task_db):
    ids = [f"{i:032x}" for i in range(12)]
    parents = [
        make_cache(
            tmp_path / f"p{i}" / "db.sqlite", rows={CachedElement: [element(id)]}
        )
        for i, id in enumerate(ids)
    ]

    merge_parents_cache(parents, task_db)

    assert [row[0] for row in element_rows(task_db)] == ids


def test_merge_any_iterable(tmp_path, task_db):
    parent = make_cache(
        tmp_path / "parent" / "db.sqlite", rows={CachedElement: [element(ELEMENT_A)]}
    )

    merge_parents_cache(filter(None, [parent]), task_db)

    assert element_rows(task_db) == [(ELEMENT_A, "page")]


@pytest.mark.parametrize(
    "paths", [pytest.param([], id="list"), pytest.param((), id="tuple")]
)
def test_merge_no_parents(task_db, caplog, paths):
    before = task_db.read_bytes()

    merge_parents_cache(paths, task_db)

    assert task_db.read_bytes() == before
    assert caplog.record_tuples == [
        ("arkindex_worker", logging.INFO, "No parents cache to use")
    ]


def test_merge_parent_missing_tables(tmp_path, task_db):
    parent = tmp_path / "parent" / "db.sqlite"
    parent.parent.mkdir()
    connection = sqlite3.connect(parent)
    connection.execute(
        'CREATE TABLE "version" ("version" INTEGER NOT NULL PRIMARY KEY)'
    )
    connection.execute("INSERT INTO version VALUES (?)", (SQL_VERSION,))
    connection.commit()
    connection.close()

    merge_parents_cache([parent], task_db)

    assert raw_rows(task_db, "elements") == []
    assert raw_rows(parent, "elements") == []


def test_merge_missing_current_database(tmp_path):
    path = tmp_path / "missing.sqlite"

    with pytest.raises(AssertionError) as e:
        merge_parents_cache([], path)

    assert str(e.value) == f"The SQLite database {path} does not exist"
    assert not path.exists()


def test_merge_wrong_version_keeps_previous_parents(tmp_path, task_db):
    good = make_cache(
        tmp_path / "good" / "db.sqlite", rows={CachedElement: [element(ELEMENT_A)]}
    )
    bad = make_cache(
        tmp_path / "bad" / "db.sqlite",
        version=SQL_VERSION - 1,
        rows={CachedElement: [element(ELEMENT_B)]},
    )

    with pytest.raises(AssertionError) as e:
        merge_parents_cache([good, bad], task_db)

    assert str(e.value) == (
        f"The SQLite database {bad} does not have the correct cache version, "
        f"it should be {SQL_VERSION}"
    )
    assert element_rows(task_db) == [(ELEMENT_A, "page")]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(
            None, "The SQLite database {path} does not exist", id="missing-file"
        ),
        pytest.param(
            "not SQLite " * 50,
            "The file {path} is not a valid SQLite database: file is not a database",
            id="not-sqlite",
        ),
    ],
)
def test_merge_unusable_parent(tmp_path, task_db, content, message):
    path = tmp_path / "parent" / "db.sqlite"
    if content is not None:
        path.parent.mkdir()
        path.write_text(content)
    before = task_db.read_bytes()

    with pytest.raises(CacheDatabaseError) as e:
        merge_parents_cache([path], task_db)

    assert str(e.value) == message.format(path=path)
    assert task_db.read_bytes() == before
    if content is not None:
        assert path.read_text() == content


def test_merge_parent_missing_columns(tmp_path, task_db):
    parent = make_cache(tmp_path / "parent" / "db.sqlite")
    connection = sqlite3.connect(parent)
    connection.execute('ALTER TABLE "transcriptions" DROP COLUMN "worker_run_id"')
    connection.commit()
    connection.close()
    before = task_db.read_bytes()

    with pytest.raises(CacheDatabaseError) as e:
        merge_parents_cache([parent], task_db)

    assert str(e.value) == (
        f"The SQLite database {parent} is not a valid cache: "
        'table "transcriptions" lacks columns: worker_run_id'
    )
    assert task_db.read_bytes() == before
