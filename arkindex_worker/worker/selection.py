"""The elements a run is given: an elements list file, IDs to check, offline selection."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator

from peewee import SQL, chunked

from arkindex_worker import logger
from arkindex_worker.validation import check

__all__ = [
    "SelectedElements",
    "invalid_uuids",
    "load_elements_list",
    "missing_ids",
    "offline_elements",
]


_JSON_KINDS = {
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    list: "a list",
    type(None): "null",
}


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
    for position, item in enumerate(data, start=1):
        check(
            isinstance(item, dict),
            'Elements list must hold objects such as {"id": "<element UUID>"}: '
            f"item {position} is {_JSON_KINDS.get(type(item), type(item).__name__)}",
        )
    return [item.get("id") for item in data if item.get("id")]


def invalid_uuids(values: Iterable[str]) -> list[str]:
    """Those of ``values`` that are not UUIDs, as strings."""
    invalid = []
    for value in values:
        try:
            uuid.UUID(value)
        except (ValueError, TypeError, AttributeError):
            invalid.append(str(value))
    return invalid


# Rows read at a time; no query stays open between elements, so that other
# processes can write to the database (see arkindex_worker.offline_runs)
_PAGE = 100
# Missing IDs named in the error
_SHOWN = 20


class SelectedElements:
    """The elements an offline run processes, in order, read page by page.

    Holds their IDs only; `len()` is their number. Iterating yields the rows
    as the offline listings do (see `arkindex_worker.offline_records`).

    Args:
        worker: the offline worker.
        ids: the elements' IDs as stored (32 hex digits).
    """

    def __init__(self, worker, ids: list[str]) -> None:
        self.worker = worker
        self.ids = ids

    def __len__(self) -> int:
        return len(self.ids)

    def __bool__(self) -> bool:
        return bool(self.ids)

    def __iter__(self) -> Iterator:
        from arkindex_worker.cache import CachedElement
        from arkindex_worker.offline_records import offline_rows

        for page in chunked(self.ids, _PAGE):
            query = CachedElement.select().where(CachedElement.id.in_(page))
            rows = {row.id.hex: row for row in offline_rows(self.worker, query)}
            for element_id in page:
                if element_id in rows:
                    yield rows[element_id]


def missing_ids(ids: Iterable[str]) -> list[str]:
    """Those of ``ids`` (as given) with no row in the cache's ``elements`` table."""
    from arkindex_worker.cache import CachedElement

    ids = list(dict.fromkeys(ids))
    found = set()
    for page in chunked(ids, 500):
        query = CachedElement.select(CachedElement.id).where(CachedElement.id.in_(page))
        found.update(row.id.hex for row in query)
    return [value for value in ids if uuid.UUID(value).hex not in found]


def _initial_ids() -> list[str]:
    from arkindex_worker.cache import CachedElement

    query = (
        CachedElement.select(CachedElement.id)
        .where(CachedElement.initial == True)  # noqa: E712 (peewee expression)
        .order_by(SQL("rowid"))
        .tuples()
    )
    return [uuid.UUID(str(value)).hex for (value,) in query]


def offline_elements(worker) -> SelectedElements:
    """The elements of an offline run (our addition; see ``get_elements``).

    ``--elements-list`` and ``--element`` select among the database's elements,
    checked as online (same messages); without them, the ``initial`` rows.
    Elements an earlier run processed are left out, unless ``--rerun``.

    Raises:
        AssertionError: the list is not a non-empty JSON list, some IDs are
            not UUIDs, or some are not in the database.
        json.JSONDecodeError: the elements list is not JSON.
    """
    args = worker.args
    if args.elements_list:
        given = load_elements_list(args.elements_list)
    elif args.element:
        given = list(args.element)
    else:
        given = None

    if given is None:
        ids = _initial_ids()
    else:
        invalid = invalid_uuids(given)
        check(not invalid, f"These element IDs are invalid: {', '.join(invalid)}")
        missing = missing_ids(given)
        shown = ", ".join(missing[:_SHOWN]) + (
            f" and {len(missing) - _SHOWN} more" if len(missing) > _SHOWN else ""
        )
        check(
            not missing,
            f"These element IDs are not in the database {worker.cache_path}: {shown}",
        )
        ids = [uuid.UUID(value).hex for value in given]

    run = getattr(worker, "offline_run", None)
    if run is None:
        return SelectedElements(worker, ids)
    if not run.rerun:
        done = run.processed_ids(ids)
        if done:
            ids = [value for value in ids if value not in done]
            logger.info(
                f"Skipping {len(done)} elements already processed in "
                f"{worker.cache_path} (--rerun processes them again)"
            )
    if ids:
        run.start()
    return SelectedElements(worker, ids)
