"""Health checks for /healthz: database, broker, lake."""

import time

from django.conf import settings
from django.db import connection


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connection.vendor


def check_broker() -> str:
    from kombu import Connection

    # A fresh connection each time: a pooled one can look alive after the broker went away.
    url, options = settings.CELERY_BROKER_URL, settings.CELERY_BROKER_TRANSPORT_OPTIONS
    with Connection(url, transport_options=options, connect_timeout=3) as conn:
        conn.ensure_connection(max_retries=1, timeout=3)
        return conn.transport.driver_type


def check_lake() -> str:
    from lake.storage import lake_storage

    lake_storage().check_writable()
    return settings.LAKE_URL.split("://")[0] if "://" in settings.LAKE_URL else "file"


CHECKS = {"database": check_database, "broker": check_broker, "lake": check_lake}


def run_checks() -> tuple[bool, dict]:
    results = {}
    healthy = True
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            detail = check()
            results[name] = {"ok": True, "detail": str(detail)}
        except Exception as exc:  # a health check reports every failure, whatever its kind
            healthy = False
            results[name] = {"ok": False, "detail": f"{type(exc).__name__}: {exc}"[:500]}
        results[name]["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return healthy, results
