"""Helpers of the cache tests: cache files built on disk, read back with sqlite3."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import peewee
import pytest

from arkindex_worker.cache import MODELS, SQL_VERSION, Version, db


@pytest.fixture(autouse=True)
def _info_logs(caplog):
    """Capture INFO records of the package logger, whatever the test order."""
    caplog.set_level(logging.INFO, logger="arkindex_worker")


@pytest.fixture(autouse=True)
def _close_cache_db():
    """Leave the global database closed after each test."""
    yield
    if not db.is_closed():
        db.close()


def make_cache(
    path: Path, version: int | None = SQL_VERSION, rows: dict | None = None
) -> Path:
    """Create a cache database at `path`, with `version` and `rows` ({model: [dict]})."""
    path.parent.mkdir(parents=True, exist_ok=True)
    database = peewee.SqliteDatabase(path)
    with database, database.bind_ctx([Version, *MODELS]):
        database.create_tables(MODELS)
        if version is not None:
            database.create_tables([Version])
            Version.create(version=version)
        for model in MODELS:
            if rows and rows.get(model):
                model.insert_many(rows[model]).execute()
    return path


def raw_rows(path: Path, table: str) -> list[tuple]:
    """Every row of `table` in the file at `path`, in storage order, as stored."""
    connection = sqlite3.connect(path)
    try:
        return connection.execute(f'SELECT * FROM "{table}" ORDER BY rowid').fetchall()
    finally:
        connection.close()
