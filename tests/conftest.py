"""Shared fixtures: API clients, an isolated lake per test, a real Celery worker, real Chromium."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

# Playwright's sync API runs an event loop in this thread; the ORM in the same test is still safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "tests" / "data" / "samples"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(autouse=True)
def isolated_lake(settings, tmp_path):
    """Every test writes to a lake of its own."""
    lake = tmp_path / "lake"
    lake.mkdir()
    settings.LAKE_URL = str(lake)
    return lake


@pytest.fixture
def samples() -> Path:
    assert SAMPLES.is_dir(), f"the samples are expected at {SAMPLES} (tests/data/samples in the repository)"
    return SAMPLES


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user(username="analyst", password="analyst-pass-123")


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user(username="ops", password="ops-pass-123", is_staff=True)


@pytest.fixture
def anon_client():
    return APIClient()


@pytest.fixture
def api_client(user):
    """An API client authenticated with a token, as scripts use it."""
    client = APIClient()
    token = Token.objects.create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def staff_client(staff_user):
    client = APIClient()
    client.force_authenticate(staff_user)
    return client


def _database_url() -> str:
    """The URL of the database this test runs on (the test database, not the configured one)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{host}:{port}/{db['NAME']}"


def worker_env(**extra) -> dict:
    """Environment for a child process (worker, command) that must share this test's world."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=_database_url(),
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        CELERY_BROKER_DIR=str(settings.CELERY_BROKER_DIR),
        CELERY_QUEUE=settings.CELERY_TASK_DEFAULT_QUEUE,
        LAKE_URL=settings.LAKE_URL,
        TICKERLAKE_VAR_DIR=str(settings.VAR_DIR),
        DJANGO_SECRET_KEY=settings.SECRET_KEY,  # the same key as this process (its var/test/ would make another)
        PYTHONUNBUFFERED="1",
    )
    env.update({k: str(v) for k, v in extra.items()})
    return env


class WorkerProcess:
    def __init__(self, log: Path):
        self.log = log
        self.proc: subprocess.Popen | None = None

    def start(self):
        from config.celery import app

        app.control.purge()  # drop what earlier tests queued without a worker
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool=solo",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--hostname",
                f"test-{os.getpid()}-{time.time_ns()}@%h",
            ],
            cwd=ROOT,
            env=worker_env(),
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.log.read_text()[-3000:]}")
            if "ready." in self.log.read_text():
                return self
            time.sleep(0.2)
        raise RuntimeError(f"worker not ready in 60 s:\n{self.log.read_text()[-3000:]}")

    def stop(self, sig=15):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()


@pytest.fixture
def celery_worker_process(transactional_db, tmp_path):
    """A real Celery worker in a child process, on the configured broker and this test's database."""
    worker = WorkerProcess(tmp_path / "worker.log").start()
    yield worker
    worker.stop()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Chromium is required: apt-get install -y chromium (make test does it)"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    external = []

    def guard(route):
        # Pages must never reach outside the server: record and block any such request.
        external.append(route.request.url)
        route.abort()

    page.route(
        "**/*",
        lambda route: (
            guard(route)
            if not route.request.url.startswith(("http://localhost", "http://127.0.0.1", "data:", "blob:"))
            else route.continue_()
        ),
    )
    page.external_requests = external
    yield page
    context.close()


@pytest.fixture
def logged_in_page(page, live_server, client, user):
    """A Chromium page holding a session of ``user`` on the live server."""
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url}])
    return page


# Data migrations that seed rows the platform relies on (tickers, rules, checks, beat schedules).
SEEDS = [
    ("warehouse.migrations.0002_seed_nifty50_tickers", "seed"),
    ("quality.migrations.0002_seed_rules_checks_schedule", "seed"),
    ("lake.migrations.0003_retention_schedule", "create_schedule"),
    ("pipelines.migrations.0004_beat_schedules", "create"),
    ("pipelines.migrations.0005_simulated_bhavcopy_schedule", "create"),
    ("pipelines.migrations.0006_holidays_refresh_schedule", "create"),
    ("warehouse.migrations.0008_seed_market_holidays", "seed"),
]
TRANSACTIONAL = {"transactional_db", "live_server", "celery_worker_process"}


@pytest.fixture(autouse=True)
def _calendar_cache_cleared():
    """The trading calendar caches the holiday table per process: each test reads its own database."""
    from warehouse.calendar import calendar_cache_clear

    calendar_cache_clear()
    yield
    calendar_cache_clear()


@pytest.fixture(autouse=True)
def _seeded_after_flush(request):
    """A transactional test's teardown flushes every table, seeds included; put them back (idempotent)."""
    marker = request.node.get_closest_marker("django_db")
    transactional = bool(TRANSACTIONAL & set(request.fixturenames)) or bool(
        marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0]))
    )
    if transactional:
        import importlib

        from django.apps import apps

        request.getfixturevalue("transactional_db")
        for module, func in SEEDS:
            getattr(importlib.import_module(module), func)(apps, None)
    return
