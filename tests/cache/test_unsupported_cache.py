"""unsupported_cache: warn after helpers that do not update the cache (06)."""

from __future__ import annotations

import inspect
import logging

import pytest

from arkindex_worker.cache import unsupported_cache
from arkindex_worker.utils import batch_publication


class Helper:
    def __init__(self, use_cache):
        self.use_cache = use_cache
        self.calls = []

    @unsupported_cache
    def create_something(self, name: str, *, flag: bool = False) -> str:
        """Create something."""
        self.calls.append((name, flag))
        return f"created {name}"

    @unsupported_cache
    def failing_helper(self):
        raise ValueError("boom")

    @unsupported_cache
    @batch_publication
    def custom_publication_in_batches_without_cache(self, batch_size: int = 50):
        return batch_size


WARNING = (
    "arkindex_worker",
    logging.WARNING,
    "This API helper `create_something` did not update the cache database",
)


@pytest.mark.parametrize(
    ("use_cache", "records"),
    [
        pytest.param(True, [WARNING], id="cache"),
        pytest.param(1, [WARNING], id="truthy"),
        pytest.param(False, [], id="no-cache"),
    ],
)
def test_warning(caplog, use_cache, records):
    helper = Helper(use_cache)

    assert helper.create_something("x", flag=True) == "created x"
    assert helper.calls == [("x", True)]
    assert caplog.record_tuples == records


def test_no_warning_when_raising(caplog):
    with pytest.raises(ValueError, match="boom"):
        Helper(True).failing_helper()

    assert caplog.record_tuples == []


def test_keeps_metadata():
    method = Helper.create_something

    assert method.__name__ == "create_something"
    assert method.__doc__ == "Create something."
    assert str(inspect.signature(method)) == (
        "(self, name: 'str', *, flag: 'bool' = False) -> 'str'"
    )


def test_stacked_on_batch_publication(caplog):
    assert Helper(True).custom_publication_in_batches_without_cache() == 50
    assert caplog.record_tuples == [
        (
            "arkindex_worker",
            logging.WARNING,
            "This API helper `custom_publication_in_batches_without_cache` "
            "did not update the cache database",
        )
    ]
