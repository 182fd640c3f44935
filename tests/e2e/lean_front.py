"""A lean HTTP/1.1 front for the API double, for benchmarks.

`ArkindexDouble` serves through ``http.server``, whose parsing of each request
(``email`` header parser, buffered files, one handler object per connection)
costs about a millisecond of CPU per request, in the benchmark's own process:
enough to hide the client's cost. `LeanFront` serves the same double (same
routes, same recorded requests, same locking) over raw sockets: one thread per
connection, keep-alive, ``Content-Length`` bodies only, and an optional fixed
latency: each answer leaves exactly that long after its request arrived (the
double's own work happens within the wait). It knows no targeted fault:
fault-injection tests use the double's own front.

Usage::

    double = ArkindexDouble()
    with LeanFront(double, latency=0.005) as front:
        ...  # ARKINDEX_API_URL=front.url
"""

from __future__ import annotations

import json
import os
import socket
import struct
import sys
import threading
import time
from http import HTTPStatus
from typing import Any

from tests.e2e.double import ArkindexDouble

__all__ = ["LeanFront"]

HEADERS_END = b"\r\n\r\n"
SLEEP_OVERSHOOT = 0.0002
"""Seconds ``time.sleep`` may wake up late (measured: about 0.1 ms)."""


class LeanFront:
    """Serve ``double`` on loopback, each answer after ``latency`` seconds."""

    def __init__(self, double: ArkindexDouble, latency: float = 0.0) -> None:
        self.double = double
        self.latency = latency
        self.first_request_at: float | None = None
        self._socket: socket.socket | None = None

    @property
    def url(self) -> str:
        """Base URL to give clients as ``ARKINDEX_API_URL``."""
        if self._socket is None:
            raise RuntimeError("The front is not started")
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}/"

    def __enter__(self) -> LeanFront:
        self._socket = socket.create_server(("127.0.0.1", 0))
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._socket.close()
        self._socket = None

    def _accept(self) -> None:
        listener = self._socket
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:  # closed by __exit__
                return
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(
                target=self._serve, args=(connection,), daemon=True
            ).start()

    def _serve(self, connection: socket.socket) -> None:
        _yield_to_clients()
        buffer = b""
        timestamps = _enable_timestamps(connection)
        with connection:
            while True:
                arrived = None
                while HEADERS_END not in buffer:
                    if timestamps and not buffer:
                        chunk, arrived = _receive_timestamped(connection)
                    else:
                        chunk = connection.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                head, _, buffer = buffer.partition(HEADERS_END)
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = dict(line.split(": ", 1) for line in lines[1:])
                length = next(
                    (
                        int(v)
                        for k, v in headers.items()
                        if k.lower() == "content-length"
                    ),
                    0,
                )
                while len(buffer) < length:
                    chunk = connection.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                raw, buffer = buffer[:length], buffer[length:]
                answer = self._answer(method, target, headers, raw, arrived)
                connection.sendall(answer)

    def _answer(
        self,
        method: str,
        target: str,
        headers: dict,
        raw: bytes,
        arrived: float | None = None,
    ) -> bytes:
        if arrived is None:
            arrived = time.perf_counter()
        if self.first_request_at is None:
            self.first_request_at = arrived
        status, extra, payload = self.double.handle(method, target, headers, raw)
        if isinstance(payload, str):
            data = payload.encode()
        else:
            data = b"" if payload is None else json.dumps(payload).encode()
        fields = {"Content-Type": "application/json", **extra}
        fields["Content-Length"] = str(len(data))
        head = f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n" + "".join(
            f"{name}: {value}\r\n" for name, value in fields.items()
        )
        answer = head.encode("latin-1") + b"\r\n" + data
        if self.latency:
            wait_until(arrived + self.latency)
        return answer


def _yield_to_clients() -> None:
    """Run the calling thread at batch priority, where supported.

    A woken thread at normal priority preempts the thread that woke it: each
    request would wait, inside the client's ``send``, for the double to parse
    and apply it. At batch priority the double works beside the client, as a
    server on another machine does.
    """
    if hasattr(os, "sched_setscheduler") and hasattr(os, "SCHED_BATCH"):
        try:
            os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
        except OSError:  # refused by a sandbox: only the figures suffer
            pass


# Linux: the kernel stamps each received packet (SO_TIMESTAMPNS)
SO_TIMESTAMPNS = 35
TIMESPEC = struct.Struct("@qq")


def _enable_timestamps(connection: socket.socket) -> bool:
    """Ask the kernel for arrival times of the packets of ``connection``."""
    if sys.platform != "linux":
        return False
    try:
        connection.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    except OSError:
        return False
    return True


def _receive_timestamped(connection: socket.socket) -> tuple[bytes, float | None]:
    """Received bytes and the time (``time.perf_counter``) they reached the socket.

    The latency is counted from there rather than from when this thread woke
    up: waking a thread up is the double's cost, not the client's.
    """
    data, ancillary, _flags, _address = connection.recvmsg(
        65536, socket.CMSG_SPACE(TIMESPEC.size)
    )
    for level, kind, value in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
            seconds, nanoseconds = TIMESPEC.unpack(value[: TIMESPEC.size])
            clock_offset = time.time() - time.perf_counter()
            return data, seconds + nanoseconds / 1e9 - clock_offset
    return data, None


def wait_until(deadline: float) -> None:
    """Sleep until ``deadline`` (``time.perf_counter``), without oversleeping.

    ``time.sleep`` wakes up about 0.1 ms late on Linux: the end of the wait is
    spent yielding the processor instead.
    """
    remaining = deadline - time.perf_counter()
    if remaining > SLEEP_OVERSHOOT:
        time.sleep(remaining - SLEEP_OVERSHOOT)
    while time.perf_counter() < deadline:
        time.sleep(0)
