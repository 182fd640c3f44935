"""Deprecated helpers about worker versions."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["WorkerVersionMixin", "worker_version_deprecation"]

_Function = TypeVar("_Function", bound=Callable[..., Any])


def worker_version_deprecation(func: _Function) -> _Function:
    """Emit ``DeprecationWarning("WorkerVersion usage is deprecated.")`` on each call."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        warnings.warn(
            "WorkerVersion usage is deprecated.", DeprecationWarning, stacklevel=2
        )
        return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


class WorkerVersionMixin:
    """Deprecated helpers: worker runs replaced worker versions as sources."""

    @worker_version_deprecation
    def get_worker_version(self, worker_version_id: str) -> dict:
        """Retrieve a worker version, once per ID (later calls use a cache).

        Raises:
            ValueError: ``worker_version_id`` is ``None``.
        """
        if worker_version_id is None:
            raise ValueError("No worker version ID")

        # ElementsWorker.__init__ creates the cache; other users get one here.
        cache = self.__dict__.setdefault("_worker_version_cache", {})
        if worker_version_id not in cache:
            cache[worker_version_id] = self.api_client.request(
                "RetrieveWorkerVersion", id=worker_version_id
            )
        return cache[worker_version_id]

    @worker_version_deprecation
    def get_worker_version_slug(self, worker_version_id: str) -> str:
        """Slug of the worker of a worker version.

        Raises:
            ValueError: ``worker_version_id`` is ``None``.
        """
        return self.get_worker_version(worker_version_id)["worker"]["slug"]
