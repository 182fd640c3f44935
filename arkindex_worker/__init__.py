"""Arkindex worker SDK: write programs that process Arkindex elements.

Exposes the package logger, through which every part of the worker code logs.
Importing the package does not touch logging: building a worker
(`BaseWorker`) or running one with `arkindex_worker.cli.run_worker` calls
[configure_logging][arkindex_worker.configure_logging], which gives the root
logger upstream's format on stderr unless the application configured logging
first.

The lines the SDK adds to upstream's run log (start, progress, elapsed time,
early stops) go through `run_logger`, which writes to standard error and does
not propagate: test suites that compare complete record lists, as upstream's
and its workers' do, see exactly upstream's records.
"""

import logging
import sys

_LOG_FORMAT = "%(asctime)s %(levelname)s/%(name)s: %(message)s"

logger = logging.getLogger("arkindex_worker")

__all__ = ["configure_logging", "logger", "run_logger"]


class _StderrHandler(logging.StreamHandler):
    """Writes to the current ``sys.stderr``, so that captured streams get it."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter(_LOG_FORMAT))

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


class _RunLogger(logging.Logger):
    """A logger outside logging's registry, at the package logger's level.

    Test runners attach their capture handlers to every registered logger
    (pytest does so even to non-propagating ones), so only a logger they cannot
    find keeps upstream's record lists exact.
    """

    def getEffectiveLevel(self) -> int:
        return self.level or logger.getEffectiveLevel()


run_logger = _RunLogger("arkindex_worker.run")
"""Logger of the SDK's own run lines: to stderr, out of captured records.

It is not reachable through ``logging.getLogger``; to route its lines
elsewhere, add a handler to it: ``arkindex_worker.run_logger.addHandler(h)``.
"""
run_logger.propagate = False
run_logger.addHandler(_StderrHandler())


def configure_logging() -> None:
    """Log INFO and above to stderr, in upstream's format, unless already configured.

    Does nothing when the root logger has a handler (the application, or a
    test runner, configured logging), so calling it again is harmless.
    """
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format=_LOG_FORMAT)
