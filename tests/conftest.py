"""Fixtures shared by the whole test suite.

Unit tests talk to a fake Arkindex at ``http://testserver/api/v1/`` through
``responses``; end-to-end tests (``tests/e2e``) use a real loopback server.
"""

from __future__ import annotations

import os
import sys
import time

import pytest
import responses

BASE_URL = "http://testserver/api/v1/"
API_TOKEN = "unittest1234"
WORKER_RUN_ID = "56785678-5678-5678-5678-567856785678"
PROCESS_ID = "cafecafe-cafe-cafe-cafe-cafecafecafe"
CORPUS_ID = "11111111-1111-1111-1111-111111111111"
TASK_ID = "deadbeef-dead-beef-dead-beefdeadbeef"

# Variables a developer's shell or an Arkindex task may set: every test starts
# without them, so no test depends on the machine it runs on.
_ENV_PREFIXES = ("ARKINDEX_", "PONOS_")
_ENV_NAMES = ("TASK_ELEMENTS", "SKIP_TASK_ELEMENTS", "XDG_DATA_HOME", "XDG_CONFIG_HOME")


def api_url(path: str) -> str:
    """Full URL of an API path relative to ``/api/v1/``."""
    return BASE_URL + path


@pytest.fixture(autouse=True)
def _no_shared_http_client(monkeypatch):
    """Each test starts without the download client an earlier test's worker set."""
    monkeypatch.setattr("arkindex_worker.api.shared._downloads_client", None)


@pytest.fixture(autouse=True)
def _no_local_images(monkeypatch):
    """Each test starts online: local images off, whatever an earlier offline client did."""
    monkeypatch.setattr("arkindex_worker.local_images._root", None)


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch, tmp_path):
    """Clear Arkindex variables, keep data and config dirs in a temp dir, fix argv."""
    for name in list(os.environ):
        if name.startswith(_ENV_PREFIXES) or name in _ENV_NAMES:
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setattr(sys, "argv", ["worker"])


@pytest.fixture(autouse=True)
def sleeps(monkeypatch, request):
    """Record ``time.sleep`` calls instead of waiting (retries stay fast).

    Tests marked ``real_sleep`` keep the real function.
    """
    calls: list[float] = []
    if request.node.get_closest_marker("real_sleep") is None:
        monkeypatch.setattr(time, "sleep", calls.append)
    return calls


def pytest_configure(config):
    config.addinivalue_line("markers", "real_sleep: keep the real time.sleep")


@pytest.fixture
def mock_api():
    """An active ``responses`` mock that fails on unused registrations."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def api_env(monkeypatch):
    """Environment of a worker run inside an Arkindex process."""
    monkeypatch.setenv("ARKINDEX_API_URL", BASE_URL)
    monkeypatch.setenv("ARKINDEX_API_TOKEN", API_TOKEN)
    monkeypatch.setenv("ARKINDEX_WORKER_RUN_ID", WORKER_RUN_ID)
    monkeypatch.setenv("ARKINDEX_CORPUS_ID", CORPUS_ID)


def _process_information(mode: str = "workers") -> dict:
    return {
        "id": PROCESS_ID,
        "corpus": CORPUS_ID,
        "mode": mode,
        "activity_state": "ready",
    }


def _configured(worker, argv: list[str], read_only: bool = False):
    """Give a worker what ``configure()`` would, without any request."""
    worker.args = worker.parser.parse_args(argv)
    worker.config = {}
    worker.secrets = {}
    worker.worker_details = {"name": "Fake worker"}
    worker._corpus_id = CORPUS_ID
    if not read_only:
        worker.process_information = _process_information()
    return worker


@pytest.fixture
def mock_elements_worker(api_env, mock_api):
    """A configured ``ElementsWorker`` (not read-only), with ``mock_api`` active."""
    from arkindex_worker.worker import ElementsWorker

    return _configured(ElementsWorker(), [])


@pytest.fixture
def mock_elements_worker_read_only(api_env, mock_api):
    """A configured ``ElementsWorker`` in developer (read-only) mode."""
    from arkindex_worker.worker import ElementsWorker

    return _configured(ElementsWorker(), ["--dev"], read_only=True)


@pytest.fixture
def mock_dataset_worker(api_env, mock_api):
    """A configured ``DatasetWorker`` in a dataset process."""
    from arkindex_worker.worker import DatasetWorker

    worker = _configured(DatasetWorker(), [])
    worker.process_information["mode"] = "dataset"
    return worker


@pytest.fixture
def cache_path(tmp_path):
    """Path of an initialised, empty cache database (the models are bound to it)."""
    from arkindex_worker.cache import create_tables, create_version_table, init_cache_db

    path = tmp_path / "db.sqlite"
    init_cache_db(path)
    create_version_table()
    create_tables()
    return path


@pytest.fixture
def mock_cached_elements_worker(mock_elements_worker, cache_path):
    """``mock_elements_worker`` with the cache enabled on ``cache_path``."""
    mock_elements_worker.support_cache = True
    mock_elements_worker.use_cache = True
    mock_elements_worker.cache_path = cache_path
    return mock_elements_worker
