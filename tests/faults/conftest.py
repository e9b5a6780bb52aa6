"""Fixtures of the fault-tolerance tests: real processes, real services, broken on purpose.

Everything these tests break is their own. Child processes (Celery workers, beat, management commands)
run in process groups of their own and are killed at teardown, whatever happened. The PostgreSQL and
Redis they stop are private instances on free ports, never the machine's shared ones (5432, 6379). The
upstream is a local HTTP server speaking NSE's quote API from the simulated market, which can hold an
answer while the test breaks something (``NseUpstream.before_quote``).
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from pipelines.connectors.nse import QUOTES_PER_BATCH
from pipelines.services import process as etl_process
from tests.conftest import ROOT, worker_env

# The child processes' settings: the project's, without the quote connector's politeness delay.
CHILD_SETTINGS = "tests.faults.settings"
# The simulated market's clock for these tests: a Wednesday, mid-session.
SIM_NOW = "2025-03-05T11:20:00+05:30"
# Tickers added to the NIFTY 50 so one quote run spans three lake objects (200 quotes per object).
EXTRA_TICKERS = 400


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate: Callable[[], object], *, timeout: float, interval: float = 0.2):
    """Poll ``predicate`` until it returns something truthy (returned) or ``timeout`` passes (None)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            return None
        time.sleep(interval)


def child_env(**extra) -> dict:
    """A child's environment: this test's database, broker and lake, the children's settings, ``extra``."""
    return worker_env(DJANGO_SETTINGS_MODULE=CHILD_SETTINGS, SIMULATOR_NOW=SIM_NOW, **extra)


# ---- child processes --------------------------------------------------------------------------------


class Child:
    """One child process in a process group of its own, its output in a log file."""

    def __init__(self, name: str, argv: list[str], env: dict, log: Path):
        self.name, self.argv, self.env, self.log = name, argv, env, log
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.pid = self.proc.pid

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_output(self, text: str, *, timeout: float) -> bool:
        def seen():
            if not self.alive and text not in self.output():
                raise RuntimeError(f"{self.name} exited ({self.proc.returncode}):\n{self.output()[-3000:]}")
            return text in self.output()

        return bool(wait_for(seen, timeout=timeout))

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise

    def signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        """SIGKILL the whole group at once: no handler runs, nothing is acknowledged or cleaned up."""
        self.signal_group(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.alive:
            self.signal_group(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
        # Whatever the leader did, nothing of its group may outlive the test.
        self.signal_group(signal.SIGKILL)
        if self.alive:
            self.proc.wait(timeout=30)


class Children:
    """The child processes of one test; ``stop_all`` (at teardown) ends every one of them."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.started: list[Child] = []

    def start(self, name: str, argv: list[str], env: dict) -> Child:
        child = Child(name, argv, env, self.folder / f"{name}-{len(self.started)}.log")
        self.started.append(child)
        return child

    def worker(self, env: dict, *, name: str = "worker") -> Child:
        """A real Celery worker (solo pool, as in the other worker tests), returned once it is ready."""
        from config.celery import app

        app.control.purge()  # what earlier tests queued without a worker is not this test's
        argv = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--loglevel=INFO"]
        argv += ["--without-gossip", "--without-mingle", "--hostname", f"{name}-{os.getpid()}-{time.time_ns()}@%h"]
        child = self.start(name, argv, env)
        assert child.wait_output("ready.", timeout=60), f"{name} not ready in 60 s:\n{child.output()[-3000:]}"
        return child

    def beat(self, env: dict) -> Child:
        """A real celery beat on the database scheduler (the project's CELERY_BEAT_SCHEDULER)."""
        argv = [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel=INFO", "--max-interval=1"]
        argv += ["--schedule", str(self.folder / "celerybeat-schedule")]
        child = self.start("beat", argv, env)
        assert child.wait_output("beat: Starting", timeout=60), f"beat did not start:\n{child.output()[-3000:]}"
        return child

    def manage(self, *args: str, env: dict, name: str = "manage") -> Child:
        return self.start(name, [sys.executable, "manage.py", *args], env)

    def stop_all(self) -> None:
        for child in reversed(self.started):
            child.stop()


@pytest.fixture
def children(tmp_path):
    registry = Children(tmp_path)
    try:
        yield registry
    finally:
        registry.stop_all()


def manage_json(script: str, *, env: dict, timeout: float = 60) -> dict:
    """Run ``script`` in ``manage.py shell`` (a child with ``env``); it prints one JSON line last."""
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        start_new_session=True,
    )
    assert result.returncode == 0, f"manage.py shell failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return json.loads(result.stdout.strip().splitlines()[-1])


def broker_unacked(task_id: str, *, forget: bool = False) -> int:
    """How many messages of ``task_id`` the Redis broker holds unacknowledged (0 on other brokers).

    A worker SIGKILLed during an ``acks_late`` task leaves its message there; Redis hands it out again
    after the visibility timeout (an hour), to whatever worker then listens on that database. A test
    that kills a worker on the shared Redis removes it (``forget=True``) so it cannot reach a later test.
    """
    from django.conf import settings

    if not settings.CELERY_BROKER_URL.startswith("redis"):
        return 0
    import redis

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        found = 0
        for tag, raw in client.hgetall("unacked").items():  # kombu's Redis transport keeps them here
            if json.loads(raw)[0]["headers"].get("id") == task_id:
                found += 1
                if forget:
                    client.hdel("unacked", tag)
                    client.zrem("unacked_index", tag)
        return found
    finally:
        client.close()


@pytest.fixture
def unacked_cleanup():
    """Append the ids of tasks whose worker the test kills: their messages leave the broker at teardown
    (requested before ``children``, so it runs after every child is gone)."""
    task_ids: list[str] = []
    yield task_ids
    for task_id in task_ids:
        broker_unacked(task_id, forget=True)


# ---- the local NSE upstream -------------------------------------------------------------------------


def extra_symbols() -> list[str]:
    return [f"FLT{i:04d}" for i in range(EXTRA_TICKERS)]


def extra_tickers_create() -> list[str]:
    """Add the made-up tickers to the ticker master of the current database; its active NSE symbols."""
    from warehouse.models import Ticker

    rows = [Ticker(symbol=symbol, name=f"{symbol} Limited", exchange="NSE") for symbol in extra_symbols()]
    Ticker.objects.bulk_create(rows, ignore_conflicts=True)
    return list(Ticker.objects.filter(active=True, exchange="NSE").order_by("symbol").values_list("symbol", flat=True))


EXTRA_TICKERS_SCRIPT = """
import json
from tests.faults.conftest import extra_tickers_create
print(json.dumps({"symbols": extra_tickers_create()}))
"""


class NseUpstream:
    """NSE's quote API on loopback: NextApi ``GetQuoteApi`` answers the simulated market's quote
    (``getSymbolData``) at ``SIM_NOW``, and its ``getMetaData``.

    ``before_quote(n, action)`` runs ``action`` (in the server thread) before answering the n-th
    ``getSymbolData`` request, so a test can break something at an exact point of a run; its errors are kept in ``errors``.
    It is slow on purpose: the first quote of every round of ``QUOTES_PER_BATCH`` (one lake object)
    waits ``PAUSE`` seconds, so each lake object of a run is loaded on its own before the next is
    fetched (the ETL groups objects that arrive faster than that).
    """

    PAUSE = etl_process.GROUP_WAIT_SECONDS + 0.2

    def __init__(self):
        self.market = None
        self.when = datetime.fromisoformat(SIM_NOW)
        self.quotes = 0
        self.actions: dict[int, Callable[[], None]] = {}
        self.errors: list[BaseException] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def serve(self, symbols: list[str]) -> NseUpstream:
        """Quote these symbols (the ticker master of the database the run reads) from the simulated market."""
        from pipelines.simulator.market import SimMarket
        from pipelines.simulator.universe import NIFTY50, SimTicker, stable_unit

        known = {symbol: price for symbol, _, price in NIFTY50}
        tickers = [
            SimTicker(
                symbol, f"{symbol} Limited", float(known.get(symbol) or round(50 * 100 ** stable_unit("p", symbol)))
            )
            for symbol in symbols
        ]
        self.market = SimMarket(seed=42, tickers=tickers)
        return self

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def before_quote(self, n: int, action: Callable[[], None]) -> None:
        self.actions[n] = action

    def answer(self, path: str, query: dict, cookie: str) -> tuple[int, list[tuple[str, str]], bytes]:
        html = ("Content-Type", "text/html; charset=utf-8")
        json_type = ("Content-Type", "application/json; charset=utf-8")
        if path != "/api/NextApi/apiClient/GetQuoteApi":
            return 404, [html], b"<html><body>Resource not found</body></html>"
        if query.get("functionName") == "getMetaData":
            return 200, [json_type], json.dumps(self.market.meta_data(query.get("symbol", "").upper())).encode()
        with self.lock:
            self.quotes += 1
            number = self.quotes
            action = self.actions.pop(number, None)
        if number % QUOTES_PER_BATCH == 1:
            time.sleep(self.PAUSE)
        if action is not None:
            try:
                action()
            except BaseException as exc:  # reported by the test, never swallowed
                self.errors.append(exc)
        body = self.market.symbol_data(query.get("symbol", "").upper(), self.when)
        return 200, [json_type], json.dumps(body).encode()

    def _handler(self):
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else each keep-alive answer waits for a delayed ACK (~40 ms)

            def log_message(self, *args):
                pass

            def do_GET(self):
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                status, headers, body = upstream.answer(parts.path, query, self.headers.get("Cookie", ""))
                try:
                    self.send_response(status)
                    for name, value in headers:
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client was killed mid-answer: that is the point of some tests

        return Handler

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def nse_upstream():
    upstream = NseUpstream()
    try:
        yield upstream
    finally:
        upstream.close()


def upstream_env(upstream: NseUpstream, **extra) -> dict:
    """A child that fetches quotes from ``upstream`` (no simulation in the child, real HTTP)."""
    return child_env(
        SIMULATE_UPSTREAMS="0",
        NSE_BASE_URL=upstream.url,
        NSE_ARCHIVES_URL=upstream.url,
        UPSTREAM_TIMEOUT="30",
        UPSTREAM_MAX_ATTEMPTS="1",
        **extra,
    )


# ---- a private PostgreSQL ---------------------------------------------------------------------------


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    assert found, f"PostgreSQL's {name} is required (postgresql server package)"
    return found[-1]


class PrivatePostgres:
    """A throwaway PostgreSQL cluster on a free port, owned by the ``postgres`` user (initdb refuses root).

    fsync is off for speed: this cluster only ever crashes as a process (``stop("immediate")``), never
    with the machine, so committed data survives exactly as with fsync on.
    """

    def __init__(self):
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="tl-faults-pg-"))
        self.data = self.root / "data"
        self.logfile = self.root / "server.log"
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/tickerlake"

    def init(self) -> None:
        if os.getuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._as_postgres(
            _pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"
        )

    def _as_postgres(self, *argv: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess:
        cmd = ["runuser", "-u", "postgres", "--", *argv] if os.getuid() == 0 else list(argv)
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=self.root)
        if check:
            assert result.returncode == 0, f"{' '.join(cmd)} failed:\n{result.stdout}\n{result.stderr}\n{self.log()}"
        return result

    def log(self) -> str:
        try:
            return self.logfile.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        self._as_postgres(
            _pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.logfile), "-o", options, "-w", "start"
        )

    def stop(self, mode: str = "fast") -> None:
        self._as_postgres(_pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    @property
    def running(self) -> bool:
        return self._as_postgres(_pg_bin("pg_ctl"), "-D", str(self.data), "status", check=False).returncode == 0

    def create_database(self) -> None:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as db:
            db.execute("CREATE DATABASE tickerlake")

    def destroy(self) -> None:
        try:
            if self.data.exists() and self.running:
                self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def private_postgres():
    """A private PostgreSQL, started, with an empty ``tickerlake`` database; destroyed afterwards."""
    server = PrivatePostgres()
    try:
        server.init()
        server.start()
        server.create_database()
        yield server
    finally:
        server.destroy()


# ---- a private Redis --------------------------------------------------------------------------------


class PrivateRedis:
    """``redis-server`` on a free port, keeping nothing on disk (like the machine's), stoppable at will."""

    def __init__(self, folder: Path):
        self.port = free_port()
        self.folder = folder
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        assert shutil.which("redis-server"), "redis-server is required"
        self.starts += 1
        with (self.folder / f"redis-{self.starts}.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                    *("--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", str(self.folder)),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5)
        assert wait_for(lambda: self._ping(client), timeout=20), "private redis-server did not answer"
        client.close()

    @staticmethod
    def _ping(client) -> bool:
        try:
            return bool(client.ping())
        except Exception:
            return False

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=20)


@pytest.fixture
def private_redis(tmp_path):
    server = PrivateRedis(tmp_path)
    try:
        server.start()
        yield server
    finally:
        server.kill()
