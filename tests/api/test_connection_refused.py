"""A real refused connection on loopback (no mock): recognised as never sent."""

from __future__ import annotations

import socket

import pytest
import requests

from arkindex_worker.api import ArkindexClient
from arkindex_worker.api.errors import UnconfirmedWriteError


@pytest.fixture
def closed_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_refused_write_is_retried(closed_port, sleeps):
    client = ArkindexClient(base_url=f"http://127.0.0.1:{closed_port}/", retries=3)
    with pytest.raises(requests.ConnectionError) as e:
        client.request("StartWorkerActivity")
    assert not isinstance(e.value, UnconfirmedWriteError)
    assert sleeps == [3, 4]
