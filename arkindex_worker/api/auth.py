"""Authentication hook of the API client: token header and CSRF protection."""

from __future__ import annotations

from collections.abc import MutableMapping

import requests
from requests.auth import AuthBase

from arkindex_worker.api.urls import origin

__all__ = ["DEFAULT_CSRF_COOKIE", "SAFE_METHODS", "TokenAuth"]

DEFAULT_CSRF_COOKIE = "arkindex.csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class TokenAuth(AuthBase):
    """Send `Authorization: {scheme} {token}` and echo the CSRF cookie on writes.

    Only requests to `origin` get them: storage, IIIF and any other server never
    see the token.

    Attributes:
        token: The token, or `None` for anonymous requests.
        scheme: `Token` (a user's API token), `Ponos` (a task token) or any other
            scheme, sent verbatim.
        csrf_cookie: Name of the cookie holding the CSRF token.
        origin: ``scheme://host[:port]`` of the API (see
            `arkindex_worker.api.urls.origin`); `None` authorises every request.
    """

    def __init__(
        self,
        token: str | None = None,
        scheme: str = "Token",
        csrf_cookie: str = DEFAULT_CSRF_COOKIE,
        origin: str | None = None,
    ) -> None:
        self.token = token
        self.scheme = scheme
        self.csrf_cookie = csrf_cookie
        self.csrf_token: str | None = None
        self.origin = origin

    def __repr__(self) -> str:
        # Never show the token.
        return f"<{type(self).__name__} scheme={self.scheme!r}>"

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if self.origin is None or origin(request.url) == self.origin:
            self.authorize(request.method, request.headers)
            request.register_hook("response", self.remember_csrf)
        return request

    def authorize(self, method: str, headers: MutableMapping[str, str]) -> None:
        """Add the `Authorization` and CSRF headers of a request to `headers`."""
        if self.token:
            headers["Authorization"] = f"{self.scheme} {self.token}"
        if self.csrf_token and method not in SAFE_METHODS:
            headers["X-CSRFToken"] = self.csrf_token

    def strip(self, headers: MutableMapping[str, str]) -> None:
        """Remove from `headers` what `authorize` added."""
        if self.token and headers.get("Authorization") == f"{self.scheme} {self.token}":
            del headers["Authorization"]
        headers.pop("X-CSRFToken", None)

    def remember_csrf(self, response: requests.Response, **kwargs) -> None:
        """Keep the CSRF token an answer's cookies hold, for the next writes."""
        value = response.cookies.get(self.csrf_cookie)
        if value:
            self.csrf_token = value
