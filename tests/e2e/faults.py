"""Faults the API double injects (`tests.e2e.double`): kinds, targets, shares.

A [Fault][tests.e2e.faults.Fault] hits the requests that match it (an
operation, a method, an ID), a number of times or for a seeded share of them;
`fault_mix` gives the faults of a whole fault run. The double applies them in
its dispatch (`Injection` tells its HTTP front how to spoil an answer).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from tests.e2e.routes import IIIF_IMAGE, IIIF_INFO

__all__ = [
    "ANSWERED_FAULTS",
    "APPLIED_FAULTS",
    "BAD_GATEWAY_PAGE",
    "CUT_AT",
    "FAULT_KINDS",
    "NO_ANSWER",
    "SERVER_ERROR",
    "UNAVAILABLE_PAGE",
    "Fault",
    "Injection",
    "fault_mix",
]

BAD_GATEWAY_PAGE = (
    "<html><head><title>502 Bad Gateway</title></head>"
    "<body><h1>502 Bad Gateway</h1></body></html>"
)
UNAVAILABLE_PAGE = (
    "<html><head><title>503 Service Unavailable</title></head>"
    "<body><h1>503 Service Unavailable</h1></body></html>"
)
FRONTEND_PAGE = (
    "<!DOCTYPE html><html><head><title>Arkindex</title></head>"
    '<body><div id="app"></div></body></html>'
)
SERVER_ERROR = {
    "type": "server_error",
    "errors": [{"attr": None, "code": "error", "detail": "A server error occurred."}],
}
HTML = {"Content-Type": "text/html; charset=utf-8"}
NO_ANSWER = 0
"""Status recorded for a request whose connection was closed without an answer."""

ANSWERED_FAULTS = {
    "500": (500, {}, SERVER_ERROR),
    "502": (502, HTML, BAD_GATEWAY_PAGE),
    "503": (503, HTML, UNAVAILABLE_PAGE),
    "html": (200, HTML, FRONTEND_PAGE),
}
"""Faults answered instead of the request: status, headers, body."""
APPLIED_FAULTS = ("drop-after", "slow", "cut", "outage")
"""Faults that apply the request first, then spoil or delay its answer."""
FAULT_KINDS = (*ANSWERED_FAULTS, "429", "drop-before", *APPLIED_FAULTS)
CUT_AT = 10
"""Bytes of the JSON body sent before a ``cut`` answer closes the connection."""


@dataclass
class Fault:
    """A fault injected into the requests that match it.

    Kinds, the request not applied: ``500`` (an Arkindex JSON server error),
    ``502`` and ``503`` (HTML pages, as a load balancer answers), ``429`` (with
    ``Retry-After``), ``html`` (a 200 HTML page, as a web front-end answers),
    ``drop-before`` (the connection closed without an answer). The request
    applied first: ``drop-after`` (then closed without an answer), ``slow``
    (answered after ``delay`` seconds), ``cut`` (``Content-Length`` announces the
    whole JSON body, only its first `CUT_AT` bytes are sent, then the connection
    is closed), ``outage`` (answered with ``Connection: close``, then the port
    is closed for ``delay`` seconds: new connections are refused).

    Args:
        kind: one of `FAULT_KINDS`, or a tuple of them drawn at random.
        operation: only requests of this operationId.
        method: only requests with this HTTP method.
        element: only requests whose path or JSON body holds this ID.
        times: how many matching requests to hit (``None``: no limit).
        rate: share of the matching requests hit (seeded, reproducible draws).
        delay: seconds of a ``slow`` answer or of an ``outage``.
        retry_after: ``Retry-After`` header of a ``429``.
        api_only: never hit the IIIF server's requests.
    """

    kind: str | tuple[str, ...]
    operation: str | None = None
    method: str | None = None
    element: str | None = None
    times: int | None = 1
    rate: float = 1.0
    delay: float = 1.0
    retry_after: str = "0"
    api_only: bool = False
    hits: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        kinds = self.kind if isinstance(self.kind, tuple) else (self.kind,)
        unknown = set(kinds) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"Unknown fault kinds: {sorted(unknown)}")

    def matches(
        self, operation: str | None, method: str, target: str, raw: bytes
    ) -> bool:
        """Whether a request is one this fault may hit (its budget left)."""
        return (
            (self.times is None or self.hits < self.times)
            and not (self.api_only and operation in (IIIF_IMAGE, IIIF_INFO))
            and self.operation in (None, operation)
            and self.method in (None, method)
            and (
                self.element is None
                or self.element in target
                or self.element.encode() in raw
            )
        )


def fault_mix(dropped: float = 0.05, throttled: float = 0.05) -> list[Fault]:
    """Seeded faults on a share of every API request, for a whole run.

    ``dropped``: connections closed without an answer, half before applying the
    request (``drop-before``), half after (``drop-after``); ``throttled``:
    answered ``429`` (``Retry-After: 0``). Shares of all the API requests (the
    second fault only draws among the requests the first spared).
    """
    return [
        Fault(("drop-before", "drop-after"), times=None, rate=dropped, api_only=True),
        Fault("429", times=None, rate=throttled / (1 - dropped), api_only=True),
    ]


class Injection(NamedTuple):
    """What to do with the answer of a request a fault hit."""

    kind: str
    delay: float
    retry_after: str
