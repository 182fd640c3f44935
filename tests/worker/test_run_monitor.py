"""The run monitor (start, progress, failures, report) and the command line's groups.

Timings come from a fake clock: no test measures time.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from types import SimpleNamespace

import pytest

from arkindex_worker import run_logger
from arkindex_worker.cli import _console_filter, _ConsoleFormatter
from arkindex_worker.errors import AuthenticationFailed, ErrorResponse, TooManyFailures
from arkindex_worker.worker import BaseWorker, DatasetWorker, ElementsWorker
from arkindex_worker.worker.arguments import check_arguments, wants_help
from arkindex_worker.worker.progress import (
    TRACEBACK_HINT,
    RunMonitor,
    format_duration,
    format_rate,
)
from arkindex_worker.worker.report import Progress
from tests.conftest import WORKER_RUN_ID, api_url

ELEMENT_ID = "12341234-1234-1234-1234-123412341234"
OTHER_ID = "43214321-4321-4321-4321-432143214321"
WORKER_RUN_URL = api_url(f"process/workers/{WORKER_RUN_ID}/")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def fake_worker(**args) -> SimpleNamespace:
    return SimpleNamespace(
        args=SimpleNamespace(verbose=False, dev=False, **args),
        is_read_only=False,
        is_offline=False,
        worker_run_id=WORKER_RUN_ID,
        api_client=SimpleNamespace(
            document=SimpleNamespace(url="http://testserver/api/v1/"),
            auth=SimpleNamespace(token="t"),
        ),
    )


def monitor(total: int | None = 10, **args) -> tuple[RunMonitor, Clock]:
    clock = Clock()
    progress = Progress("element")
    progress.total = total
    return RunMonitor(fake_worker(**args), progress, clock=clock), clock


@pytest.fixture(autouse=True)
def _run_log_captured(caplog):
    """Let caplog see the run lines, which stay out of captured records otherwise."""
    run_logger.addHandler(caplog.handler)
    yield
    run_logger.removeHandler(caplog.handler)


def run_lines(caplog) -> list[tuple[int, str]]:
    return [
        (r.levelno, r.getMessage())
        for r in caplog.records
        if r.name == "arkindex_worker.run"
    ]


# ---------------------------------------------------------------- formats


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0:00:00"), (65.9, "0:01:05"), (3600 * 27 + 61, "27:01:01"), (-3, "0:00:00")],
)
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("count", "seconds", "text"),
    [
        (10, 4, "2.50 elements/s"),
        (1, 120, "0.50 elements/min"),
        (0, 5, "0.00 elements/s"),
        (3, 0, "- elements/s"),
    ],
)
def test_format_rate(count, seconds, text):
    assert format_rate(count, seconds, "element") == text


# ---------------------------------------------------------------- progress


def test_progress_line_every_interval(caplog, monkeypatch):
    monkeypatch.setenv("ARKINDEX_WORKER_PROGRESS_INTERVAL", "30")
    run, clock = monitor()
    run.configured()
    caplog.clear()
    for step in (10, 10, 15, 5):
        clock.now += step
        run.progress.done += 1
        run.tick()

    assert run_lines(caplog) == [
        (
            logging.INFO,
            "Progress: 3/10 elements, 0 failed, 5.14 elements/min, elapsed 0:00:35, "
            "ETA 0:01:21",
        )
    ]


def test_progress_line_in_queue_mode_has_no_eta(caplog, monkeypatch):
    monkeypatch.setenv("ARKINDEX_WORKER_PROGRESS_INTERVAL", "1")
    run, clock = monitor(total=None)
    run.configured()
    run.progress.failed = 1
    run.progress.done = 4
    clock.now += 2

    run.tick()

    assert run_lines(caplog)[-1] == (
        logging.INFO,
        "Progress: 4 elements, 1 failed, 2.00 elements/s, elapsed 0:00:02",
    )


def test_progress_eta_unknown_before_the_first_item():
    run, clock = monitor()
    clock.now += 3
    assert run.progress_line().endswith(", ETA unknown")


def test_progress_off(caplog, monkeypatch):
    monkeypatch.setenv("ARKINDEX_WORKER_PROGRESS_INTERVAL", "0")
    run, clock = monitor()
    run.configured()
    clock.now += 1000
    run.tick()
    assert [m for _, m in run_lines(caplog) if m.startswith("Progress")] == []


def test_default_interval_is_30_seconds():
    run, _ = monitor()
    run.configured()
    assert run.interval == 30.0


@pytest.mark.parametrize("value", ["x", "-1", "nan"])
def test_invalid_interval(monkeypatch, value):
    monkeypatch.setenv("ARKINDEX_WORKER_PROGRESS_INTERVAL", value)
    run, _ = monitor()
    with pytest.raises(ValueError, match="ARKINDEX_WORKER_PROGRESS_INTERVAL must be"):
        run.configured()


def test_summary_line():
    run, clock = monitor()
    run.progress.done = 10
    clock.now += 4
    assert run.summary_line() == "Elapsed 0:00:04 (2.50 elements/s)"


# ---------------------------------------------------------------- failures


def test_failure_is_counted_recorded_and_hinted(caplog):
    run, _ = monitor()
    run.configured()
    caplog.clear()
    run.failed(f"element {ELEMENT_ID}", ELEMENT_ID, ValueError("boom"))

    (record,) = caplog.records
    assert record.name == "arkindex_worker"
    assert record.getMessage() == (
        f"Failed running worker on element {ELEMENT_ID}: ValueError('boom')"
    )
    assert record.arkindex_hint == TRACEBACK_HINT
    assert run.progress.failed == 1
    assert run.failures == [
        {"element": ELEMENT_ID, "error": "ValueError", "message": "boom"}
    ]


def test_max_failures(caplog):
    run, _ = monitor(max_failures=2)
    run.configured()
    run.failed("element a", "a", ValueError("a"))
    run.check_max_failures()
    run.failed("element b", "b", ValueError("b"))
    run.progress.done = 2

    with pytest.raises(TooManyFailures) as stopped:
        run.check_max_failures()

    assert stopped.value.code == 1
    assert isinstance(stopped.value.__cause__, ValueError)
    assert run_lines(caplog)[-1] == (
        logging.ERROR,
        "Stopping the run after 2 failed elements (--max-failures 2): "
        "2 of 10 elements done (0 completed, 2 failed)",
    )


@pytest.mark.parametrize("value", ["0", "x", "-2"])
def test_invalid_max_failures_variable(monkeypatch, value):
    monkeypatch.setenv("ARKINDEX_WORKER_MAX_FAILURES", value)
    run, _ = monitor()
    with pytest.raises(ValueError, match="ARKINDEX_WORKER_MAX_FAILURES must be"):
        run.configured()


def forbidden(status: int) -> ErrorResponse:
    title = {401: "401 Unauthorized", 403: "403 Forbidden"}[status]
    return ErrorResponse(title, status, {"detail": "Nope."})


def test_a_later_401_stops_the_run(caplog):
    run, _ = monitor()
    run.configured()
    run.progress.done = 5
    with pytest.raises(AuthenticationFailed):
        run.failed("element a", "a", forbidden(401))
    assert run_lines(caplog)[-1] == (
        logging.ERROR,
        "Authentication failed: the token was refused (401 Unauthorized: Nope.); "
        "ARKINDEX_API_TOKEN is invalid or expired on http://testserver/api/v1/",
    )


def test_a_later_403_fails_its_element_only():
    run, _ = monitor()
    run.worker.is_read_only = True
    run.configured()
    run.progress.done = 1
    run.failed("element a", "a", forbidden(403))
    assert run.progress.failed == 1


def test_a_403_on_the_first_dev_request_stops_the_run():
    run, _ = monitor()
    run.worker.is_read_only = True
    run.configured()
    with pytest.raises(AuthenticationFailed):
        run.failed("element a", "a", forbidden(403))


def test_a_403_on_the_first_element_after_the_worker_run_fails_it_only():
    run, _ = monitor()
    run.configured()  # the worker run was the first request
    run.failed("element a", "a", forbidden(403))
    assert run.progress.failed == 1


# ---------------------------------------------------------------- report


def test_report_is_written_atomically_when_interrupted(tmp_path):
    path = tmp_path / "report.json"
    path.write_text("old")
    run, clock = monitor(report=str(path))
    run.failed("element a", "a", ValueError("boom"))
    run.progress.done = 3

    with pytest.raises(KeyboardInterrupt), run.reporting():
        clock.now += 1.5
        raise KeyboardInterrupt

    assert json.loads(path.read_text()) == {
        "total": 10,
        "completed": 2,
        "failed": 1,
        "elapsed_s": 1.5,
        "interrupted": True,
        "failures": [{"element": "a", "error": "ValueError", "message": "boom"}],
        "sdk_version": "0.4.0",
    }
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_report_from_the_environment_in_queue_mode(tmp_path, monkeypatch):
    path = tmp_path / "report.json"
    monkeypatch.setenv("ARKINDEX_WORKER_REPORT", str(path))
    run, _ = monitor(total=None)
    run.progress.done = 4

    with run.reporting():
        pass

    report = json.loads(path.read_text())
    assert (report["total"], report["completed"], report["interrupted"]) == (
        4,
        4,
        False,
    )


def test_report_write_failure_is_logged(tmp_path, caplog):
    run, _ = monitor(report=str(tmp_path / "missing" / "r.json"))
    with run.reporting():
        pass
    assert run_lines(caplog)[-1][1].startswith(
        f"Could not write the run report {tmp_path / 'missing' / 'r.json'}: "
    )


# ---------------------------------------------------------------- worker runs


def test_configuration_refused_by_the_server_stops_in_one_line(
    api_env, mock_api, monkeypatch, caplog
):
    monkeypatch.setattr(sys, "argv", ["worker", "--element", ELEMENT_ID])
    mock_api.get(WORKER_RUN_URL, status=403, json={"detail": "Forbidden."})
    worker = ElementsWorker()

    with pytest.raises(AuthenticationFailed) as stopped:
        worker.run()

    assert stopped.value.code == 1
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == [
        "Authentication failed: the token was refused (403 Forbidden: Forbidden.); "
        "ARKINDEX_API_TOKEN is invalid, expired or without access to this run on "
        "http://testserver/api/v1/"
    ]


def test_a_401_after_some_elements_stops_the_run(
    api_env, mock_api, monkeypatch, caplog
):
    monkeypatch.setattr(
        sys, "argv", ["worker", "--dev", "--element", ELEMENT_ID, OTHER_ID]
    )
    payload = {"id": ELEMENT_ID, "type": "page", "name": "p", "zone": None}
    mock_api.get(api_url(f"element/{ELEMENT_ID}/"), json=payload)
    mock_api.get(api_url(f"element/{OTHER_ID}/"), status=401, json={"detail": "x"})
    worker = ElementsWorker()
    worker.overlap_requests = False

    with pytest.raises(AuthenticationFailed):
        worker.run()

    assert worker._progress.done == 2
    assert worker._progress.failed == 1


# ---------------------------------------------------------------- command line


def groups(parser: argparse.ArgumentParser) -> dict[str, list[str]]:
    return {
        group.title: [action.dest for action in group._group_actions]
        for group in parser._action_groups
        if group._group_actions
    }


def test_elements_worker_groups():
    worker = ElementsWorker()
    assert groups(worker.parser) == {
        "options": ["help"],
        "configuration": ["config", "database", "extras_dir"],
        "output": ["verbose"],
        "developer mode": ["dev"],
        "elements to process": [
            "elements_list",
            "element",
            "consume_worker_activities",
            "set",
        ],
        "run": ["report", "max_failures", "no_worker_activity"],
    }
    # Upstream's order of the base options is kept
    assert [a.dest for a in worker.parser._actions][:6] == [
        "help", "config", "database", "verbose", "dev", "extras_dir",
    ]  # fmt: skip


def test_dataset_worker_groups():
    assert groups(DatasetWorker().parser)["sets to process"] == ["set"]
    assert "elements to process" not in groups(DatasetWorker().parser)


def test_base_worker_has_no_run_options():
    parser = BaseWorker().parser
    assert "run" not in groups(parser)
    assert "offline mode" not in parser.epilog
    assert "ARKINDEX_WORKER_REPORT" not in parser.epilog


def test_an_option_the_worker_already_has_is_not_added_again():
    class OwnReport(ElementsWorker):
        def add_arguments(self):
            self.parser.add_argument("--report", help="mine")
            super().add_arguments()

    parser = OwnReport().parser
    assert [a.help for a in parser._actions if a.dest == "report"] == ["mine"]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--help"], True),
        (["-h"], True),
        (["--he"], True),
        (["--element", "x", "-h"], True),
        (["--", "--help"], False),
        (["--element", "x"], False),
        (["--h"], False),
    ],
)
def test_wants_help(argv, expected):
    assert wants_help(argv) is expected


def test_nothing_is_logged_before_the_help(monkeypatch, caplog):
    monkeypatch.setattr(sys, "argv", ["worker", "--help"])
    ElementsWorker()
    assert caplog.records == []


def test_invalid_element_ids_are_a_command_line_error(capsys):
    parser = ElementsWorker().parser
    args = parser.parse_args(["--element", "1234", ELEMENT_ID])
    with pytest.raises(SystemExit) as stopped:
        check_arguments(parser, args)
    assert stopped.value.code == 2
    assert (
        capsys.readouterr()
        .err.splitlines()[-1]
        .endswith("error: argument --element: These element IDs are invalid: 1234")
    )


# ---------------------------------------------------------------- console


def record(message: str, **extra) -> logging.LogRecord:
    made = logging.LogRecord(
        "arkindex_worker", logging.WARNING, "", 0, message, (), None
    )
    made.__dict__.update(extra)
    return made


def test_console_appends_the_hint():
    formatter = _ConsoleFormatter("%(message)s")
    assert formatter.format(record("x", arkindex_hint=TRACEBACK_HINT)) == (
        "x (run with -v to see the traceback)"
    )
    assert formatter.format(record("y")) == "y"


def test_console_hides_detail_lines_unless_debug():
    detail = record(
        "Creating batches", arkindex_detail=True, name="arkindex_worker.utils"
    )
    package = logging.getLogger("arkindex_worker")
    previous = package.level
    try:
        package.setLevel(logging.INFO)
        assert _console_filter(detail) is False
        assert _console_filter(record("other")) is True
        package.setLevel(logging.DEBUG)
        assert _console_filter(detail) is True
    finally:
        package.setLevel(previous)


def test_the_documented_report_has_the_report_keys():
    from pathlib import Path

    page = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
    text = page.read_text()
    block = text.split("## Run report", 1)[1].split("```json\n", 1)[1]
    documented = json.loads(block.split("```", 1)[0])
    run, _ = monitor()
    assert documented.keys() == run.report(False).keys()


# ---------------------------------------------------------------- dataset worker


def test_dataset_worker_max_failures_and_report(
    api_env, mock_api, monkeypatch, tmp_path, caplog
):
    from arkindex_worker.models import Dataset, Set
    from tests.worker.factories import worker_run_payload

    path = tmp_path / "report.json"
    argv = ["worker", "--max-failures", "1", "--report", str(path)]
    monkeypatch.setattr(sys, "argv", argv)
    mock_api.get(WORKER_RUN_URL, json=worker_run_payload(mode="dataset"))
    pending = Dataset(id="d1", name="D", state="open", task_id="t", sets=["train"])
    sets = [Set(name="train", dataset=pending), Set(name="dev", dataset=pending)]
    monkeypatch.setattr(DatasetWorker, "list_sets", lambda self: iter(sets))

    with pytest.raises(TooManyFailures):
        DatasetWorker().run()

    report = json.loads(path.read_text())
    assert (report["total"], report["completed"], report["failed"]) == (2, 0, 1)
    assert report["failures"] == [
        {
            "set": "d1:train",
            "error": "AssertionError",
            "message": "When processing a set, its dataset state should be Complete.",
        }
    ]
    assert run_lines(caplog)[-1] == (
        logging.ERROR,
        "Stopping the run after 1 failed set (--max-failures 1): "
        "1 of 2 sets done (0 completed, 1 failed)",
    )


def test_a_401_outside_the_items_stops_the_run(caplog):
    """E.g. a pull of the activity queue answered 401."""
    run, _ = monitor()
    run.configured()
    with pytest.raises(AuthenticationFailed), run.refusals():
        raise forbidden(401)
    assert run_lines(caplog)[-1][1].startswith("Authentication failed: ")


def test_other_answers_outside_the_items_pass_through():
    run, _ = monitor()
    run.configured()  # the worker run answered: a 403 now is not the first answer
    with pytest.raises(ErrorResponse) as raised, run.refusals():
        raise forbidden(403)
    assert not isinstance(raised.value, AuthenticationFailed)


def test_run_lines_stay_out_of_captured_records(caplog, capsys):
    """Upstream-style suites compare complete record lists: the run lines are not there."""
    run_logger.removeHandler(caplog.handler)
    caplog.set_level(logging.INFO)
    run, _clock = monitor(total=1)
    run.configured()
    assert run_lines(caplog) == []
    assert "INFO/arkindex_worker.run: Starting on the Arkindex API" in (
        capsys.readouterr().err
    )
