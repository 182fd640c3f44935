"""`arkindex_offline_database`: a small cache database for offline runs."""

from __future__ import annotations

import sqlite3
import uuid

from PIL import Image

from arkindex_worker.cache import SQL_VERSION, CachedElement, check_version, db
from arkindex_worker.testing import build_offline_database
from arkindex_worker.testing.database import IMAGE_SIZE, write_png
from arkindex_worker.worker import ElementsWorker


def rows(path, query):
    with sqlite3.connect(path) as connection:
        return connection.execute(query).fetchall()


def test_version_is_the_cache_version(arkindex_offline_database):
    check_version(arkindex_offline_database.path)

    assert rows(arkindex_offline_database.path, "SELECT version FROM version") == [
        (SQL_VERSION,)
    ]


def test_element_tree(arkindex_offline_database):
    database = arkindex_offline_database
    elements = rows(
        database.path,
        "SELECT id, parent_id, type, initial FROM elements ORDER BY rowid",
    )

    expected = [(database.folder_id, None, "folder", False)]
    for page_id in database.page_ids:
        expected.append((page_id, database.folder_id, "page", True))
        expected += [
            (line_id, page_id, "text_line", False)
            for line_id in database.line_ids[page_id]
        ]
    assert [
        (uuid.UUID(id), parent and uuid.UUID(parent), type, bool(initial))
        for id, parent, type, initial in elements
    ] == [
        (uuid.UUID(id), parent and uuid.UUID(parent), type, initial)
        for id, parent, type, initial in expected
    ]


def test_pages_and_lines_have_an_image_and_a_polygon(arkindex_offline_database):
    missing = rows(
        arkindex_offline_database.path,
        "SELECT COUNT(*) FROM elements "
        "WHERE type != 'folder' AND (image_id IS NULL OR polygon IS NULL)",
    )

    assert missing == [(0,)]


def test_image_urls_are_the_png_files(arkindex_offline_database):
    urls = rows(arkindex_offline_database.path, "SELECT url FROM images ORDER BY rowid")

    assert urls == [
        (arkindex_offline_database.image_paths[page_id].as_uri(),)
        for page_id in arkindex_offline_database.page_ids
    ]


def test_ids_are_stable(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()

    first = build_offline_database(tmp_path / "a")
    second = build_offline_database(tmp_path / "b")

    assert (first.page_ids, first.line_ids) == (second.page_ids, second.line_ids)


def test_the_global_cache_database_is_untouched(tmp_path):
    before = db.database

    build_offline_database(tmp_path)

    assert db.database == before


def test_write_png(tmp_path):
    path = write_png(tmp_path / "image.png", 30, 20, gray=128)

    with Image.open(path) as image:
        assert (image.size, image.mode, image.getpixel((5, 5))) == ((30, 20), "L", 128)


def test_argv_runs_offline(arkindex_offline_database):
    assert arkindex_offline_database.argv == [
        "--dev",
        "--database",
        str(arkindex_offline_database.path),
    ]


def test_page_image_opens_offline(arkindex_worker_factory, arkindex_offline_database):
    worker = arkindex_worker_factory(
        ElementsWorker, arkindex_offline_database.argv, support_cache=True
    )
    page = next(iter(worker.get_elements()))

    assert isinstance(page, CachedElement)
    assert page.open_image().size == IMAGE_SIZE
