"""pytest plugin of the testing toolkit, registered as the `arkindex_worker` plugin.

Installing the SDK activates it in every pytest session; its fixtures do nothing
until a test asks for them, and importing it loads neither the worker classes nor
the API client.

| fixture | gives |
| --- | --- |
| `arkindex_mock_api` | a strict [MockApiClient][arkindex_worker.testing.mock.MockApiClient]: an unexpected call fails the test, and so does a registered call that never came |
| `arkindex_worker_factory` | a [WorkerFactory][arkindex_worker.testing.factories.WorkerFactory] building configured workers that use `arkindex_mock_api` |
| `arkindex_offline_database` | an [OfflineDatabase][arkindex_worker.testing.database.OfflineDatabase] in a temporary directory, for `--dev --database` |
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from arkindex_worker.testing.database import OfflineDatabase
    from arkindex_worker.testing.factories import WorkerFactory
    from arkindex_worker.testing.mock import MockApiClient

__all__ = [
    "arkindex_mock_api",
    "arkindex_offline_database",
    "arkindex_worker_factory",
    "pytest_runtest_call",
]

_MOCKS = pytest.StashKey[list]()


@pytest.fixture
def arkindex_mock_api(request: pytest.FixtureRequest) -> MockApiClient:
    """A strict mock API client, checked when the test body ends.

    A call that matches no registration fails the test at once (even inside a
    worker's `except Exception`); registrations left unused fail it at the end.
    """
    from arkindex_worker.testing.mock import MockApiClient

    mock = MockApiClient(strict=True)
    request.node.stash.setdefault(_MOCKS, []).append(mock)
    return mock


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """After a passing test body, fail on the expected calls that never came."""
    result = yield
    for mock in item.stash.get(_MOCKS, []):
        mock.assert_all_called()
    return result


@pytest.fixture
def arkindex_worker_factory(
    arkindex_mock_api: MockApiClient,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[WorkerFactory]:
    """Build configured workers using `arkindex_mock_api` as their API client.

    `factory(WorkerClass, argv, env, worker_run=None, configure=True, **kwargs)`;
    see [WorkerFactory][arkindex_worker.testing.factories.WorkerFactory.__call__].
    """
    from arkindex_worker.testing.factories import WorkerFactory

    factory = WorkerFactory(
        arkindex_mock_api, monkeypatch, tmp_path_factory.mktemp("arkindex-home")
    )
    yield factory
    factory.close()


@pytest.fixture
def arkindex_offline_database(
    tmp_path_factory: pytest.TempPathFactory,
) -> OfflineDatabase:
    """A fresh offline database (a folder, two pages with images, two lines each)."""
    from arkindex_worker.testing.database import build_offline_database

    return build_offline_database(tmp_path_factory.mktemp("arkindex-offline"))
