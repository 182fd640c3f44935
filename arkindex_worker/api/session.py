"""The client's one `requests.Session`: origins, redirects and credentials.

Every HTTP exchange of the SDK (API calls, IIIF images, artifact and export
downloads, storage uploads) goes through the `ArkindexSession` of an
[ArkindexClient][arkindex_worker.api.ArkindexClient], so all of them share its
connection pool, TLS verification, time-outs and proxy settings. Environment
proxies, CA bundles and ``.netrc`` behave as `requests` makes them behave by
default.

Redirects:

| request | answer | what happens |
| --- | --- | --- |
| GET, HEAD, OPTIONS | any redirect | followed, to any origin |
| POST, PUT, PATCH, DELETE | 301, 302, 303 | `RedirectedWriteError` (never turned into a GET) |
| POST, PUT, PATCH, DELETE | 307, 308 to the API's origin | same method and body re-sent |
| POST, PUT, PATCH, DELETE | 307, 308 elsewhere | `RedirectedWriteError` |

The API token is only ever sent to the API's origin (scheme, host and port):
`arkindex_worker.api.auth.TokenAuth` adds it to nothing else, and a
redirect leaving that origin drops it. No `Referer` header is sent.

Every request's header values, the token's included, are checked before it is
sent, its redirects' too (`arkindex_worker.api.auth.check_header_values`): an
invalid one raises `InvalidHeaderValueError`, which names the header only.
"""

from __future__ import annotations

import os
from typing import Any

import requests

from arkindex_worker.api.auth import SAFE_METHODS, TokenAuth, check_header_values
from arkindex_worker.api.errors import RedirectedWriteError
from arkindex_worker.api.urls import for_messages, origin

__all__ = ["ArkindexSession"]

WRITE_KEEPING_REDIRECTS = frozenset({307, 308})
ENVIRONMENT_NAMES = (
    *(
        name
        for base in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
        for name in (base, base.upper())
    ),
    "REQUEST_METHOD",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
)
"""The variables `requests` reads for the settings of an HTTP(S) request.

Proxies, proxy exclusions (``REQUEST_METHOD`` disables ``HTTP_PROXY``, as in
CGI scripts) and CA bundles; on Linux nothing else decides them.
"""


class ArkindexSession(requests.Session):
    """A `requests.Session` that keeps writes and the token where they belong.

    Attributes:
        api_origin: Origin of the Arkindex API (see `origin`); the only one
            that receives the token and re-sent writes.
    """

    def __init__(self, api_origin: str | None = None) -> None:
        super().__init__()
        self.api_origin = api_origin
        self._environment_settings: dict[tuple, dict[str, Any]] = {}

    def merge_environment_settings(
        self,
        url: str,
        proxies: dict,
        stream: Any,
        verify: Any,
        cert: Any,
    ) -> dict[str, Any]:
        """`requests`' own settings from the environment, computed once per origin.

        `requests` walks the whole environment twice at every request (a
        quarter of its work per call); its answer only depends on the
        request's origin and `ENVIRONMENT_NAMES`, which are read each time.
        """
        if proxies or not origin(url):
            return super().merge_environment_settings(
                url, proxies, stream, verify, cert
            )
        key = (
            origin(url),
            tuple(map(os.environ.get, ENVIRONMENT_NAMES)),
            self.trust_env,
            tuple(sorted(self.proxies.items())),
            self.verify if isinstance(self.verify, bool | str) else id(self.verify),
            stream,
            verify,
            cert if isinstance(cert, str | tuple | None) else id(cert),
        )
        settings = self._environment_settings.get(key)
        if settings is None:
            settings = super().merge_environment_settings(
                url, proxies, stream, verify, cert
            )
            self._environment_settings = {key: settings}
        return {**settings, "proxies": dict(settings["proxies"])}

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        """Prepare a request, refusing invalid header values without showing them."""
        check_header_values(request.headers or {})
        return super().prepare_request(request)

    def send(
        self, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        """Send a prepared request, after checking its header values.

        Raises:
            InvalidHeaderValueError: A header value HTTP cannot carry (not shown).
        """
        check_header_values(request.headers)
        return super().send(request, **kwargs)

    def rebuild_method(
        self, prepared_request: requests.PreparedRequest, response: requests.Response
    ) -> None:
        """Refuse to redirect a write anywhere but to a 307/308 on the API's origin.

        `requests` turns a POST answered 301, 302 or 303 into a GET: the
        answer of that GET would then be taken for the write's.
        """
        method = prepared_request.method
        if method not in SAFE_METHODS and (
            response.status_code not in WRITE_KEEPING_REDIRECTS
            or origin(prepared_request.url) != self.api_origin
        ):
            raise RedirectedWriteError(
                f"{method} {for_messages(response.request.url)} was answered "
                f"{response.status_code} {response.reason}, a redirect to "
                f"{for_messages(prepared_request.url)}: a write is not redirected, so it "
                "was not sent there. Check the API URL (http:// instead of "
                "https://, a missing trailing slash, another host).",
                response=response,
                request=response.request,
            )
        super().rebuild_method(prepared_request, response)

    def resolve_redirects(self, *args, yield_requests: bool = False, **kwargs):
        """Follow redirects; a write redirect that is not followed is no error.

        With ``allow_redirects=False``, `requests` still builds the request a
        redirect leads to (`Response.next`) through this method: for a write
        that `rebuild_method` refuses, the redirect answer itself is returned.
        """
        if not yield_requests:
            yield from super().resolve_redirects(*args, **kwargs)
            return
        try:
            yield from super().resolve_redirects(*args, yield_requests=True, **kwargs)
        except RedirectedWriteError:
            return

    def rebuild_auth(
        self, prepared_request: requests.PreparedRequest, response: requests.Response
    ) -> None:
        """Drop the API token on a redirect that leaves the API's origin."""
        super().rebuild_auth(prepared_request, response)
        if origin(prepared_request.url) == self.api_origin:
            return
        if isinstance(self.auth, TokenAuth):
            self.auth.strip(prepared_request.headers)
