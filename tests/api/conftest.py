"""Fixtures of the API client tests."""

from __future__ import annotations

import logging

import pytest

from arkindex_worker.api import ArkindexClient
from tests.conftest import API_TOKEN, BASE_URL


@pytest.fixture
def client() -> ArkindexClient:
    """A client on the test server, with the default retry policy."""
    return ArkindexClient(token=API_TOKEN, base_url=BASE_URL)


def capture_api_logs(caplog) -> pytest.LogCaptureFixture:
    """Capture every record of the ``arkindex_worker.api`` logger, DEBUG included.

    Call it from the test body: pytest's configured log level applies per phase.
    """
    caplog.set_level(logging.DEBUG, logger="arkindex_worker.api")
    return caplog


def page(results: list, count: int | None = None, next_url: str | None = None) -> dict:
    """A paginated payload."""
    payload = {"results": results, "next": next_url}
    if count is not None:
        payload["count"] = count
    return payload
