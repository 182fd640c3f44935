"""Fixtures of the generation 0.6 helper tests (spec 15 §4 to §17).

The workers are configured without any request (as ``tests/conftest.py`` does)
and then follow generation 0.6: their ``generation`` and the process-wide one
(for the models, images, utils and the API client). Both are restored after
each test, so nothing leaks into the generation 0.4 tests.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from arkindex_worker import generation


def _follow_0_6(worker: Any, caplog: pytest.LogCaptureFixture) -> Any:
    # After the worker set its logger up (tests call caplog.set_level for DEBUG)
    caplog.set_level(logging.INFO, logger="arkindex_worker")
    try:
        worker.generation = generation.GENERATION_0_6
    except AttributeError:  # a read-only property: the worker keeps its decision
        worker._generation = generation.GENERATION_0_6
    assert generation.of(worker) is generation.GENERATION_0_6
    return worker


@pytest.fixture(autouse=True)
def gen06():
    """Generation 0.6 process-wide for the test, the previous one restored after."""
    published = getattr(generation, "published", generation.current)
    previous = published()
    generation.use(generation.GENERATION_0_6)
    yield generation.GENERATION_0_6
    if previous is None:
        generation.reset()
    else:
        generation.use(previous)


@pytest.fixture
def worker06(mock_elements_worker, caplog):
    """A configured ``ElementsWorker`` following generation 0.6."""
    return _follow_0_6(mock_elements_worker, caplog)


@pytest.fixture
def worker06_read_only(mock_elements_worker_read_only, caplog):
    """A read-only ``ElementsWorker`` following generation 0.6."""
    return _follow_0_6(mock_elements_worker_read_only, caplog)


@pytest.fixture
def dataset_worker06(mock_dataset_worker, caplog):
    """A configured ``DatasetWorker`` following generation 0.6."""
    return _follow_0_6(mock_dataset_worker, caplog)
