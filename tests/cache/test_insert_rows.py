"""insert_rows: large write-through inserts, all or nothing."""

from __future__ import annotations

import uuid

import peewee
import pytest

from arkindex_worker import cache
from arkindex_worker.cache import CachedElement, CachedTranscription, insert_rows


def element_rows(count: int) -> list[dict]:
    return [{"id": str(uuid.uuid4()), "type": "page"} for _ in range(count)]


def test_more_rows_than_one_statement_holds(cache_path, monkeypatch):
    monkeypatch.setattr(cache, "MAX_VARIABLES", 10)
    insert_rows(CachedElement, element_rows(25))
    assert CachedElement.select().count() == 25


def test_large_insert_with_real_limit(cache_path):
    rows = element_rows(20_000)
    insert_rows(CachedElement, rows)
    assert CachedElement.select().count() == 20_000


def test_integrity_error_rejects_every_row(cache_path, monkeypatch):
    monkeypatch.setattr(cache, "MAX_VARIABLES", 10)
    CachedElement.create(id="12341234-1234-1234-1234-123412341234", type="page")
    rows = [
        {
            "id": str(uuid.uuid4()),
            "element_id": "12341234-1234-1234-1234-123412341234",
            "text": "ok",
            "orientation": "horizontal-lr",
        }
        for _ in range(9)
    ]
    # The last row points at a missing element: its statement fails, all roll back
    rows.append({**rows[0], "id": str(uuid.uuid4()), "element_id": str(uuid.uuid4())})
    with pytest.raises(peewee.IntegrityError):
        insert_rows(CachedTranscription, rows)
    assert CachedTranscription.select().count() == 0


def test_no_rows(cache_path):
    insert_rows(CachedElement, [])
    assert CachedElement.select().count() == 0
