"""The workers of the documentation's examples run offline, unchanged (issue 14, item 6).

Each example is read from its docs page, executed with the few names the page
leaves to the reader (``find_lines``, ``self.model``…) and run with
``--dev --database`` on a fresh offline database: every element must complete
and the example's publications must be in the database.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path
from typing import NoReturn

import pytest

from arkindex_worker import logger
from arkindex_worker.cache import CachedElement
from arkindex_worker.cli import run_worker
from arkindex_worker.models import Element, Transcription
from arkindex_worker.testing import build_offline_database
from arkindex_worker.worker import ElementsWorker, MetaType

DOCS = Path(__file__).resolve().parents[2] / "docs"
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)
CLASS = re.compile(r"^class (\w+)\((?:\w+, )*ElementsWorker(?:, \w+)*\):", re.MULTILINE)


def find_lines(element):
    """Two line polygons inside the element's box."""
    return [
        [[10, 10], [100, 10], [100, 30], [10, 30]],
        [[10, 40], [100, 40], [100, 60]],
    ]


def find_places(text):
    return [(match.start(), "Paris") for match in re.finditer("Paris", text)]


def detect(element):
    return "fr"


class Model:
    def classify(self, image):
        assert image.size[0] > 0
        return "handwritten", 0.8

    def predict(self, image):
        assert image.size[0] > 0
        return "Bonjour Paris", 0.9


NAMESPACE = {
    "CachedElement": CachedElement,
    "Element": Element,
    "ElementsWorker": ElementsWorker,
    "MetaType": MetaType,
    "NoReturn": NoReturn,
    "Transcription": Transcription,
    "detect": detect,
    "find_lines": find_lines,
    "find_places": find_places,
    "logger": logger,
    "run_worker": run_worker,
}


def worker_examples(page: str) -> dict[str, str]:
    """The ``ElementsWorker`` subclasses of a docs page, by class name, with their code.

    Only classes with methods: a class that only sets attributes (``compat =``)
    shows a setting, not a worker.
    """
    examples = {}
    for block in BLOCK.findall((DOCS / page).read_text()):
        if "    def " not in block:
            continue
        for name in CLASS.findall(block):
            examples[name] = block
    return examples


def load(page: str, name: str) -> type:
    code = worker_examples(page)[name]
    namespace = dict(NAMESPACE)
    exec(compile(code, f"docs/{page}", "exec"), namespace)
    return namespace[name]


def query(path: Path, sql: str) -> list[tuple]:
    connection = sqlite3.connect(path)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


def add_transcriptions(path: Path, page_ids: list[str], text: str) -> None:
    connection = sqlite3.connect(path)
    try:
        with connection:
            connection.executemany(
                "INSERT INTO transcriptions (id, element_id, text, confidence, orientation)"
                " VALUES (?, ?, ?, ?, ?)",
                [
                    (uuid.uuid4().hex, uuid.UUID(page).hex, text, 1.0, "horizontal-lr")
                    for page in page_ids
                ],
            )
    finally:
        connection.close()


@pytest.fixture
def run_offline(tmp_path, arkindex_worker_factory, caplog):
    """Run a docs example offline on a fresh database; returns the database."""

    def run(page: str, name: str, *, prepare=None, **init_kwargs):
        database = build_offline_database(tmp_path)
        if prepare is not None:
            prepare(database)
        worker_class = load(page, name)
        worker = arkindex_worker_factory(
            worker_class, database.argv, configure=False, **init_kwargs
        )
        worker.model = Model()
        caplog.set_level(logging.INFO)
        worker.run()
        problems = [
            record.getMessage()
            for record in caplog.records
            if record.levelno >= logging.ERROR
            or (record.levelno >= logging.WARNING and "fail" in record.getMessage())
        ]
        assert problems == []
        return database

    return run


PAGES = 2


SERVER_ONLY = {
    ("mixins/image.md", "Importer"): "IIIF images are created on a server",
    ("mixins/process.md", "Counter"): "process elements are listed by a server",
    ("mixins/task.md", "ModelLoader"): "artifacts are downloaded from a server",
}
"""Examples of helpers that need a server (OfflineUnavailableError offline)."""

RUN_OFFLINE = {
    ("mixins/classification.md", "Classifier"),
    ("mixins/element.md", "LineSplitter"),
    ("mixins/entity.md", "PlaceFinder"),
    ("mixins/image.md", "Binariser"),
    ("mixins/metadata.md", "LanguageTagger"),
    ("mixins/transcription.md", "Recogniser"),
    ("offline.md", "LineReader"),
    ("tutorial.md", "LineCounterWorker"),
    ("writing-a-worker.md", "LineCounter"),
}
"""Examples run by the tests below."""


def test_every_worker_example_is_covered():
    """A new ElementsWorker example in the docs must be run here (or listed as server-only)."""
    found = {
        (str(path.relative_to(DOCS)), name)
        for path in sorted(DOCS.rglob("*.md"))
        for name in worker_examples(str(path.relative_to(DOCS)))
    }

    assert found == RUN_OFFLINE | set(SERVER_ONLY)


def test_element_example(run_offline, caplog):
    database = run_offline("mixins/element.md", "LineSplitter", support_cache=True)

    existing = {
        uuid.UUID(line).hex for lines in database.line_ids.values() for line in lines
    }
    new_lines = [
        (parent, polygon)
        for id, parent, polygon in query(
            database.path,
            "SELECT id, parent_id, polygon FROM elements WHERE type = 'text_line'",
        )
        if id not in existing
    ]
    assert sorted(new_lines) == sorted(
        (uuid.UUID(page).hex, json.dumps(polygon))
        for page in database.page_ids
        for polygon in find_lines(None)
    )
    logged = [m for m in caplog.messages if m.startswith("Line ")]
    assert len(logged) == PAGES * 4  # two existing and two new lines per page
    assert all(re.fullmatch(r"Line [0-9a-f-]{36}", m) for m in logged)


def test_classification_example(run_offline):
    database = run_offline("mixins/classification.md", "Classifier", support_cache=True)

    assert (
        query(
            database.path, "SELECT class_name, confidence, state FROM classifications"
        )
        == [("handwritten", 0.8, "pending")] * PAGES
    )


def test_transcription_example(run_offline):
    database = run_offline("mixins/transcription.md", "Recogniser", support_cache=True)

    assert (
        query(database.path, "SELECT text, confidence, orientation FROM transcriptions")
        == [("Bonjour Paris", 0.9, "horizontal-lr")] * PAGES
    )


def test_entity_example(run_offline):
    def prepare(database):
        add_transcriptions(database.path, database.page_ids, "From Paris to Paris")

    database = run_offline(
        "mixins/entity.md", "PlaceFinder", prepare=prepare, support_cache=True
    )

    assert query(database.path, "SELECT name, type FROM entities") == [
        ("Paris", "location")
    ] * (2 * PAGES)
    assert sorted(
        query(database.path, 'SELECT "offset", length FROM transcription_entities')
    ) == sorted([(5, 5), (14, 5)] * PAGES)


def test_metadata_example(run_offline):
    database = run_offline("mixins/metadata.md", "LanguageTagger", support_cache=True)

    assert (
        query(database.path, "SELECT name, value FROM offline_metadata")
        == [("language", "fr")] * PAGES
    )


def test_image_example(run_offline):
    run_offline("mixins/image.md", "Binariser", support_cache=True)


def test_writing_a_worker_example(run_offline):
    database = run_offline("writing-a-worker.md", "LineCounter", support_cache=True)

    assert (
        query(database.path, "SELECT name, value FROM offline_metadata")
        == [("lines", "2")] * PAGES
    )


def test_tutorial_example(run_offline):
    database = run_offline("tutorial.md", "LineCounterWorker")

    assert (
        query(database.path, "SELECT name, value FROM offline_metadata")
        == [("text_line count", "2")] * PAGES
    )


def test_offline_page_example(run_offline, caplog):
    database = run_offline("offline.md", "LineReader", support_cache=True)

    texts = query(database.path, "SELECT text FROM transcriptions ORDER BY rowid")
    line_ids = [line for page in database.page_ids for line in database.line_ids[page]]
    assert texts == [(f"Line {line}",) for line in line_ids]
    assert [m for m in caplog.messages if m.startswith("Line ")] == [
        f"Line {line} on page-{page}.png"
        for page, lines in enumerate(database.line_ids.values(), start=1)
        for line in lines
    ]


def test_tutorial_build_offline_database_command(tmp_path):
    """The tutorial's one-liner builds a database in the working directory."""
    text = (DOCS / "tutorial.md").read_text()
    (command,) = re.findall(
        r'`python -c "(from arkindex_worker\.testing import [^"]+)"`', text
    )

    result = subprocess.run(
        [sys.executable, "-c", command],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()) == tmp_path.resolve() / "offline.sqlite"
    assert query(tmp_path / "offline.sqlite", "SELECT url FROM images") == [
        ("page-1.png",),
        ("page-2.png",),
    ]
