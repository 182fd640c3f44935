"""Console-script entry point helper: fatal errors become one log line and an exit code.

A worker's ``main()`` should be::

    def main() -> None:
        run_worker(MyWorker, description="My worker", support_cache=True)

`run_worker` configures logging, builds the worker, calls ``run()`` and exits
with the status [exit_status][arkindex_worker.errors.exit_status] gives what
escapes it (the package calls ``sys.exit`` nowhere else, bar the
``python -m arkindex_worker.new`` guard):

| what escapes `run()`                         | exit status | log                          |
| -------------------------------------------- | ----------- | ---------------------------- |
| nothing                                      | 0           | (the run's own summary)      |
| `SystemExit` (argparse errors' 2, `RunFailed`'s 1, `Interrupted`'s 130/143) | its code (re-raised) | (already printed) |
| `KeyboardInterrupt` (outside the run loop)   | 130         | one line                     |
| any other exception                          | 1           | one line, traceback with -v  |

The line names the API answer for `ErrorResponse`, the URL for network
failures, says which write may or may not have been applied for an unconfirmed
write, and is ``Type: message`` otherwise (just the message for a bare
``Exception`` and for the classes that replaced bare ones: `ArchiveError`,
`IncompletePaginationError`, `MissingCorpusError`, `SecretUnavailableError`).
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Callable
from typing import Any, NoReturn

import requests

from arkindex_worker import configure_logging, logger
from arkindex_worker.api.options import DEFAULT_BASE_URL
from arkindex_worker.errors import (
    ArchiveError,
    ErrorResponse,
    IncompletePaginationError,
    MissingCorpusError,
    SecretUnavailableError,
    UnconfirmedWriteError,
    exit_status,
)

__all__ = ["describe_fatal_error", "run_worker"]

VERBOSE_FLAGS = ("-v", "--verbose", "--debug")

# Raised as a bare `Exception` before they had a class: their line is still the
# message alone (subclasses, such as `UnsafeArchiveError`, are named)
_MESSAGE_ONLY = (
    Exception,
    ArchiveError,
    IncompletePaginationError,
    MissingCorpusError,
    SecretUnavailableError,
)


def describe_fatal_error(error: BaseException) -> str:
    """One-line description of an error that stopped a worker."""
    if isinstance(error, ErrorResponse):
        return f"The Arkindex API answered {error.title}: {error.content}"
    if isinstance(error, UnconfirmedWriteError):
        # Says which write may or may not have been applied
        return str(error)
    if isinstance(error, requests.ReadTimeout):
        return f"No answer from the Arkindex API{_where(error)} in time: {error}"
    if isinstance(error, requests.ConnectionError | requests.Timeout):
        return _describe_network_error(error)
    text = str(error)
    name = type(error).__name__
    if type(error) in _MESSAGE_ONLY and text:
        return text
    return f"{name}: {text}" if text else name


def _where(error: requests.RequestException) -> str:
    request = getattr(error, "request", None)
    return f" at {request.url}" if request is not None and request.url else ""


def _describe_network_error(error: requests.RequestException) -> str:
    """``Could not reach the Arkindex API at URL: reason``, without urllib3's noise."""
    text = str(error)
    match = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", text)
    reason = match.group(1) if match else text or type(error).__name__
    where = _where(error)
    on_default = where.startswith(f" at {DEFAULT_BASE_URL}")
    note = (
        _DEFAULT_URL_NOTE
        if on_default and not os.environ.get("ARKINDEX_API_URL")
        else ""
    )
    return f"Could not reach the Arkindex API{where}{note}: {reason}"


_DEFAULT_URL_NOTE = " (the default server, as ARKINDEX_API_URL is unset)"


class _ConsoleFormatter(logging.Formatter):
    """Upstream's format, with the hints the run loop attaches to its records."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        hint = getattr(record, "arkindex_hint", None)
        if not hint:
            return line
        if record.exc_info or record.stack_info:
            return line
        return line + hint


def _console_filter(record: logging.LogRecord) -> bool:
    """Drop the detail lines (``arkindex_detail``) unless debug output is on."""
    if not getattr(record, "arkindex_detail", False):
        return True
    return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


def _configure_console() -> None:
    """Our logging set-up; when it is ours, the console shows the hints."""
    root = logging.getLogger()
    ours = not root.handlers
    configure_logging()
    if not ours:
        return
    for handler in root.handlers:
        previous = handler.formatter
        handler.setFormatter(
            _ConsoleFormatter(
                previous._fmt if previous else None,
                previous.datefmt if previous else None,
            )
        )
        handler.addFilter(_console_filter)


def _verbose(worker: Any) -> bool:
    args = getattr(worker, "args", None)
    if args is not None:
        return bool(getattr(args, "verbose", False))
    return any(flag in sys.argv[1:] for flag in VERBOSE_FLAGS)


def run_worker(worker_class: Callable[..., Any], *args: Any, **kwargs: Any) -> NoReturn:
    """Build a worker with the given arguments, run it and exit.

    Args:
        worker_class: the worker class (or any callable returning a worker).
        *args: positional arguments of the worker's constructor.
        **kwargs: keyword arguments of the worker's constructor.
    """
    _configure_console()
    worker = None
    try:
        worker = worker_class(*args, **kwargs)
        worker.run()
    except SystemExit:
        # Already reported; the interpreter exits with its code, its exit_status
        raise
    except KeyboardInterrupt as interrupt:
        logger.error("Interrupted")
        sys.exit(exit_status(interrupt))
    except Exception as e:
        logger.error(
            f"Worker stopped: {describe_fatal_error(e)}",
            exc_info=e if _verbose(worker) else None,
        )
        sys.exit(exit_status(e))
    sys.exit(exit_status(None))
