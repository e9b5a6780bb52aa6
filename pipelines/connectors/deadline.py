"""A wall-clock deadline for one upstream request (``UPSTREAM_REQUEST_DEADLINE``, 30 s by default).

``timeout=`` in requests bounds each socket read, not the request: a peer that sends one byte every
few seconds is never timed out (seen in practice after some hundred NSE requests in a row). So the
session's HTTP adapter remembers the connection each request runs on, and a watchdog timer shuts
that socket down when the deadline passes: the blocked read returns at once, whatever phase the
exchange is in (connecting, headers, body), and the request fails as "over the deadline".
"""

from __future__ import annotations

import socket
import threading
from contextlib import contextmanager

from requests.adapters import HTTPAdapter
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool


class _Tracker:
    """The connection the adapter's latest request took (a session serves one thread at a time)."""

    conn = None


class _TrackingMixin:
    """A connection pool that tells its adapter which connection the current request took."""

    tracker: _Tracker

    def _get_conn(self, timeout=None):
        conn = super()._get_conn(timeout)
        self.tracker.conn = conn
        return conn


class DeadlineAdapter(HTTPAdapter):
    """``HTTPAdapter`` whose requests can be cut off from another thread (see ``deadline``)."""

    def __init__(self, *args, **kwargs):
        self.tracker = _Tracker()
        super().__init__(*args, **kwargs)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        tracker = self.tracker
        self.poolmanager.pool_classes_by_scheme = {
            "http": type("TrackingHTTPPool", (_TrackingMixin, HTTPConnectionPool), {"tracker": tracker}),
            "https": type("TrackingHTTPSPool", (_TrackingMixin, HTTPSConnectionPool), {"tracker": tracker}),
        }

    def cut(self) -> None:
        """Shut the current request's socket down: its blocked read returns (or raises) at once."""
        conn = self.tracker.conn
        sock = getattr(conn, "sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed: the request is over anyway


class Deadline:
    """Whether the watchdog fired (read it after the request to tell a cut from a dropped connection)."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.expired = False


@contextmanager
def deadline(adapters: list[DeadlineAdapter], seconds: float):
    """Run the body (one request, headers and body read) under a wall-clock deadline of ``seconds``."""
    state = Deadline(seconds)
    if seconds <= 0 or not adapters:
        yield state
        return
    for adapter in adapters:
        adapter.tracker.conn = None

    def fire():
        state.expired = True
        for adapter in adapters:
            adapter.cut()

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    try:
        yield state
    finally:
        timer.cancel()
