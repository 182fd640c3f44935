"""The comparisons and the all-or-nothing rule of `arkindex_worker.api.matching`."""

from __future__ import annotations

import uuid
from enum import Enum

import pytest

from arkindex_worker.api.matching import (
    KnownIds,
    Undecided,
    run_of,
    same_number,
    same_polygon,
    same_value,
    settle,
    worker_run_of,
)
from arkindex_worker.api.retry import NOT_APPLIED

RUN = "run-1"


class Kind(Enum):
    NUMERIC = "numeric"


def same_name(wanted: dict, item: dict) -> bool:
    return wanted["name"] == item["name"]


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ([[0, 0], [0, 5], [5, 5]], [[0, 0], [0, 5], [5, 5], [0, 0]], True),
        ([[0, 0], [0, 5], [5, 5]], [[0.4, 0], [0, 5.9], [5, 5]], True),
        ([[0, 0], [0, 5], [5, 5]], [[0, 0], [0, 7], [5, 5]], False),
        ([[0, 0], [0, 5], [5, 5]], [[0, 0], [0, 5]], False),
        ([[0, 0], [0, 5], [5, 5]], None, False),
        (None, None, True),
        ([["a", 0]], [["a", 0]], False),
    ],
)
def test_same_polygon(a, b, same):
    assert same_polygon(a, b) is same


def test_same_number_and_value():
    assert same_number(0.5, 0.5000001)
    assert not same_number(0.5, 0.51)
    assert not same_number(None, 0.0)
    assert same_number(None, None)
    assert same_value("2", 2)
    assert same_value(2.0, "2")
    assert not same_value("2", "3")
    assert same_value(Kind.NUMERIC, "numeric")
    assert same_value(uuid.UUID(int=1), str(uuid.UUID(int=1)))


def test_run_of_reads_every_shape():
    assert run_of({"worker_run_id": RUN}) == RUN
    assert run_of({"worker_run": {"id": RUN, "summary": "x"}}) == RUN
    assert run_of({"worker_run": None}) is None
    assert run_of({}) is not None  # unknown


def test_worker_run_of_needs_one():
    assert worker_run_of({"worker_run_id": uuid.UUID(int=2)}) == str(uuid.UUID(int=2))
    with pytest.raises(Undecided, match="the write names no worker run"):
        worker_run_of({"name": "x"})


def test_identical_items_need_as_many_objects():
    wanted = [{"name": "a"}, {"name": "a"}, {"name": "b"}]
    listed = [
        {"id": 1, "name": "a", "worker_run_id": RUN},
        {"id": 2, "name": "b", "worker_run_id": RUN},
        {"id": 3, "name": "a", "worker_run_id": RUN},
    ]
    assert [i["id"] for i in settle(wanted, listed, same_name, RUN, "x")] == [1, 3, 2]
    with pytest.raises(Undecided, match="2 x match 1 of the write"):
        settle(wanted[1:], listed, same_name, RUN, "x")


def test_other_runs_never_match_unknown_ones_block():
    other = [{"id": 1, "name": "a", "worker_run_id": "run-2"}]
    assert settle([{"name": "a"}], other, same_name, RUN, "x") is NOT_APPLIED
    unknown = [{"id": 1, "name": "a"}]
    with pytest.raises(Undecided, match="do not say their worker run"):
        settle([{"name": "a"}], unknown, same_name, RUN, "x")
    # A read filtered by the run vouches for its objects
    found = settle([{"name": "a"}], unknown, same_name, RUN, "x", filtered=True)
    assert found == unknown


def test_part_of_a_bulk_write_is_undecided():
    listed = [{"id": 1, "name": "a", "worker_run_id": RUN}]
    with pytest.raises(Undecided, match="1 items of the write have a match, 1 not"):
        settle([{"name": "a"}, {"name": "b"}], listed, same_name, RUN, "x")


def test_known_ids_forget_the_oldest(monkeypatch):
    monkeypatch.setattr(KnownIds, "cap", 2)
    known = KnownIds()
    known.add(["a", "b"])
    known.add([uuid.UUID(int=3)])
    assert "a" not in known
    assert "b" in known
    assert str(uuid.UUID(int=3)) in known
