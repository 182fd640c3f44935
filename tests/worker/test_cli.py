"""run_worker: fatal errors become one log line and an exit status."""

from __future__ import annotations

import logging
import sys

import pytest
import requests

from arkindex_worker.api import ErrorResponse
from arkindex_worker.cli import run_worker


class FakeWorker:
    def __init__(self, error=None):
        self.error = error

    def run(self):
        if self.error is not None:
            raise self.error


def fatal(caplog):
    return [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_success_exits_0():
    with pytest.raises(SystemExit) as e:
        run_worker(FakeWorker)
    assert e.value.code == 0


@pytest.mark.parametrize(
    ("error", "message"),
    [
        pytest.param(
            AssertionError("No elements in elements list"),
            "Worker stopped: AssertionError: No elements in elements list",
            id="assertion",
        ),
        pytest.param(
            ErrorResponse(
                title="404 Not Found", status_code=404, content={"detail": "x"}
            ),
            "Worker stopped: The Arkindex API answered 404 Not Found: {'detail': 'x'}",
            id="api-error",
        ),
        pytest.param(
            requests.ConnectionError("refused"),
            "Worker stopped: Could not reach the Arkindex API: refused",
            id="connection",
        ),
        pytest.param(RuntimeError(), "Worker stopped: RuntimeError", id="no-message"),
    ],
)
def test_fatal_error_one_line_exit_1(caplog, error, message):
    with pytest.raises(SystemExit) as e:
        run_worker(FakeWorker, error)
    assert e.value.code == 1
    (record,) = fatal(caplog)
    assert record.getMessage() == message
    assert record.exc_info is None


def test_verbose_shows_traceback(caplog, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["worker", "-v"])
    with pytest.raises(SystemExit):
        run_worker(FakeWorker, ValueError("bad"))
    (record,) = fatal(caplog)
    assert record.exc_info is not None


def test_system_exit_passes_through():
    with pytest.raises(SystemExit) as e:
        run_worker(FakeWorker, SystemExit(2))
    assert e.value.code == 2


def test_keyboard_interrupt_exits_130(caplog):
    with pytest.raises(SystemExit) as e:
        run_worker(FakeWorker, KeyboardInterrupt())
    assert e.value.code == 130
    assert [r.getMessage() for r in fatal(caplog)] == ["Interrupted"]


def test_constructor_error_is_handled(caplog):
    def broken():
        raise ValueError("cannot build")

    with pytest.raises(SystemExit) as e:
        run_worker(broken)
    assert e.value.code == 1
    assert [r.getMessage() for r in fatal(caplog)] == [
        "Worker stopped: ValueError: cannot build"
    ]


def _unreachable(url: str) -> requests.ConnectionError:
    request = requests.Request("GET", url).prepare()
    return requests.ConnectionError(
        "HTTPSConnectionPool(host='x', port=443): Max retries exceeded (Caused by "
        "NewConnectionError('<urllib3.connection.HTTPSConnection object at 0x7f>: "
        "Failed to establish a new connection: [Errno -2] Name or service not known'))",
        request=request,
    )


def test_the_default_server_is_named_as_such(caplog, monkeypatch):
    monkeypatch.delenv("ARKINDEX_API_URL", raising=False)
    url = "https://arkindex.teklia.com/api/v1/process/workers/x/"

    with pytest.raises(SystemExit):
        run_worker(FakeWorker, _unreachable(url))

    (record,) = fatal(caplog)
    assert record.getMessage() == (
        f"Worker stopped: Could not reach the Arkindex API at {url} (the default "
        "server, as ARKINDEX_API_URL is unset): Name or service not known"
    )


def test_another_server_is_not_called_the_default(caplog, monkeypatch):
    monkeypatch.delenv("ARKINDEX_API_URL", raising=False)
    url = "https://other.example.com/api/v1/element/x/"

    with pytest.raises(SystemExit):
        run_worker(FakeWorker, _unreachable(url))

    (record,) = fatal(caplog)
    assert record.getMessage() == (
        f"Worker stopped: Could not reach the Arkindex API at {url}: "
        "Name or service not known"
    )


def test_a_network_failure_of_an_element_names_no_internal_object():
    from arkindex_worker.worker.report import failure_message

    url = "https://x.example.com/api/v1/element/y/"
    assert failure_message("element y", _unreachable(url)) == (
        f"Failed running worker on element y: Could not reach the Arkindex API at "
        f"{url}: Name or service not known"
    )
