"""The HTTP/1.1 front of the API double (`tests/e2e/double.py`): keep-alive, JSON answers.

It reads each request, hands it to `ArkindexDouble.dispatch`, waits for the
double's latency, then answers, or misbehaves as the request's injected fault
says (drop, slow, cut, outage).
"""

from __future__ import annotations

import json
import socket
import time
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

from tests.e2e.faults import CUT_AT

if TYPE_CHECKING:
    from tests.e2e.double import ArkindexDouble


class Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 front of the double (keep-alive, JSON answers)."""

    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes: without TCP_NODELAY, each answer
    # would wait for the client's delayed ACK (about 40 ms).
    disable_nagle_algorithm = True
    double: ArkindexDouble
    iiif: bool = False
    """Whether this is the IIIF server's handler (else the API's)."""
    arrived: float = 0.0
    """``time.perf_counter()`` when the request being served arrived."""

    def setup(self) -> None:
        """Register the connection as idle."""
        super().setup()
        with self.double._lock:
            self.double._connections[self] = False

    def finish(self) -> None:
        """Forget the connection."""
        with self.double._lock:
            self.double._connections.pop(self, None)
        try:
            super().finish()
        except OSError:  # the client went away first
            pass

    def hang_up(self) -> None:
        """Close an idle kept-alive connection (its client will reconnect)."""
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def parse_request(self) -> bool:
        """Note the arrival of a request (its first line read), then parse it."""
        self.arrived = time.perf_counter()
        double = self.double
        if double.first_request_at is None:
            with double._lock:
                if double.first_request_at is None:
                    double.first_request_at = self.arrived
        return super().parse_request()

    def _serve(self) -> None:
        with self.double._lock:
            self.double._connections[self] = True
        try:
            self._answer()
        except OSError:  # the client gave up waiting (read time-out)
            self.close_connection = True
        finally:
            with self.double._lock:
                if self in self.double._connections:
                    self.double._connections[self] = False

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        status, extra, payload, injection = self.double.dispatch(
            self.command,
            self.path,
            dict(self.headers.items()),
            raw,
            self.arrived,
            self.iiif,
        )
        kind = injection.kind if injection else None
        latency = self.double.iiif_latency if self.iiif else self.double.latency
        if latency:
            remaining = self.arrived + latency - time.perf_counter()
            if remaining > 0:
                time.sleep(remaining)
        if kind in ("drop-before", "drop-after"):
            self.close_connection = True
            return
        if kind == "slow":
            time.sleep(injection.delay)
        if kind == "outage":
            # On the IIIF server: only this connection closes, the API stays up
            if not self.iiif:
                self.double._start_outage(injection.delay)
            extra = {**extra, "Connection": "close"}
        if isinstance(payload, bytes):
            data = payload
        elif isinstance(payload, str):
            data = payload.encode()
        else:
            data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        headers = {"Content-Type": "application/json", **extra}
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if kind == "cut":
            self.wfile.write(data[:CUT_AT])
            self.close_connection = True
            return
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: requests are recorded, not logged."""
