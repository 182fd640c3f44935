"""Offline runs in-process: selection, one transaction per element, run ids, rejected writes."""

from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
import sys
import uuid
from pathlib import Path

import pytest

from arkindex_worker.cache import cache_write, check_version, db, init_cache_db
from arkindex_worker.errors import OfflineWriteRejected
from arkindex_worker.models import Transcription
from arkindex_worker.offline import OfflineClient
from arkindex_worker.worker import ElementsWorker, MetaType
from tests.offline.helpers import make_pages, page_id, query

ROOT = Path(__file__).resolve().parents[2]


class Publisher(ElementsWorker):
    """Two transcriptions and a classification per element; fails on ``failing``."""

    failing: set[str] = set()

    def process_element(self, element) -> None:
        self.create_transcriptions(
            [
                {"element_id": str(element.id), "text": text, "confidence": 0.5}
                for text in ("a", "b")
            ]
        )
        self.create_classification(element, "cat", 0.5)
        if str(element.id) in self.failing:
            raise ValueError("boom")


@pytest.fixture
def database(tmp_path):
    path = tmp_path / "db.sqlite"
    make_pages(path, 4)
    return path


def run(monkeypatch, path: Path, *args: str, worker_class=Publisher) -> ElementsWorker:
    """Run a worker offline on ``path`` to its end, then close it as at exit."""
    monkeypatch.setattr(
        sys, "argv", ["worker", "--dev", "--database", str(path), *args]
    )
    worker = worker_class(support_cache=True)
    try:
        worker.run()
    finally:
        if isinstance(getattr(worker, "api_client", None), OfflineClient):
            worker.api_client.close()
    return worker


def transcribed(path: Path) -> list[str]:
    """IDs (dashed) of the elements with transcriptions, in storage order."""
    rows = query(path, "SELECT DISTINCT element_id FROM transcriptions ORDER BY rowid")
    return [str(uuid.UUID(value)) for (value,) in rows]


def tables(path: Path) -> set[str]:
    return {name for (name,) in query(path, "SELECT name FROM sqlite_master")}


# --- selection ---------------------------------------------------------------------


def test_initial_elements_without_selection(monkeypatch, database):
    connection = sqlite3.connect(database)
    with connection:
        connection.execute(
            "UPDATE elements SET initial = 0 WHERE id = ?", (uuid.UUID(page_id(3)).hex,)
        )
    connection.close()
    run(monkeypatch, database)
    assert transcribed(database) == [page_id(0), page_id(1), page_id(2)]


def test_element_selects_among_the_database(monkeypatch, database):
    run(monkeypatch, database, "--element", page_id(2), page_id(0))
    assert transcribed(database) == [page_id(2), page_id(0)]


def test_elements_list_selects_among_the_database(monkeypatch, database, tmp_path):
    listing = tmp_path / "elements.json"
    listing.write_text(json.dumps([{"id": page_id(3)}, {"id": page_id(1)}]))
    run(monkeypatch, database, "--elements-list", str(listing))
    assert transcribed(database) == [page_id(3), page_id(1)]


def _selection_error(monkeypatch, argv: list[str]) -> str:
    monkeypatch.setattr(sys, "argv", ["worker", *argv])
    worker = ElementsWorker(support_cache=True)
    worker.configure()
    try:
        with pytest.raises(Exception) as error:
            worker.get_elements()
    finally:
        if worker.args.elements_list:
            worker.args.elements_list.close()
        if isinstance(worker.api_client, OfflineClient):
            worker.api_client.close()
    return f"{type(error.value).__name__}: {error.value}"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[{]", "JSONDecodeError: Elements list {path} is not valid JSON"),
        ('{"id": 1}', "AssertionError: Elements list must be a list"),
        ("[]", "AssertionError: No elements in elements list"),
        (
            json.dumps([{"id": "nope"}, {"id": page_id(0)}]),
            "AssertionError: These element IDs are invalid: nope",
        ),
    ],
)
def test_bad_elements_list_is_refused_as_online(
    monkeypatch, database, tmp_path, content, message
):
    listing = tmp_path / "elements.json"
    listing.write_text(content)
    option = ["--elements-list", str(listing)]
    offline = _selection_error(
        monkeypatch, ["--dev", "--database", str(database), *option]
    )
    online = _selection_error(monkeypatch, ["--dev", *option])
    assert offline == online
    assert offline.startswith(message.format(path=listing))


def test_both_selections_are_refused_as_online(monkeypatch, database, tmp_path):
    listing = tmp_path / "elements.json"
    listing.write_text(json.dumps([{"id": page_id(0)}]))
    option = ["--elements-list", str(listing), "--element", page_id(1)]
    offline = _selection_error(
        monkeypatch, ["--dev", "--database", str(database), *option]
    )
    assert offline == _selection_error(monkeypatch, ["--dev", *option])
    assert offline == (
        "AssertionError: elements-list and element CLI args shouldn't be both set"
    )


def test_invalid_element_option_exits_2_as_online(monkeypatch, database, capsys):
    for argv in (["--database", str(database)], []):
        monkeypatch.setattr(sys, "argv", ["worker", "--dev", *argv, "--element", "x"])
        with pytest.raises(SystemExit) as error:
            ElementsWorker(support_cache=True).configure()
        assert error.value.code == 2
        assert "These element IDs are invalid: x" in capsys.readouterr().err


def test_ids_missing_from_the_database_fail_before_anything_is_written(
    monkeypatch, database, caplog
):
    absent = str(uuid.UUID(int=77))
    before = tables(database)
    with pytest.raises(
        AssertionError,
        match=f"^These element IDs are not in the database {database}: {absent}$",
    ):
        run(monkeypatch, database, "--element", page_id(0), absent)
    assert not any(m.startswith("Processing") for m in caplog.messages)
    assert "offline_runs" not in tables(database) - before
    assert query(database, "SELECT COUNT(*) FROM transcriptions") == [(0,)]


# --- one transaction per element, reruns -------------------------------------------


def test_failed_element_leaves_none_of_its_writes(monkeypatch, database, caplog):
    monkeypatch.setattr(Publisher, "failing", {page_id(1)})
    worker = run(monkeypatch, database)
    assert transcribed(database) == [page_id(0), page_id(2), page_id(3)]
    assert query(database, "SELECT COUNT(*) FROM classifications") == [(3,)]
    states = dict(
        query(database, "SELECT element_id, state FROM offline_element_states")
    )
    assert states == {
        uuid.UUID(page_id(n)).hex: "failed" if n == 1 else "processed" for n in range(4)
    }
    (error,) = query(
        database, "SELECT error FROM offline_element_states WHERE state = 'failed'"
    )
    assert error == ("ValueError: boom",)
    assert query(
        database,
        "SELECT processed, failed, skipped, ended_at IS NOT NULL FROM offline_runs",
    ) == [(3, 1, 0, 1)]
    assert worker.offline_run.processed == 3


def test_rerun_processes_only_unfinished_elements(monkeypatch, database, caplog):
    monkeypatch.setattr(Publisher, "failing", {page_id(1)})
    first = run(monkeypatch, database).offline_run.id
    monkeypatch.setattr(Publisher, "failing", set())
    caplog.clear()
    second = run(monkeypatch, database).offline_run.id
    assert (
        "Skipping 3 elements already processed in "
        f"{database} (--rerun processes them again)"
    ) in caplog.messages
    assert [m for m in caplog.messages if m.startswith("Processing 0")] == [
        f"Processing {page_id(1)} (1/1)"
    ]
    counts = query(
        database,
        "SELECT worker_run_id, COUNT(*) FROM transcriptions GROUP BY 1 ORDER BY 2",
    )
    assert counts == [(uuid.UUID(second).hex, 2), (uuid.UUID(first).hex, 6)]


def test_rerun_option_processes_everything_again(monkeypatch, database):
    first = run(monkeypatch, database).offline_run.id
    second = run(monkeypatch, database, "--rerun").offline_run.id
    counts = query(
        database, "SELECT worker_run_id, COUNT(*) FROM transcriptions GROUP BY 1"
    )
    assert dict(counts) == {uuid.UUID(first).hex: 8, uuid.UUID(second).hex: 8}
    assert query(database, "SELECT rerun FROM offline_runs ORDER BY rowid") == [
        (0,),
        (1,),
    ]


def test_everything_processed_leaves_nothing_to_do(monkeypatch, database, caplog):
    run(monkeypatch, database)
    with pytest.raises(SystemExit) as error:
        run(monkeypatch, database)
    assert error.value.code == 1
    assert "No elements to process, stopping." in caplog.messages


def test_element_listed_twice_is_processed_once(monkeypatch, database, caplog):
    run(monkeypatch, database, "--element", page_id(0), page_id(0))
    assert query(database, "SELECT COUNT(*) FROM transcriptions") == [(2,)]
    assert f"Skipping element {page_id(0)}: already taken by this run" in (
        caplog.messages
    )


# --- run ids ---------------------------------------------------------------------------


class EverythingPublisher(ElementsWorker):
    """Publishes every kind of row that has a worker_run_id column."""

    def process_element(self, element) -> None:
        self.check_required_entity_types(["person"], create_missing=True)
        self.create_elements(
            element,
            [{"name": "1", "type": "line", "polygon": [[0, 0], [1, 1], [1, 0]]}],
        )
        transcription = self.create_transcription(element, "Ada Lovelace", 0.5)
        entity = self.create_entity("Ada", "person")
        self.create_transcription_entity(
            Transcription(transcription), entity, offset=0, length=3
        )
        self.create_classification(element, "cat", 0.5)
        self.create_metadata(element, MetaType.Text, "lang", "en")


def test_rows_carry_the_run_id(monkeypatch, tmp_path, capsys):
    path = tmp_path / "db.sqlite"
    make_pages(path, 1)
    run_id = run(monkeypatch, path, worker_class=EverythingPublisher).offline_run.id
    # An SDK run line: on stderr, out of the captured records
    assert (
        f"INFO/arkindex_worker.run: Offline run {run_id} on {path} "
        "(results carry this id in their worker_run_id columns)"
    ) in capsys.readouterr().err
    stored = uuid.UUID(run_id).hex
    by_run = {
        table: query(
            path, f"SELECT worker_run_id, COUNT(*) FROM {table} GROUP BY 1 ORDER BY 1"
        )
        for table in (
            "elements",
            "transcriptions",
            "entities",
            "transcription_entities",
            "classifications",
            "offline_metadata",
        )
    }
    # The page was there before the run; its new child is the run's
    assert by_run.pop("elements") == [(None, 1), (stored, 1)]
    assert by_run == {table: [(stored, 1)] for table in by_run}
    ((worker, started, ended, processed),) = query(
        path, "SELECT worker, started_at, ended_at, processed FROM offline_runs"
    )
    assert worker == f"{__name__}.EverythingPublisher"
    assert started <= ended
    assert processed == 1


def test_documented_queries_work_with_the_logged_ids(monkeypatch, database):
    """The SQL blocks of docs/offline.md, with the sample IDs replaced by real ones."""
    run_id = run(monkeypatch, database).offline_run.id
    text = (ROOT / "docs" / "offline.md").read_text()
    blocks = re.findall(r"```sql\n(.*?)```", text, flags=re.S)
    assert blocks
    connection = sqlite3.connect(database)
    results = []
    for block in blocks:
        sql = block.replace("c87bc162-5013-4313-b4c5-93028a47d60d", run_id)
        sql = sql.replace("00000000-0000-0000-0000-000000001001", page_id(1))
        results.append(connection.execute(sql).fetchall())
    connection.close()
    assert all(results), results


# --- rejected writes ---------------------------------------------------------------------


class Orphan(ElementsWorker):
    """Publishes a transcription on an element that is not in the database."""

    def process_element(self, element) -> None:
        self.create_transcriptions(
            [{"element_id": str(element.id), "text": "kept?", "confidence": 0.5}]
        )
        self.create_transcriptions(
            [{"element_id": str(uuid.UUID(int=99)), "text": "x", "confidence": 0.5}]
        )


def test_foreign_key_failure_fails_the_element(monkeypatch, tmp_path, caplog):
    path = tmp_path / "db.sqlite"
    make_pages(path, 2)
    with pytest.raises(SystemExit):
        run(monkeypatch, path, worker_class=Orphan)
    failures = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert (
        f"An API error occurred while processing element {page_id(0)}: 400 Bad Request"
        " - {'detail': 'The database rejected the created transcriptions: "
        "FOREIGN KEY constraint failed'}"
    ) in failures
    assert "Couldn't save" not in caplog.text
    assert query(path, "SELECT COUNT(*) FROM transcriptions") == [(0,)]
    assert "Ran on 2 elements: 0 completed, 2 failed" in caplog.messages


def test_trigger_failure_fails_the_element(monkeypatch, database, caplog):
    connection = sqlite3.connect(database)
    connection.execute(
        "CREATE TRIGGER no_b BEFORE INSERT ON transcriptions WHEN NEW.text = 'b' "
        "BEGIN SELECT RAISE(ABORT, 'no b here'); END"
    )
    connection.close()
    with pytest.raises(SystemExit):
        run(monkeypatch, database, "--element", page_id(0))
    assert "The database rejected the created transcriptions: no b here" in caplog.text
    assert query(database, "SELECT COUNT(*) FROM transcriptions") == [(0,)]


def test_online_cache_write_still_only_warns(tmp_path, caplog):
    init_cache_db(tmp_path / "online.sqlite")
    try:
        with cache_write("transcriptions"):
            raise __import__("peewee").IntegrityError("FOREIGN KEY constraint failed")
    finally:
        db.close()
    assert caplog.messages[-1] == (
        "Couldn't save created transcriptions in local cache: "
        "FOREIGN KEY constraint failed"
    )


def test_offline_cache_write_raises(monkeypatch, database):
    monkeypatch.setattr(sys, "argv", ["worker", "--dev", "--database", str(database)])
    worker = ElementsWorker(support_cache=True)
    worker.configure()
    try:
        with pytest.raises(OfflineWriteRejected) as error, cache_write("entity"):
            raise __import__("peewee").IntegrityError("CHECK constraint failed")
    finally:
        worker.api_client.close()
    assert error.value.status_code == 400
    assert error.value.content == {
        "detail": "The database rejected the created entity: CHECK constraint failed"
    }


class Aborted(ElementsWorker):
    """Its transaction is rolled back behind its back between two publications."""

    def process_element(self, element) -> None:
        self.create_transcriptions(
            [{"element_id": str(element.id), "text": "a", "confidence": 0.5}]
        )
        db.execute_sql("ROLLBACK")
        self.create_classification(element, "cat", 0.5)


def test_transaction_rolled_back_by_the_database_fails_the_element(
    monkeypatch, database, caplog
):
    with pytest.raises(SystemExit):
        run(monkeypatch, database, "--element", page_id(0), worker_class=Aborted)
    assert (
        'OperationalError("The element\'s transaction was rolled back by the database")'
        in caplog.text
    )
    assert query(database, "SELECT COUNT(*) FROM transcriptions") == [(0,)]
    assert query(database, "SELECT COUNT(*) FROM classifications") == [(0,)]
    assert query(database, "SELECT state FROM offline_element_states") == [("failed",)]


def test_disk_full_is_found_in_the_error_chain():
    from arkindex_worker.offline_runs import is_disk_full

    try:
        try:
            raise sqlite3.OperationalError("database or disk is full")
        except sqlite3.OperationalError:
            raise __import__("peewee").OperationalError("no such savepoint: s1")
    except Exception as error:
        chained = error
    assert is_disk_full(chained)
    assert not is_disk_full(ValueError("database is locked"))


# --- the database file ----------------------------------------------------------------------


def test_database_is_one_file_after_the_run(monkeypatch, database):
    run(monkeypatch, database)
    assert query(database, "PRAGMA journal_mode") == [("delete",)]
    assert not Path(f"{database}-wal").exists()
    # The extra tables are accepted by the version check
    check_version(database)
    assert {"offline_runs", "offline_element_states"} <= tables(database)


class Heavy(ElementsWorker):
    """Writes ~60 KiB per element and records the WAL's size after each."""

    sizes: list[int] = []

    def process_element(self, element) -> None:
        wal = Path(f"{self.cache_path}-wal")
        self.sizes.append(wal.stat().st_size if wal.exists() else 0)
        self.create_transcriptions(
            [
                {"element_id": str(element.id), "text": "x" * 600, "confidence": 0.5}
                for _ in range(100)
            ]
        )


def test_wal_is_checkpointed_during_the_run(monkeypatch, tmp_path):
    path = tmp_path / "db.sqlite"
    make_pages(path, 120)
    monkeypatch.setattr("arkindex_worker.offline_runs.CHECKPOINT_EVERY", 5)
    monkeypatch.setattr("arkindex_worker.offline_runs._WAL_SIZE_LIMIT", 0)
    monkeypatch.setattr(Heavy, "sizes", [])
    run(monkeypatch, path, worker_class=Heavy)
    # 7 MiB written in all; the WAL never holds more than a few elements' worth
    assert query(path, "SELECT COUNT(*) FROM transcriptions") == [(12000,)]
    assert max(Heavy.sizes) < 2 * 1024 * 1024
    assert os.path.getsize(path) > 6 * 1024 * 1024


def test_claims_of_live_runs_hold_and_those_of_dead_runs_do_not(
    monkeypatch, database, caplog
):
    import socket

    run(monkeypatch, database, "--element", page_id(0))
    live, dead = uuid.uuid4().hex, uuid.uuid4().hex
    connection = sqlite3.connect(database)
    with connection:
        # PID 1 always exists; a PID above the kernel's maximum never does
        for run_id, pid in ((live, 1), (dead, 2**22 + 1)):
            connection.execute(
                "INSERT INTO offline_runs (id, worker, hostname, pid, started_at, "
                "rerun, processed, failed, skipped) VALUES (?, 'w', ?, ?, 'now', 0, 0, 0, 0)",
                (run_id, socket.gethostname(), pid),
            )
        for n, run_id in ((1, live), (2, dead)):
            connection.execute(
                "INSERT INTO offline_element_states VALUES (?, 'claimed', ?, 'now', NULL)",
                (uuid.UUID(page_id(n)).hex, run_id),
            )
    connection.close()
    caplog.clear()
    run(monkeypatch, database, "--element", page_id(1), page_id(2))
    assert (
        f"Skipping element {page_id(1)}: taken by run {uuid.UUID(live)}, still running"
    ) in caplog.messages
    assert transcribed(database) == [page_id(0), page_id(2)]
