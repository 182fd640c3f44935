"""The client whose session sends the downloads and uploads given only a URL.

`arkindex_worker.image` and the storage helpers of the task and training
mixins get a URL, not a client: they send through `http_client()`, so that
they share the worker's connections, proxies, time-outs and retry policy.
"""

from __future__ import annotations

from arkindex_worker.api.client import ArkindexClient
from arkindex_worker.api.options import options_from_env

__all__ = ["http_client", "use_for_downloads"]

_downloads_client: ArkindexClient | None = None


def use_for_downloads(client: ArkindexClient) -> None:
    """Send the module-level downloads and uploads through ``client``'s session.

    Workers call it with their API client when they are built, so that
    `arkindex_worker.image` and the other helpers that get only a URL share
    its connections, proxies, time-outs and retry policy.
    """
    global _downloads_client
    _downloads_client = client


def http_client(api_client: object = None) -> ArkindexClient:
    """The client whose session sends downloads and uploads given only a URL.

    ``api_client`` itself when it is an `ArkindexClient` (a worker's own);
    else the last one passed to `use_for_downloads`; without any, a client
    built from the environment (`options_from_env`), once.
    """
    global _downloads_client
    if isinstance(api_client, ArkindexClient):
        return api_client
    if _downloads_client is None:
        _downloads_client = ArkindexClient(**options_from_env())
    return _downloads_client
