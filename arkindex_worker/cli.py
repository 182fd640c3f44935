"""Console-script entry point helper: fatal errors become one log line and an exit code.

A worker's ``main()`` should be::

    def main() -> None:
        run_worker(MyWorker, description="My worker", support_cache=True)

`run_worker` builds the worker, calls ``run()`` and maps what escapes it to an
exit status, in this one place:

| what escapes `run()`                         | exit status | log                          |
| -------------------------------------------- | ----------- | ---------------------------- |
| nothing                                      | 0           | (the run's own summary)      |
| `SystemExit` (argparse errors, run's exit 1) | unchanged   | (already printed)            |
| `KeyboardInterrupt`                          | 130         | one line                     |
| any other exception                          | 1           | one line, traceback with -v  |
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import Any, NoReturn

import requests

from arkindex_worker import logger
from arkindex_worker.api import ErrorResponse

__all__ = ["describe_fatal_error", "run_worker"]

INTERRUPTED_STATUS = 130
VERBOSE_FLAGS = ("-v", "--verbose", "--debug")


def describe_fatal_error(error: BaseException) -> str:
    """One-line description of an error that stopped a worker."""
    if isinstance(error, ErrorResponse):
        return f"The Arkindex API answered {error.title}: {error.content}"
    if isinstance(error, requests.ConnectionError | requests.Timeout):
        return _describe_network_error(error)
    text = str(error)
    name = type(error).__name__
    return f"{name}: {text}" if text else name


def _describe_network_error(error: requests.RequestException) -> str:
    """``Could not reach the Arkindex API at URL: reason``, without urllib3's noise."""
    request = getattr(error, "request", None)
    where = f" at {request.url}" if request is not None and request.url else ""
    text = str(error)
    match = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", text)
    reason = match.group(1) if match else text or type(error).__name__
    return f"Could not reach the Arkindex API{where}: {reason}"


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
    worker = None
    try:
        worker = worker_class(*args, **kwargs)
        worker.run()
    except KeyboardInterrupt:
        logger.error("Interrupted")
        sys.exit(INTERRUPTED_STATUS)
    except Exception as e:
        logger.error(
            f"Worker stopped: {describe_fatal_error(e)}",
            exc_info=e if _verbose(worker) else None,
        )
        sys.exit(1)
    sys.exit(0)
