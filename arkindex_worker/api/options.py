"""Constants and environment of the API client.

Client options read by [options_from_env][arkindex_worker.api.options_from_env]
(upstream names and behaviour):

| variable | keyword |
| --- | --- |
| `ARKINDEX_TASK_TOKEN` | `token`, with `auth_scheme="Ponos"` |
| `ARKINDEX_API_TOKEN` | `token`, with `auth_scheme="Token"` (no task token) |
| `ARKINDEX_API_AUTH_SCHEME` | `auth_scheme` |
| `ARKINDEX_API_URL` | `base_url` |
| `ARKINDEX_API_SCHEMA_URL` | `schema_url` |
| `ARKINDEX_API_CSRF_COOKIE` | `csrf_cookie` |

The retry settings and time-outs are read by the `ArkindexClient` constructor
itself, so that `options_from_env()` keeps the upstream output (see
`arkindex_worker.api.retry` for the retry settings):

| variable | keyword | default |
| --- | --- | --- |
| `ARKINDEX_API_CONNECT_TIMEOUT` | `connect_timeout` | 30 s |
| `ARKINDEX_API_TIMEOUT` | `read_timeout` | 60 s |
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlparse

__all__ = [
    "DEFAULT_BASE_URL",
    "REQUEST_TIMEOUT",
    "SCHEMA_ENDPOINT",
    "env_setting",
    "options_from_env",
    "request_timeout",
    "should_verify_cert",
]

DEFAULT_BASE_URL = "https://arkindex.teklia.com/"
SCHEMA_ENDPOINT = "/api/v1/openapi/?format=json"
REQUEST_TIMEOUT = (30, 60)
"""(connect, read) time-outs in seconds, passed to every API request."""
CONNECT_TIMEOUT_VARIABLE = "ARKINDEX_API_CONNECT_TIMEOUT"
READ_TIMEOUT_VARIABLE = "ARKINDEX_API_TIMEOUT"

_DIRECT_OPTIONS = (
    ("ARKINDEX_API_AUTH_SCHEME", "auth_scheme"),
    ("ARKINDEX_API_URL", "base_url"),
    ("ARKINDEX_API_SCHEMA_URL", "schema_url"),
    ("ARKINDEX_API_CSRF_COOKIE", "csrf_cookie"),
)


def options_from_env() -> dict:
    """Build the `ArkindexClient` keyword arguments from environment variables.

    Unset or empty variables are ignored; a task token wins over an API token.
    """
    options: dict = {}
    if task_token := os.environ.get("ARKINDEX_TASK_TOKEN"):
        options.update(auth_scheme="Ponos", token=task_token)
    elif api_token := os.environ.get("ARKINDEX_API_TOKEN"):
        options.update(auth_scheme="Token", token=api_token)
    for variable, key in _DIRECT_OPTIONS:
        if value := os.environ.get(variable):
            options[key] = value
    return options


def should_verify_cert(url: str | None) -> bool:
    """Whether to verify TLS certificates for `url`.

    Development instances on `ark.localhost` use self-signed certificates.
    """
    if not url:
        return True
    return not urlparse(url).netloc.endswith("ark.localhost")


def env_setting(value: Any, variable: str, default: Any, kind: type) -> Any:
    """`value`, else the environment variable converted by `kind`, else `default`.

    Raises:
        ValueError: The variable is set but `kind` cannot convert it.
    """
    if value is None:
        raw = os.environ.get(variable)
        if not raw:
            return default
        try:
            value = kind(raw)
        except ValueError:
            raise ValueError(f"{variable} must be a number, got {raw!r}") from None
    return value


def request_timeout(
    connect: float | None = None, read: float | None = None
) -> tuple[float, float]:
    """The (connect, read) time-outs: keywords, else environment, else `REQUEST_TIMEOUT`.

    Raises:
        ValueError: A time-out is not a positive number.
    """
    timeouts = (
        env_setting(connect, CONNECT_TIMEOUT_VARIABLE, REQUEST_TIMEOUT[0], float),
        env_setting(read, READ_TIMEOUT_VARIABLE, REQUEST_TIMEOUT[1], float),
    )
    for name, value in zip((CONNECT_TIMEOUT_VARIABLE, READ_TIMEOUT_VARIABLE), timeouts):
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ValueError(f"{name} must be a positive number, got {value!r}")
    return timeouts
