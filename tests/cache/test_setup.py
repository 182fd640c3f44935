"""init_cache_db, create_tables, create_version_table and check_version (06)."""

from __future__ import annotations

import logging
import sqlite3
import uuid

import peewee
import pytest

from arkindex_worker.cache import (
    SQL_VERSION,
    CacheDatabaseError,
    CachedElement,
    check_version,
    create_tables,
    create_version_table,
    db,
    init_cache_db,
)
from tests.cache.conftest import make_cache, raw_rows


def version_message(path) -> str:
    return (
        f"The SQLite database {path} does not have the correct cache version, "
        f"it should be {SQL_VERSION}"
    )


def test_init_cache_db_creates_file(tmp_path, caplog):
    path = tmp_path / "db.sqlite"

    init_cache_db(path)

    assert path.is_file()
    assert not db.is_closed()
    assert caplog.record_tuples == [
        ("arkindex_worker", logging.INFO, f"Connected to cache on {path}")
    ]


def test_init_cache_db_twice(tmp_path):
    init_cache_db(tmp_path / "first.sqlite")
    init_cache_db(tmp_path / "second.sqlite")
    create_tables()

    assert db.database == tmp_path / "second.sqlite"
    assert (tmp_path / "second.sqlite").stat().st_size > 0
    assert (tmp_path / "first.sqlite").stat().st_size == 0


def test_init_cache_db_missing_directory(tmp_path):
    with pytest.raises(peewee.OperationalError, match="unable to open database file"):
        init_cache_db(tmp_path / "missing" / "db.sqlite")


def test_create_tables_idempotent(cache_path):
    CachedElement.create(id=uuid.uuid4(), type="page")
    db.close()
    before = cache_path.read_bytes()
    init_cache_db(cache_path)

    create_tables()
    db.close()

    assert cache_path.read_bytes() == before


def test_create_version_table(cache_path):
    assert raw_rows(cache_path, "version") == [(SQL_VERSION,)]


def test_create_version_table_twice(cache_path):
    with pytest.raises(peewee.IntegrityError):
        create_version_table()


def test_check_version_match(tmp_path):
    check_version(make_cache(tmp_path / "db.sqlite"))


def test_check_version_accepts_str(tmp_path):
    check_version(str(make_cache(tmp_path / "db.sqlite")))


def test_check_version_leaves_global_db(cache_path, tmp_path):
    check_version(make_cache(tmp_path / "other.sqlite"))

    assert db.database == cache_path
    assert not db.is_closed()


@pytest.mark.parametrize(
    ("version", "with_table"),
    [
        pytest.param(SQL_VERSION + 1, True, id="mismatch"),
        pytest.param(None, False, id="missing-table"),
        pytest.param(None, True, id="empty-table"),
    ],
)
def test_check_version_wrong(tmp_path, version, with_table):
    path = make_cache(tmp_path / "db.sqlite", version=version)
    if with_table and version is None:
        sqlite3.connect(path).execute(
            'CREATE TABLE "version" ("version" INTEGER NOT NULL PRIMARY KEY)'
        ).connection.close()
    before = path.read_bytes()

    with pytest.raises(AssertionError) as e:
        check_version(path)

    assert str(e.value) == version_message(path)
    assert path.read_bytes() == before


def test_check_version_error_type(tmp_path):
    path = make_cache(tmp_path / "db.sqlite", version=SQL_VERSION + 1)

    with pytest.raises(CacheDatabaseError):
        check_version(path)


def test_check_version_missing_file(tmp_path):
    path = tmp_path / "missing.sqlite"

    with pytest.raises(CacheDatabaseError) as e:
        check_version(path)

    assert str(e.value) == f"The SQLite database {path} does not exist"
    assert not path.exists()


def test_check_version_directory(tmp_path):
    with pytest.raises(CacheDatabaseError) as e:
        check_version(tmp_path)

    assert str(e.value) == f"The SQLite database {tmp_path} does not exist"


def test_check_version_not_sqlite(tmp_path):
    path = tmp_path / "db.sqlite"
    path.write_text("This is not an SQLite database, only some text. " * 10)
    before = path.read_bytes()

    with pytest.raises(CacheDatabaseError) as e:
        check_version(path)

    assert str(e.value) == (
        f"The file {path} is not a valid SQLite database: file is not a database"
    )
    assert path.read_bytes() == before


def test_check_version_missing_columns(tmp_path):
    path = make_cache(tmp_path / "db.sqlite")
    connection = sqlite3.connect(path)
    connection.execute('ALTER TABLE "elements" DROP COLUMN "confidence"')
    connection.execute('ALTER TABLE "elements" DROP COLUMN "worker_run_id"')
    connection.commit()
    connection.close()
    before = path.read_bytes()

    with pytest.raises(CacheDatabaseError) as e:
        check_version(path)

    assert str(e.value) == (
        f"The SQLite database {path} is not a valid cache: "
        'table "elements" lacks columns: worker_run_id, confidence'
    )
    assert path.read_bytes() == before


def test_check_version_extra_column(tmp_path):
    path = make_cache(tmp_path / "db.sqlite")
    connection = sqlite3.connect(path)
    connection.execute('ALTER TABLE "images" ADD COLUMN "extra" TEXT')
    connection.commit()
    connection.close()

    with pytest.raises(CacheDatabaseError) as e:
        check_version(path)

    assert str(e.value) == (
        f"The SQLite database {path} is not a valid cache: "
        'table "images" has columns id, width, height, url, extra '
        "instead of id, width, height, url"
    )


def test_check_version_missing_tables(tmp_path):
    path = tmp_path / "db.sqlite"
    connection = sqlite3.connect(path)
    connection.execute(
        'CREATE TABLE "version" ("version" INTEGER NOT NULL PRIMARY KEY)'
    )
    connection.execute("INSERT INTO version VALUES (?)", (SQL_VERSION,))
    connection.commit()
    connection.close()

    check_version(path)
