"""A small worker that the offline-run tests start as a real subprocess.

Run as ``python tests/offline/offline_worker.py --dev --database PATH``. On each
element it publishes ``OFFLINE_TEST_ROWS`` transcriptions (one bulk call, 2 by
default), then a classification. Environment variables steer the faults:

- ``OFFLINE_TEST_KILL_AT=N``: SIGKILL itself in the middle of its N-th element,
  after the transcriptions, before the classification;
- ``OFFLINE_TEST_FAIL=ID``: the element ``ID`` raises after its publications;
- ``OFFLINE_TEST_MAX_PAGES=N``: ``PRAGMA max_page_count`` (a full disk, as SQLite
  sees one);
- ``OFFLINE_TEST_PAUSE=S``: sleep S seconds in each element before its
  publications, as a model computing (other processes then interleave);
- ``OFFLINE_TEST_TEXT=N``: length of each transcription's text (default 20);
- ``OFFLINE_TEST_BARRIER=DIR`` and ``OFFLINE_TEST_PROCESSES=N``: once
  configured, wait for N processes to be there before the first element.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

# Run from a checkout: the repository's package, not an installed one
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from arkindex_worker.cache import db
from arkindex_worker.cli import run_worker
from arkindex_worker.worker import ElementsWorker


class FaultyWorker(ElementsWorker):
    """Publishes transcriptions and a classification; fails or dies on demand."""

    def __init__(self) -> None:
        super().__init__(description="Offline test worker", support_cache=True)
        self.count = 0

    def configure(self) -> None:
        super().configure()
        max_pages = os.environ.get("OFFLINE_TEST_MAX_PAGES")
        if max_pages:
            db.execute_sql(f"PRAGMA max_page_count = {int(max_pages)}")
        barrier = os.environ.get("OFFLINE_TEST_BARRIER")
        if barrier:
            Path(barrier, str(os.getpid())).touch()
            expected = int(os.environ["OFFLINE_TEST_PROCESSES"])
            while len(list(Path(barrier).iterdir())) < expected:
                time.sleep(0.01)

    def process_element(self, element) -> None:
        self.count += 1
        pause = float(os.environ.get("OFFLINE_TEST_PAUSE", "0"))
        if pause:
            time.sleep(pause)
        rows = int(os.environ.get("OFFLINE_TEST_ROWS", "2"))
        text = "x" * int(os.environ.get("OFFLINE_TEST_TEXT", "20"))
        self.create_transcriptions(
            [
                {
                    "element_id": str(element.id),
                    "text": f"{n} {text}",
                    "confidence": 1.0,
                }
                for n in range(rows)
            ]
        )
        if self.count == int(os.environ.get("OFFLINE_TEST_KILL_AT", "0")):
            os.kill(os.getpid(), signal.SIGKILL)
        self.create_classification(element, "test", 0.5)
        if str(element.id) == os.environ.get("OFFLINE_TEST_FAIL"):
            raise ValueError("This element fails after its publications")


if __name__ == "__main__":
    run_worker(FaultyWorker)
