"""Fixtures of the generation tests: payloads, workers of each generation, records."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from tests.conftest import WORKER_RUN_ID, api_url
from tests.worker.factories import worker_run_payload

WORKER_RUN_URL = api_url(f"process/workers/{WORKER_RUN_ID}/")
CONFIGURATION_URL = api_url(f"workers/runs/{WORKER_RUN_ID}/configuration/")
SCHEMA_URL = api_url("openapi/?format=json")


def item(key, value, secret=False) -> dict:
    """One item of a ``RetrieveWorkerRunConfiguration`` answer."""
    return {"key": key, "value": value, "secret": secret}


def current_worker_run(**process) -> dict:
    """A ``RetrieveWorkerRun`` answer of a 1.12+ server: no embedded configuration."""
    payload = worker_run_payload()
    del payload["worker_version"]["configuration"]
    payload["process"].update(process)
    return payload


def records(caplog, level=logging.DEBUG) -> list[tuple[int, str]]:
    """``(level, message)`` of the SDK's own records (the run log's child excluded)."""
    return [
        (r.levelno, r.getMessage())
        for r in caplog.records
        if r.name == "arkindex_worker" and r.levelno >= level
    ]


def requests_made(mock_api) -> list[tuple[str, str]]:
    """``(method, URL)`` of every request sent."""
    return [(c.request.method, c.request.url) for c in mock_api.calls]


def bodies(mock_api) -> list:
    """JSON bodies of the requests sent (``None`` without a body)."""
    return [
        json.loads(c.request.body) if c.request.body else None for c in mock_api.calls
    ]


@pytest.fixture
def argv(monkeypatch):
    """Set the command line of the next worker."""

    def set_argv(*args: str) -> None:
        monkeypatch.setattr(sys, "argv", ["worker", *args])

    return set_argv


@pytest.fixture
def compat(monkeypatch):
    """Set ``ARKINDEX_WORKER_COMPAT`` (``None`` removes it)."""

    def set_compat(value: str | None) -> None:
        if value is None:
            monkeypatch.delenv("ARKINDEX_WORKER_COMPAT", raising=False)
        else:
            monkeypatch.setenv("ARKINDEX_WORKER_COMPAT", value)

    return set_compat


@pytest.fixture
def run_configuration(mock_api):
    """Register a worker run and its configuration items on ``mock_api``."""

    def register(payload: dict | None = None, items: list | None = None) -> None:
        mock_api.get(WORKER_RUN_URL, json=payload or current_worker_run())
        if items is not None:
            mock_api.get(CONFIGURATION_URL, json={"configuration": items})

    return register
