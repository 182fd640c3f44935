"""Filters of the listing helpers, for the API and for the cache (spec 07, 08).

The element listings (``list_elements``, ``list_element_children``,
``list_element_parents``) share their filters and their checks; every cache
listing filters by source (worker version or run, or manual) the same way.
"""

from __future__ import annotations

from typing import Any

from peewee import ModelSelect

from arkindex_worker.cache import CachedElement
from arkindex_worker.validation import check, check_source_filter

__all__ = ["filter_cached_elements", "listing_query", "where_source"]

# Listing filters, in the order they are checked (it decides which error wins).
_SOURCE_FILTERS = {
    "transcription_worker_version": "transcription_worker_run",
    "transcription_worker_run": None,
    "worker_version": "worker_run",
    "worker_run": None,
}
_FILTER_ORDER = (
    "folder",
    "name",
    "top_level",
    "recursive",
    "transcription_worker_version",
    "transcription_worker_run",
    "type",
    "with_classes",
    "with_corpus",
    "with_has_children",
    "with_metadata",
    "with_zone",
    "worker_version",
    "worker_run",
)
_CACHE_FILTERS = {"type", "worker_version", "worker_run"}


def listing_query(params: dict[str, Any]) -> dict[str, Any]:
    """Check the filters of a listing helper and return the query to send.

    Args:
        params: the helper's arguments (its ``locals()``); unknown names are ignored.
    """
    query = {}
    for name in _FILTER_ORDER:
        value = params.get(name)
        if name in _SOURCE_FILTERS:
            check_source_filter(value, name, deprecated_for=_SOURCE_FILTERS[name])
        elif name in ("name", "type"):
            if not value:
                continue
            check(isinstance(value, str), f"{name} should be of type str")
        elif value is not None:
            check(isinstance(value, bool), f"{name} should be of type bool")
        if value is not None:
            query[name] = value
    return query


def filter_cached_elements(select: ModelSelect, query: dict[str, Any]) -> ModelSelect:
    """Apply the listing filters to a query on the cached elements."""
    check(
        set(query) <= _CACHE_FILTERS,
        "When using the local cache, you can only filter by 'type' and/or "
        "'worker_version' and/or 'worker_run'",
    )
    if "type" in query:
        select = select.where(CachedElement.type == query["type"])
    return where_source(
        select, CachedElement, query.get("worker_version"), query.get("worker_run")
    )


def where_source(
    select: ModelSelect,
    model: type,
    worker_version: str | bool | None,
    worker_run: str | bool | None,
) -> ModelSelect:
    """Restrict a cache query to a source: a worker version or run ID, or
    ``False`` for manual objects (no worker); ``None`` does not filter."""
    for column, value in (
        (model.worker_version_id, worker_version),
        (model.worker_run_id, worker_run),
    ):
        if value is False:
            select = select.where(column.is_null())
        elif value is not None:
            select = select.where(column == value)
    return select
