"""URL helpers of the HTTP layer: origins, credentials, URLs fit for messages."""

from __future__ import annotations

import functools
from urllib.parse import urlsplit, urlunsplit

import requests

__all__ = ["for_messages", "hide_queries", "origin", "without_credentials"]

DEFAULT_PORTS = {"http": 80, "https": 443}


@functools.lru_cache(maxsize=64)
def origin(url: str | None) -> str | None:
    """``scheme://host[:port]`` of an HTTP(S) URL, without credentials.

    Default ports are left out and the host is lower-cased, so equal origins
    compare equal. `None` for anything that is not an HTTP(S) URL.
    """
    if not url:
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    if port is not None and port != DEFAULT_PORTS[parts.scheme]:
        host = f"{host}:{port}"
    return f"{parts.scheme}://{host}"


def without_credentials(url: str) -> str:
    """``url`` with any ``user:password@`` part removed."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=netloc))


def for_messages(url: str) -> str:
    """A URL for messages: no credentials, no query (pre-signed URLs hold secrets)."""
    parts = urlsplit(without_credentials(url))
    return urlunsplit(parts._replace(query="", fragment=""))


def hide_queries(
    error: requests.RequestException, *urls: str | None
) -> requests.RequestException | None:
    """A copy of `error` whose message shows none of the queries of `urls`.

    urllib3 names the URL of a connection that failed in its messages; the
    query of a pre-signed URL is a secret. `None` when no query shows.
    """
    message = str(error)
    hidden = message
    for url in urls:
        query = urlsplit(url).query if url else ""
        if query:
            hidden = hidden.replace(f"?{query}", "")
    if hidden == message:
        return None
    try:
        return type(error)(hidden, request=error.request, response=error.response)
    except TypeError:
        return requests.RequestException(
            hidden, request=error.request, response=error.response
        )
