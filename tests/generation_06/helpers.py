"""Small helpers of the generation 0.6 tests."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["page_of", "sent", "worker_logs"]


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


def worker_logs(caplog, name: str = "arkindex_worker") -> list[tuple[int, str]]:
    """``(level, message)`` of the records of one logger itself."""
    return [
        (level, message)
        for logger, level, message in caplog.record_tuples
        if logger == name
    ]
