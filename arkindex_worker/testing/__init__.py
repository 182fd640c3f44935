"""Testing toolkit for worker authors: a mock API client, pytest fixtures, test data.

```python
from arkindex_worker.testing import MockApiClient   # was: from arkindex.mock import MockApiClient
```

The pytest plugin ([arkindex_worker.testing.plugin][]) is registered when the SDK is
installed; its fixtures are `arkindex_mock_api`, `arkindex_worker_factory` and
`arkindex_offline_database`. Names are imported lazily, so that loading the plugin
stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from arkindex_worker.testing.database import (
        OfflineDatabase,
        build_offline_database,
    )
    from arkindex_worker.testing.factories import WorkerFactory, worker_run_payload
    from arkindex_worker.testing.mock import MockApiClient, MockRequest, MockResponse

__all__ = [
    "MockApiClient",
    "MockRequest",
    "MockResponse",
    "OfflineDatabase",
    "WorkerFactory",
    "build_offline_database",
    "worker_run_payload",
]

_MODULES = {
    "MockApiClient": "mock",
    "MockRequest": "mock",
    "MockResponse": "mock",
    "OfflineDatabase": "database",
    "build_offline_database": "database",
    "WorkerFactory": "factories",
    "worker_run_payload": "factories",
}


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use."""
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
