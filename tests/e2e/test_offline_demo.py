"""End-to-end: ``worker-demo`` run offline on a copy of the demo database (``make demo``).

The worker runs as a real subprocess, through its console script, as
``demo/run.py`` starts it. Its API URL and HTTP proxies point at a closed
loopback port with no retry wait: any request it attempted would fail the run.
"""

from __future__ import annotations

import json
import socket
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from demo.build_demo_db import PAGES, demo_id, line_polygon
from demo.run import (
    TABLES,
    counts,
    offline_env,
    prepare_database,
    query,
    worker_command,
)
from tests.e2e.conftest import LOG_LINE, RUN_TIMEOUT

# A real process: its waits must really wait, not spin.
pytestmark = pytest.mark.real_sleep


@dataclass
class OfflineRun:
    """A finished offline run: exit code, log lines, database and row counts."""

    returncode: int
    lines: list[str]
    database: Path
    before: dict[str, int]
    after: dict[str, int]

    def rows(self, sql: str) -> list[tuple]:
        """Rows of a query on the database after the run."""
        return query(self.database, sql)


def closed_url() -> str:
    """URL of a loopback port nobody listens on."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def db_id(*parts: object) -> str:
    """A demo object's ID as the cache stores it (UUID hex)."""
    return uuid.UUID(demo_id(*parts)).hex


def pages() -> list[tuple[str, list[str]]]:
    """Cached ID and line IDs of each demo page, in order."""
    return [
        (
            db_id("page", number),
            [db_id("line", number, index) for index in range(len(lines))],
        )
        for number, lines in enumerate(PAGES, start=1)
    ]


def dashed(hex_id: str) -> str:
    return str(uuid.UUID(hex_id))


@pytest.fixture(scope="module")
def offline_run(tmp_path_factory) -> Iterator[OfflineRun]:
    """One offline run over the demo database, shared by the tests reading it."""
    home = tmp_path_factory.mktemp("offline")
    database = prepare_database(home)
    before = counts(database)
    unreachable = closed_url()
    env = {
        **offline_env(),
        "ARKINDEX_API_URL": unreachable,
        "ARKINDEX_API_TOKEN": "offline-token",
        "ARKINDEX_API_RETRY_WAIT_MIN": "0",
        "ARKINDEX_API_RETRY_WAIT_MAX": "0",
        "HTTP_PROXY": unreachable,
        "HTTPS_PROXY": unreachable,
        "ALL_PROXY": unreachable,
        "NO_PROXY": "",
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
    }
    process = subprocess.run(
        worker_command(database),
        env=env,
        cwd=home,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    lines = [
        match.group(1) if (match := LOG_LINE.match(line)) else line
        for line in process.stderr.splitlines()
    ]
    yield OfflineRun(process.returncode, lines, database, before, counts(database))


def test_run_succeeds_without_any_request(offline_run):
    """Any request would have met the closed port and failed the run."""
    assert offline_run.returncode == 0, "\n".join(offline_run.lines)
    assert offline_run.lines[-1] == (
        "INFO/arkindex_worker: Ran on 3 elements: 3 completed, 0 failed"
    )
    assert not [line for line in offline_run.lines if "arkindex_worker.api" in line]


def test_run_announces_offline_mode(offline_run):
    assert (
        f"INFO/arkindex_worker: Running offline on {offline_run.database}: "
        "no request will be sent to Arkindex"
    ) in offline_run.lines


def test_rows_created_per_table(offline_run):
    created = {
        table: offline_run.after[table] - offline_run.before[table] for table in TABLES
    }
    assert created == {
        "images": 0,
        "elements": 3,
        "transcriptions": 11,
        "classifications": 3,
        "entities": 3,
        "transcription_entities": 3,
        "offline_metadata": 3 + 11,
    }


def test_one_zone_per_page(offline_run):
    rows = offline_run.rows(
        "SELECT parent_id, type, image_id, polygon FROM elements "
        "WHERE type = 'text_zone' ORDER BY rowid"
    )
    assert [(p, t, i, json.loads(polygon)) for p, t, i, polygon in rows] == [
        (
            db_id("page", number),
            "text_zone",
            db_id("image", number),
            [[0, 0], [900, 0], [900, 600], [0, 600], [0, 0]],
        )
        for number in range(1, len(PAGES) + 1)
    ]


def test_one_transcription_per_line(offline_run):
    rows = offline_run.rows(
        "SELECT element_id, text, confidence, orientation FROM transcriptions "
        "ORDER BY rowid"
    )
    assert rows == [
        (line, f"Text of {dashed(line)}", 0.9, "horizontal-lr")
        for _page, lines in pages()
        for line in lines
    ]


def test_one_entity_per_page_linked_to_its_name(offline_run):
    rows = offline_run.rows(
        "SELECT t.element_id, e.name, e.type, substr(t.text, l.offset + 1, l.length) "
        "FROM transcription_entities l JOIN entities e ON e.id = l.entity_id "
        "JOIN transcriptions t ON t.id = l.transcription_id ORDER BY l.rowid"
    )
    assert rows == [
        (lines[0], dashed(lines[0]), "name", dashed(lines[0]))
        for _page, lines in pages()
    ]


def test_one_classification_per_page(offline_run):
    rows = offline_run.rows(
        "SELECT element_id, class_name, confidence, state FROM classifications "
        "ORDER BY rowid"
    )
    assert rows == [(page, "demo", 0.9, "pending") for page, _lines in pages()]


def test_line_count_metadata(offline_run):
    rows = offline_run.rows(
        "SELECT element_id, type, value FROM offline_metadata "
        "WHERE name = 'lines' ORDER BY rowid"
    )
    assert rows == [(page, "numeric", str(len(lines))) for page, lines in pages()]


def test_image_sizes_match_the_line_boxes(offline_run):
    rows = offline_run.rows(
        "SELECT element_id, type, value FROM offline_metadata "
        "WHERE name = 'image size' ORDER BY rowid"
    )
    expected = []
    for number, texts in enumerate(PAGES, start=1):
        for index, text in enumerate(texts):
            (left, top), _, (right, bottom), *_ = line_polygon(index, text)
            size = f"{right - left}x{bottom - top}"
            expected.append((db_id("line", number, index), "text", size))
    assert rows == expected
