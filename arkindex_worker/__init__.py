"""Arkindex worker SDK: write programs that process Arkindex elements.

Exposes the package logger, through which every part of the worker code logs.
Importing the package does not touch logging: building a worker
(`BaseWorker`) or running one with `arkindex_worker.cli.run_worker` calls
[configure_logging][arkindex_worker.configure_logging], which gives the root
logger upstream's format on stderr unless the application configured logging
first.
"""

import logging

_LOG_FORMAT = "%(asctime)s %(levelname)s/%(name)s: %(message)s"

logger = logging.getLogger("arkindex_worker")

__all__ = ["configure_logging", "logger"]


def configure_logging() -> None:
    """Log INFO and above to stderr, in upstream's format, unless already configured.

    Does nothing when the root logger has a handler (the application, or a
    test runner, configured logging), so calling it again is harmless.
    """
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format=_LOG_FORMAT)
