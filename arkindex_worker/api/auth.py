"""Authentication hook of the API client: token header and CSRF protection.

Header values are checked before anything is sent
([check_header_values][arkindex_worker.api.auth.check_header_values]): a token
holding a line break or a character outside latin-1 is refused with an
`InvalidHeaderValueError` naming the header, never showing its value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping

import requests
from requests.auth import AuthBase

from arkindex_worker.api.urls import origin
from arkindex_worker.errors import InvalidHeaderValueError

__all__ = [
    "DEFAULT_CSRF_COOKIE",
    "SAFE_METHODS",
    "TokenAuth",
    "check_header_values",
]

DEFAULT_CSRF_COOKIE = "arkindex.csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# Printable latin-1 and tabs, not starting with a space: what HTTP carries as is
_VALID_VALUE = re.compile(
    r"(?:[^\s\x00-\x1f\x7f\u0100-\U0010ffff]"
    r"[^\x00-\x08\x0a-\x1f\x7f\u0100-\U0010ffff]*)?\Z"
)


def check_header_values(headers: Mapping[str, str | bytes]) -> None:
    """Refuse header values that HTTP cannot carry, naming the header only.

    A value must be latin-1 text without control characters (tabs aside) nor
    leading whitespace: a line break would add headers to the request.

    Raises:
        InvalidHeaderValueError: A value is not valid; its message does not show it.
    """
    for name, value in headers.items():
        if value is None:  # dropped by requests
            continue
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        if not isinstance(value, str) or not _VALID_VALUE.match(value):
            hint = " (check the API token)" if name.lower() == "authorization" else ""
            raise InvalidHeaderValueError(
                f"The value of the {name} header cannot be sent: it holds a line "
                "break, a control character, leading whitespace or a character "
                f"outside latin-1{hint}"
            )


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
