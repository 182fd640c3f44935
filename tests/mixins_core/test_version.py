"""Tests of ``arkindex_worker.worker.version`` (05)."""

from __future__ import annotations

import warnings

import pytest

from arkindex_worker.worker.version import worker_version_deprecation
from tests.conftest import api_url

VERSION_ID = "12341234-1234-1234-1234-123412341234"
VERSION = {"id": VERSION_ID, "worker": {"slug": "dummy-slug", "name": "Dummy"}}
DEPRECATION = "WorkerVersion usage is deprecated."


def test_decorator_warns_and_calls():
    @worker_version_deprecation
    def double(value):
        """Doc."""
        return value * 2

    with pytest.warns(DeprecationWarning, match=DEPRECATION) as record:
        assert double(21) == 42
    assert len(record) == 1
    assert record[0].filename == __file__
    assert double.__name__ == "double"
    assert double.__doc__ == "Doc."


def test_get_worker_version_none(mock_elements_worker):
    with (
        pytest.warns(DeprecationWarning, match=DEPRECATION),
        pytest.raises(ValueError, match="^No worker version ID$"),
    ):
        mock_elements_worker.get_worker_version(None)


def test_get_worker_version_cached(mock_elements_worker, mock_api):
    mock_api.get(api_url(f"workers/versions/{VERSION_ID}/"), json=VERSION)

    with pytest.warns(DeprecationWarning, match=DEPRECATION):
        first = mock_elements_worker.get_worker_version(VERSION_ID)
        second = mock_elements_worker.get_worker_version(VERSION_ID)

    assert first == second == VERSION
    assert len(mock_api.calls) == 1
    assert mock_elements_worker._worker_version_cache == {VERSION_ID: VERSION}


def test_get_worker_version_slug(mock_elements_worker, mock_api):
    mock_api.get(api_url(f"workers/versions/{VERSION_ID}/"), json=VERSION)

    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        assert mock_elements_worker.get_worker_version_slug(VERSION_ID) == "dummy-slug"
    assert [(w.category, str(w.message)) for w in record] == [
        (DeprecationWarning, DEPRECATION),
        (DeprecationWarning, DEPRECATION),
    ]


def test_get_worker_version_slug_none(mock_elements_worker):
    with (
        pytest.warns(DeprecationWarning, match=DEPRECATION),
        pytest.raises(ValueError, match="^No worker version ID$"),
    ):
        mock_elements_worker.get_worker_version_slug(None)
