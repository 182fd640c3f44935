"""Fixtures of the text-mixin tests."""

from __future__ import annotations

import logging

import pytest


@pytest.fixture(autouse=True)
def _warnings_only(caplog):
    """Capture WARNING and above unless a test asks for more.

    The effective level otherwise depends on whether ``logging.basicConfig``
    ran before pytest installed its handlers, i.e. on test order.
    """
    caplog.set_level(logging.WARNING)
    caplog.set_level(logging.WARNING, logger="arkindex_worker")
