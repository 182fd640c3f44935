"""The elements a run is given: an elements list file, IDs to check."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable

from arkindex_worker.validation import check

__all__ = ["invalid_uuids", "load_elements_list"]


def load_elements_list(file) -> list[str]:
    """IDs listed in an elements list JSON file (items without ``id`` are skipped)."""
    try:
        with file:
            data = json.load(file)
    except json.JSONDecodeError as e:
        raise json.JSONDecodeError(
            f"Elements list {file.name} is not valid JSON: {e.msg}", e.doc, e.pos
        ) from None
    check(isinstance(data, list), "Elements list must be a list")
    check(len(data) > 0, "No elements in elements list")
    return [item.get("id") for item in data if item.get("id")]


def invalid_uuids(values: Iterable[str]) -> list[str]:
    invalid = []
    for value in values:
        try:
            uuid.UUID(value)
        except (ValueError, TypeError, AttributeError):
            invalid.append(str(value))
    return invalid
