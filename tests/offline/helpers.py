"""Databases and subprocess runs shared by the tests of offline runs."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import peewee

from arkindex_worker.cache import MODELS, SQL_VERSION, Version

WORKER = Path(__file__).with_name("offline_worker.py")
IMAGE_ID = uuid.UUID(int=1).hex
SQUARE = "[[0, 0], [0, 10], [10, 10], [10, 0]]"


def page_id(n: int) -> str:
    """ID of the n-th page (dashed, as the log prints it)."""
    return str(uuid.UUID(int=0x1000 + n))


def make_pages(path: Path, count: int) -> list[str]:
    """A cache database at ``path`` holding ``count`` initial pages; their IDs."""
    database = peewee.SqliteDatabase(path)
    with database, database.bind_ctx([Version, *MODELS]):
        database.create_tables([Version, *MODELS])
        Version.create(version=SQL_VERSION)
    ids = [page_id(n) for n in range(count)]
    connection = sqlite3.connect(path)
    with connection:
        connection.execute(
            "INSERT INTO images VALUES (?, 100, 100, 'http://iiif/image')", (IMAGE_ID,)
        )
        connection.executemany(
            "INSERT INTO elements VALUES (?, NULL, 'page', ?, ?, 0, 0, 1, NULL, NULL, NULL)",
            [(uuid.UUID(i).hex, IMAGE_ID, SQUARE) for i in ids],
        )
    connection.close()
    return ids


def query(path: Path, sql: str, *params) -> list[tuple]:
    """Rows of a query on the database file at ``path`` (WAL included)."""
    connection = sqlite3.connect(path)
    try:
        return connection.execute(sql, params).fetchall()
    finally:
        connection.close()


def start_worker(database: Path, *args: str, **env: str) -> subprocess.Popen:
    """Start the test worker offline on ``database`` (no Arkindex variable set)."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ARKINDEX_", "PONOS_"))
    }
    environment.update(env)
    return subprocess.Popen(
        [sys.executable, str(WORKER), "--dev", "--database", str(database), *args],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def run_worker(database: Path, *args: str, **env: str) -> tuple[int, str]:
    """Run the test worker to its end; its exit status and its log."""
    process = start_worker(database, *args, **env)
    output, _ = process.communicate(timeout=120)
    return process.returncode, output
