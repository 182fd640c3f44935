"""Set-up of the toolkit tests: pytester, and modules imported once for all.

`pytest_plugins = ["pytester"]` is refused in a conftest below the root one, so
the plugin is loaded here when pytest reads this file.
"""

from __future__ import annotations

import pytest

# Imported before any in-process pytester run: pytester removes the modules a
# run imported, and the later tests must keep seeing the same classes.
import arkindex_worker.offline
import arkindex_worker.testing.database
import arkindex_worker.testing.factories
import arkindex_worker.testing.mock
import arkindex_worker.worker  # noqa: F401


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")
    config.addinivalue_line(
        "markers",
        "slow: creates a virtual environment and installs a generated worker in it",
    )
