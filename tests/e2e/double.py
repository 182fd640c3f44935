"""A loopback Arkindex API double for end-to-end tests (standard library only).

It serves, on ``127.0.0.1``, the operations an elements worker uses, over an
in-memory corpus; it records every request for assertions, checks the
``Authorization`` header and can answer a seeded share of requests with ``502``
(an HTML page, as a load balancer does) or ``429`` (``Retry-After: 0``), before
applying them, so a retried request has the same effect as a first one.
The corpus state lives in `tests.e2e.corpus`, the operation handlers in
`tests.e2e.routes`.

In tests::

    with ArkindexDouble() as double:
        page = double.add_element("page", "Page 1", image=double.add_image())
        ...  # run a worker with ARKINDEX_API_URL=double.url
        assert [r.operation for r in double.requests] == [...]

From a shell: ``python -m tests.e2e.double --port 8000`` prints the URL, then
serves a small demo corpus until interrupted.
"""

from __future__ import annotations

import argparse
import json
import random
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.e2e.corpus import build_demo_corpus
from tests.e2e.routes import (
    API_PREFIX,
    DEFAULT_PAGE_SIZE,
    NOT_FOUND,
    ROUTES,
    ArkindexRoutes,
    Reject,
    Request,
)

__all__ = [
    "DEFAULT_TOKEN",
    "ArkindexDouble",
    "RecordedRequest",
    "build_demo_corpus",
]

DEFAULT_TOKEN = "e2e-secret-token"
BAD_GATEWAY_PAGE = (
    "<html><head><title>502 Bad Gateway</title></head>"
    "<body><h1>502 Bad Gateway</h1></body></html>"
)


@dataclass(frozen=True)
class RecordedRequest:
    """One request received by the double, with the status it was answered."""

    operation: str | None
    method: str
    path: str
    query: str
    body: Any
    headers: dict[str, str]
    status: int
    injected: bool = False

    @property
    def params(self) -> dict[str, list[str]]:
        """The query string parsed into lists of values."""
        return parse_qs(self.query, keep_blank_values=True)


class ArkindexDouble(ArkindexRoutes):
    """An in-memory Arkindex API served on loopback.

    Args:
        token: the API token clients must send (``Token`` or ``Ponos`` scheme).
        fault_rate: share of requests answered 502 or 429 instead of being served.
        seed: seed of the fault draws and of the generated IDs.
        page_size: default page size of paginated lists.
        port: TCP port (0: any free port).
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        fault_rate: float = 0.0,
        seed: int = 0,
        page_size: int = DEFAULT_PAGE_SIZE,
        port: int = 0,
    ):
        self.token = token
        self.fault_rate = fault_rate
        self.page_size = page_size
        self.port = port
        self._faults = random.Random(seed)
        super().__init__(seed)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.requests: list[RecordedRequest] = []

    # ------------------------------------------------------------ life cycle

    @property
    def url(self) -> str:
        """Base URL to give clients as ``ARKINDEX_API_URL``."""
        if self._server is None:
            raise RuntimeError("The double is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def start(self) -> ArkindexDouble:
        """Start serving in a background thread."""
        handler = type("Handler", (_Handler,), {"double": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._server = None

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

    # ------------------------------------------------------------ dispatch

    def handle(self, method: str, target: str, headers: dict, raw: bytes) -> tuple:
        """Serve one request; return ``(status, extra headers, payload)``."""
        url = urlsplit(target)
        path = url.path[len(API_PREFIX) :] if url.path.startswith(API_PREFIX) else None
        public = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        with self._lock:
            operation, handler, groups = self._resolve(method, path)
            injected, extra = False, {}
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode(errors="replace")
            try:
                if self._authorization(headers) is None:
                    raise Reject(401, {"detail": "Invalid token."})
                if self.fault_rate and self._faults.random() < self.fault_rate:
                    injected = True
                    status, extra, payload = self._fault()
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
                )
            )
            return status, extra, payload

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


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 front of the double (keep-alive, JSON answers)."""

    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes: without TCP_NODELAY, each answer
    # would wait for the client's delayed ACK (about 40 ms).
    disable_nagle_algorithm = True
    double: ArkindexDouble

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        status, extra, payload = self.double.handle(
            self.command, self.path, dict(self.headers.items()), raw
        )
        if isinstance(payload, str):
            data = payload.encode()
        else:
            data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        headers = {"Content-Type": "application/json", **extra}
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: requests are recorded, not logged."""


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
