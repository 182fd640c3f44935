"""End to end: SIGINT and SIGTERM stop a running worker at once.

A custom worker (``pause`` of `tests.e2e.custom_workers`) runs as a subprocess
over five pages; the test sends the signal at a chosen point (in the model,
in a retry wait, with a background request pending), then checks that the
process exits within `STOP_LIMIT` seconds with status 130 (SIGINT) or 143
(SIGTERM), one ``Interrupted by ...`` line and no traceback, and that the
activities of the elements done are ``processed`` while the interrupted
element's stays ``started``.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.conftest import RUN_TIMEOUT, Run, worker_env, write_elements_list
from tests.e2e.custom_workers import MARKER, start_custom_worker
from tests.e2e.double import ArkindexDouble, Fault, build_demo_corpus
from tests.e2e.test_current_server import task_env

# Real processes, real waits
pytestmark = pytest.mark.real_sleep

STOP_LIMIT = 1.0
"""Seconds from the signal to the process exit: the issue's upper bound."""
PAUSE = "30"
"""Seconds the worker sleeps in the element it pauses on (never reached)."""
SLOW = 20.0
"""Seconds a ``slow`` answer takes (never reached)."""
LONG_WAITS = {
    "ARKINDEX_API_RETRY_WAIT_MIN": "30",
    "ARKINDEX_API_RETRY_WAIT_MAX": "30",
}
"""Retry waits left long, so that the signal comes during one."""
OVERLAP = {"ARKINDEX_WORKER_OVERLAP": "1"}
"""The default overlap (`worker_env` turns it off)."""
SEQUENTIAL = {"ARKINDEX_WORKER_OVERLAP": "0"}
SIGNALS = [
    pytest.param(signal.SIGINT, 130, id="SIGINT"),
    pytest.param(signal.SIGTERM, 143, id="SIGTERM"),
]
POLL = 0.005


@dataclass
class ActivityFault(Fault):
    """A fault hitting only the activity updates to one ``state``."""

    operation: str | None = "UpdateWorkerActivity"
    state: str | None = None

    def matches(
        self, operation: str | None, method: str, target: str, raw: bytes
    ) -> bool:
        return (
            super().matches(operation, method, target, raw)
            and bool(raw)
            and json.loads(raw).get("state") == self.state
        )


class Watched:
    """A running worker whose stderr lines are read as they come."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.process = process
        self.stderr_lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stderr:
            self.stderr_lines.append(line.rstrip("\n"))

    def wait_until(self, condition: Callable[[], bool], what: str) -> None:
        """Poll ``condition`` until it holds; fail if the worker exits first."""
        deadline = time.monotonic() + RUN_TIMEOUT
        while not condition():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.finish()
                pytest.fail(f"The worker never got to {what}:\n{self.stderr}")
            time.sleep(POLL)

    def wait_for_marker(self, text: str) -> None:
        self.wait_until(
            lambda: f"{MARKER} {text}" in self.stderr_lines, f"print {text!r}"
        )

    def interrupt(self, signum: int) -> float:
        """Send ``signum``; return the seconds until the process exited."""
        sent = time.monotonic()
        self.process.send_signal(signum)
        self.process.wait(timeout=RUN_TIMEOUT)
        return time.monotonic() - sent

    @property
    def stderr(self) -> str:
        return "\n".join(self.stderr_lines)

    def finish(self) -> Run:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=RUN_TIMEOUT)
        self._reader.join(timeout=RUN_TIMEOUT)
        self.process.stderr.close()
        return Run(self.process.returncode, self.stderr)


def five_pages(double: ArkindexDouble) -> list[str]:
    return build_demo_corpus(double, pages=5, lines=1)


def start_pause_worker(
    double: ArkindexDouble, home: Path, pages: list[str], pause_on: str, **env: str
) -> Watched:
    """The ``pause`` worker over ``pages`` (an elements list), sleeping in ``pause_on``."""
    elements = write_elements_list(
        home / "elements.json", [{"id": page, "type": "page"} for page in pages]
    )
    env = worker_env(double, home, E2E_PAUSE_ON=pause_on, E2E_PAUSE=PAUSE, **env)
    return Watched(
        start_custom_worker("pause", ["--elements-list", str(elements)], env, home)
    )


def about(request, operation: str, element_id: str, state: str | None) -> bool:
    body = request.body if isinstance(request.body, dict) else {}
    return (
        request.operation == operation
        and (element_id in request.path or body.get("element_id") == element_id)
        and (state is None or body.get("state") == state)
    )


def served(
    double: ArkindexDouble, operation: str, element_id: str, state: str | None = None
) -> bool:
    """Whether a request of ``operation`` about ``element_id`` was served."""
    return any(about(r, operation, element_id, state) for r in double.served())


def received(
    double: ArkindexDouble, operation: str, element_id: str, state: str | None = None
) -> bool:
    """Whether such a request arrived, served or hit by a fault."""
    return any(about(r, operation, element_id, state) for r in list(double.requests))


def logged(watched: Watched, text: str) -> bool:
    return any(text in line for line in list(watched.stderr_lines))


def stopped_at_once(
    watched: Watched, signum: int, status: int, summary: str
) -> tuple[Run, float]:
    """Interrupt the worker and check how it stopped; return its run and stop time."""
    seconds = watched.interrupt(signum)
    run = watched.finish()
    name = signal.Signals(signum).name
    assert run.returncode == status, run.stderr
    assert [line for line in run.lines if "Interrupted" in line] == [
        f"ERROR/arkindex_worker: Interrupted by {name}: {summary}"
    ], run.stderr
    assert run.lines[-1].endswith(f"Interrupted by {name}: {summary}"), run.stderr
    assert "Traceback" not in run.stderr
    print(f"stopped {seconds:.3f} s after {name}")
    assert seconds < STOP_LIMIT, run.stderr
    return run, seconds


def two_done(pages: list[str]) -> dict[str, str]:
    """Activities of a run interrupted in its third element."""
    return {pages[0]: "processed", pages[1]: "processed", pages[2]: "started"}


# ---------------------------------------------------------------- in the model


@pytest.mark.parametrize("overlap", [OVERLAP, SEQUENTIAL], ids=["overlap", "seq"])
@pytest.mark.parametrize(("signum", "status"), SIGNALS)
def test_interrupt_in_process_element(tmp_path, signum, status, overlap):
    with ArkindexDouble() as double:
        pages = five_pages(double)
        watched = start_pause_worker(double, tmp_path, pages, pages[2], **overlap)
        watched.wait_for_marker(f"pausing {pages[2]}")
        stopped_at_once(
            watched, signum, status, "2 of 5 elements done (2 completed, 0 failed)"
        )

    assert double.activities == two_done(pages)
    # The run went no further than reading elements ahead (with the overlap,
    # up to READ_AHEAD of them; none sequentially)
    if overlap == SEQUENTIAL:
        assert not served(double, "RetrieveElement", pages[3])


def test_interrupt_in_queue_mode(tmp_path):
    """Pulled from the activity queue: the count has no total."""
    with ArkindexDouble() as double:
        pages = five_pages(double)
        double.current_server = True
        double.queue = list(pages)
        env = task_env(double, tmp_path)
        env.update(E2E_PAUSE_ON=pages[2], E2E_PAUSE=PAUSE, **OVERLAP)
        watched = Watched(start_custom_worker("pause", [], env, tmp_path))
        watched.wait_for_marker(f"pausing {pages[2]}")
        stopped_at_once(
            watched, signal.SIGTERM, 143, "2 elements done (2 completed, 0 failed)"
        )

    assert double.activities == two_done(pages)
    assert double.queue == pages[3:]


# ---------------------------------------------------------------- in a retry wait


@pytest.mark.parametrize(
    ("fault", "signum", "status"),
    [
        pytest.param(Fault("502"), signal.SIGTERM, 143, id="502-SIGTERM"),
        pytest.param(Fault("429", retry_after="30"), signal.SIGINT, 130, id="429"),
    ],
)
def test_interrupt_in_retry_wait(tmp_path, fault, signum, status):
    """The third element's read is answered an error, the retry is 30 s away."""
    with ArkindexDouble() as double:
        pages = five_pages(double)
        fault.operation, fault.element = "ListElementChildren", pages[2]
        double.inject(fault)
        watched = start_pause_worker(
            double, tmp_path, pages, pages[4], **OVERLAP, **LONG_WAITS
        )
        watched.wait_until(
            lambda: logged(watched, "Retrying ListElementChildren in 30 seconds"),
            "a retry wait",
        )
        stopped_at_once(
            watched, signum, status, "2 of 5 elements done (2 completed, 0 failed)"
        )

    assert double.activities == two_done(pages)
    assert len(double.faulted()) == 1


# ---------------------------------------------------------------- background requests


@pytest.mark.parametrize(
    ("fault", "env", "pending"),
    [
        pytest.param(Fault("slow", delay=SLOW), {}, None, id="unanswered"),
        pytest.param(
            Fault("502"), LONG_WAITS, "Retrying RetrieveElement in 30", id="retry-wait"
        ),
    ],
)
def test_interrupt_with_read_ahead_pending(tmp_path, fault, env, pending):
    """The fourth element's read-ahead is pending while the third one is processed.

    Its answer is late, or it waits for a retry, in the background thread.
    """
    with ArkindexDouble() as double:
        pages = five_pages(double)
        fault.operation, fault.element = "RetrieveElement", pages[3]
        double.inject(fault)
        watched = start_pause_worker(
            double, tmp_path, pages, pages[2], **OVERLAP, **env
        )
        watched.wait_for_marker(f"pausing {pages[2]}")
        watched.wait_until(
            lambda: received(double, "RetrieveElement", pages[3]), "the read-ahead"
        )
        if pending:
            watched.wait_until(lambda: logged(watched, pending), "the retry wait")
        stopped_at_once(
            watched, signal.SIGINT, 130, "2 of 5 elements done (2 completed, 0 failed)"
        )

    assert double.activities == two_done(pages)


def test_interrupt_with_final_update_pending(tmp_path):
    """The second element's ``processed`` update is applied but left unanswered.

    The run waits for it `INTERRUPT_GRACE` seconds at most.
    """
    with ArkindexDouble() as double:
        pages = five_pages(double)
        double.inject(
            ActivityFault("slow", element=pages[1], state="processed", delay=SLOW)
        )
        watched = start_pause_worker(double, tmp_path, pages, pages[2], **OVERLAP)
        watched.wait_for_marker(f"pausing {pages[2]}")
        watched.wait_until(
            lambda: received(double, "UpdateWorkerActivity", pages[1], "processed"),
            "the second page's processed update",
        )
        stopped_at_once(
            watched, signal.SIGTERM, 143, "2 of 5 elements done (2 completed, 0 failed)"
        )

    assert double.activities == two_done(pages)


def test_interrupt_waiting_for_read_ahead(tmp_path):
    """Interrupted while waiting for the fourth element's unanswered read-ahead.

    The third element is finished: its ``processed`` update, sent in the
    background, is not held back by that read-ahead, and reaches the server.
    """
    with ArkindexDouble() as double:
        pages = five_pages(double)
        double.inject(
            Fault("slow", operation="RetrieveElement", element=pages[3], delay=SLOW)
        )
        watched = start_pause_worker(double, tmp_path, pages, pages[4], **OVERLAP)
        watched.wait_until(
            lambda: served(double, "ListElementChildren", pages[2]), "the third page"
        )
        time.sleep(0.2)  # the third page is finished, the fourth awaited
        stopped_at_once(
            watched, signal.SIGINT, 130, "3 of 5 elements done (3 completed, 0 failed)"
        )

    assert double.activities == {
        pages[0]: "processed",
        pages[1]: "processed",
        pages[2]: "processed",
    }
