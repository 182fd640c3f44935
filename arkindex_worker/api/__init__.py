"""Client of the Arkindex REST API (replaces the upstream `arkindex` package).

```python
client = ArkindexClient(**options_from_env())
client.request("RetrieveElement", id="…")
client.paginate("ListProcessSets", id="…")
```

Modules: `client` (the client), `schema` (operations read from OpenAPI documents,
the bundled `openapi.json`), `pagination`, `download` (response decoding), `retry`
(the one retry policy and its environment variables), `session` (the one
`requests` session: redirects, where the token goes), `urls`, `auth`, `errors`
(exception tree), `options`
(constants and `options_from_env`).
"""

from __future__ import annotations

from arkindex_worker.api.client import ArkindexClient
from arkindex_worker.api.download import DownloadedFile
from arkindex_worker.api.errors import (
    ArkindexClientError,
    ArkindexConflictError,
    ArkindexError,
    ArkindexServerError,
    ArkindexValidationError,
    ClientError,
    ErrorMessage,
    ErrorResponse,
    RedirectedWriteError,
    SchemaError,
    UnconfirmedWriteError,
    UnexpectedContentError,
)
from arkindex_worker.api.options import (
    DEFAULT_BASE_URL,
    REQUEST_TIMEOUT,
    SCHEMA_ENDPOINT,
    options_from_env,
    should_verify_cert,
)
from arkindex_worker.api.pagination import PaginationMode, ResponsePaginator

__all__ = [
    "DEFAULT_BASE_URL",
    "REQUEST_TIMEOUT",
    "SCHEMA_ENDPOINT",
    "ArkindexClient",
    "ArkindexClientError",
    "ArkindexConflictError",
    "ArkindexError",
    "ArkindexServerError",
    "ArkindexValidationError",
    "ClientError",
    "DownloadedFile",
    "ErrorMessage",
    "ErrorResponse",
    "PaginationMode",
    "RedirectedWriteError",
    "ResponsePaginator",
    "SchemaError",
    "UnconfirmedWriteError",
    "UnexpectedContentError",
    "options_from_env",
    "should_verify_cert",
]
