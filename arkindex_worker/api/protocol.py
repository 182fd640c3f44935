"""`ApiClient`: what the worker mixins need from their `api_client`.

The mixins reach Arkindex through two methods only, so any object that has them
can stand in for the client:

| client | answers from |
| --- | --- |
| [ArkindexClient][arkindex_worker.api.ArkindexClient] | the Arkindex server |
| [OfflineClient][arkindex_worker.offline.OfflineClient] | the local cache database |
| [MockApiClient][arkindex_worker.testing.MockApiClient] | registered answers (tests) |

The three check their calls with `arkindex_worker.api.validation`, so a call one
refuses (unknown operation or parameter, missing parameter) the others refuse too,
with the same `ClientError`.

The contract leaves out, on purpose, what only an `ArkindexClient` (the mock is
one) has, and the worker only uses while it has one:

- `build_url`, `http_request`: downloads from a server (corpus exports, files),
  which cannot happen offline;
- `server_has_operation`, `lookup_operation`, `document`: the server's schema,
  read while configuring, before the offline client replaces the real one;
- `close`: the real and offline clients each have one, and they are closed by
  whoever knows which one they built.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

__all__ = ["ApiClient"]


@runtime_checkable
class ApiClient(Protocol):
    """The seam between the worker mixins and Arkindex.

    `isinstance(client, ApiClient)` checks that both methods exist, not their
    signatures.
    """

    def request(self, operation_id: str, **parameters: Any) -> Any:
        """Call an operation; the JSON body is the `body` keyword.

        Raises:
            ClientError: The call is invalid (`arkindex_worker.api.validation`).
            ErrorResponse: The operation failed.
        """
        ...

    def paginate(self, operation_id: str, **parameters: Any) -> Any:
        """Iterate over all the results of a listing operation.

        `retries` and `allow_missing_data` are read by the paginator, never sent.

        Raises:
            ClientError: The call is invalid (`arkindex_worker.api.validation`).
            ErrorResponse: A page failed.
        """
        ...
