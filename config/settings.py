"""Tickerlake settings: one module, read from the environment, with embedded defaults.

Every integration has one switch (an environment variable). With nothing set, the platform runs on
SQLite, a local lake under ``var/`` and an embedded (filesystem) Celery broker.
"""

import json
import math
import os
import re
import secrets
import sys
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
# Everything a run keeps (the SQLite database, the lake, the embedded broker, the cache, the generated
# secret key, collected static files) lives under RUN_DIR: TICKERLAKE_VAR_DIR, else var/ in the checkout.
# Tests get a var/test/ of their own (VAR_DIR) so a running `make run` and the suite never share a broker.
TESTING = "pytest" in sys.modules
RUN_DIR = Path(os.environ.get("TICKERLAKE_VAR_DIR") or BASE_DIR / "var").resolve()
VAR_DIR = RUN_DIR / "test" if TESTING and not os.environ.get("TICKERLAKE_VAR_DIR") else RUN_DIR
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_rate(name: str, default: str) -> str:
    """A DRF throttle rate ("60/minute": requests per second, minute, hour or day) from the environment. DRF
    reads it at each request: "60 per minute" answered every API call with a 500."""
    text = os.environ.get(name, "").strip() or default
    if not re.fullmatch(r"\d+/[smhd][a-z]*", text):  # (DRF reads the period's first letter)
        raise ImproperlyConfigured(
            f"{name}: requests per period, e.g. 60/minute (s, m, h or d also); got {text[:40]!r}"
        )
    return text


def http_url_ok(text: str) -> bool:
    """Whether ``text`` is an http(s) URL with a host (and a port, if any, that is a number)."""
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 (raises on a port that is no number)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def env_http_url(name: str, default: str) -> str:
    """An upstream's base URL from the environment: http(s) with a host (else every run failed on it)."""
    text = os.environ.get(name, "").strip() or default
    if not http_url_ok(text):
        raise ImproperlyConfigured(f"{name}: an http:// or https:// URL with a host; got {text[:80]!r}")
    return text


def env_int(name: str, default: int, *, least: int | None = None) -> int:
    """A whole number from the environment, at least ``least``; ImproperlyConfigured naming the variable
    otherwise (``int()`` had said only "invalid literal", and a negative retention dropped every partition)."""
    rule = "a whole number" + (f", {least} or more" if least is not None else "")
    return _env_number(name, default, int, lambda value: least is None or value >= least, rule)


def env_float(name: str, default: float, *, least: float = 0.0, positive: bool = False) -> float:
    """A finite number from the environment, at least ``least`` (above 0 when ``positive``)."""
    rule = "a number, " + ("more than 0" if positive else f"{least:g} or more")
    return _env_number(
        name,
        default,
        float,
        lambda value: math.isfinite(value) and value >= least and (value > 0 or not positive),
        rule,
    )


def _env_number(name: str, default, parse, ok, rule: str):
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = parse(text)
    except ValueError:
        value = None
    if value is None or not ok(value):
        raise ImproperlyConfigured(f"{name}: {rule}; got {text!r}")
    return value


# Off unless asked for: `make run` serves production pages (static files through WhiteNoise);
# DJANGO_DEBUG=1 turns Django's debug pages on for development.
DEBUG = env_bool("DJANGO_DEBUG", False)


def _secret_key() -> str:
    key = os.environ.get("DJANGO_SECRET_KEY", "")
    if key:
        return key
    if env_bool("DJANGO_BEHIND_TLS", False):
        # Production (behind TLS): several web hosts must share one key, so it comes from the environment.
        raise RuntimeError("DJANGO_SECRET_KEY must be set in production (DJANGO_BEHIND_TLS=1).")
    # Without one: generated once, kept under var/ (git-ignored, mode 600), never a fixed default.
    key_file = RUN_DIR / "secret_key"
    key_file.parent.mkdir(parents=True, exist_ok=True)
    if not key_file.exists():
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(50))
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_celery_results",
    # Login lockout by username and by IP on both login forms: https://django-axes.readthedocs.io/
    "axes",
    "core",
    "lake",
    "warehouse",
    "quality",
    "pipelines",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.db.ReplicaReadMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "core.security.ContentSecurityPolicyMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its 429 answer.
    "axes.middleware.AxesMiddleware",
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# AXES_FAILURE_LIMIT wrong passwords lock that username, and (separately) that IP, for AXES_COOLOFF_MINUTES.
AXES_ENABLED = env_bool("AXES_ENABLED", not TESTING)  # tests that log in by API turn it on themselves
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, least=1)
AXES_COOLOFF_TIME = env_float("AXES_COOLOFF_MINUTES", 15.0) / 60  # hours
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
# Wrong API tokens one IP may send in ten minutes before it is answered 429 (core.auth).
API_BAD_TOKEN_LIMIT = env_int("API_BAD_TOKEN_LIMIT", 20, least=1)

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: https://github.com/jazzband/dj-database-url
_DATABASE_ENGINES = ("django.db.backends.postgresql", "django.db.backends.sqlite3")


def database_url_parse(name: str, url: str) -> dict:
    """``dj_database_url.parse`` of the variable ``name``, refused in one line naming it unless it is a PostgreSQL
    or SQLite URL (the warehouse's partitions and bulk loads need PostgreSQL; SQLite is the embedded default).
    The value is never shown: it may hold a password."""
    hint = "a PostgreSQL URL (postgres://user@host:5432/name) or a SQLite one (sqlite:////path/to/file.sqlite3)"
    try:
        config = dj_database_url.parse(
            url, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, least=0), conn_health_checks=True
        )
    except (ValueError, KeyError) as exc:  # (dj_database_url's UnknownSchemeError is a ValueError)
        reason = str(exc).split(". ")[0]
        raise ImproperlyConfigured(
            f"{name}: {hint}; {reason} (the value is not shown: it may hold a password)"
        ) from None
    if config.get("ENGINE") not in _DATABASE_ENGINES:
        raise ImproperlyConfigured(f"{name}: {hint}; got one for {config.get('ENGINE')} (the value is not shown)")
    return config


DATABASES = {
    "default": database_url_parse(
        "DATABASE_URL", os.environ.get("DATABASE_URL", f"sqlite:///{RUN_DIR / 'tickerlake.sqlite3'}")
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The database file is created owner-only (SQLite gives its -wal and -shm files the same mode).
    _sqlite = Path(DATABASES["default"]["NAME"])
    if str(_sqlite) != ":memory:":
        _sqlite.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(_sqlite, os.O_WRONLY | os.O_CREAT, 0o600))
        _sqlite.chmod(0o600)
    # WAL + IMMEDIATE transactions let the web server, worker and beat share one SQLite file.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not :memory:, so a Celery worker started by a test sees the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test_tickerlake.sqlite3")}
IS_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
# A streaming replica (optional): read APIs, pages and the seed's read entry points read from it,
# writes and pipelines use the primary, and reads fall back to the primary while it is down (core/db.py).
# https://docs.djangoproject.com/en/5.2/topics/db/multi-db/
DATABASE_REPLICA_RETRY = env_float("DATABASE_REPLICA_RETRY", 5.0)
if os.environ.get("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = database_url_parse("DATABASE_REPLICA_URL", os.environ["DATABASE_REPLICA_URL"])
    # A replica that does not answer must not hold up a page: give up quickly and read the primary.
    DATABASES["replica"].setdefault("OPTIONS", {})["connect_timeout"] = 2
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["core.db.ReplicaRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-in"
# Stored in UTC; shown in India's time.
TIME_ZONE = "Asia/Kolkata"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = RUN_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not TESTING
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = TESTING or DEBUG

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
# Behind TLS (a proxy that terminates HTTPS and sets X-Forwarded-Proto): DJANGO_BEHIND_TLS=1 turns on
# HTTPS redirects, HSTS and secure cookies. Off by default so `make run` works on http://127.0.0.1.
# https://docs.djangoproject.com/en/5.2/howto/deployment/checklist/
BEHIND_TLS = env_bool("DJANGO_BEHIND_TLS", False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = SECURE_SSL_REDIRECT = BEHIND_TLS
if BEHIND_TLS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 365 * 24 * 3600, least=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", True)
# Debug pages (DJANGO_DEBUG=1) mask settings named like URL, WEBHOOK, BROKER, OPTIONS, TOKEN, KEY.
DEFAULT_EXCEPTION_REPORTER_FILTER = "core.security.MaskingExceptionReporterFilter"

# REST framework: https://www.django-rest-framework.org/api-guide/settings/
REST_FRAMEWORK = {
    # Token first, so an anonymous request gets 401 with a WWW-Authenticate header.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.auth.ThrottledTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 100,
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_rate("API_THROTTLE_ANON", "60/minute"),
        "user": env_rate("API_THROTTLE_USER", "100000/hour" if TESTING else "5000/hour"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Tickerlake API",
    "DESCRIPTION": "NSE market data and social chatter: data lake, warehouse, pipelines and quality.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Like every other API route: the schema and its Swagger UI need a login (session or token).
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Swagger UI from our own static files (drf-spectacular-sidecar): no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Every API route answers with and without a trailing slash; document each once.
    "PREPROCESSING_HOOKS": ["core.api.schema_without_slash_twins"],
}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(VAR_DIR / "cache"),
    }
}
CACHE_URL = os.environ.get("CACHE_URL", "").strip()
if CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES["default"] = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
elif CACHE_URL:  # (was silently the file cache: a typo'd or rediss:// URL left every process its own cache)
    raise ImproperlyConfigured("CACHE_URL: a redis:// or rediss:// URL, or unset (the value is not shown)")

# Celery: https://docs.celeryq.dev/en/stable/userguide/configuration.html
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://").strip()


def _broker_check(url: str) -> None:
    """A broker URL kombu has no transport for failed only when the first task was sent (kombu: "No such
    transport"). The value is never shown: it may hold a password."""
    from kombu.transport import TRANSPORT_ALIASES

    scheme = url.partition("://")[0] if "://" in url else ""
    if scheme.partition("+")[0] not in TRANSPORT_ALIASES:
        raise ImproperlyConfigured(
            "CELERY_BROKER_URL: a broker URL such as redis://127.0.0.1:6379/0 or filesystem:// "
            f"(transports: {', '.join(sorted(TRANSPORT_ALIASES, key=str.lower))}); the value is not shown"
        )


_broker_check(CELERY_BROKER_URL)
CELERY_BROKER_DIR = Path(os.environ.get("CELERY_BROKER_DIR", VAR_DIR / "broker")).resolve()
# Every retry countdown and ETA stays well below this, so Redis never redelivers a task that is
# merely waiting (GOTCHAS.md).
CELERY_VISIBILITY_TIMEOUT = 3600
if CELERY_BROKER_URL.startswith("filesystem://"):
    for _sub in ("out", "processed", "control"):
        (CELERY_BROKER_DIR / _sub).mkdir(parents=True, exist_ok=True)
    # kombu's, with each message written whole before a worker can see it (core/broker.py).
    CELERY_BROKER_TRANSPORT = "core.broker:FilesystemTransport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # kombu's filesystem transport: in and out are the same folder; control must be absolute.
        "data_folder_in": str(CELERY_BROKER_DIR / "out"),
        "data_folder_out": str(CELERY_BROKER_DIR / "out"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "store_processed": False,
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        # How long an idle worker waits before it looks at the folder again (kombu's default: 1 s). With
        # one prefetched task at a time, a worker would otherwise idle up to that long between two tasks
        # of a fanned-out backfill; an empty folder costs ~10 µs to list.
        "polling_interval": max(0.01, env_float("CELERY_BROKER_POLLING_INTERVAL", 0.05)),
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", "django-db")
CELERY_RESULT_EXTENDED = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 540, least=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 600, least=1)
# How long a pipeline's lock outlives a run that never released it (a killed worker): longer than
# the task's hard time limit, so a live run never loses it.
PIPELINE_LOCK_TTL = env_int("PIPELINE_LOCK_TTL", CELERY_TASK_TIME_LIMIT + 300, least=1)
CELERY_TASK_TRACK_STARTED = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", "").strip() or "tickerlake"
# Retry countdowns of every task stay below this ceiling (and so below the visibility timeout).
CELERY_MAX_RETRY_COUNTDOWN = 600

# The data lake: any fsspec URL (a local folder by default, s3://bucket/prefix in production).
LAKE_URL = os.environ.get("LAKE_URL", "").strip() or str(RUN_DIR / "data_lake")


def _lake_url_check(url: str) -> None:
    """A protocol fsspec does not know failed at the first lake write, after the connector had fetched."""
    from fsspec.core import split_protocol
    from fsspec.registry import known_implementations

    protocol, _path = split_protocol(url)
    if protocol is not None and protocol not in known_implementations:
        raise ImproperlyConfigured(
            f"LAKE_URL: a folder or an fsspec URL (s3://bucket/prefix, file:///path); fsspec knows no {protocol!r}"
        )


_lake_url_check(LAKE_URL)
LAKE_RETENTION_DAYS = env_int("LAKE_RETENTION_DAYS", 90, least=1)
# Drop whole monthly warehouse partitions older than this many months (PostgreSQL; off when unset).
# (0 or unset: off. A negative number had dropped every partition up to next month's: now refused.)
WAREHOUSE_RETENTION_MONTHS = env_int("WAREHOUSE_RETENTION_MONTHS", 0, least=0) or None
# Hostile input: the most decompressed bytes one input (a file, a zip's CSVs, an answer) may hold;
# failed processings before a lake object is "failed" (out of replay until reset); the largest decoded
# object the API shows inline (larger ones answer their metadata and a download_url).
MAX_PAYLOAD_BYTES = env_int("MAX_PAYLOAD_BYTES", 256 * 1024 * 1024, least=1)
LAKE_MAX_ATTEMPTS = env_int("LAKE_MAX_ATTEMPTS", 3, least=1)
LAKE_INLINE_MAX_BYTES = env_int("LAKE_INLINE_MAX_BYTES", 5 * 1024 * 1024, least=0)
# Extra fsspec options for the lake filesystem, e.g. an S3 endpoint (JSON), read only from the env.
LAKE_STORAGE_OPTIONS_JSON = os.environ.get("LAKE_STORAGE_OPTIONS", "")


def _storage_options_check(text: str) -> None:
    """LAKE_STORAGE_OPTIONS must be a JSON object: checked at start-up (every lake write had failed with a bare
    JSONDecodeError or TypeError). The value is never shown: it may hold keys."""
    if not text.strip():
        return
    try:
        options = json.loads(text)
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"LAKE_STORAGE_OPTIONS: not JSON ({exc.msg} at character {exc.pos}; the value is not shown: it may hold keys)"
        ) from None
    if not isinstance(options, dict):
        raise ImproperlyConfigured(
            'LAKE_STORAGE_OPTIONS: a JSON object of fsspec options, e.g. {"endpoint_url": "http://127.0.0.1:9000"}; '
            f"got a JSON {type(options).__name__}"
        )


_storage_options_check(LAKE_STORAGE_OPTIONS_JSON)

# Upstreams: base URLs and credentials only from the environment. SIMULATE_UPSTREAMS (on by default)
# answers the connectors from the built-in simulated market instead of the internet.
SIMULATE_UPSTREAMS = env_bool("SIMULATE_UPSTREAMS", True)
NSE_BASE_URL = env_http_url("NSE_BASE_URL", "https://www.nseindia.com")
NSE_ARCHIVES_URL = env_http_url("NSE_ARCHIVES_URL", "https://nsearchives.nseindia.com")
TWITTER_BASE_URL = env_http_url("TWITTER_BASE_URL", "https://api.x.com")
TWITTER_BEARER_TOKEN = os.environ.get("TWITTER_BEARER_TOKEN", "")
TELEGRAM_BASE_URL = env_http_url("TELEGRAM_BASE_URL", "https://api.telegram.org")
TELEGRAM_BOT_TOKEN = os.environ.get("TELEGRAM_BOT_TOKEN", "")
UPSTREAM_TIMEOUT = env_float("UPSTREAM_TIMEOUT", 10.0, positive=True)
# Wall-clock seconds for one whole request: UPSTREAM_TIMEOUT bounds each socket read only, so a peer
# trickling a byte every few seconds would hold a fetch forever (requests' docs, "Timeouts").
UPSTREAM_REQUEST_DEADLINE = env_float("UPSTREAM_REQUEST_DEADLINE", 30.0, positive=True)
UPSTREAM_MAX_ATTEMPTS = env_int("UPSTREAM_MAX_ATTEMPTS", 3, least=1)
UPSTREAM_BACKOFF = env_float("UPSTREAM_BACKOFF", 0.5)
# An upstream asking to wait longer than this (Retry-After, X rate-limit reset) is an error, not a wait.
UPSTREAM_RETRY_WAIT_CAP = env_float("UPSTREAM_RETRY_WAIT_CAP", 30.0)
UPSTREAM_MAX_BYTES = env_int("UPSTREAM_MAX_BYTES", 8 * 1024 * 1024, least=1)
TWITTER_MAX_PAGES = env_int("TWITTER_MAX_PAGES", 5, least=1)
TELEGRAM_MAX_PAGES = env_int("TELEGRAM_MAX_PAGES", 10, least=1)
# Public channels read through t.me/s/<channel>: how many pages (about 20 posts each) a first run reads back.
TELEGRAM_PREVIEW_URL = env_http_url("TELEGRAM_PREVIEW_URL", "https://t.me")
TELEGRAM_PREVIEW_FIRST_PAGES = env_int("TELEGRAM_PREVIEW_FIRST_PAGES", 5, least=1)
# Seconds between two calls to one upstream (the real ones; the simulated upstream is never throttled).
# NSE blocks clients faster than about 3 calls a second.
NSE_API_MIN_INTERVAL = env_float("NSE_API_MIN_INTERVAL", 0.35)
NSE_BHAVCOPY_MIN_INTERVAL = env_float("NSE_BHAVCOPY_MIN_INTERVAL", 0.5)
NSE_HOLIDAYS_MIN_INTERVAL = env_float("NSE_HOLIDAYS_MIN_INTERVAL", 0.35)
TWITTER_MIN_INTERVAL = env_float("TWITTER_MIN_INTERVAL", 0.0)
TELEGRAM_MIN_INTERVAL = env_float("TELEGRAM_MIN_INTERVAL", 0.0)
# The simulated market: a fixed seed makes the same world every time; SIMULATOR_NOW (ISO) fixes its clock.
SIMULATOR_SEED = env_int("SIMULATOR_SEED", 42)
SIMULATOR_NOW = os.environ.get("SIMULATOR_NOW", "").strip()
if SIMULATOR_NOW:
    from datetime import datetime as _datetime

    try:
        _datetime.fromisoformat(SIMULATOR_NOW.replace("Z", "+00:00"))
    except ValueError:
        raise ImproperlyConfigured(
            f"SIMULATOR_NOW: an ISO 8601 time such as 2025-03-10T10:00:00+05:30; got {SIMULATOR_NOW[:40]!r}"
        ) from None

# Alerts: log always; email and a webhook when configured.
ALERT_EMAILS = env_list("ALERT_EMAILS", "")
ALERT_WEBHOOK_URL = os.environ.get("ALERT_WEBHOOK_URL", "").strip()


def _webhook_check(url: str) -> None:
    """ALERT_WEBHOOK_URL must be an http(s) URL with a host: checked at start-up (every alert had logged a
    failure instead). The value is never shown: a webhook's path is often its secret."""
    if url and not http_url_ok(url):
        raise ImproperlyConfigured(
            "ALERT_WEBHOOK_URL: an http:// or https:// URL with a host (the value is not shown: it may hold a secret)"
        )


_webhook_check(ALERT_WEBHOOK_URL)
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "").strip() or "tickerlake@localhost"


def _emails_check() -> None:
    """Every alert email address must be one (a list written with ";" failed every alert's email, logged)."""
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    for name, addresses in (("ALERT_EMAILS", ALERT_EMAILS), ("DEFAULT_FROM_EMAIL", [DEFAULT_FROM_EMAIL])):
        for address in addresses:
            try:
                validate_email(address.rpartition("<")[2].rstrip(">") if address.endswith(">") else address)
            except ValidationError:
                wanted = "email addresses, comma-separated" if name == "ALERT_EMAILS" else "an email address"
                raise ImproperlyConfigured(f"{name}: {wanted}; {address[:60]!r} is none") from None


_emails_check()

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_LEVEL = os.environ.get("LOG_LEVEL", "").strip().upper() or "INFO"
if LOG_LEVEL not in LOG_LEVELS:  # (was "ValueError: Unable to configure root logger", a traceback)
    raise ImproperlyConfigured(f"LOG_LEVEL: one of {', '.join(LOG_LEVELS)}; got {LOG_LEVEL[:40]!r}")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
