import os
import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from tests.conftest import ROOT


def test_a_production_settings_load_without_a_secret_key_fails_clearly():
    # Debug is off by default (make run generates a key under var/); production is DJANGO_BEHIND_TLS=1.
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SECRET_KEY"}
    env["DJANGO_DEBUG"] = "0"
    env["DJANGO_BEHIND_TLS"] = "1"
    result = subprocess.run(
        [sys.executable, "-c", "import django; from django.conf import settings; settings.SECRET_KEY"],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set in production (DJANGO_BEHIND_TLS=1)." in result.stderr


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        # A sign typo dropped every warehouse partition up to next month's at the nightly pass.
        ("WAREHOUSE_RETENTION_MONTHS", "-1", "WAREHOUSE_RETENTION_MONTHS: a whole number, 0 or more; got '-1'"),
        ("LAKE_RETENTION_DAYS", "90d", "LAKE_RETENTION_DAYS: a whole number, 1 or more; got '90d'"),
        ("UPSTREAM_TIMEOUT", "0", "UPSTREAM_TIMEOUT: a number, more than 0; got '0'"),
        ("NSE_API_MIN_INTERVAL", "nan", "NSE_API_MIN_INTERVAL: a number, 0 or more; got 'nan'"),
        (
            "LAKE_STORAGE_OPTIONS",
            '{"key": "AKIA-SECRET", ',
            "LAKE_STORAGE_OPTIONS: not JSON (Expecting property name enclosed in double quotes at character 23; "
            "the value is not shown: it may hold keys)",
        ),
        ("LAKE_STORAGE_OPTIONS", '["AKIA-SECRET"]', "got a JSON list"),
        # Every alert had logged a failure instead (and the failure showed the URL, secret path and all).
        *(
            (
                "ALERT_WEBHOOK_URL",
                url,
                "ALERT_WEBHOOK_URL: an http:// or https:// URL with a host (the value is not shown: it may hold a secret)",
            )
            for url in (
                "hooks.example.com/AKIA-SECRET",
                "ftp://hooks.example.com/AKIA-SECRET",
                "https:///AKIA-SECRET",
                "https://h:port/AKIA-SECRET",
            )
        ),
        # URLs and names that failed later, at the first write or task, or as a traceback; URLs never shown.
        (
            "DATABASE_URL",
            "postgress://u:AKIA-SECRET@h/db",
            "DATABASE_URL: a PostgreSQL URL (postgres://user@host:5432/name) or a SQLite one (sqlite:////path/to/"
            "file.sqlite3); Scheme 'postgress://' is unknown (the value is not shown: it may hold a password)",
        ),
        ("DATABASE_URL", "mysql://u:AKIA-SECRET@h/db", "got one for django.db.backends.mysql (the value is not shown)"),
        (
            "DATABASE_REPLICA_URL",
            "nonsense://u:AKIA-SECRET@h/db",
            "Scheme 'nonsense://' is unknown (the value is not shown: it may hold a password)",
        ),
        ("CELERY_BROKER_URL", "reddis://:AKIA-SECRET@h:6379/0", "zookeeper); the value is not shown"),
        (
            "CACHE_URL",
            "memcached://AKIA-SECRET@h",
            "CACHE_URL: a redis:// or rediss:// URL, or unset (the value is not shown)",
        ),
        (
            "LAKE_URL",
            "s4://AKIA-SECRET/lake",
            "LAKE_URL: a folder or an fsspec URL (s3://bucket/prefix, file:///path); fsspec knows no 's4'",
        ),
        (
            "SIMULATOR_NOW",
            "yesterday",
            "SIMULATOR_NOW: an ISO 8601 time such as 2025-03-10T10:00:00+05:30; got 'yesterday'",
        ),
        ("LOG_LEVEL", "loud", "LOG_LEVEL: one of DEBUG, INFO, WARNING, ERROR, CRITICAL; got 'LOUD'"),
        # DRF reads a throttle rate at every request: "60 per minute" answered every API call with a 500.
        (
            "API_THROTTLE_ANON",
            "60 per minute",
            "requests per period, e.g. 60/minute (s, m, h or d also); got '60 per minute'",
        ),
        (
            "API_THROTTLE_USER",
            "5000/week",
            "API_THROTTLE_USER: requests per period, e.g. 60/minute (s, m, h or d also); got '5000/week'",
        ),
        # A list written with ";" failed every alert's email (logged, never sent).
        (
            "ALERT_EMAILS",
            "ops@example.com;dev@example.com",
            "ALERT_EMAILS: email addresses, comma-separated; 'ops@example.com;dev@example.com' is none",
        ),
        ("DEFAULT_FROM_EMAIL", "tickerlake", "DEFAULT_FROM_EMAIL: an email address; 'tickerlake' is none"),
        # An upstream's base URL without its scheme failed every run of its connector.
        (
            "NSE_BASE_URL",
            "www.nseindia.com",
            "NSE_BASE_URL: an http:// or https:// URL with a host; got 'www.nseindia.com'",
        ),
        (
            "TELEGRAM_PREVIEW_URL",
            "https://",
            "TELEGRAM_PREVIEW_URL: an http:// or https:// URL with a host; got 'https://'",
        ),
    ],
)
def test_a_setting_that_is_no_number_of_its_kind_stops_the_start_naming_the_variable(name, value, said):
    result = subprocess.run(
        [sys.executable, "-c", "import django; from django.conf import settings; settings.DEBUG"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", name: value},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("django.core.exceptions.ImproperlyConfigured: ")
    assert last.endswith(said)
    assert "AKIA-SECRET" not in result.stderr


def test_urls_and_names_that_are_right_still_start(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "TICKERLAKE_VAR_DIR": str(tmp_path),
        "CACHE_URL": "rediss://:pw@cache.internal:6380/0",
        "CELERY_BROKER_URL": "redis+socket:///run/redis.sock",
        "LAKE_URL": "file:///srv/lake",
        "SIMULATOR_NOW": "2025-03-10T10:00:00Z",
        "LOG_LEVEL": "warning",
        "API_THROTTLE_ANON": "10/s",
        "API_THROTTLE_USER": "200/hours",
        "TWITTER_BASE_URL": "http://127.0.0.1:8081",
        "ALERT_EMAILS": "ops@example.com, dev@example.com",
        "DEFAULT_FROM_EMAIL": "Tickerlake <alerts@example.com>",
        "CELERY_QUEUE": "",
    }
    env.pop("DATABASE_URL", None)
    code = (
        "import django; from django.conf import settings as s; "
        "print(s.CACHES['default']['BACKEND'], s.LOG_LEVEL, s.CELERY_TASK_DEFAULT_QUEUE)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    # rediss:// (TLS) was silently the file cache: every process had its own
    assert result.stdout.split() == ["django.core.cache.backends.redis.RedisCache", "WARNING", "tickerlake"]


def test_numbers_in_the_environment_are_read_as_before(monkeypatch):
    from config import settings as module

    monkeypatch.setenv("LAKE_RETENTION_DAYS", " 30 ")
    monkeypatch.setenv("UPSTREAM_BACKOFF", "0")
    monkeypatch.setenv("WAREHOUSE_RETENTION_MONTHS", "")
    assert module.env_int("LAKE_RETENTION_DAYS", 90, least=1) == 30
    assert module.env_float("UPSTREAM_BACKOFF", 0.5) == 0.0
    assert module.env_int("WAREHOUSE_RETENTION_MONTHS", 0, least=0) == 0  # unset or empty: the default
    assert module.env_int("NOT_SET_ANYWHERE", 7) == 7


def test_tickerlake_var_dir_moves_everything_a_run_keeps(tmp_path):
    moved = {"DATABASE_URL", "LAKE_URL", "CELERY_BROKER_DIR", "CACHE_URL", "DJANGO_SECRET_KEY", "TICKERLAKE_VAR_DIR"}
    env = {k: v for k, v in os.environ.items() if k not in moved}
    code = (
        "import django; from django.conf import settings as s; django.setup(); "
        "print(s.DATABASES['default']['NAME'], s.LAKE_URL, s.CELERY_BROKER_DIR, s.STATIC_ROOT, "
        "s.CACHES['default']['LOCATION'], s.SECRET_KEY != '')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings", "TICKERLAKE_VAR_DIR": str(tmp_path / "run")},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    run = tmp_path / "run"
    assert result.stdout.split() == [
        str(run / "tickerlake.sqlite3"),
        str(run / "data_lake"),
        str(run / "broker"),
        str(run / "static"),
        str(run / "cache"),
        "True",
    ]
    assert (run / "secret_key").stat().st_mode & 0o777 == 0o600  # generated there, owner-only


def test_settings_store_utc_and_show_india_time(settings):
    assert settings.USE_TZ is True
    assert settings.TIME_ZONE == "Asia/Kolkata"


def test_celery_is_wired_for_idempotent_at_least_once_tasks(settings):
    from config.celery import app

    assert app.conf.task_serializer == "json"
    assert app.conf.task_acks_late is True
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.task_soft_time_limit < app.conf.task_time_limit
    assert settings.CELERY_MAX_RETRY_COUNTDOWN < settings.CELERY_VISIBILITY_TIMEOUT
    assert app.conf.beat_scheduler == "django_celery_beat.schedulers:DatabaseScheduler"


@pytest.mark.django_db
def test_ensure_admin_creates_one_admin_with_a_random_password_once(capsys, tmp_path):
    call_command("ensure_admin", token_file=str(tmp_path / "token"))
    first = capsys.readouterr().out
    assert "password:" in first
    User = get_user_model()
    assert User.objects.filter(is_superuser=True).count() == 1
    password = first.split("password:")[1].split()[0]
    assert len(password) == 16
    assert password.isascii()
    assert password.isalnum()  # as the README promises: letters and digits only
    assert User.objects.get(username="admin").check_password(password)
    assert len((tmp_path / "token").read_text()) == 40

    call_command("ensure_admin")
    second = capsys.readouterr().out
    assert "password:" not in second
    assert User.objects.filter(is_superuser=True).count() == 1


@pytest.mark.django_db
def test_ensure_admin_says_in_one_line_what_it_cannot_do(tmp_path):
    with pytest.raises(CommandError, match=r"^--username: a user name, not an empty one$"):
        call_command("ensure_admin", username=" ")
    assert not get_user_model().objects.exists()
    with pytest.raises(CommandError, match=r"^--token-file .*/no/such/folder/token: No such file or directory$"):
        call_command("ensure_admin", token_file=str(tmp_path / "no" / "such" / "folder" / "token"))
