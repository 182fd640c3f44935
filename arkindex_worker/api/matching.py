"""Matching of what a write asked for with what a read lists (`arkindex_worker.api.confirm`).

`settle` decides, for the items of one write, whether each has its own match
among the listed objects (the write was applied), none has (it was not), or
something in between (`Undecided`). The comparisons forgive what a server
changes when it stores an object: number types, ring closure of polygons,
numbers stored as text.
"""

from __future__ import annotations

import json
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from arkindex_worker.api.retry import NOT_APPLIED
from arkindex_worker.errors import ConfirmationUndecided

__all__ = [
    "UNKNOWN",
    "KnownIds",
    "Undecided",
    "id_of",
    "known_ids",
    "plain",
    "run_of",
    "same_number",
    "same_polygon",
    "same_value",
    "settle",
    "settle_one",
    "worker_run_of",
]

UNKNOWN = object()
"""The worker run of a listed object that does not say."""
PIXEL = 1.0
EPSILON = 1e-6


Undecided = ConfirmationUndecided
"""The read cannot tell whether the write was applied (the reason as message)."""


# ---------------------------------------------------------------- comparisons


def plain(value: Any) -> Any:
    """A value as it travels in JSON (enums by value, UUIDs as text)."""
    value = getattr(value, "value", value)
    if value is not None and not isinstance(
        value, str | int | float | bool | list | dict
    ):
        return str(value)
    return value


def same_number(a: Any, b: Any) -> bool:
    """Two numbers (or two ``None``) within 1e-6 of each other."""
    a, b = plain(a), plain(b)
    if a is None or b is None:
        return a is b
    try:
        return abs(float(a) - float(b)) <= EPSILON
    except (TypeError, ValueError):
        return False


def same_value(a: Any, b: Any) -> bool:
    """Metadata values: the server may store a number as text."""
    a, b = plain(a), plain(b)
    return a == b or str(a) == str(b) or (a is not None and same_number(a, b))


def _ring(polygon: Any) -> list[tuple[float, float]] | None:
    try:
        points = [(float(x), float(y)) for x, y in polygon]
    except (TypeError, ValueError):
        return None
    if len(points) > 1 and points[0] == points[-1]:
        points.pop()
    return points


def same_polygon(a: Any, b: Any) -> bool:
    """The same points within a pixel, whether the rings are closed or not."""
    if a is None or b is None:
        return a is b
    ring_a, ring_b = _ring(a), _ring(b)
    return (
        ring_a is not None
        and ring_b is not None
        and len(ring_a) == len(ring_b)
        and all(
            abs(xa - xb) <= PIXEL and abs(ya - yb) <= PIXEL
            for (xa, ya), (xb, yb) in zip(ring_a, ring_b)
        )
    )


def id_of(value: Any) -> Any:
    """An ID, or the ``id`` of a nested object."""
    return value.get("id") if isinstance(value, dict) else plain(value)


def run_of(item: dict) -> Any:
    """The worker run ID a listed object gives, or `UNKNOWN`."""
    if "worker_run_id" in item:
        return plain(item["worker_run_id"])
    if "worker_run" in item:
        return id_of(item["worker_run"])
    return UNKNOWN


def worker_run_of(body: Any) -> str:
    """The ``worker_run_id`` of a write's body (`Undecided` without one)."""
    run = body.get("worker_run_id") if isinstance(body, dict) else None
    if not run:
        raise Undecided("the write names no worker run")
    return str(run)


# ---------------------------------------------------------------- settling


def _key(item: Any) -> str:
    return json.dumps(item, sort_keys=True, default=str)


def settle(
    wanted: list[dict],
    listed: Iterable[Any],
    same: Callable[[dict, dict], bool],
    run: str,
    what: str,
    filtered: bool = False,
) -> list[dict] | Any:
    """Match each wanted item to its own listed object, all or none.

    Listed objects of another worker run never match; those that do not say
    theirs match only when the read was ``filtered`` by ``run``.

    Returns:
        The listed objects, in the order of ``wanted``, or `NOT_APPLIED`.

    Raises:
        Undecided: some items match and others do not, or an item matches
            more objects than it stands for, or a match's worker run is unknown.
    """
    if not wanted:
        raise Undecided("the write lists no items")
    pool = [
        item
        for item in listed
        if isinstance(item, dict) and run_of(item) in (run, UNKNOWN)
    ]
    groups: dict[str, list[int]] = {}
    for index, item in enumerate(wanted):
        groups.setdefault(_key(item), []).append(index)
    found: dict[int, dict] = {}
    taken: set[int] = set()
    matched = unmatched = 0
    for indexes in groups.values():
        candidates = [
            i for i, item in enumerate(pool) if same(wanted[indexes[0]], item)
        ]
        if not candidates:
            unmatched += len(indexes)
            continue
        matched += len(indexes)
        if len(candidates) != len(indexes) or taken & set(candidates):
            raise Undecided(
                f"{len(candidates)} {what} match {len(indexes)} of the write"
            )
        if not filtered and any(run_of(pool[i]) is UNKNOWN for i in candidates):
            raise Undecided(f"the matching {what} do not say their worker run")
        taken.update(candidates)
        found.update(zip(indexes, (pool[i] for i in candidates)))
    if not matched:
        return NOT_APPLIED
    if unmatched:
        raise Undecided(f"{matched} items of the write have a match, {unmatched} not")
    return [found[index] for index in range(len(wanted))]


def settle_one(
    wanted: dict,
    listed: Iterable[Any],
    same: Callable[[dict, dict], bool],
    run: str,
    what: str,
    filtered: bool = False,
) -> Any:
    """`settle` for one item: its listed object, or `NOT_APPLIED`."""
    found = settle([wanted], listed, same, run, what, filtered)
    return found if found is NOT_APPLIED else found[0]


class KnownIds:
    """IDs of the objects a client was answered, never taken for a lost write's.

    At most `KnownIds.cap` are kept (the oldest are forgotten: their writes
    become undecided again, never wrongly settled).
    """

    cap = 100_000

    def __init__(self) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        # Background requests (the overlap) answer on other threads
        self._lock = threading.Lock()

    def add(self, ids: Iterable[Any]) -> None:
        """Remember IDs."""
        with self._lock:
            for value in ids:
                self._ids[str(value)] = None
                self._ids.move_to_end(str(value))
            while len(self._ids) > self.cap:
                self._ids.popitem(last=False)

    def __contains__(self, value: object) -> bool:
        return str(value) in self._ids


_KNOWN: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def known_ids(client: Any) -> KnownIds:
    """The `KnownIds` of a client (created on first use)."""
    try:
        return _KNOWN.setdefault(client, KnownIds())
    except TypeError:  # a client that cannot be weakly referenced
        return KnownIds()
