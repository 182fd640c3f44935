"""Arkindex worker SDK: write programs that process Arkindex elements.

Importing the package configures the root logger once (a no-op when the
application already did) and exposes the package logger, through which every
part of the worker code logs.
"""

import logging

logging.basicConfig(
    level=logging.INFO,
    format="%(asctime)s %(levelname)s/%(name)s: %(message)s",
)

logger = logging.getLogger("arkindex_worker")

__all__ = ["logger"]
