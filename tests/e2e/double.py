"""A loopback Arkindex API double for end-to-end tests (standard library only).

It serves, on ``127.0.0.1``, the operations an elements worker uses, over an
in-memory corpus; it records every request for assertions, checks the
``Authorization`` header and can answer a seeded share of requests with ``502``
(an HTML page, as a load balancer does) or ``429`` (``Retry-After: 0``), before
applying them, so a retried request has the same effect as a first one.
The corpus state lives in `tests.e2e.corpus`, the operation handlers in
`tests.e2e.routes`.

Targeted faults (`Fault`, added with `ArkindexDouble.inject`) hit the requests
that match an operation, a method and an ID, a number of times or for a seeded
share of them: error statuses and HTML pages (the request is not applied),
connections closed without an answer (before or after applying the request),
late answers (for read time-outs), answers cut in the middle of their JSON, and
outages (nobody listens on the port for a while: connections are refused).
`fault_mix` gives the faults of a whole fault run: a share of all API requests
dropped (before or after they are applied) and a share answered ``429``.
The reads that settle lost answers (`tests.e2e.listing_routes`) are served too.

A fixed ``latency`` can be added to every answer, as a distant server has (the
benchmarks use it): each answer leaves that long after its request arrived.

It is also the IIIF server of the corpus's images, on a port of its own (another
origin, as a real IIIF server is another host: the SDK sends its token to the
API's origin only), under ``/iiif/``: image URLs are
``{double.iiif_url}{image_id}``. It answers ``info.json`` and image requests
with real JPEG bytes (`tests.e2e.routes.iiif_image`; Pillow is then needed),
after their own ``iiif_latency``. As on a real IIIF server no token is needed;
image requests are recorded apart, in ``iiif_requests`` (``requests`` keeps the
API's), with whether an ``Authorization`` header came
(`RecordedRequest.authorization`: the SDK must never send its token there).
Targeted faults hit them too (operations `IIIF_IMAGE` and `IIIF_INFO`; an
``outage`` there only closes the connection); the ``fault_rate`` draws do not,
and API outages leave the IIIF server up.

In tests::

    with ArkindexDouble() as double:
        page = double.add_element("page", "Page 1", image=double.add_image())
        double.inject(Fault("drop-after", operation="CreateClassification"))
        ...  # run a worker with ARKINDEX_API_URL=double.url
        assert [r.operation for r in double.requests] == [...]
        assert not any(r.authorization for r in double.iiif_requests)

From a shell: ``python -m tests.e2e.double --port 8000`` prints the URL, then
serves a small demo corpus until interrupted.
"""

from __future__ import annotations

import argparse
import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.e2e.corpus import build_demo_corpus
from tests.e2e.faults import (
    ANSWERED_FAULTS,
    APPLIED_FAULTS,
    BAD_GATEWAY_PAGE,
    CUT_AT,
    FAULT_KINDS,
    NO_ANSWER,
    SERVER_ERROR,
    UNAVAILABLE_PAGE,
    Fault,
    Injection,
    fault_mix,
)
from tests.e2e.front import Handler as _Handler
from tests.e2e.listing_routes import ListingRoutes
from tests.e2e.routes import (
    API_PREFIX,
    DEFAULT_PAGE_SIZE,
    IIIF_IMAGE,
    IIIF_INFO,
    IIIF_PREFIX,
    NOT_FOUND,
    ROUTES,
    TEXT,
    Reject,
    Request,
)

__all__ = [
    "CUT_AT",
    "DEFAULT_TOKEN",
    "FAULT_KINDS",
    "IIIF_IMAGE",
    "IIIF_INFO",
    "NO_ANSWER",
    "SERVER_ERROR",
    "UNAVAILABLE_PAGE",
    "ArkindexDouble",
    "Fault",
    "RecordedRequest",
    "build_demo_corpus",
    "fault_mix",
]

DEFAULT_TOKEN = "e2e-secret-token"


@dataclass(frozen=True)
class RecordedRequest:
    """One request received by the double, with the status it was answered.

    ``injected`` requests were not applied (their answer was replaced, or their
    connection closed first); ``status`` is `NO_ANSWER` when none was sent.
    ``headers`` never hold ``Authorization``: ``authorization`` tells whether
    the request had one. ``arrived`` and ``authorization`` are left out of
    comparisons.
    """

    operation: str | None
    method: str
    path: str
    query: str
    body: Any
    headers: dict[str, str]
    status: int
    injected: bool = False
    fault: str | None = None
    """Kind of the fault that hit the request (`Fault`), applied or not."""
    arrived: float = field(default=0.0, compare=False)
    """``time.perf_counter()`` when the request arrived (orders API and IIIF ones)."""
    authorization: bool = field(default=False, compare=False)
    """Whether the request carried an ``Authorization`` header (valid or not)."""

    @property
    def params(self) -> dict[str, list[str]]:
        """The query string parsed into lists of values."""
        return parse_qs(self.query, keep_blank_values=True)


class ArkindexDouble(ListingRoutes):
    """An in-memory Arkindex API served on loopback.

    Args:
        token: the API token clients must send (``Token`` or ``Ponos`` scheme).
        fault_rate: share of requests answered 502 or 429 instead of being served.
        seed: seed of the fault draws and of the generated IDs.
        page_size: default page size of paginated lists.
        port: TCP port (0: any free port).
        latency: seconds between a request's arrival and its answer (the
            double's own work counts within the wait; faults come on top:
            a ``slow`` answer leaves ``delay`` seconds later still).
        iiif_latency: the same for the answers of the IIIF server (``None``:
            ``latency``).
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        fault_rate: float = 0.0,
        seed: int = 0,
        page_size: int = DEFAULT_PAGE_SIZE,
        port: int = 0,
        latency: float = 0.0,
        iiif_latency: float | None = None,
    ):
        self.token = token
        self.fault_rate = fault_rate
        self.page_size = page_size
        self.port = port
        self.latency = latency
        self.iiif_latency = latency if iiif_latency is None else iiif_latency
        self.first_request_at: float | None = None
        """``time.perf_counter()`` when the first request arrived (``None`` before)."""
        self._faults = random.Random(seed)
        self._seed = seed
        super().__init__(seed)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._bound_port: int | None = None
        self._iiif_server: ThreadingHTTPServer | None = None
        self._iiif_thread: threading.Thread | None = None
        self._outage: threading.Timer | None = None
        self._connections: dict[_Handler, bool] = {}
        self._seen: Counter = Counter()
        self.requests: list[RecordedRequest] = []
        """The API requests, in the order they were handled."""
        self.iiif_requests: list[RecordedRequest] = []
        """The requests to the IIIF server (``path`` from ``/iiif/`` on)."""
        self.faults: list[Fault] = []

    # ------------------------------------------------------------ life cycle

    @property
    def url(self) -> str:
        """Base URL to give clients as ``ARKINDEX_API_URL``."""
        if self._bound_port is None:
            raise RuntimeError("The double is not started")
        return f"http://127.0.0.1:{self._bound_port}/"

    @property
    def iiif_url(self) -> str:
        """Base URL of the double's IIIF server (images are ``{iiif_url}{image_id}``).

        Another port than the API's: another origin, which gets no token.
        """
        if self._iiif_server is None:
            raise RuntimeError("The double is not started")
        return f"http://127.0.0.1:{self._iiif_server.server_address[1]}{IIIF_PREFIX}"

    def iiif_base_url(self) -> str:
        """The base of image URLs: `iiif_url` once started, else unreachable."""
        if self._iiif_server is None:
            return super().iiif_base_url()
        return self.iiif_url

    def start(self) -> ArkindexDouble:
        """Start serving (the API and the IIIF server) in background threads."""
        handler = type("IIIFHandler", (_Handler,), {"double": self, "iiif": True})
        self._iiif_server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._iiif_server.daemon_threads = True
        self._iiif_thread = threading.Thread(
            target=self._iiif_server.serve_forever, args=(0.05,), daemon=True
        )
        self._iiif_thread.start()
        self._listen(self.port)
        return self

    def stop(self) -> None:
        """Stop serving and close the sockets."""
        with self._lock:
            if self._outage is not None:
                self._outage.cancel()
                self._outage = None
        self._close()
        self._bound_port = None
        if self._iiif_server is not None:
            self._iiif_server.shutdown()
            self._iiif_server.server_close()
            self._iiif_thread.join()
            self._iiif_server = None

    def _listen(self, port: int) -> None:
        handler = type("Handler", (_Handler,), {"double": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._server.daemon_threads = True
        self._bound_port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()

    def _close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._server = None

    def _start_outage(self, seconds: float) -> None:
        """Stop listening (new connections are refused), then listen again."""
        self._close()
        with self._lock:
            # Idle kept-alive connections would escape the outage
            for handler, busy in list(self._connections.items()):
                if not busy and not handler.iiif:
                    handler.hang_up()
            self._outage = threading.Timer(seconds, self._end_outage)
            self._outage.daemon = True
            self._outage.start()

    def _end_outage(self) -> None:
        with self._lock:
            if self._outage is None:  # stopped meanwhile
                return
            self._outage = None
            self._listen(self._bound_port)

    def __enter__(self) -> ArkindexDouble:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    # ------------------------------------------------------------ assertions

    def served(self) -> list[RecordedRequest]:
        """The requests really served (fault-injected answers left out)."""
        return [r for r in self.requests if not r.injected]

    def operations(self) -> list[str | None]:
        """Operation IDs of the served requests, in order."""
        return [r.operation for r in self.served()]

    def faulted(self) -> list[RecordedRequest]:
        """The requests a fault hit (`Fault`, or the ``fault_rate`` draws)."""
        return [r for r in self.requests if r.fault is not None]

    # ------------------------------------------------------------ faults

    def inject(self, *faults: Fault) -> ArkindexDouble:
        """Add targeted faults; the first one matching a request applies."""
        self.faults.extend(faults)
        return self

    def _draw(
        self, operation: str | None, method: str, target: str, raw: bytes
    ) -> Injection | None:
        """The targeted fault hitting a request, if any (call with the lock)."""
        key = f"{method} {target} {raw!r}"
        self._seen[key] += 1
        for index, fault in enumerate(self.faults):
            if not fault.matches(operation, method, target, raw):
                continue
            # Seeded by the request itself: the same requests are hit whatever
            # the order in which concurrent requests arrive
            draws = random.Random(f"{self._seed}|{index}|{key}|{self._seen[key]}")
            if fault.rate < 1 and draws.random() >= fault.rate:
                continue
            fault.hits += 1
            kinds = fault.kind if isinstance(fault.kind, tuple) else (fault.kind,)
            return Injection(draws.choice(kinds), fault.delay, fault.retry_after)
        return None

    @staticmethod
    def _injected_answer(injection: Injection) -> tuple[int, dict, Any]:
        if injection.kind == "429":
            return (
                429,
                {"Retry-After": injection.retry_after},
                {"detail": "Request was throttled."},
            )
        if injection.kind == "drop-before":
            return NO_ANSWER, {}, None
        return ANSWERED_FAULTS[injection.kind]

    @staticmethod
    def _api_path(target: str) -> str | None:
        path = urlsplit(target).path
        return path[len(API_PREFIX) :] if path.startswith(API_PREFIX) else None

    # ------------------------------------------------------------ dispatch

    def handle(self, method: str, target: str, headers: dict, raw: bytes) -> tuple:
        """Serve one request; return ``(status, extra headers, payload)``."""
        return self.dispatch(method, target, headers, raw)[:3]

    def dispatch(
        self,
        method: str,
        target: str,
        headers: dict,
        raw: bytes,
        arrived: float | None = None,
        iiif: bool = False,
    ) -> tuple:
        """Serve one request; return ``(status, extra headers, payload, injection)``.

        ``injection`` (an `Injection` or ``None``) tells how to spoil the answer;
        ``payload`` is JSON content, a text or bytes (IIIF images). ``iiif``:
        the request came to the IIIF server.
        """
        if arrived is None:
            arrived = time.perf_counter()
        if iiif:
            return self._dispatch_iiif(method, target, headers, raw, arrived)
        url = urlsplit(target)
        path = self._api_path(target)
        public = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        with self._lock:
            operation, handler, groups = self._resolve(method, path)
            injected, extra, injection, fault = False, {}, None, None
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode(errors="replace")
            try:
                if self._authorization(headers) is None:
                    raise Reject(401, {"detail": "Invalid token."})
                if self.faults:
                    injection = self._draw(operation, method, target, raw)
                if injection is not None:
                    fault = injection.kind
                if injection is not None and injection.kind not in APPLIED_FAULTS:
                    injected = True
                    status, extra, payload = self._injected_answer(injection)
                elif self.fault_rate and self._faults.random() < self.fault_rate:
                    injected = True
                    status, extra, payload = self._fault()
                    fault = str(status)
                elif handler is None:
                    raise Reject(404, NOT_FOUND)
                elif isinstance(body, str):
                    raise Reject(400, {"detail": "JSON parse error."})
                else:
                    params = parse_qs(url.query, keep_blank_values=True)
                    host = headers.get("Host", "")
                    request = Request(
                        method,
                        path,
                        url.query,
                        params,
                        body,
                        host,
                        self._authorization(headers),
                    )
                    status, payload = handler(self, request, **groups)
            except Reject as reject:
                status, payload = reject.status, reject.content
            self.requests.append(
                RecordedRequest(
                    operation,
                    method,
                    url.path if path is None else path,
                    url.query,
                    body,
                    public,
                    status,
                    injected,
                    fault,
                    arrived,
                    len(public) < len(headers),
                )
            )
            return status, extra, payload, injection

    def _dispatch_iiif(
        self, method: str, target: str, headers: dict, raw: bytes, arrived: float
    ) -> tuple:
        """Serve a request to the IIIF server (no token checked), record it apart.

        Images are made outside the lock: concurrent downloads do not queue.
        """
        url = urlsplit(target)
        public = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        operation = IIIF_INFO if url.path.endswith("/info.json") else IIIF_IMAGE
        injection = None
        if self.faults:
            with self._lock:
                injection = self._draw(operation, method, target, raw)
        injected = injection is not None and injection.kind not in APPLIED_FAULTS
        if injected:
            status, extra, payload = self._injected_answer(injection)
        elif not url.path.startswith(IIIF_PREFIX):
            status, extra, payload = 404, TEXT, "Not found"
        else:
            operation, status, extra, payload = self.iiif(
                method, url.path[len(IIIF_PREFIX) :]
            )
        with self._lock:
            self.iiif_requests.append(
                RecordedRequest(
                    operation,
                    method,
                    url.path,
                    url.query,
                    None,
                    public,
                    status,
                    injected,
                    injection.kind if injection else None,
                    arrived,
                    len(public) < len(headers),
                )
            )
        return status, extra, payload, injection

    def _fault(self) -> tuple[int, dict, Any]:
        """A throttling answer or a load balancer's HTML error page."""
        if self._faults.random() < 0.5:
            return 429, {"Retry-After": "0"}, {"detail": "Request was throttled."}
        return 502, {"Content-Type": "text/html; charset=utf-8"}, BAD_GATEWAY_PAGE

    def _resolve(self, method: str, path: str | None) -> tuple:
        if path is None:
            return None, None, {}
        for operation, route_method, pattern, name in ROUTES:
            match = pattern.match(path)
            if match and route_method == method:
                groups = {k: unquote(v) for k, v in match.groupdict().items()}
                return operation, getattr(type(self), name), groups
        return None, None, {}

    def _authorization(self, headers: dict) -> str | None:
        value = next(
            (v for k, v in headers.items() if k.lower() == "authorization"), ""
        )
        scheme, _, token = value.partition(" ")
        if scheme in ("Token", "Ponos") and token == self.token:
            return scheme
        return None


def main(argv: list[str] | None = None) -> None:
    """Serve a demo corpus until interrupted; print the URL first."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    double = ArkindexDouble(args.token, args.fault_rate, args.seed, port=args.port)
    with double:
        page_ids = build_demo_corpus(double)
        print(double.url, flush=True)
        print(f"ARKINDEX_API_TOKEN={double.token}", flush=True)
        print(f"ARKINDEX_WORKER_RUN_ID={double.worker_run_id}", flush=True)
        print(f"Pages: {' '.join(page_ids)}", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
