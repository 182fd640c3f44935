"""initial_elements(): the lazy query behind ElementsWorker.get_elements (03, 06)."""

from __future__ import annotations

import uuid

import pytest

from arkindex_worker.cache import (
    CachedElement,
    InitialElementsQuery,
    db,
    initial_elements,
)

# Not in id order, to tell insertion order from any sort.
IDS = [
    uuid.UUID("cccccccc-cccc-cccc-cccc-cccccccccccc"),
    uuid.UUID("aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"),
    uuid.UUID("dddddddd-dddd-dddd-dddd-dddddddddddd"),
    uuid.UUID("bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb"),
]


@pytest.fixture
def elements(cache_path):
    """Four elements, the first three initial."""
    for index, id in enumerate(IDS):
        CachedElement.create(id=id, type="page", initial=index < 3)


@pytest.fixture
def statements(monkeypatch):
    """SQL statements run on the cache database from now on."""
    executed: list[str] = []
    execute_sql = db.execute_sql

    def recording_execute_sql(sql, *args, **kwargs):
        executed.append(sql)
        return execute_sql(sql, *args, **kwargs)

    monkeypatch.setattr(db, "execute_sql", recording_execute_sql)
    return executed


def test_iteration_yields_initial_elements_in_insertion_order(elements):
    rows = list(initial_elements())

    assert all(isinstance(row, CachedElement) for row in rows)
    assert [row.id for row in rows] == IDS[:3]


def test_iteration_does_not_cache_rows(elements, statements):
    query = initial_elements()

    first = [row.id for row in query]
    second = [row.id for row in query]

    assert first == second == IDS[:3]
    assert query._cursor_wrapper is None
    assert len(statements) == 2


def test_len_runs_count(elements, statements):
    assert len(initial_elements()) == 3
    assert len(statements) == 1
    assert statements[0].startswith("SELECT COUNT(1) FROM (SELECT ")


def test_bool_runs_exists(elements, statements):
    assert initial_elements()
    assert len(statements) == 1
    assert statements[0].startswith("SELECT EXISTS(SELECT ")


@pytest.mark.usefixtures("cache_path")
def test_empty():
    CachedElement.create(id=IDS[0], type="page", initial=False)
    query = initial_elements()

    assert not query
    assert len(query) == 0
    assert list(query) == []


def test_chained_calls_keep_laziness(elements):
    query = initial_elements().order_by("id")

    assert isinstance(query, InitialElementsQuery)
    assert query.count() == 3
    assert [row.id for row in query] == IDS[:3]


def test_where_filters(elements):
    query = initial_elements().where(CachedElement.id == str(IDS[1]))

    assert [row.id for row in query] == [IDS[1]]
