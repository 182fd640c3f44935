"""Small helpers shared by the text-mixin tests."""

from __future__ import annotations

import json
from typing import Any

from arkindex_worker.cache import CachedElement
from tests.conftest import WORKER_RUN_ID, api_url

__all__ = [
    "BATCH_SIZE_MESSAGE",
    "ELEMENT_ID",
    "WORKER_RUN_ID",
    "api_url",
    "cached_page",
    "page_of",
    "sent",
    "worker_logs",
]

ELEMENT_ID = "12341234-1234-1234-1234-123412341234"
BATCH_SIZE_MESSAGE = (
    "batch_size shouldn't be null and should be a strictly positive integer"
)


def sent(mock_api) -> list[tuple[str, str, Any]]:
    """``(method, url, decoded JSON body or None)`` of every request sent."""
    return [
        (
            call.request.method,
            call.request.url,
            json.loads(call.request.body) if call.request.body else None,
        )
        for call in mock_api.calls
    ]


def page_of(results: list) -> dict:
    """A single-page answer of a paginated listing."""
    return {"count": len(results), "next": None, "previous": None, "results": results}


def cached_page(element_id: str = ELEMENT_ID, **fields: Any) -> CachedElement:
    """A cached page element."""
    return CachedElement.create(id=element_id, type="page", **fields)


def worker_logs(caplog) -> list[tuple[int, str]]:
    """``(level, message)`` of the records of the ``arkindex_worker`` logger itself."""
    return [
        (level, message)
        for name, level, message in caplog.record_tuples
        if name == "arkindex_worker"
    ]
