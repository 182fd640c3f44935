"""Offline runs as real processes: SIGKILL, several processes on one database, a full disk."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.offline.helpers import make_pages, page_id, query, run_worker, start_worker

ROWS = 2


def per_element(path: Path, table: str = "transcriptions") -> dict[str, int]:
    """Rows of ``table`` per element (IDs as stored)."""
    return dict(
        query(path, f"SELECT element_id, COUNT(*) FROM {table} GROUP BY element_id")
    )


def states(path: Path) -> dict[str, str]:
    return dict(query(path, "SELECT element_id, state FROM offline_element_states"))


def stored(n: int) -> str:
    return uuid.UUID(page_id(n)).hex


@pytest.mark.parametrize("kill_at", [1, 12])
def test_sigkill_keeps_finished_elements_and_a_rerun_finishes(tmp_path, kill_at):
    path = tmp_path / "db.sqlite"
    make_pages(path, 20)
    code, output = run_worker(path, OFFLINE_TEST_KILL_AT=str(kill_at))
    assert code == -signal.SIGKILL, output

    # Readable (with its WAL), every finished element whole, nothing of the killed one
    assert query(path, "PRAGMA integrity_check") == [("ok",)]
    finished = {stored(n): ROWS for n in range(kill_at - 1)}
    assert per_element(path) == finished
    assert per_element(path, "classifications") == dict.fromkeys(finished, 1)
    assert states(path) == {
        **dict.fromkeys(finished, "processed"),
        stored(kill_at - 1): "claimed",
    }

    code, output = run_worker(path)
    assert code == 0, output
    assert per_element(path) == {stored(n): ROWS for n in range(20)}
    assert set(states(path).values()) == {"processed"}
    runs = query(
        path, "SELECT processed, ended_at IS NULL FROM offline_runs ORDER BY rowid"
    )
    assert runs == [(kill_at - 1, 1), (21 - kill_at, 0)]
    # Back to one file at the end of the run
    assert query(path, "PRAGMA journal_mode") == [("delete",)]
    assert not Path(f"{path}-wal").exists()


@pytest.mark.parametrize("processes", [2, 3])
def test_processes_sharing_a_database_process_each_element_once(tmp_path, processes):
    path = tmp_path / "db.sqlite"
    make_pages(path, 30)
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    workers = [
        start_worker(
            path,
            OFFLINE_TEST_PAUSE="0.01",
            OFFLINE_TEST_BARRIER=str(barrier),
            OFFLINE_TEST_PROCESSES=str(processes),
        )
        for _ in range(processes)
    ]
    try:
        outputs = [worker.communicate(timeout=120)[0] for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    assert [worker.returncode for worker in workers] == [0] * processes, outputs
    for output in outputs:
        assert "database is locked" not in output
        assert "Failed running worker" not in output

    assert per_element(path) == {stored(n): ROWS for n in range(30)}
    assert per_element(path, "classifications") == {stored(n): 1 for n in range(30)}
    assert set(states(path).values()) == {"processed"}
    runs = query(path, "SELECT id, processed, skipped FROM offline_runs")
    assert len(runs) == processes
    assert sum(processed for _, processed, _ in runs) == 30
    # They did run together: the work was shared, and some claims were refused
    assert sum(1 for _, processed, _ in runs if processed) >= 2
    assert sum(skipped for _, _, skipped in runs) > 0
    # Each element's rows carry the id of the one run that processed it
    owners = query(
        path,
        "SELECT COUNT(DISTINCT worker_run_id) FROM transcriptions GROUP BY element_id",
    )
    assert set(owners) == {(1,)}


def _disk_full_run(path: Path, **env: str) -> tuple[int, str]:
    code, output = run_worker(
        path, OFFLINE_TEST_ROWS="20", OFFLINE_TEST_TEXT="1000", **env
    )
    return code, output


def _check_disk_full(path: Path, code: int, output: str, tmp_path: Path) -> None:
    assert code == 1, output
    lines = [line for line in output.splitlines() if "database or disk is full" in line]
    assert len(lines) == 1, output
    assert lines[0].endswith(
        f"ERROR/arkindex_worker: Stopping: database or disk is full ({path})"
    )
    assert "Traceback" not in output
    assert "cannot rollback" not in output

    # The database file alone: readable, every finished element, nothing else
    alone = tmp_path / "alone.sqlite"
    shutil.copyfile(path, alone)
    assert query(alone, "PRAGMA integrity_check") == [("ok",)]
    processed = [
        element for element, state in states(alone).items() if state == "processed"
    ]
    assert processed
    assert per_element(alone) == dict.fromkeys(processed, 20)
    assert per_element(alone, "classifications") == dict.fromkeys(processed, 1)


def test_full_database_stops_the_run(tmp_path):
    """A full disk as SQLite sees one: ``PRAGMA max_page_count``."""
    path = tmp_path / "db.sqlite"
    make_pages(path, 40)
    (pages,) = query(path, "PRAGMA page_count")[0]
    code, output = _disk_full_run(path, OFFLINE_TEST_MAX_PAGES=str(pages + 40))
    _check_disk_full(path, code, output, tmp_path)


@pytest.fixture
def small_disk(tmp_path):
    """A 400 KiB tmpfs, where the machine allows mounting one."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(disk)],
        capture_output=True,
    )
    if (
        mounted.returncode != 0
        or os.statvfs(disk).f_blocks * os.statvfs(disk).f_frsize > 1024 * 1024
    ):
        pytest.skip("cannot mount a small tmpfs here")
    yield disk
    subprocess.run(["umount", str(disk)], check=True)


def test_full_disk_stops_the_run(small_disk, tmp_path):
    path = small_disk / "db.sqlite"
    make_pages(path, 40)
    code, output = _disk_full_run(path)
    _check_disk_full(path, code, output, tmp_path)
