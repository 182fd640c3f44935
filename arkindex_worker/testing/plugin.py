"""pytest plugin of the testing toolkit, registered as the `arkindex_worker` plugin.

Installing the SDK activates it in every pytest session; its fixtures do nothing
until a test asks for them, and importing it loads neither the worker classes nor
the API client.

| fixture | gives |
| --- | --- |
| `arkindex_mock_api` | a strict [MockApiClient][arkindex_worker.testing.mock.MockApiClient]: an unexpected call fails the test, and so does a registered call that never came |
| `arkindex_worker_factory` | a [WorkerFactory][arkindex_worker.testing.factories.WorkerFactory] building configured workers that use `arkindex_mock_api` |
| `arkindex_offline_database` | an [OfflineDatabase][arkindex_worker.testing.database.OfflineDatabase] in a temporary directory, for `--dev --database` |
| `responses` | only when pytest-responses is not installed: a compatible `responses` fixture (an active `responses.RequestsMock`), which upstream's template conftests take |
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

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
    """After a passing test body, fail on the expected calls that never came.

    A run stopped by its failed items (``SystemExit: 1``, e.g. every element
    failed) fails the test with the first item's own error and traceback.
    """
    try:
        result = yield
    except SystemExit as stopped:
        _raise_item_error(stopped)
        raise
    for mock in item.stash.get(_MOCKS, []):
        mock.assert_all_called()
    return result


def _raise_item_error(stopped: SystemExit) -> None:
    """Raise the item error behind a `RunFailed`, if there is one."""
    from arkindex_worker.errors import RunFailed

    cause = stopped.__cause__
    if not (isinstance(stopped, RunFailed) and isinstance(cause, Exception)):
        return
    note = f"The run stopped with {type(stopped).__name__} (status {stopped.code})"
    if hasattr(cause, "add_note"):
        cause.add_note(note)
    # Shown alone: the SystemExit it replaces says nothing more
    cause.__suppress_context__ = True
    raise cause


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


@pytest.fixture(autouse=True)
def _arkindex_generation_reset() -> Iterator[None]:
    """Forget the SDK generation workers published, around every test.

    So that a worker configured the current way (generation 0.6) in one test
    does not change the image defaults of the next (spec 15 §1.5).
    """
    _reset_generation()
    yield
    _reset_generation()


def _reset_generation() -> None:
    # Only when loaded: the plugin stays cheap for suites that never import it
    module = sys.modules.get("arkindex_worker.generation")
    if module is not None:
        module.reset()


if importlib.util.find_spec("pytest_responses") is None:
    # Upstream's template conftests take pytest-responses' fixture; without that
    # plugin, ours (defined only then, so that the two never compete)

    @pytest.fixture
    def responses() -> Iterator[Any]:
        """pytest-responses' fixture: an active ``responses.RequestsMock``.

        Every HTTP request of the test goes to it: registered URLs are
        answered, passthru URLs (``add_passthru``) reach the network, any other
        raises ``requests.ConnectionError``; registered responses never
        requested fail the test at its end. Needs the ``responses`` package.
        """
        try:
            import responses as responses_package
        except ImportError:  # pragma: no cover - depends on the environment
            pytest.fail(
                "The `responses` fixture needs the responses package: add it to "
                "the test dependencies (or install pytest-responses)",
                pytrace=False,
            )
        with responses_package.RequestsMock() as mock:
            yield mock
