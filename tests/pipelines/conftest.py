"""Fixtures for the connector tests: a real HTTP server on loopback speaking an upstream's format.

``upstream`` starts a ``ThreadingHTTPServer`` on 127.0.0.1 in a thread and points every upstream
base URL at it (simulation off, short timeouts, tiny backoff). Tests script it per path:
``upstream.script("/api/quote-equity", Reply(500), Reply(200, json=…))``: replies are served in
order, the last one repeats. Every request is recorded in ``upstream.requests``.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest


@dataclass
class Reply:
    status: int = 200
    json: object = None
    body: bytes | str | None = None
    headers: dict = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (to provoke client timeouts)
    trickle: float = 0.0  # seconds between single bytes of the answer, status line included
    content_type: str | None = None

    def encoded(self) -> tuple[bytes, str]:
        if self.json is not None:
            return json.dumps(self.json).encode(), self.content_type or "application/json; charset=utf-8"
        body = self.body if self.body is not None else b""
        if isinstance(body, str):
            body = body.encode()
        return body, self.content_type or "text/plain; charset=utf-8"


@dataclass
class Seen:
    path: str
    query: dict
    headers: dict
    at: float


class Upstream:
    def __init__(self):
        self.scripts: dict[str, list[Reply]] = {}
        self.requests: list[Seen] = []
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def script(self, path: str, *replies: Reply) -> None:
        self.scripts[path] = list(replies)

    def calls(self, path: str) -> list[Seen]:
        return [r for r in self.requests if r.path == path]

    def next_reply(self, path: str) -> Reply:
        with self.lock:
            replies = self.scripts.get(path)
            if not replies:
                return Reply(404, body="<html><body>Not Found</body></html>", content_type="text/html")
            return replies.pop(0) if len(replies) > 1 else replies[0]


def _handler(upstream: Upstream):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # keep the test output clean
            pass

        def do_GET(self):
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            upstream.requests.append(Seen(parts.path, query, dict(self.headers.items()), time.monotonic()))
            reply = upstream.next_reply(parts.path)
            if reply.delay:
                time.sleep(reply.delay)
            body, content_type = reply.encoded()
            if reply.trickle:
                self._trickle(reply, body, content_type)
                return
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout or size cap): that is the point of some tests

        def _trickle(self, reply, body, content_type):
            """A peer that never stalls long enough for a read timeout, and never finishes either."""
            head = f"HTTP/1.1 {reply.status} OK\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
            try:
                for byte in head.encode() + body:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(reply.trickle)
            except (BrokenPipeError, ConnectionResetError, OSError):
                pass  # the client cut the exchange: what the deadline is for
            self.close_connection = True

    return Handler


@pytest.fixture
def upstream(settings):
    """A local HTTP server standing in for NSE, X and Telegram; settings point the connectors at it."""
    state = Upstream()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.server = server
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    settings.SIMULATE_UPSTREAMS = False
    for name in ("NSE_BASE_URL", "NSE_ARCHIVES_URL", "TWITTER_BASE_URL", "TELEGRAM_BASE_URL", "TELEGRAM_PREVIEW_URL"):
        setattr(settings, name, state.url)
    settings.TWITTER_BEARER_TOKEN = "test-bearer-token"
    settings.TELEGRAM_BOT_TOKEN = "123456:TEST-token"
    settings.UPSTREAM_TIMEOUT = 0.5
    settings.UPSTREAM_BACKOFF = 0.01
    settings.UPSTREAM_MAX_ATTEMPTS = 3
    settings.UPSTREAM_RETRY_WAIT_CAP = 5
    settings.NSE_API_MIN_INTERVAL = 0
    settings.NSE_BHAVCOPY_MIN_INTERVAL = 0
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def sim(settings):
    """The simulated upstream at a fixed clock (a Wednesday, 11:20 IST, mid-session) and seed."""
    settings.SIMULATE_UPSTREAMS = True
    settings.SIMULATOR_NOW = "2025-03-05T11:20:00+05:30"
    settings.SIMULATOR_SEED = 42
    settings.TWITTER_BEARER_TOKEN = ""
    settings.TELEGRAM_BOT_TOKEN = ""
    return settings
