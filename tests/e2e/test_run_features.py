"""End to end: the run's start line, progress, report, fail-fast, token and help.

``worker-demo`` (or the ``pause`` custom worker, to interrupt a run) as a
subprocess against the loopback API double: the behaviour belongs to the
process (its stderr, its exit status, the report file it leaves).
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from arkindex_worker.testing.database import build_offline_database
from tests.e2e.conftest import (
    RUN_TIMEOUT,
    WORKER_SCRIPT,
    worker_env,
    write_elements_list,
)
from tests.e2e.double import ArkindexDouble
from tests.e2e.test_interrupts import five_pages, start_pause_worker
from tests.e2e.test_worker_demo_errors import _closed_url

MISSING = [str(uuid.UUID(int=n)) for n in (1, 2, 3)]
"""Element IDs the double does not know: each element fails with a 404."""
PROGRESS = re.compile(
    r"INFO/arkindex_worker\.run: Progress: (\d+)/3 elements, (\d+) failed, "
    r"\d+\.\d\d elements/(s|min), elapsed \d+:\d\d:\d\d, ETA (\d+:\d\d:\d\d|unknown)"
)
REPORT_KEYS = {
    "total",
    "completed",
    "failed",
    "elapsed_s",
    "interrupted",
    "failures",
    "sdk_version",
}


def _report(path: Path) -> dict:
    report = json.loads(path.read_text())
    assert set(report) == REPORT_KEYS
    assert isinstance(report["elapsed_s"], float)
    assert isinstance(report["interrupted"], bool)
    assert all(isinstance(report[key], int) for key in ("total", "completed", "failed"))
    assert report["sdk_version"] == "0.4.0"
    # Written atomically: no temporary file left beside it
    assert sorted(p.name for p in path.parent.glob(f".{path.name}.*")) == []
    return report


# ---------------------------------------------------------------- start line


def test_start_line_names_the_api_and_the_worker_run(run_worker, demo):
    run = run_worker(demo.double, ["--element", demo.pages[0]])

    started = [line for line in run.lines if "Starting" in line]
    assert started == [
        f"INFO/arkindex_worker.run: Starting on the Arkindex API at {demo.double.url}, "
        f"with worker run {demo.double.worker_run_id}"
    ]


def test_start_line_offline_names_the_database(run_worker, tmp_path):
    (tmp_path / "offline").mkdir()
    offline = build_offline_database(tmp_path / "offline")
    database = offline.path
    with ArkindexDouble() as double:
        run = run_worker(
            double,
            ["--dev", "--database", str(database)],
            ARKINDEX_API_URL="",
            ARKINDEX_WORKER_RUN_ID="",
        )

    started = [line for line in run.lines if "Starting" in line]
    assert started == [
        f"INFO/arkindex_worker.run: Starting offline on the database {database}, "
        "without a worker run (read-only)"
    ]


def test_start_line_says_when_the_url_is_the_default(run_worker, tmp_path):
    with ArkindexDouble() as double:
        # No request can be sent: the worker run is unset, the list is invalid
        listed = write_elements_list(tmp_path / "list.json", [{"id": "x"}])
        run = run_worker(
            double,
            ["--elements-list", str(listed)],
            ARKINDEX_API_URL="",
            ARKINDEX_WORKER_RUN_ID="",
        )

    started = [line for line in run.lines if "Starting" in line]
    assert started == [
        "INFO/arkindex_worker.run: Starting on the Arkindex API at "
        "https://arkindex.teklia.com/ (the default, as ARKINDEX_API_URL is unset), "
        "without a worker run (read-only)"
    ]


# ---------------------------------------------------------------- progress


def test_progress_lines(run_worker, demo):
    run = run_worker(
        demo.double,
        ["--element", *demo.elements],
        ARKINDEX_WORKER_PROGRESS_INTERVAL="0.000001",
    )

    lines = [line for line in run.lines if "Progress: " in line]
    assert [PROGRESS.fullmatch(line) is not None for line in lines] == [True] * 3, lines
    assert [PROGRESS.fullmatch(line).group(1) for line in lines] == ["1", "2", "3"]


def test_no_progress_line_when_off(run_worker, demo):
    run = run_worker(
        demo.double,
        ["--element", *demo.elements],
        ARKINDEX_WORKER_PROGRESS_INTERVAL="0",
    )

    assert [line for line in run.lines if "Progress: " in line] == []


def test_an_invalid_progress_interval_stops_the_run(run_worker, demo):
    run = run_worker(
        demo.double, ["--element", demo.pages[0]], ARKINDEX_WORKER_PROGRESS_INTERVAL="x"
    )

    assert run.returncode == 1
    assert run.lines[-1] == (
        "ERROR/arkindex_worker: Worker stopped: ValueError: "
        "ARKINDEX_WORKER_PROGRESS_INTERVAL "
        "must be a number of seconds (0: off), got 'x'"
    )


def test_summary_adds_elapsed_time_and_rate(run_worker, demo):
    run = run_worker(demo.double, ["--element", demo.pages[0], MISSING[0]])

    assert re.fullmatch(
        r"INFO/arkindex_worker\.run: Elapsed \d+:\d\d:\d\d \(\d+\.\d\d elements/(s|min)\)",
        run.lines[-2],
    )
    assert run.lines[-1].startswith("ERROR/arkindex_worker: Ran on 2 elements: ")


# ---------------------------------------------------------------- report, fail fast


def test_report_of_a_run_with_failures(run_worker, demo, tmp_path):
    path = tmp_path / "report.json"
    run = run_worker(
        demo.double, ["--report", str(path), "--element", demo.pages[0], *MISSING[:2]]
    )

    report = _report(path)
    assert report["total"] == 3
    assert report["failed"] == 2
    assert report["completed"] == 1
    assert report["interrupted"] is False
    assert [(f["element"], f["error"]) for f in report["failures"]] == [
        (MISSING[0], "ErrorResponse"),
        (MISSING[1], "ErrorResponse"),
    ]
    assert report["failures"][0]["message"] == "{'detail': 'Not found.'}"
    assert run.returncode == 0, run.stderr


def test_report_from_the_environment_when_nothing_failed(run_worker, demo, tmp_path):
    path = tmp_path / "report.json"
    run_worker(
        demo.double, ["--element", demo.empty_page], ARKINDEX_WORKER_REPORT=str(path)
    )

    report = _report(path)
    assert (report["total"], report["completed"], report["failed"]) == (1, 1, 0)
    assert report["failures"] == []


def test_report_in_a_missing_directory_is_a_command_line_error(run_worker, demo):
    run = run_worker(
        demo.double, ["--report", "/nonexistent/dir/r.json", "--element", MISSING[0]]
    )

    assert run.returncode == 2
    assert run.lines[-1] == (
        "worker-demo: error: argument --report: no directory '/nonexistent/dir'"
    )
    assert demo.double.requests == []


def test_max_failures_stops_the_run(run_worker, demo, tmp_path):
    path = tmp_path / "report.json"
    run = run_worker(
        demo.double,
        ["--max-failures", "2", "--report", str(path), "--element", *MISSING],
    )

    assert run.returncode == 1
    assert run.lines[-1] == (
        "ERROR/arkindex_worker.run: Stopping the run after 2 failed elements "
        "(--max-failures 2): 2 of 3 elements done (0 completed, 2 failed)"
    )
    retrieved = [r.path for r in demo.double.requests if r.method == "GET"]
    assert [p for p in retrieved if p.startswith("element/")] == [
        f"element/{MISSING[0]}/",
        f"element/{MISSING[1]}/",
    ]
    report = _report(path)
    assert (report["total"], report["completed"], report["failed"]) == (3, 0, 2)
    assert report["interrupted"] is False


def test_max_failures_from_the_environment(run_worker, demo):
    run = run_worker(
        demo.double, ["--element", *MISSING], ARKINDEX_WORKER_MAX_FAILURES="1"
    )

    assert run.returncode == 1
    assert run.lines[-1].startswith(
        "ERROR/arkindex_worker.run: Stopping the run after 1 failed element "
        "(--max-failures 1): 1 of 3 elements done"
    )


@pytest.mark.parametrize("value", ["0", "-1", "x"])
def test_max_failures_must_be_positive(run_worker, demo, value):
    run = run_worker(demo.double, ["--max-failures", value, "--element", MISSING[0]])

    assert run.returncode == 2
    assert run.lines[-1] == (
        f"worker-demo: error: argument --max-failures: not a positive integer: '{value}'"
    )


@pytest.mark.real_sleep
def test_report_of_an_interrupted_run(tmp_path):
    path = tmp_path / "report.json"
    with ArkindexDouble() as double:
        pages = five_pages(double)
        watched = start_pause_worker(
            double, tmp_path, pages, pages[2], ARKINDEX_WORKER_REPORT=str(path)
        )
        watched.wait_for_marker(f"pausing {pages[2]}")
        watched.interrupt(signal.SIGTERM)
        run = watched.finish()

    assert run.returncode == 143
    report = _report(path)
    assert report["interrupted"] is True
    assert (report["total"], report["completed"], report["failed"]) == (5, 2, 0)


# ---------------------------------------------------------------- token, server


def test_a_refused_token_stops_a_dev_run_at_once(run_worker, demo):
    run = run_worker(
        demo.double, ["--dev", "--element", *demo.elements], ARKINDEX_API_TOKEN="bad"
    )

    assert run.returncode == 1
    assert run.lines[-1] == (
        "ERROR/arkindex_worker.run: Authentication failed: the token was refused "
        "(401 Unauthorized: Invalid token.); ARKINDEX_API_TOKEN is invalid or "
        f"expired on {demo.double.url}"
    )
    # One line, no failure line before it
    assert [line for line in run.lines if "processing element" in line] == []
    assert len(demo.double.requests) == 1


def test_a_missing_token_is_named(run_worker, demo):
    run = run_worker(
        demo.double, ["--dev", "--element", *demo.elements], ARKINDEX_API_TOKEN=""
    )

    assert run.returncode == 1
    assert run.lines[-1] == (
        "ERROR/arkindex_worker.run: Authentication failed: no token was given "
        "(401 Unauthorized: Invalid token.); set ARKINDEX_API_TOKEN (or "
        f"ARKINDEX_TASK_TOKEN) on {demo.double.url}"
    )


def test_an_unreachable_server_stops_a_dev_run_on_the_first_element(run_worker):
    closed = _closed_url()
    with ArkindexDouble() as double:
        run = run_worker(
            double, ["--dev", "--element", *MISSING], ARKINDEX_API_URL=closed
        )

    assert run.returncode == 1
    assert run.lines[-1].startswith(
        "ERROR/arkindex_worker.run: Stopping: Could not reach the Arkindex API at "
        f"{closed}api/v1/element/{MISSING[0]}/: "
    )
    assert "Connection" in run.lines[-1]
    assert "object at 0x" not in run.stderr


# ---------------------------------------------------------------- help, failure hint


def _demo(*args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    with ArkindexDouble() as double:
        return subprocess.run(
            [sys.executable, str(WORKER_SCRIPT), *args],
            env=worker_env(double, tmp_path, ARKINDEX_WORKER_RUN_ID=""),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
        )


def test_help_logs_nothing_and_shows_groups_and_epilog(tmp_path):
    done = _demo("--help", tmp_path=tmp_path)

    assert done.returncode == 0
    assert done.stderr == ""
    text = done.stdout
    assert text.startswith("usage: worker-demo ")
    for heading in (
        "configuration:",
        "output:",
        "developer mode:",
        "elements to process:",
        "run:",
        "environment:",
        "exit status:",
        "developer mode (read-only: nothing is published):",
        "offline mode (no request is sent; results go to the database):",
    ):
        assert f"\n{heading}\n" in text, heading
    assert "  worker-demo --dev --database cache.sqlite\n" in text
    assert "--max-failures N" in text and "--report PATH" in text
    assert "ARKINDEX_WORKER_PROGRESS_INTERVAL" in text
    assert "  2    an invalid command-line value\n" in text


def test_failure_line_hints_at_verbose(run_worker, demo):
    run = run_worker(demo.double, ["--element", MISSING[0], demo.empty_page])

    (failure,) = [line for line in run.lines if line.startswith("WARNING")]
    assert failure == (
        f"WARNING/arkindex_worker: An API error occurred while processing element "
        f"{MISSING[0]}: 404 Not Found - {{'detail': 'Not found.'}} "
        "(run with -v to see the traceback)"
    )


def test_verbose_failure_line_has_no_hint(run_worker, demo):
    run = run_worker(demo.double, ["-v", "--element", MISSING[0], demo.empty_page])

    assert "(run with -v to see the traceback)" not in run.stderr
    assert "Traceback (most recent call last):" in run.stderr


def test_a_list_of_strings_gets_a_clear_message(run_worker, demo, tmp_path):
    listed = write_elements_list(tmp_path / "list.json", [demo.pages[0]])

    run = run_worker(demo.double, ["--elements-list", str(listed)])

    assert run.returncode == 1
    assert run.lines[-1] == (
        "ERROR/arkindex_worker: Worker stopped: AssertionError: Elements list must "
        'hold objects such as {"id": "<element UUID>"}: item 1 is a string'
    )
