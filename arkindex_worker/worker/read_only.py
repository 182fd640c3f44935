"""The read-only rule: when a publication helper returns early, sending nothing.

A worker is read-only in developer mode (``--dev``) or without a worker run
(no ``ARKINDEX_WORKER_RUN_ID``): see
[is_read_only][arkindex_worker.worker.base.BaseWorker.is_read_only]. Every
publication helper of the mixins then validates its arguments, logs one WARNING
through `arkindex_worker.logger` and returns ``None``, without any request or
cache write.

Offline (read-only with ``--database``, our addition), the helpers the offline
client can store still publish, to the database; the others (datasets,
artifacts, training) keep the read-only behaviour above.

The rule is [skip_publication][arkindex_worker.worker.read_only.skip_publication];
the mixins reach it in one of two ways, both expressed through it:

- [BaseWorker.skip_publication][arkindex_worker.worker.base.BaseWorker.skip_publication],
  called after the argument checks: ``if self.skip_publication(message): return None``;
- the decorator [skip_if_read_only][arkindex_worker.worker.read_only.skip_if_read_only]
  (upstream's, used by the training helpers), which skips the whole method, before
  its arguments are even bound.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from arkindex_worker import logger

__all__ = ["READ_ONLY_WARNING", "skip_if_read_only", "skip_publication"]

READ_ONLY_WARNING = "Cannot perform this operation as the worker is in read-only mode"
"""The WARNING of the methods decorated with `skip_if_read_only`."""

_Function = TypeVar("_Function", bound=Callable[..., Any])


def skip_publication(
    worker: Any, warning: str, *, available_offline: bool = True
) -> bool:
    """Whether a publication must be skipped; logs ``warning`` when it must.

    True when the worker is read-only, except when it runs offline and the
    publication is ``available_offline`` (the offline client stores it). A
    worker that cannot tell yet (``is_read_only`` raises ``AttributeError``,
    e.g. before ``configure()``) is not read-only, as upstream's decorator has it.

    Args:
        worker: the worker (anything with ``is_read_only``, and ``is_offline``).
        warning: the WARNING to log when skipping.
        available_offline: whether the publication still happens offline.
    """
    if not getattr(worker, "is_read_only", False):
        return False
    if available_offline and getattr(worker, "is_offline", False):
        return False
    logger.warning(warning)
    return True


def skip_if_read_only(func: _Function) -> _Function:
    """Make a method warn and return ``None`` when the worker is in read-only mode.

    The check comes before anything else, arguments included; the publication is
    not available offline. The WARNING is
    [READ_ONLY_WARNING][arkindex_worker.worker.read_only.READ_ONLY_WARNING].
    """

    @functools.wraps(func)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        if skip_publication(self, READ_ONLY_WARNING, available_offline=False):
            return None
        return func(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]
