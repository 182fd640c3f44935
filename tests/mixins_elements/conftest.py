"""Helpers and cache fixtures of the element and classification mixin tests."""

from __future__ import annotations

import json
import logging

import pytest

from tests.conftest import CORPUS_ID, WORKER_RUN_ID

ELEMENT_ID = "12341234-1234-1234-1234-123412341234"
IMAGE_ID = "99999999-9999-9999-9999-999999999999"
# Rows of the `cached_elements` fixture.
TOP_ID = "99999999-0000-0000-0000-000000000000"
PAGE_ID = ELEMENT_ID
CHILD_1 = "11111111-1111-1111-1111-111111111111"
CHILD_2 = "22222222-2222-2222-2222-222222222222"
CHILD_3 = "33333333-3333-3333-3333-333333333333"
WORKER_VERSION_ID = "56785678-5678-5678-5678-567856785678"

# Batching boundaries of the bulk helpers: (items, batch_size, expected batch sizes)
BATCH_BOUNDARIES = [
    pytest.param(1, 2, [1], id="one"),
    pytest.param(2, 2, [2], id="batch-size"),
    pytest.param(3, 2, [2, 1], id="batch-size-plus-one"),
    pytest.param(51, 50, [50, 1], id="default-plus-one"),
]


def element(element_id: str = ELEMENT_ID, *, zone: bool = True, **extra):
    """An API element of the corpus, on an image unless ``zone`` is false."""
    from arkindex_worker.models import Element

    payload = {"id": element_id, "name": "0", "corpus": {"id": CORPUS_ID}, "zone": None}
    if zone:
        payload["zone"] = {
            "image": {
                "id": IMAGE_ID,
                "width": 42,
                "height": 24,
                "url": "http://www.fake.com/iiif/image",
            }
        }
    payload.update(extra)
    return Element(payload)


def calls(mock_api) -> list[tuple[str, str, object]]:
    """``(method, url, decoded JSON body or None)`` of every request sent."""
    return [
        (
            call.request.method,
            call.request.url,
            json.loads(call.request.body) if call.request.body else None,
        )
        for call in mock_api.calls
    ]


def records(caplog, name: str = "arkindex_worker") -> list[tuple[int, str]]:
    """``(level, message)`` of the INFO-or-louder records of one logger."""
    return [
        (record.levelno, record.getMessage())
        for record in caplog.records
        if record.name == name and record.levelno >= logging.INFO
    ]


@pytest.fixture
def cached_elements(mock_cached_elements_worker):
    """Five cached elements: a folder, a page and three children of the page.

    type ``page``: 1; worker run set: 2 (children 1, 2); worker version set: 3
    (page, children 1, 2).
    """
    from arkindex_worker.cache import CachedElement

    rows = [
        (TOP_ID, None, "folder", None, None),
        (PAGE_ID, TOP_ID, "page", WORKER_VERSION_ID, None),
        (CHILD_1, PAGE_ID, "text_line", WORKER_VERSION_ID, WORKER_RUN_ID),
        (CHILD_2, PAGE_ID, "text_line", WORKER_VERSION_ID, WORKER_RUN_ID),
        (CHILD_3, PAGE_ID, "text_line", None, None),
    ]
    for element_id, parent_id, element_type, version_id, run_id in rows:
        CachedElement.create(
            id=element_id,
            parent_id=parent_id,
            type=element_type,
            worker_version_id=version_id,
            worker_run_id=run_id,
        )
    return mock_cached_elements_worker
