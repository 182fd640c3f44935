"""Tests of the small helpers of ``arkindex_worker.utils`` (04): plurals, sources, batching."""

from __future__ import annotations

import inspect
import logging

import pytest

from arkindex_worker import utils
from arkindex_worker.utils import (
    DEFAULT_BATCH_SIZE,
    batch_publication,
    make_batches,
    parse_source_id,
    pluralize,
)

BATCH_SIZE_MESSAGE = (
    "batch_size shouldn't be null and should be a strictly positive integer"
)


def test_constants():
    assert (utils.CHUNK_SIZE, DEFAULT_BATCH_SIZE, utils.MANUAL_SOURCE) == (
        1024,
        50,
        "manual",
    )


@pytest.mark.parametrize(
    ("singular", "count", "expected"),
    [
        pytest.param("element", 1, "element", id="one"),
        pytest.param("element", 2, "elements", id="regular"),
        pytest.param("set", 0, "sets", id="zero"),
        pytest.param("child", 2, "children", id="child"),
        pytest.param("class", 3, "classes", id="class"),
        pytest.param("entity", 2, "entities", id="entity"),
        pytest.param("metadata", 2, "metadata", id="metadata"),
        pytest.param("entity", 1, "entity", id="irregular-one"),
    ],
)
def test_pluralize(singular, count, expected):
    assert pluralize(singular, count) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("manual", False, id="manual"),
        pytest.param(None, None, id="none"),
        pytest.param("", None, id="empty"),
        pytest.param("some-id", "some-id", id="id"),
    ],
)
def test_parse_source_id(value, expected):
    result = parse_source_id(value)
    assert (result, type(result)) == (expected, type(expected))


# ---------------------------------------------------------------- batch_publication


class Publisher:
    @batch_publication
    def publish(self, items, batch_size: int = DEFAULT_BATCH_SIZE):
        return items, batch_size


@pytest.mark.parametrize(
    "batch_size",
    [
        pytest.param(None, id="none"),
        pytest.param(0, id="zero"),
        pytest.param(-1, id="negative"),
        pytest.param("1", id="str"),
        pytest.param(1.5, id="float"),
    ],
)
def test_batch_publication_invalid(batch_size):
    with pytest.raises(AssertionError) as e:
        Publisher().publish([1], batch_size=batch_size)
    assert str(e.value) == BATCH_SIZE_MESSAGE


def test_batch_publication_default_applied():
    assert Publisher().publish([1]) == ([1], 50)


def test_batch_publication_positional():
    assert Publisher().publish([1], 2) == ([1], 2)


def test_batch_publication_checks_default():
    class BadDefault:
        @batch_publication
        def publish(self, batch_size=None):
            return "published"

    with pytest.raises(AssertionError, match=BATCH_SIZE_MESSAGE):
        BadDefault().publish()


def test_batch_publication_keeps_signature():
    assert Publisher.publish.__name__ == "publish"
    assert list(inspect.signature(Publisher.publish).parameters) == [
        "self",
        "items",
        "batch_size",
    ]


# ---------------------------------------------------------------- make_batches


def utils_records(caplog) -> list[tuple[str, int, str]]:
    return [
        record
        for record in caplog.record_tuples
        if record[0] == "arkindex_worker.utils"
    ]


def test_make_batches(caplog):
    caplog.set_level(logging.INFO)
    assert list(make_batches([1, 2, 3, 4, 5], "element", 2)) == [[1, 2], [3, 4], [5]]
    assert utils_records(caplog) == [
        (
            "arkindex_worker.utils",
            logging.INFO,
            "Creating batches of size 2 to process 5 elements",
        ),
        (
            "arkindex_worker.utils",
            logging.INFO,
            "Processing batch 1 containing 2 elements...",
        ),
        (
            "arkindex_worker.utils",
            logging.INFO,
            "Processing batch 2 containing 2 elements...",
        ),
        (
            "arkindex_worker.utils",
            logging.INFO,
            "Processing batch 3 containing 1 element...",
        ),
    ]


def test_make_batches_empty(caplog):
    caplog.set_level(logging.INFO)
    assert list(make_batches([], "entity", 10)) == []
    assert utils_records(caplog) == [
        (
            "arkindex_worker.utils",
            logging.INFO,
            "Creating batches of size 10 to process 0 entities",
        )
    ]


def test_make_batches_is_lazy(caplog):
    caplog.set_level(logging.INFO)
    make_batches([1], "element", 1)
    assert utils_records(caplog) == []
