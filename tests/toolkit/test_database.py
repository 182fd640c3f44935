"""`arkindex_offline_database`: a small cache database for offline runs."""

from __future__ import annotations

import sqlite3
import uuid

import pytest
from PIL import Image

from arkindex_worker.cache import SQL_VERSION, CachedElement, check_version, db
from arkindex_worker.errors import UnsafePathError
from arkindex_worker.testing import build_offline_database
from arkindex_worker.testing import database as database_module
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


def test_image_urls_are_the_png_files_next_to_the_database(arkindex_offline_database):
    database = arkindex_offline_database
    urls = rows(database.path, "SELECT url FROM images ORDER BY rowid")

    assert urls == [(f"page-{n}.png",) for n in range(1, len(database.page_ids) + 1)]
    assert [database.image_paths[page].parent for page in database.page_ids] == [
        database.path.parent
    ] * len(database.page_ids)


def test_relative_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    database = build_offline_database(".")

    assert database.path == tmp_path.resolve() / "offline.sqlite"
    assert database.path.is_absolute()
    check_version(database.path)
    assert all(path.is_absolute() for path in database.image_paths.values())


def test_relative_subdirectory_runs_offline(
    tmp_path, monkeypatch, arkindex_worker_factory
):
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    database = build_offline_database("sub", name="x.sqlite")
    worker = arkindex_worker_factory(ElementsWorker, database.argv, support_cache=True)

    page = next(iter(worker.get_elements()))

    assert page.open_image().size == IMAGE_SIZE


def test_missing_directory_writes_nothing(tmp_path):
    with pytest.raises(FileNotFoundError, match="No directory"):
        build_offline_database(tmp_path / "nothing")

    assert list(tmp_path.iterdir()) == []


def test_existing_database_is_left_as_is(tmp_path):
    (tmp_path / "offline.sqlite").write_bytes(b"mine")

    with pytest.raises(FileExistsError, match="already exists"):
        build_offline_database(tmp_path)

    assert (tmp_path / "offline.sqlite").read_bytes() == b"mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["offline.sqlite"]


def test_unsafe_name_is_refused(tmp_path):
    with pytest.raises(UnsafePathError):
        build_offline_database(tmp_path, name="../escape.sqlite")

    assert list(tmp_path.iterdir()) == []
    assert not (tmp_path.parent / "escape.sqlite").exists()


def test_failure_removes_what_it_created(tmp_path, monkeypatch):
    (tmp_path / "page-2.png").write_bytes(b"kept")  # not ours: left in place
    written = []

    def failing_png(path, width, height, gray=255):
        written.append(path.name)
        if len(written) == 2:
            raise OSError("No space left on device")
        return write_png(path, width, height, gray)

    monkeypatch.setattr(database_module, "write_png", failing_png)

    with pytest.raises(OSError, match="No space left"):
        build_offline_database(tmp_path)

    assert written == ["page-1.png", "page-2.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["page-2.png"]
    assert (tmp_path / "page-2.png").read_bytes() == b"kept"


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
