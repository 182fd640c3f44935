"""Custom elements workers of the end-to-end tests, and how to start them.

Run as a script, this module runs one of its workers against the Arkindex API
double: ``python custom_workers.py NAME [worker arguments]`` (the worker's
behaviour comes from ``E2E_*`` environment variables). The script only
imports ``arkindex_worker``; the tests import `start_custom_worker`.

Workers:

- ``pause``: reads each element's children, then sleeps ``E2E_PAUSE`` seconds
  in the element ``E2E_PAUSE_ON``, after printing `MARKER` ``pausing ID`` on
  stderr.
- ``replay``: overrides ``update_activity`` (calling ``super()``, after
  ``E2E_REPORT_TIME`` seconds of work for a ``processed`` update; it logs
  each call with its thread); inside ``process_element`` it switches
  ``self.worker_run_id`` to the parent run ``E2E_PARENT_RUN`` to read that
  run's children, then restores its own run, publishes one metadata and
  fails the elements listed in ``E2E_FAIL`` (comma-separated IDs).
- ``own-retrieval``: overrides ``retrieve_element`` (calling ``super()``),
  reads each element's children and publishes one metadata.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

MARKER = "E2E-MARKER"
"""Prefix of the lines the workers print on stderr for the tests to wait on."""
SCRIPT = Path(__file__)


def start_custom_worker(
    name: str, args: list[str], env: dict[str, str], cwd: Path
) -> subprocess.Popen:
    """Start the worker ``name`` of this module as a subprocess (stderr piped)."""
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), name, *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _mark(text: str) -> None:
    # One write, as a log record's: a print would write the line break apart,
    # and a line logged by the overlap's thread could come in between
    sys.stderr.write(f"{MARKER} {text}\n")
    sys.stderr.flush()


def _workers() -> dict[str, type]:
    """The worker classes, by name (imported only in the worker process)."""
    from arkindex_worker import logger
    from arkindex_worker.worker import ActivityState, ElementsWorker, MetaType

    class PauseWorker(ElementsWorker):
        def process_element(self, element) -> None:
            list(self.list_element_children(element=element))
            if element.id == os.environ.get("E2E_PAUSE_ON"):
                _mark(f"pausing {element.id}")
                time.sleep(float(os.environ["E2E_PAUSE"]))

    class ReplayWorker(ElementsWorker):
        """Replays a parent run's results, as a production worker does."""

        def update_activity(self, element_id, state) -> bool:
            thread = threading.current_thread().name
            logger.info(f"Activity of {element_id}: {state.value} ({thread})")
            if state == ActivityState.Processed:
                # Writes its replay report first, which takes a while
                time.sleep(float(os.environ.get("E2E_REPORT_TIME", "0")))
            return super().update_activity(element_id, state)

        def process_element(self, element) -> None:
            own_run = self.worker_run_id
            self.worker_run_id = os.environ["E2E_PARENT_RUN"]
            # The parent run's results, then a read that does not depend on it
            parent_run = self.worker_run_id
            list(self.list_element_children(element=element, worker_run=parent_run))
            list(self.list_element_children(element=element, type="text_line"))
            self.worker_run_id = own_run
            self.create_metadata(element, MetaType.Text, "replayed", element.name)
            if element.id in os.environ.get("E2E_FAIL", "").split(","):
                raise ValueError(f"Cannot replay {element.name}")

    class OwnRetrievalWorker(ElementsWorker):
        def retrieve_element(self, element_id) -> dict:
            logger.info(f"Retrieving {element_id}")
            return super().retrieve_element(element_id)

        def process_element(self, element) -> None:
            list(self.list_element_children(element=element))
            self.create_metadata(element, MetaType.Text, "retrieved", element.name)

    return {
        "pause": PauseWorker,
        "replay": ReplayWorker,
        "own-retrieval": OwnRetrievalWorker,
    }


def main() -> None:
    # Started by a shell without job control (a background test run), the
    # worker would inherit an ignored SIGINT, which Python keeps ignoring: give
    # it the handler it has when started from a terminal or by a task runner
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    name = sys.argv.pop(1)
    _workers()[name](description=f"E2E {name} worker").run()


if __name__ == "__main__":
    main()
