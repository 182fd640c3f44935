"""How a run goes: its start line, progress lines, failures, fail-fast and report.

A [RunMonitor][arkindex_worker.worker.progress.RunMonitor] follows one run of
a worker loop (`ElementsWorker` or `DatasetWorker`):

- after the configuration, one INFO line names the API in use (and whether it
  is the default because ``ARKINDEX_API_URL`` is unset), the worker run and
  the offline database;
- between items, every ``ARKINDEX_WORKER_PROGRESS_INTERVAL`` seconds (default
  30, ``0`` turns it off), one INFO line ``Progress: 12/40 elements, 1 failed,
  2.50 elements/s, elapsed 0:00:05, ETA 0:00:11`` (``Progress: 12 elements, …``
  without an ETA in queue mode);
- each failed item is logged and counted. A 401 answer, a 403 answer to the
  run's first request, or a server that cannot be reached for the first item
  stop the run with one line (`AuthenticationFailed`, `ServerUnreachable`); so
  does the ``--max-failures`` threshold (`TooManyFailures`);
- at the end, whatever the outcome (interrupted or stopped early too), the
  ``--report`` file (or ``ARKINDEX_WORKER_REPORT``) receives a JSON object
  written atomically.

The clock is injectable (``clock``), so that tests never time anything.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

import requests

from arkindex_worker import logger, run_logger
from arkindex_worker.api.options import DEFAULT_BASE_URL
from arkindex_worker.errors import (
    AuthenticationFailed,
    ErrorResponse,
    ServerUnreachable,
    TooManyFailures,
    UnconfirmedWriteError,
)
from arkindex_worker.utils import pluralize
from arkindex_worker.worker.report import Progress, failure_message

__all__ = [
    "DEFAULT_PROGRESS_INTERVAL",
    "TRACEBACK_HINT",
    "RunMonitor",
    "format_duration",
    "format_rate",
    "sdk_version",
]

DEFAULT_PROGRESS_INTERVAL = 30.0
"""Seconds between two progress lines, unless ``ARKINDEX_WORKER_PROGRESS_INTERVAL`` says."""

TRACEBACK_HINT = " (run with -v to see the traceback)"
"""Appended to a failure line on the console when the run is not verbose."""

DISTRIBUTION = "arkindex-worker-sdk"


def format_duration(seconds: float) -> str:
    """``H:MM:SS``, e.g. ``0:01:05`` for 65.3 seconds."""
    whole = max(int(seconds), 0)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def format_rate(count: int, seconds: float, singular: str) -> str:
    """Items per second (per minute under one a second), e.g. ``2.50 elements/s``."""
    plural = pluralize(singular, 2)
    if seconds <= 0:
        return f"- {plural}/s"
    rate = count / seconds
    if rate and rate < 1:
        return f"{rate * 60:.2f} {plural}/min"
    return f"{rate:.2f} {plural}/s"


def sdk_version() -> str:
    """Version of the installed SDK (``unknown`` without its metadata)."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "unknown"


def _env(name: str) -> str | None:
    return os.environ.get(name) or None


def _interval() -> float:
    raw = _env("ARKINDEX_WORKER_PROGRESS_INTERVAL")
    if raw is None:
        return DEFAULT_PROGRESS_INTERVAL
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise ValueError(
            "ARKINDEX_WORKER_PROGRESS_INTERVAL must be a number of seconds (0: off), "
            f"got {raw!r}"
        )
    return value


def _max_failures(args: Any) -> int | None:
    given = getattr(args, "max_failures", None)
    if given is not None:
        return given
    raw = _env("ARKINDEX_WORKER_MAX_FAILURES")
    if raw is None:
        return None
    if not (raw.isdigit() and int(raw) > 0):
        raise ValueError(
            f"ARKINDEX_WORKER_MAX_FAILURES must be a positive integer, got {raw!r}"
        )
    return int(raw)


def _report_path(args: Any) -> Path | None:
    given = getattr(args, "report", None) or _env("ARKINDEX_WORKER_REPORT")
    return Path(given) if given else None


def _content_detail(content: Any) -> str:
    if isinstance(content, dict) and isinstance(content.get("detail"), str):
        text = content["detail"]
    else:
        text = "" if content is None else str(content)
    return text if len(text) <= 200 else text[:200] + "…"


class RunMonitor:
    """Follows a run: logs its start and progress, counts failures, writes its report.

    Args:
        worker: the worker running (read for its API client, arguments, mode).
        progress: the run's counts (also used by the interrupt line).
        item_key: key of a failed item in the report (``element`` or ``set``).
        clock: seconds of a monotonic clock (injectable for tests).
    """

    def __init__(
        self,
        worker: Any,
        progress: Progress,
        item_key: str = "element",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.worker = worker
        self.progress = progress
        self.item_key = item_key
        self.clock = clock
        self.started = clock()
        self.interval = 0.0
        self.max_failures: int | None = None
        self.failures: list[dict[str, str]] = []
        self.first_error: Exception | None = None
        self._last_line = self.started
        self._requests_done = False

    # ------------------------------------------------------------ start

    def configured(self) -> None:
        """Read the run's settings (after ``configure()``) and log the start line.

        Raises:
            ValueError: an invalid ``ARKINDEX_WORKER_PROGRESS_INTERVAL`` or
                ``ARKINDEX_WORKER_MAX_FAILURES``.
        """
        args = getattr(self.worker, "args", None)
        self.interval = _interval()
        self.max_failures = _max_failures(args)
        # Outside developer mode the worker run was the first request
        self._requests_done = args is not None and not self.worker.is_read_only
        if args is not None:
            run_logger.info(self.start_line())

    def start_line(self) -> str:
        """E.g. ``Starting on the Arkindex API at https://…/ with worker run …``."""
        worker = self.worker
        client = getattr(worker, "api_client", None)
        url = getattr(getattr(client, "document", None), "url", None)
        if worker.is_offline:
            where = f"Starting offline on the database {worker.cache_path}"
        elif url is None:
            where = f"Starting with the API client {type(client).__name__}"
        else:
            where = f"Starting on the Arkindex API at {url}"
            if url == DEFAULT_BASE_URL and not _env("ARKINDEX_API_URL"):
                where += " (the default, as ARKINDEX_API_URL is unset)"
        if worker.worker_run_id is None:
            run = "without a worker run (read-only)"
        elif worker.args.dev:
            run = (
                f"with worker run {worker.worker_run_id} in developer mode (read-only)"
            )
        else:
            run = f"with worker run {worker.worker_run_id}"
        return f"{where}, {run}"

    @contextmanager
    def refusals(self) -> Iterator[None]:
        """Turn a refused token outside the items into one line and a stop.

        Around the whole run: the configuration, the listing of the items and
        the pulls of the activity queue (an item's own failures go through
        `failed`).

        Raises:
            AuthenticationFailed: a 401 answer, or a 403 to the run's first request.
        """
        try:
            yield
        except ErrorResponse as error:
            if error.status_code == 401 or (
                error.status_code == 403 and not self._requests_done
            ):
                self._stop_for_token(error)
            raise

    # ------------------------------------------------------------ items

    def tick(self) -> None:
        """After an item: log a progress line when the interval has passed."""
        if self.interval <= 0:
            return
        now = self.clock()
        if now - self._last_line >= self.interval:
            self._last_line = now
            run_logger.info(self.progress_line(now))

    def progress_line(self, now: float | None = None) -> str:
        """E.g. ``Progress: 12/40 elements, 1 failed, 2.50 elements/s, elapsed 0:00:05, ETA 0:00:11``."""
        progress = self.progress
        now = self.clock() if now is None else now
        elapsed = now - self.started
        singular = progress.singular
        if progress.total is None:
            counted = f"{progress.done} {pluralize(singular, progress.done)}"
        else:
            counted = f"{progress.done}/{progress.total} {pluralize(singular, progress.total)}"
        parts = [
            f"Progress: {counted}",
            f"{progress.failed} failed",
            format_rate(progress.done, elapsed, singular),
            f"elapsed {format_duration(elapsed)}",
        ]
        if progress.total is not None:
            remaining = progress.total - progress.done
            if progress.done and elapsed > 0:
                eta = format_duration(remaining * elapsed / progress.done)
            else:
                eta = "unknown"
            parts.append(f"ETA {eta}")
        return ", ".join(parts)

    def failed(self, subject: str, item_id: str, error: Exception) -> None:
        """Count and log a failed item.

        Raises:
            AuthenticationFailed: a 401 answer, or a 403 to the run's first request.
            ServerUnreachable: the first item could not reach the server.
        """
        progress = self.progress
        first = not self._requests_done and progress.done == 0 and not progress.failed
        self._requests_done = True
        progress.failed += 1
        self.failures.append(
            {
                self.item_key: str(item_id),
                "error": type(error).__name__,
                "message": str(error),
            }
        )
        if self.first_error is None:
            self.first_error = error
        if isinstance(error, ErrorResponse) and (
            error.status_code == 401 or (error.status_code == 403 and first)
        ):
            self._stop_for_token(error)
        if (
            first
            and isinstance(error, requests.ConnectionError)
            and not isinstance(error, UnconfirmedWriteError)
        ):
            from arkindex_worker.cli import describe_fatal_error

            run_logger.error(f"Stopping: {describe_fatal_error(error)}")
            raise ServerUnreachable() from error
        verbose = bool(getattr(getattr(self.worker, "args", None), "verbose", False))
        logger.warning(
            failure_message(subject, error),
            exc_info=error if verbose else None,
            extra={} if verbose else {"arkindex_hint": TRACEBACK_HINT},
        )

    def check_max_failures(self) -> None:
        """Stop the run once ``--max-failures`` items failed.

        Raises:
            TooManyFailures: the threshold is reached.
        """
        limit = self.max_failures
        if limit is None or self.progress.failed < limit:
            return
        run_logger.error(
            f"Stopping the run after {self.progress.failed} failed "
            f"{pluralize(self.progress.singular, self.progress.failed)} "
            f"(--max-failures {limit}): {self.progress.describe()}"
        )
        raise TooManyFailures() from self.first_error

    def _stop_for_token(self, error: ErrorResponse) -> None:
        run_logger.error(f"Authentication failed: {self.token_problem(error)}")
        raise AuthenticationFailed() from error

    def token_problem(self, error: ErrorResponse) -> str:
        """What a 401 or 403 answer says of the token, e.g. ``the token was refused …``."""
        client = getattr(self.worker, "api_client", None)
        url = getattr(getattr(client, "document", None), "url", None)
        token = getattr(getattr(client, "auth", None), "token", None)
        detail = _content_detail(error.content)
        answer = f"{error.title}: {detail}" if detail else error.title
        on = f" on {url}" if url else ""
        if not token:
            return (
                f"no token was given ({answer}); set ARKINDEX_API_TOKEN "
                f"(or ARKINDEX_TASK_TOKEN){on}"
            )
        variable = (
            "ARKINDEX_TASK_TOKEN"
            if _env("ARKINDEX_TASK_TOKEN")
            else "ARKINDEX_API_TOKEN"
        )
        why = (
            "invalid or expired"
            if error.status_code == 401
            else "invalid, expired or without access to this run"
        )
        return f"the token was refused ({answer}); {variable} is {why}{on}"

    # ------------------------------------------------------------ end

    def summary_line(self) -> str:
        """E.g. ``Elapsed 0:01:05 (2.50 elements/s)``."""
        elapsed = self.clock() - self.started
        rate = format_rate(self.progress.done, elapsed, self.progress.singular)
        return f"Elapsed {format_duration(elapsed)} ({rate})"

    def report(self, interrupted: bool) -> dict[str, Any]:
        """The JSON object of the run report."""
        progress = self.progress
        total = progress.done if progress.total is None else progress.total
        return {
            "total": total,
            "completed": max(progress.done - progress.failed, 0),
            "failed": progress.failed,
            "elapsed_s": round(float(self.clock() - self.started), 3),
            "interrupted": interrupted,
            "failures": list(self.failures),
            "sdk_version": sdk_version(),
        }

    def write_report(self, interrupted: bool) -> None:
        """Write the report to ``--report`` (or ``ARKINDEX_WORKER_REPORT``), if given.

        The file is replaced atomically (a temporary file renamed). A failure
        to write it is logged, never raised.
        """
        path = _report_path(getattr(self.worker, "args", None))
        if path is None:
            return
        try:
            _write_atomically(path, self.report(interrupted))
        except OSError as e:
            run_logger.error(f"Could not write the run report {path}: {e}")

    @contextmanager
    def reporting(self) -> Iterator[None]:
        """Write the report when the run ends, however it ends."""
        interrupted = False
        try:
            yield
        except KeyboardInterrupt:
            interrupted = True
            raise
        finally:
            self.write_report(interrupted)


def _write_atomically(path: Path, data: dict[str, Any]) -> None:
    fd, temporary = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or "."
    )
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=2)
            out.write("\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
